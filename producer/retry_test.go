package producer

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// produceError answers a Produce request with code for every partition.
func produceError(req kmsg.Request, code int16) kmsg.Response {
	pr := req.(*kmsg.ProduceRequest)
	resp := pr.ResponseKind().(*kmsg.ProduceResponse)
	for _, td := range pr.Topics {
		rt := kmsg.NewProduceResponseTopic()
		rt.Topic = td.Topic
		for _, pd := range td.Partitions {
			rp := kmsg.NewProduceResponseTopicPartition()
			rp.Partition = pd.Partition
			rp.ErrorCode = code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// failFirstProduce makes the fake cluster hold its first Produce request
// (held is closed when it arrives) until release is called, and then
// answer it with code for every partition. The whole cluster waits
// meanwhile, so later requests stay behind the first. Other Produce
// requests are handled as usual.
func failFirstProduce(t *testing.T, c *kfake.Cluster, code int16) (held <-chan struct{}, release func()) {
	arrived, gate := make(chan struct{}), make(chan struct{})
	var calls atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if calls.Add(1) != 1 {
			return nil, nil, false
		}
		close(arrived)
		<-gate
		return produceError(req, code), nil, true
	})
	var once sync.Once
	release = func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release) // before the cluster closes
	return arrived, release
}

// flushWhileHeld starts p.Flush, whose result it returns, and waits until
// the fake cluster holds the first Produce request (see failFirstProduce).
func flushWhileHeld(t *testing.T, p *Producer, held <-chan struct{}) <-chan error {
	t.Helper()
	flushed := make(chan error, 1)
	go func() { flushed <- p.Flush(context.Background()) }()
	select {
	case <-held:
	case <-time.After(10 * time.Second):
		t.Fatalf("no produce request: %s", dump(p))
	}
	return flushed
}

// countWrites counts the producer's requests written (see testWritten).
func countWrites(t *testing.T) *atomic.Int32 {
	var n atomic.Int32
	testWritten = func(int) { n.Add(1) }
	t.Cleanup(func() { testWritten = nil })
	return &n
}

// waitWrites waits until n requests have been written.
func waitWrites(t *testing.T, p *Producer, writes *atomic.Int32, n int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for writes.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d produce requests written, want %d: %s", writes.Load(), n, dump(p))
		}
		time.Sleep(time.Millisecond)
	}
}

// TestRetryAfterCancelKeepsOffsets sends one batch of three records, the
// first produced with a context that ends while the batch is in flight
// (its record comes back Unknown). The attempt then fails with a
// retriable error and the batch is sent again, as it was: three records.
// The other two must be reported at their own offsets, 1 and 2.
func TestRetryAfterCancelKeepsOffsets(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 1, kfake.NumBrokers(1))
	held, release := failFirstProduce(t, c, 6) // NOT_LEADER_OR_FOLLOWER
	p := newProducer(t, c, func(cfg *Config) { cfg.Linger = time.Hour })

	results := make([]chan Result, 3)
	for i := range results {
		results[i] = make(chan Result, 1)
	}
	cancelCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range 3 {
		ctx := context.Background()
		if i == 0 {
			ctx = cancelCtx
		}
		r := &gregor.Record{Topic: "t", Partition: 0, Value: []byte{byte('a' + i)}}
		p.Produce(ctx, r, func(_ *gregor.Record, res Result) { results[i] <- res })
	}
	flushed := flushWhileHeld(t, p, held)
	cancel()
	if res := <-results[0]; res.Outcome != Unknown {
		t.Fatalf("record cancelled in flight: %v (%v), want Unknown", res.Outcome, res.Err)
	}
	release()
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		res := <-results[i]
		if res.Outcome != Written || res.Offset != int64(i) {
			t.Errorf("record %d: %v at offset %d (%v), want Written at %d", i, res.Outcome, res.Offset, res.Err, i)
		}
	}
}

