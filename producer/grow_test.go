package producer

import (
	"bytes"
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestGrownBatchStopsAtMessageMax holds the first Produce request of a
// partition with one request in flight while 3 MiB of small records
// arrive, with MaxRequestBytes far above the broker's default
// message.max.bytes: the open batch grows past BatchBytes, as it should
// while it cannot be sent, but no batch on the wire exceeds 1 MiB and
// 12 bytes (what a broker with default settings accepts), and every record
// is written.
func TestGrownBatchStopsAtMessageMax(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 1)
	var mu sync.Mutex
	largest, seen := 0, 0
	held, release := holdProduce(c, func(req *kmsg.ProduceRequest) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, tp := range req.Topics {
			for _, pp := range tp.Partitions {
				largest = max(largest, len(pp.Records))
			}
		}
		seen++
		return seen == 1 // hold the first request only
	})
	defer release()
	p := newProducer(t, c, func(cfg *Config) {
		cfg.BatchBytes = 16 << 10
		cfg.MaxRequestBytes = 8 << 20
		cfg.MaxBufferedBytes = 64 << 20
		cfg.MaxInFlightPerPartition = 1
		cfg.Linger = -1
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var failed atomic.Int32
	cb := func(_ *gregor.Record, r Result) {
		if r.Err != nil {
			failed.Add(1)
		}
		wg.Done()
	}
	wg.Add(1)
	p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte("first")}, cb)
	for held.Load() == 0 {
		if ctx.Err() != nil {
			t.Fatal("the first request never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	value := bytes.Repeat([]byte("v"), 1000)
	const n = 3000
	wg.Add(n)
	for range n {
		p.Produce(ctx, &gregor.Record{Topic: "t", Value: value}, cb)
	}
	release()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d records failed", f)
	}
	mu.Lock()
	defer mu.Unlock()
	if largest <= 16<<10 {
		t.Fatalf("largest batch %d bytes: the batch never grew past BatchBytes while the request was held", largest)
	}
	if largest > 1<<20+12 {
		t.Fatalf("largest batch %d bytes, above the broker's default message.max.bytes", largest)
	}
	t.Logf("largest batch %d bytes", largest)
}
