package broker

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/compression"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/gregorkafka/gregor/protocol/record"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// produceReq is a codec ProduceRequest that PickVersion keeps at v12 (the
// topic is named; v13 wants its id). It is a SegmentAppender.
type produceReq struct{ *protocol.ProduceRequest }

func (produceReq) MinVersion() int16 { return 3 }
func (produceReq) MaxVersion() int16 { return 12 }

var _ SegmentAppender = produceReq{}

// testBatch builds a record batch of n records with values of size bytes.
func testBatch(t *testing.T, n, size int) []byte {
	t.Helper()
	var bb record.Builder
	bb.Reset(nil, record.BatchHeader{PartitionLeaderEpoch: -1, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, compression.LevelDefault)
	for i := 0; i < n; i++ {
		v := make([]byte, size)
		for j := range v {
			v[j] = byte(i + j)
		}
		bb.Add(time.Now().UnixMilli(), nil, v, nil)
	}
	b, err := bb.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// byteCounter is an Int64Counter that sums what is added to it.
type byteCounter struct {
	noop.Int64Counter
	n atomic.Int64
}

func (b *byteCounter) Add(_ context.Context, n int64, _ ...metric.AddOption) { b.n.Add(n) }

// TestVectoredProduce sends produce requests whose large batches go out in
// place by a vectored write, alongside small ones that are copied, over a
// proxy that counts the bytes: the broker accepts every batch at the
// expected offsets, and the bytes-written metric counts the whole frames.
func TestVectoredProduce(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(3, "a"))
	p := newProxy(t, fake.ListenAddrs()[0])
	cfg := testConfig([]string{p.addr()}, nil)
	written := new(byteCounter)
	c, err := Dial(context.Background(), cfg, &Metrics{written: written}, 0, p.addr(), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var segs atomic.Int64
	c.testWrote = func(n int) { segs.Add(int64(n)) }
	before := p.reqBytes.Load()
	if written.n.Load() != before {
		t.Fatalf("handshake: metric %d bytes, proxy forwarded %d", written.n.Load(), before)
	}
	counts := []int{1, 45, 80} // 100-byte values: one batch below protocol.DefaultSegmentMin, two above
	newReq := func() produceReq {
		req := protocol.NewProduceRequest()
		req.Acks, req.TimeoutMs = -1, 5000
		td := protocol.ProduceRequestTopicProduceData{Name: "a"}
		for i, n := range counts {
			td.PartitionData = append(td.PartitionData, protocol.ProduceRequestPartitionProduceData{Index: int32(i), Records: testBatch(t, n, 100)})
		}
		req.TopicData = []protocol.ProduceRequestTopicProduceData{td}
		return produceReq{req}
	}
	// Queue several before waiting, so that batches of requests go out.
	const rounds = 4
	var pends []Pending
	for i := 0; i < rounds; i++ {
		pend, err := c.Enqueue(context.Background(), newReq())
		if err != nil {
			t.Fatal(err)
		}
		pends = append(pends, pend)
	}
	for r, pend := range pends {
		raw, err := pend.Wait(context.Background())
		if err != nil {
			t.Fatalf("produce %d: %v", r, err)
		}
		resp := protocol.NewProduceResponse()
		resp.Version = raw.Version
		if err := resp.Decode(raw.Body); err != nil {
			t.Fatal(err)
		}
		for _, pr := range resp.Responses[0].PartitionResponses {
			if pr.ErrorCode != 0 {
				t.Fatalf("produce %d partition %d: error %d", r, pr.Index, pr.ErrorCode)
			}
			if want := int64(r * counts[pr.Index]); pr.BaseOffset != want {
				t.Fatalf("produce %d partition %d: base offset %d, want %d", r, pr.Index, pr.BaseOffset, want)
			}
		}
	}
	if got, want := written.n.Load(), p.reqBytes.Load(); got != want || want <= before {
		t.Fatalf("bytes-written metric %d, proxy forwarded %d", got, want)
	}
	if n := segs.Load(); n != 2*rounds {
		t.Fatalf("%d batches written in place, want %d (two per request)", n, 2*rounds)
	}
}

// heldWrite dials through a proxy, then holds the proxy's reads and sends
// a produce far larger than the socket buffers, so that its write blocks
// until the connection dies. It returns once the writer has taken the
// request, with the pending call, and a flag that is set when the writer's
// write returns.
func heldWrite(t *testing.T, ctx context.Context) (*Conn, *proxy, *Pending, *atomic.Bool) {
	t.Helper()
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	p := newProxy(t, fake.ListenAddrs()[0])
	c := dial(t, testConfig([]string{p.addr()}, func(cfg *gregor.ConnConfig) { cfg.RequestTimeout = 30 * time.Second }))
	wrote := new(atomic.Bool)
	c.testWrote = func(int) {
		// Widen the window in which a connection that delivered results
		// before its write returned would be caught; correct code waits.
		time.Sleep(20 * time.Millisecond)
		wrote.Store(true)
	}
	p.hold.Store(true)
	req := protocol.NewProduceRequest()
	req.Acks, req.TimeoutMs = -1, 5000
	req.TopicData = []protocol.ProduceRequestTopicProduceData{{Name: "a", PartitionData: []protocol.ProduceRequestPartitionProduceData{
		{Index: 0, Records: make([]byte, 24<<20)}, // not a valid batch: it is never read whole
	}}}
	pend, err := c.Enqueue(ctx, produceReq{req})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		taken := pend.cl.writing
		c.mu.Unlock()
		if taken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the writer did not take the request")
		}
		time.Sleep(time.Millisecond)
	}
	if wrote.Load() {
		t.Fatal("a 24 MiB write completed through a proxy that does not read")
	}
	return c, p, &pend, wrote
}

