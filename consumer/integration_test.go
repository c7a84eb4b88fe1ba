package consumer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
)

func TestMain(m *testing.M) { integration.Main(m) }

// kcatProduce writes lines ("key:value") to one partition with kcat.
func kcatProduce(t *testing.T, bootstrap []string, topic string, partition int, codec string, lines []string, extra ...string) {
	t.Helper()
	kcat, err := exec.LookPath("kcat")
	if err != nil {
		integration.Unavailable(t, fmt.Errorf("kcat is not installed: %w", err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	args := append([]string{"-P", "-b", strings.Join(bootstrap, ","), "-t", topic, "-p", fmt.Sprint(partition),
		"-z", codec, "-K", ":", "-H", "codec=" + codec, "-H", "n=2", "-X", "acks=all"}, extra...)
	cmd := exec.CommandContext(ctx, kcat, args...)
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat %v: %v\n%s", args, err, out)
	}
}

func realConsumer(t *testing.T, bootstrap []string, mod func(*Config)) *Consumer {
	t.Helper()
	return newConsumer(t, bootstrap, func(c *Config) {
		c.FetchMaxWait = 200 * time.Millisecond
		if mod != nil {
			mod(c)
		}
	})
}

func pollRecords(t *testing.T, c *Consumer, n int, timeout time.Duration) []gregor.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var out []gregor.Record
	for len(out) < n {
		fs, err := c.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll after %d of %d records: %v", len(out), n, err)
		}
		if errs := fs.Errors(); len(errs) > 0 {
			t.Fatalf("partition errors: %v", errs)
		}
		fs.EachRecord(func(r *gregor.Record) {
			cp := *r
			cp.Key, cp.Value = append([]byte(nil), r.Key...), append([]byte(nil), r.Value...)
			cp.Headers = nil
			for _, h := range r.Headers {
				cp.Headers = append(cp.Headers, gregor.Header{Key: h.Key, Value: append([]byte(nil), h.Value...)})
			}
			out = append(out, cp)
		})
	}
	return out
}

