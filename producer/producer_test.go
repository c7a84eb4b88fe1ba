package producer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fake starts a kfake cluster with topic "t" of n partitions.
func fake(t testing.TB, n int32, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(3), kfake.SeedTopics(n, "t")}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newProducer(t testing.TB, c *kfake.Cluster, mod func(*Config)) *Producer {
	t.Helper()
	cfg := Config{Conn: gregor.ConnConfig{SeedBrokers: c.ListenAddrs(), RetryBackoffBase: 10 * time.Millisecond,
		RetryBackoffMax: 50 * time.Millisecond, MetadataMinRefresh: 10 * time.Millisecond}}
	if mod != nil {
		mod(&cfg)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		p.Close(ctx)
	})
	return p
}

// holdProduce makes the fake cluster hold every Produce request for which
// hold (nil: all) returns true, until release is called; held counts the
// requests held. Call release before the producer closes (defer it in the
// test: deferred calls run before the cleanups that close the producer).
func holdProduce(c *kfake.Cluster, hold func(*kmsg.ProduceRequest) bool) (held *atomic.Int32, release func()) {
	held = new(atomic.Int32)
	gate := make(chan struct{})
	var once sync.Once
	c.ControlKey(0, func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if hold == nil || hold(req.(*kmsg.ProduceRequest)) {
			held.Add(1)
			c.SleepControl(func() { <-gate })
		}
		return nil, nil, false
	})
	return held, func() { once.Do(func() { close(gate) }) }
}

// readAll consumes every record of topic with kgo, by partition.
func readAll(t testing.TB, c *kfake.Cluster, topic string, want int) map[int32][]*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	out := map[int32][]*kgo.Record{}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for n := 0; n < want; {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %d of %d records", n, want)
		}
		fs.EachRecord(func(r *kgo.Record) {
			out[r.Partition] = append(out[r.Partition], r)
			n++
		})
	}
	return out
}

func TestConfigValidation(t *testing.T) {
	tooBig := int64(math.MaxInt32) + 1 // a request size the wire cannot carry
	seeds := gregor.ConnConfig{SeedBrokers: []string{"localhost:9092"}}
	for _, tc := range []struct {
		cfg   Config
		field string
	}{
		{Config{Conn: seeds, Acks: AcksNone}, "Acks"},
		{Config{Conn: seeds, MaxRequestBytes: int(tooBig), MaxBufferedBytes: tooBig}, "MaxRequestBytes"},
		{Config{Conn: seeds, Acks: AcksLeader}, "Acks"},
		{Config{Conn: seeds, MaxInFlightPerPartition: 6}, "MaxInFlightPerPartition"},
		{Config{Conn: seeds, Partitioner: PartitionFunc}, "PartitionFunc"},
		{Config{Conn: seeds, BatchBytes: 2 << 20}, "BatchBytes"},
		{Config{Conn: seeds, Linger: time.Second, DeliveryTimeout: -1}, "DeliveryTimeout"},
		{Config{Conn: seeds, TransactionalID: "x", DisableIdempotence: true, Acks: AcksLeader}, "Acks"},
	} {
		_, err := New(tc.cfg)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, gregor.ErrInvalidConfig) {
			t.Errorf("%+v: got %v, want a ConfigError on %s", tc.cfg, err, tc.field)
		}
	}
	if _, err := New(Config{Conn: seeds, Acks: AcksNone, DisableIdempotence: true, MaxInFlightPerPartition: 10}); err != nil {
		t.Errorf("acks=0 without idempotence: %v", err)
	}
	if _, err := New(Config{}); !errors.Is(err, gregor.ErrInvalidConfig) {
		t.Errorf("no seed brokers: %v", err)
	}
}

