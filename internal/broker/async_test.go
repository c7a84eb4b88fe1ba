package broker

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

// asyncResult is what a completion received.
type asyncResult struct {
	tag   int
	topic string
	err   error
}

// chanCompleter reports its completion on a channel, after running hook
// (when set) on the completing goroutine.
type chanCompleter struct {
	tag  int
	out  chan<- asyncResult
	hook func()
}

func (c *chanCompleter) Complete(resp Response, err error) {
	if c.hook != nil {
		c.hook()
	}
	r := asyncResult{tag: c.tag, err: err}
	if err == nil {
		mr, derr := decodeMetadata(resp)
		r.err = derr
		if derr == nil {
			r.topic = topicName(mr, 0)
		}
	}
	c.out <- r
}

// noCompletion fails the test if a completion is waiting in out.
func noCompletion(t *testing.T, out <-chan asyncResult) {
	t.Helper()
	select {
	case r := <-out:
		t.Fatalf("unexpected completion %+v", r)
	default:
	}
}

// TestEnqueueAsyncCompletesEach sends requests with EnqueueAsync: each is
// completed exactly once, with its own response. (Mostly in the order
// sent, as one reader completes them as it reads them; but a response that
// comes before its request's write has returned is completed on a
// goroutine of its own, so the order is not promised.)
func TestEnqueueAsyncCompletesEach(t *testing.T) {
	leakcheck.Check(t)
	topics := []string{"a", "b", "c"}
	fake := newFake(t, kfake.SeedTopics(1, topics...))
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	const n = 60
	out := make(chan asyncResult, n)
	for i := range n {
		if err := c.EnqueueAsync(context.Background(), metadataReq(topics[i%3]), &chanCompleter{tag: i, out: out}); err != nil {
			t.Fatal(err)
		}
	}
	seen := make(map[int]bool)
	for range n {
		r := <-out
		if r.err != nil {
			t.Fatalf("request %d: %v", r.tag, r.err)
		}
		if seen[r.tag] || r.topic != topics[r.tag%3] {
			t.Fatalf("request %d: topic %q, want %q (completed before: %v)", r.tag, r.topic, topics[r.tag%3], seen[r.tag])
		}
		seen[r.tag] = true
	}
	noCompletion(t, out)
}

// TestAsyncCompletionTakeover blocks the first request's completion until
// the second request's completion has run. Both responses come on the same
// connection, so that only works because a new reader takes over from the
// held one after readerGuard; the connection keeps working afterwards, and
// leakcheck sees the held reader exit.
func TestAsyncCompletionTakeover(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a", "b"))
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	// The broker answers the first request only once its write has
	// returned, so that its completion runs on the reader (a response that
	// beats its write is completed on a goroutine of its own).
	wrote := make(chan struct{})
	var once sync.Once
	c.testWrote = func(int) { once.Do(func() { close(wrote) }) }
	fake.ControlKey(3, func(r kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		if requestedTopic(r) == "a" {
			fake.SleepControl(func() { <-wrote })
		}
		return nil, nil, false
	})
	out := make(chan asyncResult, 3)
	secondDone := make(chan struct{})
	var secondAt time.Time
	start := time.Now()
	first := &chanCompleter{tag: 1, out: out, hook: func() { <-secondDone }}
	second := &chanCompleter{tag: 2, out: out, hook: func() { secondAt = time.Now(); close(secondDone) }}
	if err := c.EnqueueAsync(context.Background(), metadataReq("a"), first); err != nil {
		t.Fatal(err)
	}
	if err := c.EnqueueAsync(context.Background(), metadataReq("b"), second); err != nil {
		t.Fatal(err)
	}
	got := map[int]string{}
	for range 2 {
		select {
		case r := <-out:
			if r.err != nil {
				t.Fatalf("request %d: %v", r.tag, r.err)
			}
			got[r.tag] = r.topic
		case <-time.After(10 * time.Second):
			t.Fatal("a completion blocked the connection's responses")
		}
	}
	if got[1] != "a" || got[2] != "b" {
		t.Fatalf("completions %v", got)
	}
	// secondAt was written before secondDone closed, which the first
	// completion waited for before reporting.
	if held := secondAt.Sub(start); held < readerGuard {
		t.Fatalf("the second completion ran after %v, before the guard of %v", held, readerGuard)
	}
	third := &chanCompleter{tag: 3, out: out}
	if err := c.EnqueueAsync(context.Background(), metadataReq("a"), third); err != nil {
		t.Fatal(err)
	}
	if r := <-out; r != (asyncResult{tag: 3, topic: "a"}) {
		t.Fatalf("after the takeover: got %+v", r)
	}
}