// TestRealCodecs writes records with kcat in every codec (one partition
// each) to Kafka 4.1.1 and reads them back with keys, values and headers
// intact; it then checks timestamp and latest starts, and that the broker's
// fetch session made later fetches incremental.
func TestRealCodecs(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker")
	}
	kc := integration.Shared(t, integration.LocalConfig{Nodes: 1})
	leakcheck.Check(t)
	boot := kc.Bootstrap(integration.Plaintext)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("codecs-%d", time.Now().UnixNano())
	if err := kc.CreateTopic(ctx, topic, 5, 1); err != nil {
		t.Fatal(err)
	}
	codecs := []string{"none", "gzip", "snappy", "lz4", "zstd"}
	const n = 300
	for p, codec := range codecs {
		lines := make([]string, n)
		for i := range lines {
			lines[i] = fmt.Sprintf("key-%s-%d:value-%s-%d-%s", codec, i, codec, i, strings.Repeat("x", i%50))
		}
		kcatProduce(t, boot, topic, p, codec, lines)
	}
	c := realConsumer(t, boot, nil)
	parts := map[TopicPartition]Offset{}
	for p := range codecs {
		parts[TopicPartition{topic, int32(p)}] = AtEarliest()
	}
	c.Assign(parts)
	recs := pollRecords(t, c, n*len(codecs), time.Minute)
	next := map[int32]int64{}
	for _, r := range recs {
		codec := codecs[r.Partition]
		i := next[r.Partition]
		if r.Offset != i {
			t.Fatalf("%s[%d]: offset %d, want %d", r.Topic, r.Partition, r.Offset, i)
		}
		wantK, wantV := fmt.Sprintf("key-%s-%d", codec, i), fmt.Sprintf("value-%s-%d-%s", codec, i, strings.Repeat("x", int(i)%50))
		if string(r.Key) != wantK || string(r.Value) != wantV {
			t.Fatalf("%s partition %d offset %d: key %q value %q", codec, r.Partition, i, r.Key, r.Value)
		}
		if len(r.Headers) != 2 || r.Headers[0].Key != "codec" || string(r.Headers[0].Value) != codec ||
			r.Headers[1].Key != "n" || string(r.Headers[1].Value) != "2" {
			t.Fatalf("%s offset %d: headers %+v", codec, i, r.Headers)
		}
		if r.LeaderEpoch < 0 || r.Timestamp.IsZero() {
			t.Fatalf("%s offset %d: epoch %d timestamp %v", codec, i, r.LeaderEpoch, r.Timestamp)
		}
		next[r.Partition]++
	}
	for p := range codecs {
		if next[int32(p)] != n {
			t.Fatalf("partition %d: %d records", p, next[int32(p)])
		}
	}
	// Idle fetches go through the broker's session: incremental.
	time.Sleep(time.Second)
	full, incr := c.fullFetches.Load(), c.incrFetches.Load()
	t.Logf("fetches: %d full, %d incremental", full, incr)
	if incr == 0 || full > 2 {
		t.Errorf("fetch sessions unused: %d full, %d incremental", full, incr)
	}

	// A timestamp start lands on the first record at or after it.
	tp0 := TopicPartition{topic, 0}
	var at time.Time
	var want int64 = -1
	for _, r := range recs {
		if r.Partition == 0 && r.Offset == n/2 {
			at = r.Timestamp
		}
	}
	for _, r := range recs {
		if r.Partition == 0 && !r.Timestamp.Before(at) {
			want = r.Offset
			break
		}
	}
	c2 := realConsumer(t, boot, nil)
	c2.Assign(map[TopicPartition]Offset{tp0: AtTimestamp(at)})
	if got := pollRecords(t, c2, 1, 30*time.Second); got[0].Offset != want {
		t.Fatalf("timestamp start: offset %d, want %d", got[0].Offset, want)
	}
	// A latest start sees only what is written afterwards.
	c3 := realConsumer(t, boot, nil)
	c3.Assign(map[TopicPartition]Offset{tp0: AtLatest()})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if pos, ok := c3.Position(tp0); ok && pos == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("latest position not resolved")
		}
		time.Sleep(20 * time.Millisecond)
	}
	kcatProduce(t, boot, topic, 0, "none", []string{"late:record"})
	if got := pollRecords(t, c3, 1, 30*time.Second); got[0].Offset != n || string(got[0].Value) != "record" {
		t.Fatalf("latest start: %+v", got[0])
	}
}

// TestRealLeaderFailover consumes from a 3-node cluster while the leader of
// partition 0 is killed and restarted: every offset arrives exactly once.
func TestRealLeaderFailover(t *testing.T) {
	if testing.Short() || os.Getenv("GREGOR_SKIP_FAILOVER") != "" {
		t.Skip("real 3-node cluster")
	}
	kc := integration.Shared(t, integration.LocalConfig{Nodes: 3})
	leakcheck.Check(t)
	boot := kc.Bootstrap(integration.Plaintext)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("failover-%d", time.Now().UnixNano())
	if err := kc.CreateTopic(ctx, topic, 3, 3); err != nil {
		t.Fatal(err)
	}
	batch := func(from int) []string {
		lines := make([]string, 200)
		for i := range lines {
			lines[i] = fmt.Sprintf("k%d:v%d", from+i, from+i)
		}
		return lines
	}
	for p := 0; p < 3; p++ {
		kcatProduce(t, boot, topic, p, "lz4", batch(0))
	}
	c := realConsumer(t, boot, nil)
	parts := map[TopicPartition]Offset{}
	for p := int32(0); p < 3; p++ {
		parts[TopicPartition{topic, p}] = AtEarliest()
	}
	c.Assign(parts)
	recs := pollRecords(t, c, 600, time.Minute)

	meta := c.cl.Metadata()
	leader := meta.Topics[topic].Partitions[0].Leader
	victim := int(leader) - 1 // node ids are 1-based, indexes 0-based
	if err := kc.KillNode(ctx, victim); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed node %d, the leader of partition 0", leader)
	restarted := false
	defer func() {
		if !restarted {
			kc.StartNode(context.Background(), victim)
		}
	}()
	var live []string
	for i, a := range boot {
		if i != victim {
			live = append(live, a)
		}
	}
	for p := 0; p < 3; p++ {
		kcatProduce(t, live, topic, p, "zstd", batch(200))
	}
	recs = append(recs, pollRecords(t, c, 1200-len(recs), 2*time.Minute)...)
	if err := kc.StartNode(ctx, victim); err != nil {
		t.Fatal(err)
	}
	restarted = true
	for p := 0; p < 3; p++ {
		kcatProduce(t, boot, topic, p, "snappy", batch(400))
	}
	recs = append(recs, pollRecords(t, c, 1800-len(recs), 2*time.Minute)...)
	next := map[int32]int64{}
	for _, r := range recs {
		if r.Offset != next[r.Partition] {
			t.Fatalf("partition %d: offset %d, want %d (lost or duplicated)", r.Partition, r.Offset, next[r.Partition])
		}
		next[r.Partition]++
	}
	t.Logf("consumed offsets 0-%d on each partition exactly once across the failover (%d OffsetForLeaderEpoch checks, %d full and %d incremental fetches)",
		next[0]-1, c.validations.Load(), c.fullFetches.Load(), c.incrFetches.Load())
}

