package producer_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/compression"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/producer"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestMain(m *testing.M) { integration.Main(m) }

// single is a one-node broker without topic auto-creation.
var single = integration.LocalConfig{Nodes: 1, BrokerProperties: map[string]string{"auto.create.topics.enable": "false"}}

func newReal(t *testing.T, boot []string, mod func(*producer.Config)) *producer.Producer {
	t.Helper()
	cfg := producer.Config{Conn: gregor.ConnConfig{SeedBrokers: boot}}
	if mod != nil {
		mod(&cfg)
	}
	p, err := producer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return p
}

type kcatRecord struct {
	Partition int32    `json:"partition"`
	Offset    int64    `json:"offset"`
	Key       *string  `json:"key"`
	Payload   *string  `json:"payload"`
	Headers   []string `json:"headers"`
}

// kcatRead reads a whole topic with kcat -C -J.
func kcatRead(t *testing.T, boot []string, topic string) []kcatRecord {
	t.Helper()
	kc, err := exec.LookPath("kcat")
	if err != nil {
		integration.Unavailable(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, kc, "-C", "-J", "-b", strings.Join(boot, ","), "-t", topic, "-o", "beginning", "-e", "-q").Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	var recs []kcatRecord
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line == "" {
			continue
		}
		var r kcatRecord
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("kcat line %q: %v", line, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// TestRealKeysAndCodecs produces keyed records with headers under each
// codec to a real broker: each lands on the partition the Java client
// would choose, at the offset its result names, and kcat reads key, value
// and headers back intact.
func TestRealKeysAndCodecs(t *testing.T) {
	c := integration.Shared(t, single)
	boot := c.Bootstrap(integration.Plaintext)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, codec := range []compression.Codec{compression.None, compression.Gzip, compression.Snappy, compression.LZ4, compression.Zstd} {
		topic := fmt.Sprintf("keys-%s-%d", codec, rand.Uint32())
		if err := c.CreateTopic(ctx, topic, 6, 1); err != nil {
			t.Fatal(err)
		}
		p := newReal(t, boot, func(cfg *producer.Config) { cfg.Compression = codec })
		const n = 200
		recs := make([]*gregor.Record, n)
		for i := range recs {
			recs[i] = &gregor.Record{Topic: topic, Key: []byte("key-" + strconv.Itoa(i)), Value: []byte("value-" + strconv.Itoa(i)),
				Headers: []gregor.Header{{Key: "trace", Value: []byte("h" + strconv.Itoa(i))}}}
		}
		results, err := p.ProduceSync(ctx, recs...)
		if err != nil {
			t.Fatalf("%s: %v", codec, err)
		}
		where := map[string]producer.Result{}
		for i, r := range results {
			if want := producer.KeyPartition(recs[i].Key, 6); r.Partition != want {
				t.Fatalf("%s: key %s on partition %d, Java puts it on %d", codec, recs[i].Key, r.Partition, want)
			}
			where[string(recs[i].Key)] = r
		}
		got := kcatRead(t, boot, topic)
		if len(got) != n {
			t.Fatalf("%s: kcat read %d records, want %d", codec, len(got), n)
		}
		for _, r := range got {
			if r.Key == nil || r.Payload == nil {
				t.Fatalf("%s: null key or value: %+v", codec, r)
			}
			i := strings.TrimPrefix(*r.Key, "key-")
			res := where[*r.Key]
			if *r.Payload != "value-"+i || res.Partition != r.Partition || res.Offset != r.Offset ||
				len(r.Headers) != 2 || r.Headers[0] != "trace" || r.Headers[1] != "h"+i {
				t.Fatalf("%s: kcat read %+v, produce result %+v", codec, r, res)
			}
		}
		t.Logf("%s: %d keyed records on the Java partitions, read back intact by kcat", codec, n)
	}
}

// TestRealBadInput: unknown topic with auto-creation off, a record above
// the size limit, a cancelled context, produce after Close.
func TestRealBadInput(t *testing.T) {
	c := integration.Shared(t, single)
	boot := c.Bootstrap(integration.Plaintext)
	p := newReal(t, boot, func(cfg *producer.Config) { cfg.MetadataWait = 2 * time.Second })
	ctx := context.Background()
	start := time.Now()
	_, err := p.ProduceSync(ctx, &gregor.Record{Topic: fmt.Sprintf("absent-%d", rand.Uint32()), Value: []byte("x")})
	if !errors.Is(err, gregor.ErrUnknownTopic) {
		t.Fatalf("unknown topic: %v", err)
	}
	t.Logf("unknown topic failed after %s: %v", time.Since(start).Round(time.Millisecond), err)
	topic := fmt.Sprintf("bad-%d", rand.Uint32())
	if err := c.CreateTopic(ctx, topic, 1, 1); err != nil {
		t.Fatal(err)
	}
	_, err = p.ProduceSync(ctx, &gregor.Record{Topic: topic, Value: make([]byte, 3<<20)})
	var tl *producer.RecordTooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("large record: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if res, err := p.ProduceSync(cctx, &gregor.Record{Topic: topic}); !errors.Is(err, context.Canceled) || res[0].Outcome != producer.Failed {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := p.ProduceSync(ctx, &gregor.Record{Topic: topic, Value: []byte("ok")}); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ProduceSync(ctx, &gregor.Record{Topic: topic}); !errors.Is(err, gregor.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

// TestRealFailoverNoLossNoDuplicates produces 1,000,000 small records over
// 12 partitions (replication factor 3, acks=all, idempotent) while one
// node is killed and restarted twice, then reads everything back: every
// record written exactly once, each partition in produce order.
func TestRealFailoverNoLossNoDuplicates(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	c := integration.Shared(t, integration.LocalConfig{Nodes: 3})
	if c.External() {
		t.Skip("kills nodes")
	}
	boot := c.Bootstrap(integration.Plaintext)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("failover-%d", rand.Uint32())
	if err := c.CreateTopic(ctx, topic, 12, 3); err != nil {
		t.Fatal(err)
	}
	var reencoded atomic.Int32
	producer.OnReencode(t, func() { reencoded.Add(1) })
	p := newReal(t, boot, func(cfg *producer.Config) { cfg.Conn.RequestTimeout = 10 * time.Second })
	const n = 1_000_000
	var written, failed atomic.Int64
	var firstErr atomic.Value
	done := make(chan struct{})
	go func() {
		defer close(done)
		cb := func(_ *gregor.Record, r producer.Result) {
			if r.Outcome == producer.Written {
				written.Add(1)
			} else {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, r.Err)
			}
		}
		start := time.Now()
		for i := range n {
			// Paced at about 20k records/s (50 s in all) so that both node
			// changes happen while records flow.
			if i%2000 == 0 {
				if d := time.Duration(i/20)*time.Millisecond - time.Since(start); d > 0 {
					time.Sleep(d)
				}
			}
			p.Produce(ctx, &gregor.Record{Topic: topic, Key: []byte(strconv.Itoa(i % 12000)), Value: []byte(strconv.Itoa(i))}, cb)
		}
		if err := p.Flush(ctx); err != nil {
			t.Error(err)
		}
	}()
	for round, victim := range []int{1, 2} {
		time.Sleep(3 * time.Second)
		if err := c.KillNode(ctx, victim); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed node %d at %d records written", round+1, victim+1, written.Load())
		time.Sleep(2 * time.Second)
		if err := c.StartNode(ctx, victim); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: node %d restarted at %d records written", round+1, victim+1, written.Load())
	}
	<-done
	if failed.Load() != 0 || written.Load() != n {
		t.Fatalf("written %d, failed or unknown %d (first: %v)", written.Load(), failed.Load(), firstErr.Load())
	}
	// Read everything back.
	cl, err := kgo.NewClient(kgo.SeedBrokers(boot...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	seen := make([]bool, n)
	last := map[int32]int{}
	var mu sync.Mutex
	count := 0
	for count < n && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			mu.Lock()
			defer mu.Unlock()
			i, _ := strconv.Atoi(string(r.Value))
			if seen[i] {
				t.Fatalf("record %d read twice", i)
			}
			seen[i] = true
			count++
			if prev, ok := last[r.Partition]; ok && prev > i {
				t.Fatalf("partition %d: record %d after %d", r.Partition, i, prev)
			}
			last[r.Partition] = i
		})
	}
	if count != n {
		t.Fatalf("read %d of %d", count, n)
	}
	// A batch's encoding goes back to the pool when its request is
	// written; the attempts that the kills cut short were sent again
	// from the records.
	if reencoded.Load() == 0 {
		t.Fatal("no batch was encoded again for a retry: the retry path from the records was not exercised")
	}
	t.Logf("%d records written and read back once each, in produce order in every partition; %d batches encoded again for retries", n, reencoded.Load())
}

// kcatValues reads a topic's values with kcat at an isolation level.
func kcatValues(t *testing.T, boot []string, topic, isolation string) []string {
	t.Helper()
	kc, err := exec.LookPath("kcat")
	if err != nil {
		integration.Unavailable(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, kc, "-C", "-b", strings.Join(boot, ","), "-t", topic, "-o", "beginning", "-e", "-q",
		"-X", "isolation.level="+isolation, "-f", "%s\n").Output()
	if err != nil {
		t.Fatalf("kcat: %v", err)
	}
	return strings.Fields(string(out))
}

// TestRealTransactions: an aborted transaction is invisible to a
// read_committed reader, a committed one visible, and a second producer
// with the same transactional id fences the first.
func TestRealTransactions(t *testing.T) {
	c := integration.Shared(t, single)
	boot := c.Bootstrap(integration.Plaintext)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("txn-%d", rand.Uint32())
	if err := c.CreateTopic(ctx, topic, 3, 1); err != nil {
		t.Fatal(err)
	}
	txnID := fmt.Sprintf("txn-id-%d", rand.Uint32())
	a := newReal(t, boot, func(cfg *producer.Config) { cfg.TransactionalID = txnID })
	if _, err := a.ProduceSync(ctx, &gregor.Record{Topic: topic}); !errors.Is(err, producer.ErrTransactionState) {
		t.Fatalf("produce outside a transaction: %v", err)
	}
	produce := func(p *producer.Producer, prefix string, n int) {
		t.Helper()
		for i := range n {
			p.Produce(ctx, &gregor.Record{Topic: topic, Value: []byte(prefix + strconv.Itoa(i))}, nil)
		}
	}
	if err := a.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produce(a, "aborted-", 10)
	if err := a.AbortTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produce(a, "committed-", 10)
	if err := a.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	committed := kcatValues(t, boot, topic, "read_committed")
	all := kcatValues(t, boot, topic, "read_uncommitted")
	if len(committed) != 10 || len(all) != 20 {
		t.Fatalf("read_committed saw %d records %v, read_uncommitted %d", len(committed), committed, len(all))
	}
	for _, v := range committed {
		if !strings.HasPrefix(v, "committed-") {
			t.Fatalf("read_committed saw %q", v)
		}
	}
	t.Logf("aborted records invisible to read_committed (%d of %d visible)", len(committed), len(all))

	// A second producer with the same id fences the first.
	b := newReal(t, boot, func(cfg *producer.Config) { cfg.TransactionalID = txnID })
	if err := b.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	produce(b, "second-", 5)
	if err := b.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	results, err := a.ProduceSync(ctx, &gregor.Record{Topic: topic, Value: []byte("zombie")})
	if err == nil {
		err = a.CommitTransaction(ctx)
	}
	if !errors.Is(err, producer.ErrFenced) {
		t.Fatalf("fenced producer: %v %+v", err, results)
	}
	t.Logf("first producer fenced: %v", err)
	for _, v := range kcatValues(t, boot, topic, "read_committed") {
		if v == "zombie" {
			t.Fatal("the fenced producer's record is visible")
		}
	}
}