// TestAsyncClose closes the connection while one async request is held by
// the broker and another waits for the only in-flight slot: both complete
// once, with the close error; a request queued after the close is refused
// and never completed.
func TestAsyncClose(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "slow"))
	cfg := testConfig(fake.ListenAddrs(), func(cfg *gregor.ConnConfig) { cfg.MaxInFlightPerConn = 1 })
	c, err := Dial(context.Background(), cfg, nil, 0, cfg.SeedBrokers[0], "test")
	if err != nil {
		t.Fatal(err)
	}
	held := holdFirstMetadata(t, fake)
	out := make(chan asyncResult, 3)
	if err := c.EnqueueAsync(context.Background(), metadataReq("slow"), &chanCompleter{tag: 1, out: out}); err != nil {
		t.Fatal(err)
	}
	<-held
	queued := make(chan error, 1)
	go func() {
		// Blocks for the in-flight slot until the close fails it.
		queued <- c.EnqueueAsync(context.Background(), metadataReq("slow"), &chanCompleter{tag: 2, out: out})
	}()
	c.Close()
	qerr := <-queued
	want := 2
	if qerr != nil {
		want = 1 // the close came before it was queued: refused, never completed
	}
	for range want {
		r := <-out
		if !errors.Is(r.err, gregor.ErrClosed) {
			t.Fatalf("request %d: got %v, want ErrClosed", r.tag, r.err)
		}
		if r.tag == 1 && errors.Is(r.err, ErrNotSent) {
			t.Fatalf("request 1 was written, yet: %v", r.err)
		}
	}
	if err := c.EnqueueAsync(context.Background(), metadataReq("slow"), &chanCompleter{tag: 3, out: out}); err == nil {
		t.Fatal("EnqueueAsync on a closed connection succeeded")
	}
	noCompletion(t, out)
}

// TestAsyncCloseQueued closes a throttled connection while an async
// request waits in its queue: the request was never written, so its
// completion says so (ErrNotSent) besides the close error.
func TestAsyncCloseQueued(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	c.ThrottleUntil(time.Now().Add(time.Hour)) // nothing is written
	out := make(chan asyncResult, 1)
	if err := c.EnqueueAsync(context.Background(), metadataReq("a"), &chanCompleter{tag: 1, out: out}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if r := <-out; !errors.Is(r.err, ErrNotSent) || !errors.Is(r.err, gregor.ErrClosed) {
		t.Fatalf("queued request at close: %v", r.err)
	}
}

// notifying is a request that counts the writes the connection reports
// (see WriteNotifier).
type notifying struct {
	bounded
	written atomic.Int32
}

func (n *notifying) Written() { n.written.Add(1) }

// TestWriteNotifier checks that a request is told of its write once, and
// before its result (its sender may recycle it after the result), and
// that a request dropped unwritten is never told.
func TestWriteNotifier(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	const n = 40
	reqs := make([]*notifying, n)
	out := make(chan asyncResult, n)
	for i := range n {
		reqs[i] = &notifying{bounded: metadataReq("a").(bounded)}
		req := reqs[i]
		comp := &chanCompleter{tag: i, out: out, hook: func() {
			if w := req.written.Load(); w != 1 {
				t.Errorf("request told of %d writes when its result came", w)
			}
		}}
		if err := c.EnqueueAsync(context.Background(), req, comp); err != nil {
			t.Fatal(err)
		}
	}
	for range n {
		if r := <-out; r.err != nil {
			t.Fatalf("request %d: %v", r.tag, r.err)
		}
	}
	// Synchronous calls are told too.
	sync := &notifying{bounded: metadataReq("a").(bounded)}
	if _, err := c.Do(context.Background(), sync); err != nil {
		t.Fatal(err)
	}
	if w := sync.written.Load(); w != 1 {
		t.Fatalf("Do: request told of %d writes", w)
	}

	c.ThrottleUntil(time.Now().Add(time.Hour)) // nothing more is written
	dropped := &notifying{bounded: metadataReq("a").(bounded)}
	if err := c.EnqueueAsync(context.Background(), dropped, &chanCompleter{tag: n, out: out}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if r := <-out; !errors.Is(r.err, ErrNotSent) {
		t.Fatalf("request queued at close: %v", r.err)
	}
	if w := dropped.written.Load(); w != 0 {
		t.Fatalf("unwritten request told of %d writes", w)
	}
	for i, req := range reqs {
		if w := req.written.Load(); w != 1 {
			t.Fatalf("request %d told of %d writes", i, w)
		}
	}
}