// TestRealTransactional writes committed transactions with Kafka's own
// ProducerPerformance tool and reads them with read_committed: every record
// arrives once, the commit markers are skipped (their offsets leave gaps),
// and the position ends past the last marker, at the last stable offset.
// Aborted transactions are covered by TestReadCommitted with crafted
// responses only: no tool here writes aborted transactions.
func TestRealTransactional(t *testing.T) {
	if testing.Short() {
		t.Skip("real broker")
	}
	kc := integration.Shared(t, integration.LocalConfig{Nodes: 1})
	leakcheck.Check(t)
	boot := kc.Bootstrap(integration.Plaintext)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("txn-%d", time.Now().UnixNano())
	if err := kc.CreateTopic(ctx, topic, 1, 1); err != nil {
		t.Fatal(err)
	}
	const n = 500
	if _, err := integration.RunTool(ctx, "org.apache.kafka.tools.ProducerPerformance", "--topic", topic,
		"--num-records", fmt.Sprint(n), "--record-size", "100", "--throughput", "-1",
		"--producer-props", "bootstrap.servers="+strings.Join(boot, ","),
		"--transactional-id", "gregor-consumer-test", "--transaction-duration-ms", "20"); err != nil {
		t.Fatal(err)
	}
	c := realConsumer(t, boot, func(c *Config) { c.IsolationLevel = ReadCommitted })
	tp := TopicPartition{topic, 0}
	c.Assign(map[TopicPartition]Offset{tp: AtEarliest()})
	recs := pollRecords(t, c, n, time.Minute)
	gaps := 0
	for i := 1; i < len(recs); i++ {
		switch d := recs[i].Offset - recs[i-1].Offset; {
		case d <= 0:
			t.Fatalf("offset %d after %d", recs[i].Offset, recs[i-1].Offset)
		case d > 1:
			gaps++
		}
		if len(recs[i].Value) != 100 {
			t.Fatalf("offset %d: %d-byte value", recs[i].Offset, len(recs[i].Value))
		}
	}
	if len(recs) != n || gaps == 0 {
		t.Fatalf("%d records, %d gaps for markers", len(recs), gaps)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		pos, ok := c.Position(tp)
		lag, lok := c.Lag(tp)
		if ok && lok && lag == 0 && pos > recs[n-1].Offset+1 {
			t.Logf("%d records, %d transaction boundaries inside, position %d past the last marker", n, gaps, pos)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("position %d (%v), lag %d (%v), last record %d", pos, ok, lag, lok, recs[n-1].Offset)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
