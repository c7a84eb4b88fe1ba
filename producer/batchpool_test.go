package producer

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestRecycledBatchesKeepResults produces several rounds of records, some
// with contexts cancelled while their records are buffered or in flight,
// so that batches are recycled between rounds while context watchers run.
// Every record must get exactly one result, the written ones with the
// offsets the broker gave (consecutive per partition, no repeats), and each
// record's callback must see its own record.
func TestRecycledBatchesKeepResults(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 4)
	p := newProducer(t, c, func(cfg *Config) { cfg.BatchBytes = 2048; cfg.Linger = -1 })
	const rounds, perRound = 6, 3000
	type key struct {
		part int32
		off  int64
	}
	seen := map[key]int{}
	var mu sync.Mutex
	written, failed, unknown := 0, 0, 0
	for round := range rounds {
		var wg sync.WaitGroup
		wg.Add(perRound)
		calls := make([]int, perRound)
		ctxs := make([]context.CancelFunc, 0, perRound/10)
		for i := range perRound {
			ctx := context.Background()
			if i%10 == 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				ctxs = append(ctxs, cancel)
			}
			r := &gregor.Record{Topic: "t", Key: []byte{byte(i), byte(i >> 8), byte(round)}, Value: []byte{byte(i)}}
			p.Produce(ctx, r, func(got *gregor.Record, res Result) {
				defer wg.Done()
				mu.Lock()
				defer mu.Unlock()
				calls[i]++
				if got != r {
					t.Errorf("round %d record %d: callback got another record", round, i)
				}
				switch res.Outcome {
				case Written:
					written++
					k := key{res.Partition, res.Offset}
					seen[k]++
					if seen[k] > 1 {
						t.Errorf("offset %d of partition %d reported twice", res.Offset, res.Partition)
					}
				default:
					if !errors.Is(res.Err, context.Canceled) {
						t.Errorf("round %d record %d: %v", round, i, res.Err)
					}
					failed++
					if res.Outcome == Unknown {
						unknown++
					}
				}
			})
			if i%500 == 250 {
				for _, cancel := range ctxs {
					cancel() // some buffered, some in flight, some written
				}
				ctxs = ctxs[:0]
			}
		}
		for _, cancel := range ctxs {
			cancel()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err := p.Flush(ctx)
		cancel()
		if err != nil {
			t.Fatalf("round %d: flush: %v", round, err)
		}
		wg.Wait()
		for i, n := range calls {
			if n != 1 {
				t.Fatalf("round %d record %d: %d results", round, i, n)
			}
		}
	}
	if written+failed != rounds*perRound || written < rounds*perRound*8/10 {
		t.Fatalf("%d written, %d failed of %d", written, failed, rounds*perRound)
	}
	// Written offsets leave no gaps but for records whose outcome is
	// unknown (their request may have been written): the broker saw every
	// written record exactly once.
	last := map[int32]int64{}
	for k := range seen {
		last[k.part] = max(last[k.part], k.off)
	}
	missing := 0
	for part, hi := range last {
		for off := range hi + 1 {
			if seen[key{part, off}] == 0 {
				missing++
			}
		}
	}
	if missing > unknown {
		t.Fatalf("%d offsets missing, only %d records with unknown outcome", missing, unknown)
	}
	t.Logf("%d written, %d failed (%d unknown), %d offsets not reported", written, failed, unknown, missing)
}

// TestFlushWaitsForCallbacks checks that Flush returns only after the
// callbacks of the records it waited for have run, although a batch's
// buffer room is returned before its callbacks.
func TestFlushWaitsForCallbacks(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 1)
	p := newProducer(t, c, nil)
	var mu sync.Mutex
	done := 0
	for range 500 {
		p.Produce(context.Background(), &gregor.Record{Topic: "t", Value: []byte("v")}, func(*gregor.Record, Result) {
			time.Sleep(10 * time.Microsecond) // a slow callback widens the window
			mu.Lock()
			done++
			mu.Unlock()
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if done != 500 {
		t.Fatalf("Flush returned with %d of 500 callbacks run", done)
	}
}

// TestCallbackMayProduceWithFullBuffer produces from inside callbacks
// while the buffer holds a single record: the room of a written batch is
// returned before its callbacks run, so this must not deadlock.
func TestCallbackMayProduceWithFullBuffer(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 1)
	p := newProducer(t, c, func(cfg *Config) { cfg.MaxBufferedRecords = 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan int, 1)
	var next func(n int) func(*gregor.Record, Result)
	next = func(n int) func(*gregor.Record, Result) {
		return func(_ *gregor.Record, res Result) {
			if res.Err != nil || n == 20 {
				done <- n
				return
			}
			p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte("v")}, next(n+1))
		}
	}
	p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte("v")}, next(1))
	select {
	case n := <-done:
		if n != 20 {
			t.Fatalf("chain stopped after %d records", n)
		}
	case <-ctx.Done():
		t.Fatal("producing from a callback with a full buffer blocked")
	}
}

// TestBatchGrowsWhileInFlightIsFull holds the partition's only in-flight
// request at the broker: the records produced meanwhile must go out
// together in one batch larger than BatchBytes once the request is
// answered, and every record must arrive in order.
func TestBatchGrowsWhileInFlightIsFull(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 1)
	release := make(chan struct{})
	var mu sync.Mutex
	var sizes []int // records per Produce request, in arrival order
	first := true
	c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		n := 0
		for _, td := range req.(*kmsg.ProduceRequest).Topics {
			for _, pd := range td.Partitions {
				var rb kmsg.RecordBatch
				if err := rb.ReadFrom(pd.Records); err == nil {
					n += int(rb.NumRecords)
				}
			}
		}
		mu.Lock()
		sizes = append(sizes, n)
		hold := first
		first = false
		mu.Unlock()
		if hold {
			c.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	p := newProducer(t, c, func(cfg *Config) { cfg.BatchBytes = 1024; cfg.MaxInFlightPerPartition = 1; cfg.Linger = -1 })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	const n = 200
	wg.Add(n)
	produce := func(i int) {
		p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte(strconv.Itoa(i))}, func(_ *gregor.Record, res Result) {
			if res.Err != nil {
				t.Error(res.Err)
			}
			wg.Done()
		})
	}
	produce(0)
	for held := false; !held; {
		mu.Lock()
		held = len(sizes) > 0
		mu.Unlock()
		if ctx.Err() != nil {
			t.Fatal("first request never reached the broker")
		}
		time.Sleep(time.Millisecond)
	}
	for i := 1; i < n; i++ {
		produce(i) // 199 records of about 50 bytes each: far more than 1 KiB
	}
	close(release)
	wg.Wait()
	mu.Lock()
	got := append([]int(nil), sizes...)
	mu.Unlock()
	if len(got) < 2 || got[0] != 1 || got[1] < 100 {
		t.Fatalf("records per request %v: want the held one alone, then one batch well past BatchBytes", got)
	}
	recs := readAll(t, c, "t", n)[0]
	for i, r := range recs {
		if string(r.Value) != strconv.Itoa(i) {
			t.Fatalf("record %d has value %s", i, r.Value)
		}
	}
}
