package producer

import (
	"context"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// endOffsets returns the sum of the topic's partitions' end offsets: the
// number of records the fake cluster holds for it.
func endOffsets(t *testing.T, c *kfake.Cluster, topic string, partitions int32) int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	req := kmsg.NewPtrListOffsetsRequest()
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	for i := range partitions {
		rp := kmsg.NewListOffsetsRequestTopicPartition()
		rp.Partition, rp.Timestamp = i, -1 // latest
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = append(req.Topics, rt)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	total := 0
	for _, shard := range cl.RequestSharded(ctx, req) {
		if shard.Err != nil {
			t.Fatal(shard.Err)
		}
		for _, tr := range shard.Resp.(*kmsg.ListOffsetsResponse).Topics {
			for _, pr := range tr.Partitions {
				if pr.ErrorCode != 0 {
					t.Fatalf("list offsets of %s/%d: error %d", topic, pr.Partition, pr.ErrorCode)
				}
				total += int(pr.Offset)
			}
		}
	}
	return total
}

// TestCancelStorm produces from several goroutines into small batches,
// each record under one of a few shared contexts, a context of its own,
// or none, and cancels contexts at random while the fake broker delays
// some Produce requests, so that contexts end while their records are
// buffered, being drained and in flight, and watchers serve several
// batches. Every record must get exactly one result; a record reported
// written is on the broker exactly once, where its result says; a record
// reported failed is not on the broker at all (unknown ones may be either
// way).
func TestCancelStorm(t *testing.T) {
	leakcheck.Check(t)
	const partitions = 4
	c := fake(t, partitions)
	var requests atomic.Int32
	c.ControlKey(0, func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if requests.Add(1)%3 == 0 {
			c.SleepControl(func() { time.Sleep(2 * time.Millisecond) }) // an injected delay, not a wait for anything
		}
		return nil, nil, false
	})
	p := newProducer(t, c, func(cfg *Config) {
		cfg.BatchBytes = 400
		cfg.Linger = time.Millisecond
	})

	const workers, perWorker = 4, 600
	const n = workers * perWorker
	results := make([]Result, n)
	var calls [n]atomic.Int32
	var wg sync.WaitGroup
	wg.Add(n)
	for w := range workers {
		go func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			var cancels []context.CancelFunc // every context made, cancelled at the end at the latest
			defer func() {
				for _, cancel := range cancels {
					cancel()
				}
			}()
			newCtx := func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancels = append(cancels, cancel)
				return ctx, cancel
			}
			shared, cancelShared := newCtx()
			var pending []context.CancelFunc // own contexts, cancelled a few records later
			for i := range perWorker {
				id := w*perWorker + i
				ctx := context.Background()
				switch k := rng.IntN(10); {
				case k < 4:
					ctx = shared
				case k < 7:
					own, cancel := newCtx()
					ctx = own
					if rng.IntN(10) == 0 {
						cancel() // already over when produced
					} else {
						pending = append(pending, cancel)
					}
				}
				p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte(strconv.Itoa(id))}, func(_ *gregor.Record, r Result) {
					if calls[id].Add(1) == 1 { // a second result is reported below
						results[id] = r
						wg.Done()
					}
				})
				if len(pending) > 0 && rng.IntN(4) == 0 {
					k := rng.IntN(len(pending))
					pending[k]()
					pending = append(pending[:k], pending[k+1:]...)
				}
				if rng.IntN(50) == 0 {
					cancelShared()
					shared, cancelShared = newCtx()
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("not every record got a result: %s", dump(p))
	}
	fctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Flush(fctx); err != nil {
		t.Errorf("flush: %v", err) // and see whether a record was settled twice
	}

	var written, failed, unknown int
	for id := range n {
		if k := calls[id].Load(); k != 1 {
			t.Fatalf("record %d: %d results", id, k)
		}
		switch results[id].Outcome {
		case Written:
			written++
		case Failed:
			failed++
		default:
			unknown++
		}
	}
	t.Logf("%d written, %d failed, %d unknown, %d produce requests", written, failed, unknown, requests.Load())
	if written == 0 || failed == 0 {
		t.Fatalf("%d written and %d failed: the test exercised nothing", written, failed)
	}
	seen := make([]bool, n)
	got := readAll(t, c, "t", endOffsets(t, c, "t", partitions))
	for part, recs := range got {
		for _, r := range recs {
			id, err := strconv.Atoi(string(r.Value))
			if err != nil || id < 0 || id >= n {
				t.Fatalf("unexpected record %q", r.Value)
			}
			if seen[id] {
				t.Fatalf("record %d is on the broker twice", id)
			}
			seen[id] = true
			switch res := results[id]; res.Outcome {
			case Failed:
				t.Fatalf("record %d failed (%v) but is on the broker at %d/%d", id, res.Err, part, r.Offset)
			case Written:
				if res.Partition != part || res.Offset != r.Offset {
					t.Fatalf("record %d: result %d/%d, on the broker at %d/%d", id, res.Partition, res.Offset, part, r.Offset)
				}
			}
		}
	}
	for id := range n {
		if results[id].Outcome == Written && !seen[id] {
			t.Fatalf("record %d reported written at %d/%d is not on the broker", id, results[id].Partition, results[id].Offset)
		}
	}
}

// TestRecSize keeps the per-record state at 32 bytes on 64-bit machines,
// with the record as its only pointer: busy producers hold slabs of
// hundreds of thousands of them, which the garbage collector scans.
func TestRecSize(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) == 8 && unsafe.Sizeof(rec{}) != 32 {
		t.Fatalf("rec is %d bytes", unsafe.Sizeof(rec{}))
	}
	typ := reflect.TypeFor[rec]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		switch f.Type.Kind() {
		case reflect.Pointer, reflect.Func, reflect.Interface, reflect.Slice, reflect.Map, reflect.Chan, reflect.String:
			if f.Name != "r" {
				t.Errorf("rec.%s is a %s: the record should be its only pointer", f.Name, f.Type)
			}
		}
	}
}

// TestBatchCallbacks checks the batch's callback table: a callback
// repeated record after record is listed once, and closures of the same
// function literal over different variables stay apart.
func TestBatchCallbacks(t *testing.T) {
	var got []int
	mk := func(k int) func(*gregor.Record, Result) {
		return func(*gregor.Record, Result) { got = append(got, k) }
	}
	one, two := mk(1), mk(2)
	b := new(batch)
	refs := []uint32{b.addCallback(one), b.addCallback(one), b.addCallback(two), b.addCallback(two), b.addCallback(one)}
	if want := []uint32{1, 1, 2, 2, 3}; !slices.Equal(refs, want) {
		t.Fatalf("references %v, want %v", refs, want)
	}
	for _, ref := range refs {
		b.cbs[ref-1](nil, Result{})
	}
	if want := []int{1, 1, 2, 2, 1}; !slices.Equal(got, want) {
		t.Fatalf("called %v, want %v", got, want)
	}
}