// TestReadFailureDuringWrite ends the broker's responses while a large
// request is being written: the reader fails the connection at once, but
// the caller gets the error only after the write has returned, since until
// then the connection reads the request's memory.
func TestReadFailureDuringWrite(t *testing.T) {
	leakcheck.Check(t)
	c, p, pend, wrote := heldWrite(t, context.Background())
	p.endResponses()
	_, err := pend.Wait(context.Background())
	if !wrote.Load() {
		t.Fatal("the result was delivered while the write was still running")
	}
	var ne *gregor.NetworkError
	if !errors.As(err, &ne) || ne.Op != "read" {
		t.Fatalf("got %v, want the reader's *gregor.NetworkError", err)
	}
	<-c.Done()
}

// TestCloseDuringWrite closes the connection while a large request is being
// written: the caller gets ErrClosed after the write has returned.
func TestCloseDuringWrite(t *testing.T) {
	leakcheck.Check(t)
	c, _, pend, wrote := heldWrite(t, context.Background())
	go c.Close()
	_, err := pend.Wait(context.Background())
	if !wrote.Load() {
		t.Fatal("the result was delivered while the write was still running")
	}
	if !errors.Is(err, gregor.ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}

// TestAbandonDuringWrite cancels the caller's context while its request is
// being written: Wait returns at once with the context's error (not
// ErrNotSent), while the write still runs; the connection recycles the call
// when the write ends.
func TestAbandonDuringWrite(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithCancel(context.Background())
	c, _, pend, wrote := heldWrite(t, ctx)
	cancel()
	_, err := pend.Wait(ctx)
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrNotSent) {
		t.Fatalf("got %v, want context.Canceled without ErrNotSent", err)
	}
	if wrote.Load() {
		t.Fatal("the write returned, though the proxy reads nothing")
	}
	c.Close()
	if !wrote.Load() {
		t.Fatal("Close returned before the writer's write")
	}
	if n := len(c.sem); n != 0 {
		t.Fatalf("%d in-flight slots still taken", n)
	}
}

// wrappedConn hides the *net.TCPConn behind another net.Conn, as TLS or a
// custom ConnConfig.Dial does.
type wrappedConn struct{ net.Conn }

// TestWrappedConnCopies checks that a connection that is not a plain
// *net.TCPConn copies every batch into its buffer (over TLS each piece of
// a vectored write would become a TLS record of its own), and still
// produces correctly.
func TestWrappedConnCopies(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	cfg := testConfig(fake.ListenAddrs(), func(cfg *gregor.ConnConfig) {
		cfg.Dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return wrappedConn{nc}, nil
		}
	})
	c := dial(t, cfg)
	var segs, writes atomic.Int64
	c.testWrote = func(n int) { segs.Add(int64(n)); writes.Add(1) }
	req := protocol.NewProduceRequest()
	req.Acks, req.TimeoutMs = -1, 5000
	req.TopicData = []protocol.ProduceRequestTopicProduceData{{Name: "a", PartitionData: []protocol.ProduceRequestPartitionProduceData{
		{Index: 0, Records: testBatch(t, 100, 100)}, // about 10 KiB
	}}}
	raw, err := c.Do(context.Background(), produceReq{req})
	if err != nil {
		t.Fatal(err)
	}
	resp := protocol.NewProduceResponse()
	resp.Version = raw.Version
	if err := resp.Decode(raw.Body); err != nil || resp.Responses[0].PartitionResponses[0].ErrorCode != 0 {
		t.Fatalf("produce: %v %+v", err, resp.Responses)
	}
	if writes.Load() == 0 || segs.Load() != 0 {
		t.Fatalf("%d writes with %d batches in place, want copies only", writes.Load(), segs.Load())
	}
}