// TestProduceOrder produces keyed and unkeyed records and reads them back:
// every record is written once, at the offset its result names, keyed
// records on the Java partition, and each partition in produce order.
func TestProduceOrder(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 16)
	p := newProducer(t, c, nil)
	const n = 5000
	var mu sync.Mutex
	got := map[string]Result{}
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		r := &gregor.Record{Topic: "t", Value: []byte(strconv.Itoa(i)), Headers: []gregor.Header{{Key: "h", Value: []byte("v")},
			{Key: strings.Repeat("k", i%7), Value: []byte(strconv.Itoa(i))}}}
		if i%2 == 0 {
			r.Key = []byte("key" + strconv.Itoa(i%100))
		}
		p.Produce(context.Background(), r, func(r *gregor.Record, res Result) {
			mu.Lock()
			got[string(r.Value)] = res
			mu.Unlock()
			wg.Done()
		})
	}
	wg.Wait()
	recs := readAll(t, c, "t", n)
	seen := 0
	for part, rs := range recs {
		last := -1
		for _, r := range rs {
			seen++
			res := got[string(r.Value)]
			if res.Outcome != Written || res.Partition != part || res.Offset != r.Offset {
				t.Fatalf("record %s at %d/%d, result %+v", r.Value, part, r.Offset, res)
			}
			i, _ := strconv.Atoi(string(r.Value))
			if r.Key != nil && KeyPartition(r.Key, 16) != part {
				t.Fatalf("key %s on partition %d", r.Key, part)
			}
			if i <= last {
				t.Fatalf("partition %d: %d after %d", part, i, last)
			}
			last = i
			if len(r.Headers) != 2 || r.Headers[0].Key != "h" || string(r.Headers[0].Value) != "v" ||
				r.Headers[1].Key != strings.Repeat("k", i%7) || string(r.Headers[1].Value) != string(r.Value) {
				t.Fatalf("headers %v", r.Headers)
			}
		}
	}
	if seen != n || len(got) != n {
		t.Fatalf("read %d, results %d, want %d", seen, len(got), n)
	}
}

// TestRetriesKeepOrder makes every third Produce request fail with
// NOT_LEADER_OR_FOLLOWER while other requests are in flight; idempotent retries must
// write each record exactly once and in order.
func TestRetriesKeepOrder(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 4)
	var calls atomic.Int32
	c.ControlKey(0, func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		k := calls.Add(1)
		if k%3 != 0 {
			return nil, nil, false
		}
		return produceError(req, 6), nil, true // NOT_LEADER_OR_FOLLOWER
	})
	p := newProducer(t, c, func(cfg *Config) { cfg.BatchBytes = 1 << 10 })
	const n = 3000
	recs := make([]*gregor.Record, n)
	for i := range recs {
		recs[i] = &gregor.Record{Topic: "t", Key: []byte{byte(i % 4)}, Value: []byte(strconv.Itoa(i))}
	}
	timer := time.AfterFunc(8*time.Second, func() { fmt.Println(dump(p)) })
	results, err := p.ProduceSync(context.Background(), recs...)
	timer.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() < 6 {
		t.Fatalf("only %d produce requests", calls.Load())
	}
	got := readAll(t, c, "t", n)
	total := 0
	for part, rs := range got {
		last := -1
		for _, r := range rs {
			i, _ := strconv.Atoi(string(r.Value))
			if i <= last {
				t.Fatalf("partition %d: %d after %d (duplicate or reordered)", part, i, last)
			}
			last = i
			if results[i].Offset != r.Offset || results[i].Partition != part {
				t.Fatalf("record %d: result %+v, found at %d/%d", i, results[i], part, r.Offset)
			}
			total++
		}
	}
	if total != n {
		t.Fatalf("read %d records, want %d", total, n)
	}
}

