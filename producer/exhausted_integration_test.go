package producer_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/producer"
)

// TestRealFullBufferSendsLingering produces, with an hour's linger and a
// buffer of 40 records, 2,000 records over 8 partitions of Kafka 4.1.1,
// first with Produce, then with TryProduce retried after each refusal:
// batches leave as soon as the buffer is full (every Produce returns, and
// every refused TryProduce soon finds room), each record is written once,
// and kcat reads them all back.
func TestRealFullBufferSendsLingering(t *testing.T) {
	c := integration.Shared(t, single)
	boot := c.Bootstrap(integration.Plaintext)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("full-buffer-%d", rand.Uint32())
	if err := c.CreateTopic(ctx, topic, 8, 1); err != nil {
		t.Fatal(err)
	}
	p := newReal(t, boot, func(cfg *producer.Config) {
		cfg.Linger = time.Hour
		cfg.BatchBytes = 1 << 20
		cfg.MaxBufferedRecords = 40
	})
	var mu sync.Mutex
	var failures []error
	offsets := map[[2]int64]string{}
	written := make(chan struct{}, 1)
	cb := func(r *gregor.Record, res producer.Result) {
		select {
		case written <- struct{}{}:
		default:
		}
		mu.Lock()
		defer mu.Unlock()
		if res.Outcome != producer.Written {
			failures = append(failures, res.Err)
			return
		}
		offsets[[2]int64{int64(res.Partition), res.Offset}] = string(r.Value)
	}
	failed := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(failures)
	}
	const n = 1000
	start := time.Now()
	for i := range n {
		p.Produce(ctx, &gregor.Record{Topic: topic, Value: []byte("produce-" + strconv.Itoa(i))}, cb)
		if failed() > 0 {
			t.Fatalf("Produce %d: %v", i, failures)
		}
	}
	t.Logf("%d blocking Produce calls over a 40-record buffer returned in %s", n, time.Since(start).Round(time.Millisecond))
	start = time.Now()
	refusals := 0
	for i := 0; i < n; {
		err := p.TryProduce(ctx, &gregor.Record{Topic: topic, Value: []byte("try-" + strconv.Itoa(i))}, cb)
		switch {
		case err == nil:
			i++
		case errors.Is(err, producer.ErrBufferFull):
			refusals++
			select { // a record settled since: there may be room again
			case <-written:
			case <-ctx.Done():
				t.Fatalf("TryProduce %d refused, and nothing settled before the test timed out", i)
			}
		default:
			t.Fatal(err)
		}
	}
	t.Logf("%d TryProduce calls, %d refusals, in %s", n, refusals, time.Since(start).Round(time.Millisecond))
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if f := failed(); f > 0 {
		t.Fatalf("%d records failed: %v", f, failures[0])
	}
	got := kcatRead(t, boot, topic)
	if len(got) != 2*n || len(offsets) != 2*n {
		t.Fatalf("kcat read %d records, %d reported written, want %d", len(got), len(offsets), 2*n)
	}
	for _, r := range got {
		if w, ok := offsets[[2]int64{int64(r.Partition), r.Offset}]; !ok || r.Payload == nil || *r.Payload != w {
			t.Fatalf("partition %d offset %d: read %q, reported %q", r.Partition, r.Offset, derefOr(r.Payload), w)
		}
	}
}
