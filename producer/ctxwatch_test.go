package producer

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
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