// TestOutcomeUnknown holds Produce requests at the broker, then cancels
// the records' context: they were sent, so their outcome is unknown. A
// record cancelled before it was sent fails instead.
func TestOutcomeUnknown(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 1)
	held, release := holdProduce(c, nil)
	defer release()
	p := newProducer(t, c, func(cfg *Config) { cfg.MaxInFlightPerPartition = 1 })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan Result, 2)
	p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte("a")}, func(_ *gregor.Record, r Result) { done <- r })
	for held.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	// The partition's one in-flight slot is taken: this one stays buffered.
	p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte("b")}, func(_ *gregor.Record, r Result) { done <- r })
	time.Sleep(20 * time.Millisecond)
	cancel()
	got := map[string]Result{}
	for range 2 {
		select {
		case r := <-done:
			got[r.Outcome.String()] = r
		case <-time.After(5 * time.Second):
			t.Fatal("no result after cancel")
		}
	}
	if u, ok := got["unknown"]; !ok || !errors.Is(u.Err, ErrOutcomeUnknown) || !errors.Is(u.Err, context.Canceled) {
		t.Fatalf("sent record: %+v", got)
	}
	if f, ok := got["failed"]; !ok || !errors.Is(f.Err, context.Canceled) || errors.Is(f.Err, ErrOutcomeUnknown) {
		t.Fatalf("buffered record: %+v", got)
	}
}

// TestBufferFull fills the buffer while the broker holds requests.
func TestBufferFull(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 1)
	_, release := holdProduce(c, nil)
	defer release()
	p := newProducer(t, c, func(cfg *Config) { cfg.MaxBufferedRecords = 10 })
	var results atomic.Int32
	cb := func(_ *gregor.Record, r Result) {
		if r.Outcome == Written {
			results.Add(1)
		}
	}
	for i := range 10 {
		if err := p.TryProduce(context.Background(), &gregor.Record{Topic: "t", Value: []byte{byte(i)}}, cb); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.TryProduce(context.Background(), &gregor.Record{Topic: "t"}, cb); !errors.Is(err, ErrBufferFull) {
		t.Fatalf("11th record: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	var blocked Result
	p.Produce(ctx, &gregor.Record{Topic: "t"}, func(_ *gregor.Record, r Result) { blocked = r })
	cancel()
	if blocked.Outcome != Failed || !errors.Is(blocked.Err, context.DeadlineExceeded) {
		t.Fatalf("blocked Produce: %+v", blocked)
	}
	release()
	if err := p.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if results.Load() != 10 {
		t.Fatalf("%d written", results.Load())
	}
}

// TestCloseSettlesEverything closes while the broker holds the requests:
// each record gets exactly one result (sent ones unknown, the rest failed
// with ErrClosed), Close returns, and no goroutine is left.
func TestCloseSettlesEverything(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 4)
	_, release := holdProduce(c, nil)
	defer release()
	p := newProducer(t, c, func(cfg *Config) { cfg.BatchBytes = 200 })
	var counts [3]atomic.Int32
	var total atomic.Int32
	for i := range 200 {
		p.Produce(context.Background(), &gregor.Record{Topic: "t", Value: []byte(fmt.Sprint(i))}, func(_ *gregor.Record, r Result) {
			counts[r.Outcome].Add(1)
			total.Add(1)
		})
	}
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := p.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v", err)
	}
	if total.Load() != 200 || counts[Unknown].Load() == 0 || counts[Failed].Load() == 0 || counts[Written].Load() != 0 {
		t.Fatalf("results: total %d, written %d, failed %d, unknown %d", total.Load(), counts[Written].Load(), counts[Failed].Load(), counts[Unknown].Load())
	}
	var res Result
	p.Produce(context.Background(), &gregor.Record{Topic: "t"}, func(_ *gregor.Record, r Result) { res = r })
	if !errors.Is(res.Err, gregor.ErrClosed) {
		t.Fatalf("produce after close: %+v", res)
	}
}

