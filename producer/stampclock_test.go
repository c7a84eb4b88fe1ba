package producer

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
)

// waitUntil polls cond until it holds or five seconds pass.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStampClockSlow checks that spaced-out stamps read the clock: each
// lies between the times read just before and after, and no goroutine
// starts.
func TestStampClockSlow(t *testing.T) {
	c := newStampClock()
	defer c.stop()
	for range 2 * stampBurst {
		before := time.Now()
		got := c.now()
		after := time.Now()
		if got.Before(before) || got.After(after) {
			t.Fatalf("stamp %v outside [%v, %v]", got, before, after)
		}
		// Spread the reads so that no stampBurst of them fall in one tick.
		time.Sleep(stampTick / 4)
	}
	if c.running.Load() {
		t.Fatal("the refreshing goroutine started for slow stamps")
	}
}

// TestStampClockBurst checks the fast path: a burst starts the refreshing
// goroutine; its stamps are never in the future, never go backwards, keep
// up with the clock, and the goroutine stops once stamps stop, and for
// good with stop.
func TestStampClockBurst(t *testing.T) {
	c := newStampClock()
	start := time.Now()
	for range 4 * stampBurst {
		c.now()
	}
	if !c.running.Load() {
		t.Fatalf("%d stamps in %v did not start the refreshing goroutine", 4*stampBurst, time.Since(start))
	}
	var last time.Time
	target := time.Now().Add(20 * stampTick)
	waitUntil(t, "a stamp 20 ticks later", func() bool {
		got := c.now()
		if now := time.Now(); got.After(now) {
			t.Fatalf("stamp %v after the time read after it, %v", got, now)
		}
		if got.Before(last) {
			t.Fatalf("stamp %v before the previous one, %v", got, last)
		}
		last = got
		return !got.Before(target)
	})
	waitUntil(t, "the refreshing goroutine to stop when idle", func() bool { return !c.running.Load() })
	before := time.Now()
	if got := c.now(); got.Before(before) {
		t.Fatalf("a stamp after the goroutine stopped, %v, is before %v", got, before)
	}

	// Running again, then stopped for good: stop waits for the goroutine,
	// and later bursts read the clock without starting it.
	for range 4 * stampBurst {
		c.now()
	}
	if !c.running.Load() {
		t.Fatal("a second burst did not restart the refreshing goroutine")
	}
	c.stop()
	if c.running.Load() {
		t.Fatal("stop returned with the goroutine running")
	}
	for range 4 * stampBurst {
		before := time.Now()
		if got := c.now(); got.Before(before) {
			t.Fatalf("stamp %v after stop is before %v", got, before)
		}
	}
	if c.running.Load() {
		t.Fatal("a burst after stop started the refreshing goroutine")
	}
	c.stop() // a second stop is harmless
}

// TestProducedTimestamps produces a burst of records without timestamps,
// which stamps them from the refreshing clock, and checks on the broker
// that every stamp lies between the times read before the first Produce
// and after the last acknowledgement, and that the callback saw the stamp
// the broker stored. Close must stop the clock's goroutine (leakcheck).
func TestProducedTimestamps(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 4)
	p := newProducer(t, c, nil)
	const n = 20000
	stamps := make([]time.Time, n)
	var wg sync.WaitGroup
	wg.Add(n)
	before := time.Now()
	for i := range n {
		r := &gregor.Record{Topic: "t", Value: []byte(strconv.Itoa(i))}
		p.Produce(context.Background(), r, func(r *gregor.Record, res Result) {
			if res.Err != nil {
				t.Error(res.Err)
			}
			stamps[i] = r.Timestamp
			wg.Done()
		})
	}
	wg.Wait()
	after := time.Now()
	seen := 0
	for _, rs := range readAll(t, c, "t", n) {
		for _, r := range rs {
			i, _ := strconv.Atoi(string(r.Value))
			ms := r.Timestamp.UnixMilli()
			if ms < before.UnixMilli() || ms > after.UnixMilli() {
				t.Fatalf("record %d stamped %v, outside [%v, %v]", i, r.Timestamp, before, after)
			}
			if ms != stamps[i].UnixMilli() {
				t.Fatalf("record %d: broker has %v, callback saw %v", i, r.Timestamp, stamps[i])
			}
			seen++
		}
	}
	if seen != n {
		t.Fatalf("read %d records, want %d", seen, n)
	}
}
