package producer

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestHeldBatchesFollowResponses checks that batches the sink left behind
// because their partition had a request in flight go out when that
// request is answered, with nothing else to wake the sink: no linger, no
// backoff, no new record. The broker holds the first produce request until
// every record is buffered, so that the rest queue up behind it as one
// batch after another, each of which only a response can release.
func TestHeldBatchesFollowResponses(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 1)
	release := make(chan struct{})
	var first sync.Once
	var requests atomic.Int32
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		requests.Add(1)
		first.Do(func() { <-release })
		return nil, nil, false
	})
	p := newProducer(t, c, func(cfg *Config) {
		cfg.Linger = -1
		cfg.BatchBytes = 512
		cfg.MaxInFlightPerPartition = 1
	})
	const n = 400
	var wg sync.WaitGroup
	wg.Add(n)
	results := make([]Result, n)
	for i := range n {
		r := &gregor.Record{Topic: "t", Value: []byte(strconv.Itoa(i))}
		p.Produce(context.Background(), r, func(_ *gregor.Record, res Result) {
			results[i] = res
			wg.Done()
		})
	}
	close(release)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("records still waiting after their partition's requests were answered: %s", dump(p))
	}
	for i, res := range results {
		if res.Outcome != Written || res.Offset != int64(i) {
			t.Fatalf("record %d: %v at offset %d (%v)", i, res.Outcome, res.Offset, res.Err)
		}
	}
	// The held request and at least one that only its response could
	// release. How many more depends on timing: a partition's batch grows
	// past BatchBytes while its requests are in flight (see batchLimit),
	// so the records produced behind the first request may all go in one.
	if k := requests.Load(); k < 2 {
		t.Fatalf("only %d produce requests", k)
	}
}