// TestBadInput covers records that must fail before they are buffered.
func TestBadInput(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 2)
	p := newProducer(t, c, func(cfg *Config) { cfg.MetadataWait = 300 * time.Millisecond })
	_, err := p.ProduceSync(context.Background(), &gregor.Record{Topic: "t", Value: make([]byte, 2<<20)})
	var tl *RecordTooLargeError
	if !errors.As(err, &tl) || tl.Size < 2<<20 || !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("large record: %v", err)
	}
	start := time.Now()
	_, err = p.ProduceSync(context.Background(), &gregor.Record{Topic: "missing", Value: []byte("x")})
	if !errors.Is(err, gregor.ErrUnknownTopic) || time.Since(start) > 5*time.Second {
		t.Fatalf("unknown topic: %v after %s", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := p.ProduceSync(ctx, &gregor.Record{Topic: "t"})
	if !errors.Is(err, context.Canceled) || res[0].Outcome != Failed {
		t.Fatalf("cancelled: %v %+v", err, res)
	}
	if _, err := p.ProduceSync(context.Background(), &gregor.Record{Topic: "t", Value: []byte("ok")}); err != nil {
		t.Fatal(err)
	}
}

// TestDeliveryTimeoutRefused: a broker that refuses every attempt with a
// retriable error makes the record fail (definitely not written) at its
// delivery timeout, not become unknown.
func TestDeliveryTimeoutRefused(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 1)
	c.ControlKey(0, func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		return produceError(req, 7), nil, true // REQUEST_TIMED_OUT
	})
	p := newProducer(t, c, func(cfg *Config) { cfg.DeliveryTimeout = 300 * time.Millisecond })
	res, err := p.ProduceSync(context.Background(), &gregor.Record{Topic: "t", Value: []byte("x")})
	if res[0].Outcome != Failed || !errors.Is(err, ErrDeliveryTimeout) || errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("%+v", res[0])
	}
}

// TestSequenceReset: the broker answers the first batch with
// OUT_OF_ORDER_SEQUENCE_NUMBER; the producer bumps its epoch, renumbers and
// writes every record once.
func TestSequenceReset(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 1)
	var inits atomic.Int32
	c.ControlKey(22, func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		inits.Add(1)
		return nil, nil, false
	})
	c.ControlKey(0, func(req kmsg.Request) (kmsg.Response, error, bool) {
		return produceError(req, 45), nil, true // OUT_OF_ORDER_SEQUENCE_NUMBER
	})
	p := newProducer(t, c, nil)
	recs := make([]*gregor.Record, 100)
	for i := range recs {
		recs[i] = &gregor.Record{Topic: "t", Value: []byte(strconv.Itoa(i))}
	}
	if _, err := p.ProduceSync(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	if inits.Load() < 2 {
		t.Fatalf("%d InitProducerId requests, want a bump", inits.Load())
	}
	got := readAll(t, c, "t", 100)
	if len(got[0]) != 100 {
		t.Fatalf("read %d records", len(got[0]))
	}
	for i, r := range got[0] {
		if string(r.Value) != strconv.Itoa(i) {
			t.Fatalf("offset %d holds %s", i, r.Value)
		}
	}
}

// TestAcksNoneAndLeader: with acks=0 a record is written once its request
// is sent (offset -1), with acks=1 the leader's offset comes back; both
// without idempotence, and every record arrives.
func TestAcksNoneAndLeader(t *testing.T) {
	leakcheck.Check(t)
	for _, acks := range []Acks{AcksNone, AcksLeader} {
		c := fake(t, 2)
		p := newProducer(t, c, func(cfg *Config) { cfg.Acks, cfg.DisableIdempotence = acks, true })
		recs := make([]*gregor.Record, 50)
		for i := range recs {
			recs[i] = &gregor.Record{Topic: "t", Value: []byte(strconv.Itoa(i))}
		}
		res, err := p.ProduceSync(context.Background(), recs...)
		if err != nil {
			t.Fatal(err)
		}
		if acks == AcksNone && res[0].Offset != -1 || acks == AcksLeader && res[0].Offset < 0 {
			t.Fatalf("acks=%s: %+v", acks, res[0])
		}
		n := 0
		for _, rs := range readAll(t, c, "t", 50) {
			n += len(rs)
		}
		if n != 50 {
			t.Fatalf("acks=%s: read %d", acks, n)
		}
	}
}