// TestRenumberedBatchKeepsItsBytes rejects a partition's first batch (A)
// for good while the next two (B, then D) are in flight behind it, which
// renumbers them. B's first record was produced with a context that ends
// while B is in flight: it comes back Unknown, and its caller then reuses
// the record's memory. B goes out again under its new sequence number:
// it must carry the record as first sent, not what the memory holds now.
func TestRenumberedBatchKeepsItsBytes(t *testing.T) {
	leakcheck.Check(t)
	writes := countWrites(t)
	c := fake(t, 1, kfake.NumBrokers(1))
	// MESSAGE_TOO_LARGE: A is not retried. B and D stay behind A.
	held, unblock := failFirstProduce(t, c, 10)
	// A full batch goes out at once; a smaller one only when sealed.
	p := newProducer(t, c, func(cfg *Config) { cfg.Linger = time.Hour; cfg.BatchBytes = 1 << 10 })

	big := bytes.Repeat([]byte("z"), 2<<10)
	type produced struct {
		r   *gregor.Record
		res chan Result
	}
	produce := func(ctx context.Context, value []byte) produced {
		pr := produced{&gregor.Record{Topic: "t", Value: value}, make(chan Result, 1)}
		p.Produce(ctx, pr.r, func(_ *gregor.Record, res Result) { pr.res <- res })
		return pr
	}
	a0 := produce(context.Background(), big)
	<-held
	cancelCtx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b0 := produce(cancelCtx, []byte("first value of b0"))
	b1 := produce(context.Background(), []byte("b1"))
	d0 := produce(context.Background(), big) // seals B
	waitWrites(t, p, writes, 3)
	cancel()
	if res := <-b0.res; res.Outcome != Unknown {
		t.Fatalf("b0 cancelled in flight: %v (%v), want Unknown", res.Outcome, res.Err)
	}
	copy(b0.r.Value, "REUSED BY CALLER!") // the caller owns the record again
	unblock()

	if res := <-a0.res; res.Outcome != Failed {
		t.Fatalf("a0: %v (%v), want Failed", res.Outcome, res.Err)
	}
	for name, want := range map[string]struct {
		pr  produced
		off int64
	}{"b1": {b1, 1}, "d0": {d0, 2}} {
		if res := <-want.pr.res; res.Outcome != Written || res.Offset != want.off {
			t.Fatalf("%s: %v at %d (%v), want Written at %d", name, res.Outcome, res.Offset, res.Err, want.off)
		}
	}
	recs := readAll(t, c, "t", 3)[0]
	if len(recs) != 3 {
		t.Fatalf("%d records in the partition, want 3", len(recs))
	}
	if got := string(recs[0].Value); got != "first value of b0" {
		t.Fatalf("b0 written as %q, want the bytes it was first sent with", got)
	}
	if string(recs[1].Value) != "b1" || !bytes.Equal(recs[2].Value, big) {
		t.Fatalf("records %q, %d bytes", recs[1].Value, len(recs[2].Value))
	}
}

// TestRecoveryOneAtATime has three batches of one partition in flight when
// the first fails with a retriable error (the two behind it then fail out
// of order), and the broker keeps failing every third request from then
// on. Sending the three again together would put the first one on a
// failing request every round until the delivery timeout; the producer
// sends them one at a time until one is written, so every record gets
// through.
func TestRecoveryOneAtATime(t *testing.T) {
	leakcheck.Check(t)
	writes := countWrites(t)
	c := fake(t, 1, kfake.NumBrokers(1))
	release := make(chan struct{})
	var calls atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		k := calls.Add(1)
		if k == 1 {
			<-release // until all three are in flight
		}
		if k%3 != 1 {
			return nil, nil, false
		}
		return produceError(req, 6), nil, true // NOT_LEADER_OR_FOLLOWER
	})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	p := newProducer(t, c, func(cfg *Config) {
		cfg.Linger = time.Hour
		cfg.BatchBytes = 1 << 10 // each record fills a batch
		cfg.MaxInFlightPerPartition = 3
		cfg.DeliveryTimeout = 5 * time.Second
	})
	value := bytes.Repeat([]byte("v"), 2<<10)
	results := make(chan Result, 3)
	for range 3 {
		p.Produce(context.Background(), &gregor.Record{Topic: "t", Value: value}, func(_ *gregor.Record, res Result) { results <- res })
	}
	waitWrites(t, p, writes, 3)
	unblock()
	offsets := map[int64]bool{}
	for i := range 3 {
		res := <-results
		if res.Outcome != Written {
			t.Fatalf("record %d: %v (%v) after %d produce requests", i, res.Outcome, res.Err, calls.Load())
		}
		offsets[res.Offset] = true
	}
	if len(offsets) != 3 || !offsets[0] || !offsets[1] || !offsets[2] {
		t.Fatalf("offsets %v, want 0, 1 and 2", offsets)
	}
}
