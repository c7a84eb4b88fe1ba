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

// heldWriter makes the connection's writer stop after its holdAt-th
// write of a produce request until release is called, as a slow network
// would, and records the most requests a sink had waiting for the writer.
// Every large write is told that its socket held unsent bytes (see
// sink.noteSendQueue).
func heldWriter(t *testing.T, unsent int, holdAt int32) (most *atomic.Int32, release func()) {
	most = new(atomic.Int32)
	testSendQueue = func(int) int { return unsent }
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
		testSinkSend, testWritten, testSendQueue = nil, nil, nil
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

// writeAheadProducer returns a producer of large requests (full 320 KiB
// batches over four partitions of one broker: each request goes to the
// writer goroutine) with an 8 MiB buffer.
func writeAheadProducer(t *testing.T, mod func(*Config)) (*Producer, *kfake.Cluster) {
	c := fake(t, 4, kfake.NumBrokers(1))
	return newProducer(t, c, func(cfg *Config) {
		cfg.Linger = time.Hour // only full batches go out
		cfg.Partitioner = PartitionRoundRobin
		cfg.BatchBytes = 320 << 10 // even alone above the 256 KiB from which writes learn the socket's queue
		cfg.MaxRequestBytes = 1 << 20
		cfg.MaxBufferedBytes = 8 << 20
		cfg.MaxBufferedRecords = 1 << 20
		if mod != nil {
			mod(cfg)
		}
	}), c
}

// TestSinkWaitsForTheWriter holds the connection's writer in its first
// request, with the socket reported still full of earlier data (the broker
// sets the pace): the sink queues no other request and leaves the records
// unencoded, however many batches fill up behind them, until the write
// returns. Every record is then written, and no request is left counted as
// unwritten.
func TestSinkWaitsForTheWriter(t *testing.T) {
	testWriteAhead(t, 1<<20, 1, 1)
}

// TestSinkEncodesAheadWhileDrained is TestSinkWaitsForTheWriter with the
// socket reported drained as every write starts (the connection waits for
// the producer) and the writer held in its drainedRun-th request: by then
// the sink encodes one more request while a write goes on, and no
// further.
func TestSinkEncodesAheadWhileDrained(t *testing.T) {
	testWriteAhead(t, 0, drainedRun, 2)
}

func testWriteAhead(t *testing.T, unsent int, holdAt, want int32) {
	leakcheck.Check(t)
	most, release := heldWriter(t, unsent, holdAt)
	defer release() // before the producer's Close, should the test fail
	p, _ := writeAheadProducer(t, nil)
	results := make(chan Result, 1<<16)
	n := fillBuffer(t, p, results)
	s := sinkWithUnwritten(t, p, want)
	// The buffer is full of batches that filled long ago, each of which
	// woke the sink; none of them became another request.
	if m := most.Load(); m != want {
		t.Fatalf("at most %d requests waited for the writer, want %d", m, want)
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
	if m := most.Load(); m > want {
		t.Fatalf("%d requests waited for the writer, want at most %d", m, want)
	}
}

// TestSendQueueSetsWriteAhead checks the sink's reading of the socket's
// unsent bytes: drainedRun drained writes in a row let it encode ahead,
// and wake it if it waited for that; data still queued stops it and
// starts the count again; unknown changes nothing.
func TestSendQueueSetsWriteAhead(t *testing.T) {
	if drainedRun != 3 {
		t.Fatalf("the steps below assume drainedRun 3, not %d", drainedRun)
	}
	s := &sink{wake: make(chan struct{}, 1)}
	for _, step := range []struct {
		unsent int
		want   int32
		woken  bool
	}{
		{-1, 1, false}, {0, 1, false}, {drainedMark - 1, 1, false}, {drainedMark, 1, false}, // the run restarts
		{0, 1, false}, {-1, 1, false}, {0, 1, false}, {10, 2, true}, {0, 2, false}, {-1, 2, false},
		{1 << 20, 1, false}, {0, 1, false},
	} {
		s.waitWrite.Store(true)
		s.noteSendQueue(step.unsent)
		woken := len(s.wake) > 0
		if woken {
			<-s.wake
		}
		if got := s.writeAhead(); got != step.want || woken != step.woken {
			t.Fatalf("unsent %d: write-ahead %d, woken %v; want %d, %v", step.unsent, got, woken, step.want, step.woken)
		}
	}
}

// TestUnwrittenSettledByFailure holds the writer with two requests
// counted (the socket reported drained, the writer held in its
// drainedRun-th request), then stops the broker: the held
// write and the queued request fail instead of being written, and the sink
// must count them out all the same, or it would never send again. Every record gets a result.
func TestUnwrittenSettledByFailure(t *testing.T) {
	leakcheck.Check(t)
	_, release := heldWriter(t, 0, drainedRun)
	defer release()
	p, c := writeAheadProducer(t, func(cfg *Config) {
		cfg.DeliveryTimeout = 3 * time.Second
		cfg.Conn.RequestTimeout = time.Second
	})
	results := make(chan Result, 1<<16)
	n := fillBuffer(t, p, results)
	s := sinkWithUnwritten(t, p, 2)
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
