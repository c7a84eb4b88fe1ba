package producer

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
)

// TestRoomToWake checks when a release wakes Produce calls blocked on a
// full buffer: once a sixteenth of both bounds is free and the largest
// waiting record fits, or when the buffer is empty.
func TestRoomToWake(t *testing.T) {
	p := &Producer{cfg: Config{MaxBufferedBytes: 1600, MaxBufferedRecords: 160}}
	cases := []struct {
		bytes, recs, need int64
		want              bool
	}{
		{1500, 10, 0, true},    // 100 bytes and 150 records free
		{1501, 10, 0, false},   // 99 bytes free: less than a sixteenth
		{100, 151, 0, false},   // 9 records free
		{100, 150, 0, true},    // 10 records free
		{1000, 10, 600, true},  // the waiting record fits
		{1001, 10, 600, false}, // it does not
		{5, 1, 5000, false},    // a record larger than the buffer waits for an empty one
		{0, 0, 5000, true},
	}
	for _, c := range cases {
		p.waitNeed.Store(c.need)
		if got := p.roomToWake(c.bytes, c.recs); got != c.want {
			t.Errorf("%d bytes, %d records, waiting for %d: wake %v, want %v", c.bytes, c.recs, c.need, got, c.want)
		}
	}
}

// TestBlockedProducersProceed runs producers that keep a small buffer full,
// with a record needing most of the buffer's bytes among them, so that
// Produce waits on nearly every call. Every record must be written: a
// waiter is never left asleep while the buffer drains.
func TestBlockedProducersProceed(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 3)
	p := newProducer(t, c, func(cfg *Config) {
		cfg.MaxBufferedRecords = 48
		cfg.MaxBufferedBytes = 4000
		cfg.BatchBytes = 300
		cfg.MaxRequestBytes = 4000
		cfg.Linger = -1
	})
	const producers, each = 4, 1500
	cb, written, other := countOutcomes()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	big := make([]byte, 3500)
	var wg sync.WaitGroup
	for g := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				v := []byte("small")
				if g == 0 && i%500 == 250 {
					v = big
				}
				p.Produce(ctx, &gregor.Record{Topic: "t", Value: v}, cb)
			}
		}()
	}
	wg.Wait()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if w, o := written.Load(), other.Load(); w != producers*each || o != 0 {
		t.Fatalf("%d written and %d not, of %d", w, o, producers*each)
	}
	if n := p.Buffered(); n != 0 {
		t.Fatalf("%d records still counted as buffered", n)
	}
}

// countOutcomes returns a callback that counts the records written and
// those with any other outcome.
func countOutcomes() (cb func(*gregor.Record, Result), written, other *atomic.Int32) {
	written, other = new(atomic.Int32), new(atomic.Int32)
	cb = func(_ *gregor.Record, r Result) {
		if r.Outcome == Written {
			written.Add(1)
		} else {
			other.Add(1)
		}
	}
	return cb, written, other
}
