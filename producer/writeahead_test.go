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
	"github.com/twmb/franz-go/pkg/kfake"
)

// heldWriter makes the connection's writer stop after its first write of
// a produce request until release is called, as a slow network would,
// and records the most requests a sink had waiting for the writer.
func heldWriter(t *testing.T) (most *atomic.Int32, release func()) {
	most = new(atomic.Int32)
	testSinkSend = func(n int32) {
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
	}
	hold := make(chan struct{})
	var first atomic.Bool
	testWritten = func(int) {
		if first.CompareAndSwap(false, true) {
			<-hold
		}
	}
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(func() {
		release()
		testSinkSend, testWritten = nil, nil
	})
	return most, release
}

// fillBuffer produces 1 KiB records with TryProduce until the buffer is
// full and returns how many it took; their results go to results.
func fillBuffer(t *testing.T, p *Producer, results chan<- Result) int {
	value := make([]byte, 1<<10)
	cb := func(_ *gregor.Record, res Result) { results <- res }
	for n := 0; ; n++ {
		err := p.TryProduce(context.Background(), &gregor.Record{Topic: "t", Value: value}, cb)
		if errors.Is(err, ErrBufferFull) {
			return n
		}
		if err != nil {
			t.Fatalf("record %d: %v", n, err)
		}
	}
}

// sinkWithUnwritten waits until the producer's sink for its one broker
// exists (partitions reach it from the sink for unknown leaders) and has
// n requests waiting for the writer, and returns it.
func sinkWithUnwritten(t *testing.T, p *Producer, n int32) *sink {
	t.Helper()
	var s *sink
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.sinksMu.Lock()
		for id, x := range p.sinks {
			if id >= 0 {
				s = x
			}
		}
		p.sinksMu.Unlock()
		if s != nil && s.unwritten.Load() == n {
			return s
		}
		if time.Now().After(deadline) {
			if s == nil {
				t.Fatal("no sink for the broker")
			}
			t.Fatalf("sink has %d unwritten requests, want %d", s.unwritten.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// writeAheadProducer returns a producer of large requests (full 256 KiB
// batches over four partitions of one broker: each request goes to the
// writer goroutine) with an 8 MiB buffer.
func writeAheadProducer(t *testing.T, mod func(*Config)) (*Producer, *kfake.Cluster) {
	c := fake(t, 4, kfake.NumBrokers(1))
	return newProducer(t, c, func(cfg *Config) {
		cfg.Linger = time.Hour // only full batches go out
		cfg.Partitioner = PartitionRoundRobin
		cfg.BatchBytes = 256 << 10
		cfg.MaxRequestBytes = 1 << 20
		cfg.MaxBufferedBytes = 8 << 20
		cfg.MaxBufferedRecords = 1 << 20
		if mod != nil {
			mod(cfg)
		}
	}), c
}

// TestSinkWaitsForTheWriter holds the connection's writer in its first
// request: the sink queues no other and leaves the records unencoded,
// however many batches fill up behind them, until the write returns. Every record is then written, and no request is left counted
// as unwritten.
func TestSinkWaitsForTheWriter(t *testing.T) {
	leakcheck.Check(t)
	most, release := heldWriter(t)
	p, _ := writeAheadProducer(t, nil)
	results := make(chan Result, 1<<16)
	n := fillBuffer(t, p, results)
	s := sinkWithUnwritten(t, p, writeAhead)
	// The buffer is full of batches that filled long ago, each of which
	// woke the sink; none of them became another request.
	if m := most.Load(); m != writeAhead {
		t.Fatalf("at most %d requests waited for the writer, want %d", m, writeAhead)
	}
	release()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush: %v\n%s", err, dump(p))
	}
	for i := range n {
		if res := <-results; res.Outcome != Written {
			t.Fatalf("result %d of %d: %v (%v)", i, n, res.Outcome, res.Err)
		}
	}
	if u := s.unwritten.Load(); u != 0 {
		t.Fatalf("%d requests still counted as unwritten after every record was written", u)
	}
	if m := most.Load(); m > writeAhead {
		t.Fatalf("%d requests waited for the writer, want at most %d", m, writeAhead)
	}
}

// TestUnwrittenSettledByFailure holds the writer with its request
// counted, then stops the broker: the held write fails instead of
// completing, and the sink must count it out all the same, or it would
// never send again. Every record gets a result.
func TestUnwrittenSettledByFailure(t *testing.T) {
	leakcheck.Check(t)
	_, release := heldWriter(t)
	p, c := writeAheadProducer(t, func(cfg *Config) {
		cfg.DeliveryTimeout = 3 * time.Second
		cfg.Conn.RequestTimeout = time.Second
	})
	results := make(chan Result, 1<<16)
	n := fillBuffer(t, p, results)
	s := sinkWithUnwritten(t, p, writeAhead)
	c.Close()
	release()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatalf("flush: %v\n%s", err, dump(p))
	}
	written := 0
	for i := range n {
		switch res := <-results; res.Outcome {
		case Written:
			written++
		case Failed, Unknown:
			if res.Err == nil {
				t.Fatalf("result %d: %v without an error", i, res.Outcome)
			}
		}
	}
	if written == n {
		t.Fatal("every record was written although the broker stopped")
	}
	if u := s.unwritten.Load(); u != 0 {
		t.Fatalf("%d requests still counted as unwritten after every record's result", u)
	}
}
