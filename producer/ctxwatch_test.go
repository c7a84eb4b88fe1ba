package producer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestSharedContextWatch produces runs of records under two contexts into
// the same buffered batches (a long linger keeps them there), then cancels
// one context: exactly its records fail with its cause, and the others are
// written once the producer flushes. One watcher per run serves many
// records, so this checks that none is missed or settled twice.
func TestSharedContextWatch(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 2)
	p := newProducer(t, c, func(cfg *Config) { cfg.Linger = time.Minute; cfg.Partitioner = PartitionRoundRobin })
	cause := errors.New("request abandoned")
	ctxA, cancelA := context.WithCancelCause(context.Background())
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	type outcome struct {
		ctx string
		res Result
	}
	var mu sync.Mutex
	var got []outcome
	var wg sync.WaitGroup
	produce := func(ctx context.Context, name string, n int) {
		for range n {
			wg.Add(1)
			p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte(name)}, func(_ *gregor.Record, r Result) {
				mu.Lock()
				got = append(got, outcome{name, r})
				mu.Unlock()
				wg.Done()
			})
		}
	}
	for range 5 { // alternating runs: several watchers per batch
		produce(ctxA, "a", 40)
		produce(ctxB, "b", 30)
	}
	cancelA(cause)
	// The records of A settle from the watchers, without any flush.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of A's 200 records settled after the cancel", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	fctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	var a, b int
	for _, o := range got {
		switch o.ctx {
		case "a":
			a++
			if o.res.Outcome != Failed || !errors.Is(o.res.Err, cause) {
				t.Fatalf("a record of the cancelled context: %+v", o.res)
			}
		case "b":
			b++
			if o.res.Outcome != Written || o.res.Err != nil {
				t.Fatalf("a record of the live context: %+v", o.res)
			}
		}
	}
	if a != 200 || b != 150 {
		t.Fatalf("results: %d for A (want 200), %d for B (want 150)", a, b)
	}
	// A context that ended before Produce gets its own watcher at once.
	done, stop := context.WithCancel(context.Background())
	stop()
	res, err := p.ProduceSync(done, &gregor.Record{Topic: "t", Value: []byte("late")})
	if err == nil || !errors.Is(err, context.Canceled) {
		t.Fatalf("ProduceSync with an ended context: %v %+v", err, res)
	}
}

// TestWatcherAcrossBatches produces one record at a time under one context: the
// watcher of a written batch stays the partition's current one and the
// next batch joins it instead of registering with the context again. A
// watcher reused so, now watching two batches, must still settle their
// records when the context ends: the held, sent record becomes unknown
// and the buffered one fails, both with the cause.
func TestWatcherAcrossBatches(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 1)
	var hold atomic.Bool
	held, release := holdProduce(c, func(*kmsg.ProduceRequest) bool { return hold.Load() })
	defer release()
	p := newProducer(t, c, func(cfg *Config) { cfg.MaxInFlightPerPartition = 1 })
	cause := errors.New("caller went away")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)

	current := func() *ctxWatch {
		part := (*p.topics.Load())["t"].parts[0]
		part.mu.Lock()
		defer part.mu.Unlock()
		return part.cur
	}
	var first *ctxWatch
	for i := range 4 {
		if _, err := p.ProduceSync(ctx, &gregor.Record{Topic: "t", Value: []byte("sync")}); err != nil {
			t.Fatal(err)
		}
		w := current()
		if w == nil {
			t.Fatalf("after record %d the partition has no current watcher", i)
		}
		if i == 0 {
			first = w
		} else if w != first {
			t.Fatalf("record %d registered a new watcher instead of reusing the current one", i)
		}
	}

	hold.Store(true)
	done := make(chan Result, 4)
	var results atomic.Int32
	p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte("sent")}, func(_ *gregor.Record, r Result) { results.Add(1); done <- r })
	for held.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	if current() != first {
		t.Fatal("the held record's batch did not join the current watcher")
	}
	// The partition's one in-flight slot is taken: this one stays buffered.
	p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte("buffered")}, func(_ *gregor.Record, r Result) { results.Add(1); done <- r })
	part := (*p.topics.Load())["t"].parts[0]
	part.mu.Lock()
	watching := len(first.batches)
	part.mu.Unlock()
	if current() != first || watching != 2 {
		t.Fatalf("the buffered record did not join the current watcher, which watches %d batches", watching)
	}
	cancel(cause)
	got := map[Outcome]Result{}
	for range 2 {
		select {
		case r := <-done:
			got[r.Outcome] = r
		case <-time.After(5 * time.Second):
			t.Fatal("no result after cancel")
		}
	}
	if u, ok := got[Unknown]; !ok || !errors.Is(u.Err, ErrOutcomeUnknown) || !errors.Is(u.Err, cause) {
		t.Fatalf("sent record: %+v", got)
	}
	if f, ok := got[Failed]; !ok || !errors.Is(f.Err, cause) || errors.Is(f.Err, ErrOutcomeUnknown) {
		t.Fatalf("buffered record: %+v", got)
	}
	// The held request is answered now: its record, settled already, must
	// not get a second result.
	hold.Store(false)
	release()
	fctx, fcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer fcancel()
	if err := p.Flush(fctx); err != nil {
		t.Fatal(err)
	}
	if n := results.Load(); n != 2 {
		t.Fatalf("%d results for 2 records", n)
	}
}
