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
	"github.com/twmb/franz-go/pkg/kmsg"
)

// heldWriter makes the goroutine writing produce requests (the sink, or
// the connection's writer) stop after its holdAt-th write until release
// is called, as a slow network would, and records the most requests a
// sink had waiting to be written.
func heldWriter(t *testing.T, holdAt int32) (most *atomic.Int32, release func()) {
	most = new(atomic.Int32)
	testSinkSend = func(n int32) {
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
	}
	hold := make(chan struct{})
	var writes atomic.Int32
	testWritten = func(int) {
		if writes.Add(1) == holdAt {
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

// flushAllWritten flushes p and checks that the n results that fillBuffer
// sent to results all say Written.
func flushAllWritten(t *testing.T, p *Producer, results <-chan Result, n int) {
	t.Helper()
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
}

// largeRequestProducer returns a producer of large requests (full 320
// KiB batches over four partitions of one broker) with an 8 MiB buffer.
func largeRequestProducer(t *testing.T, mod func(*Config)) (*Producer, *kfake.Cluster) {
	c := fake(t, 4, kfake.NumBrokers(1))
	return newProducer(t, c, func(cfg *Config) {
		cfg.Linger = time.Hour // only full batches go out
		cfg.Partitioner = PartitionRoundRobin
		cfg.BatchBytes = 320 << 10
		cfg.MaxRequestBytes = 1 << 20
		cfg.MaxBufferedBytes = 8 << 20
		cfg.MaxBufferedRecords = 1 << 20
		if mod != nil {
			mod(cfg)
		}
	}), c
}

// TestSinkWaitsForTheWriter holds the write of the first request: the
// sink queues no other request, however many batches fill up behind it,
// until the write returns. Every record is then written, and no request
// is left counted as unwritten.
func TestSinkWaitsForTheWriter(t *testing.T) {
	leakcheck.Check(t)
	most, release := heldWriter(t, 1)
	defer release() // before the producer's Close, should the test fail
	p, _ := largeRequestProducer(t, nil)
	results := make(chan Result, 1<<16)
	n := fillBuffer(t, p, results)
	s := sinkWithUnwritten(t, p, 1)
	// The buffer is full of batches that filled long ago, each of which
	// woke the sink; none of them became another request.
	if m := most.Load(); m != 1 {
		t.Fatalf("at most %d requests waited to be written, want 1", m)
	}
	release()
	flushAllWritten(t, p, results, n)
	if u := s.unwritten.Load(); u != 0 {
		t.Fatalf("%d requests still counted as unwritten after every record was written", u)
	}
	if m := most.Load(); m != 1 {
		t.Fatalf("%d requests waited to be written, want at most 1", m)
	}
}

// TestSinkWaitsForQueuedWrite answers the first request with a retriable
// error and a throttle, during which the connection's writer goroutine
// writes the sink's requests (once the throttle is over) instead of the
// sink: send returns with its request still queued, and the sink must
// build no other until that one is written, however many batches fill
// up meanwhile. Every record is then written once.
func TestSinkWaitsForQueuedWrite(t *testing.T) {
	leakcheck.Check(t)
	most, release := heldWriter(t, 0) // counts only: no write is held
	defer release()
	p, c := largeRequestProducer(t, nil)
	var calls atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if calls.Add(1) != 1 {
			return nil, nil, false
		}
		resp := produceError(req, 6).(*kmsg.ProduceResponse) // NOT_LEADER_OR_FOLLOWER
		resp.ThrottleMillis = 300
		return resp, nil, true
	})
	results := make(chan Result, 1<<16)
	n := fillBuffer(t, p, results)
	flushAllWritten(t, p, results, n)
	if m := most.Load(); m != 1 {
		t.Fatalf("at most %d requests waited to be written, want 1", m)
	}
	if calls.Load() < 3 {
		t.Fatalf("%d produce requests: the throttled stretch was not exercised", calls.Load())
	}
	total := 0
	for _, recs := range readAll(t, c, "t", n) {
		total += len(recs)
	}
	if total != n {
		t.Fatalf("%d records in the topic, want %d", total, n)
	}
}

// TestUnwrittenSettledByFailure holds the goroutine that wrote the first
// request right after its write, then stops the broker: that request gets
// no answer and the later ones cannot be written. Every request must be
// counted out of the sink's unwritten ones all the same, or the sink would
// never send again, and every record gets a result.
func TestUnwrittenSettledByFailure(t *testing.T) {
	leakcheck.Check(t)
	_, release := heldWriter(t, 1)
	defer release()
	p, c := largeRequestProducer(t, func(cfg *Config) {
		cfg.DeliveryTimeout = 3 * time.Second
		cfg.Conn.RequestTimeout = time.Second
	})
	results := make(chan Result, 1<<16)
	n := fillBuffer(t, p, results)
	s := sinkWithUnwritten(t, p, 1)
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
