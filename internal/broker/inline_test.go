package broker

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestEnqueueNowWritesInline sends requests one at a time with EnqueueNow
// on an otherwise idle connection: the caller writes them itself, so each
// has been written when EnqueueNow returns (at least one of them: the
// writer goroutine may in principle still hold the connection from the
// previous request when the next is queued). Under a throttle nothing is
// written inline; the writer sends the request once the throttle ends.
func TestEnqueueNowWritesInline(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	var writes atomic.Int32
	c.testWrote = func(int) { writes.Add(1) }
	ctx := context.Background()

	inline := 0
	for range 10 {
		before := writes.Load()
		pend, err := c.EnqueueNow(ctx, metadataReq("a"))
		if err != nil {
			t.Fatal(err)
		}
		if writes.Load() > before {
			inline++
		}
		resp, err := pend.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		mr, err := decodeMetadata(resp)
		if err != nil {
			t.Fatal(err)
		}
		if got := topicName(mr, 0); got != "a" {
			t.Fatalf("response for topic %q", got)
		}
	}
	if inline == 0 {
		t.Fatal("no request was written by its caller")
	}

	until := time.Now().Add(300 * time.Millisecond)
	c.ThrottleUntil(until)
	before := writes.Load()
	pend, err := c.EnqueueNow(ctx, metadataReq("a"))
	if err != nil {
		t.Fatal(err)
	}
	if writes.Load() != before {
		t.Fatal("a request was written inline while the connection was throttled")
	}
	if _, err := pend.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if time.Now().Before(until) {
		t.Fatal("the throttled request was answered before the throttle ended")
	}
}

// TestEnqueueNowConcurrent mixes EnqueueNow and Enqueue from many
// goroutines on one connection: every caller gets the response to its own
// request, whoever wrote it.
func TestEnqueueNowConcurrent(t *testing.T) {
	leakcheck.Check(t)
	const n = 16
	topics := make([]string, n)
	for i := range topics {
		topics[i] = fmt.Sprintf("t%d", i)
	}
	fake := newFake(t, kfake.SeedTopics(1, topics...))
	c := dial(t, testConfig(fake.ListenAddrs(), func(cfg *gregor.ConnConfig) { cfg.MaxInFlightPerConn = 4 }))
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i, topic := range topics {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				enqueue := c.Enqueue
				if i%2 == 0 {
					enqueue = c.EnqueueNow
				}
				pend, err := enqueue(ctx, metadataReq(topic))
				if err != nil {
					errs <- err
					return
				}
				resp, err := pend.Wait(ctx)
				if err != nil {
					errs <- err
					return
				}
				mr, err := decodeMetadata(resp)
				if err != nil {
					errs <- err
					return
				}
				if got := topicName(mr, 0); got != topic {
					errs <- fmt.Errorf("asked for %s, got %s", topic, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
