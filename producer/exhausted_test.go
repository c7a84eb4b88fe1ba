package producer

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
)

// lingerForever makes batches wait far longer than any test: they leave
// only when full, flushed, or pushed out by a full buffer.
func lingerForever(cfg *Config) {
	cfg.Linger = time.Hour
	cfg.BatchBytes = 1 << 20
	cfg.MaxBufferedRecords = 40
}

// TestBlockedProduceSendsLingering: a Produce waiting for room in the
// buffer makes the sinks send batches still lingering, as the Java
// producer does while its buffer pool has waiters. Without that, records
// beyond the buffer's cap wait out the linger (here an hour), and the
// buffer caps throughput at one buffer per linger.
func TestBlockedProduceSendsLingering(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 4)
	p := newProducer(t, c, lingerForever)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cb, written, failed := countOutcomes()
	const n = 400
	for i := range n {
		p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte{byte(i)}}, cb)
		if f := failed.Load(); f > 0 {
			t.Fatalf("record %d of %d over a cap of 40 with an hour's linger: %d failed", i, n, f)
		}
	}
	// Every Produce found room within ctx: the records ahead of it left
	// without waiting out the linger, and without a Flush.
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if w := written.Load(); w != n {
		t.Fatalf("%d written after Flush, want %d", w, n)
	}
	if got := readAll(t, c, "t", n); len(got) == 0 {
		t.Fatal("nothing read back")
	}
}

// TestRefusedTryProduceSendsLingering: a TryProduce refused for a full
// buffer also sends the lingering batches, so that room comes back without
// waiting out the linger.
func TestRefusedTryProduceSendsLingering(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 4)
	p := newProducer(t, c, lingerForever)
	written := make(chan struct{}, 64)
	cb := func(_ *gregor.Record, r Result) {
		if r.Outcome == Written {
			written <- struct{}{}
		}
	}
	ctx := context.Background()
	n := 0
	for ; ; n++ {
		err := p.TryProduce(ctx, &gregor.Record{Topic: "t", Value: []byte{byte(n)}}, cb)
		if errors.Is(err, ErrBufferFull) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if n != 40 {
		t.Fatalf("refused after %d records, want 40", n)
	}
	timeout := time.After(10 * time.Second)
	for i := range n {
		select {
		case <-written:
		case <-timeout:
			t.Fatalf("%d of %d records written after the refusal", i, n)
		}
	}
	if err := p.TryProduce(ctx, &gregor.Record{Topic: "t"}, cb); err != nil {
		t.Fatalf("after room came back: %v", err)
	}
}
