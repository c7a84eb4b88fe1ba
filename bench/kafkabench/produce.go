package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/bench/internal/fake"
	"github.com/gregorkafka/gregor/compression"
	"github.com/gregorkafka/gregor/producer"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kgo"
)

// defaultMaxRequestBytes is both producers' request bound unless
// -max-request-bytes says otherwise: far above one 512 KiB batch per
// partition, like franz-go's own default, and the same for both clients.
const defaultMaxRequestBytes = 16 << 20

// chunk is how many records the harness allocates at once, so that its own
// allocations per record stay far below one.
const chunk = 4096

// tally counts acknowledgements and latencies from the clients' callbacks
// without allocating.
type tally struct {
	n      int
	done   atomic.Int64
	failed atomic.Int64
	first  atomic.Pointer[error]
	lat    []time.Duration // filled when timed
	latN   atomic.Int64
	all    chan struct{}
}

func newTally(n int, timed bool) *tally {
	t := &tally{n: n, all: make(chan struct{})}
	if timed {
		t.lat = make([]time.Duration, n)
	}
	return t
}

// ack records one callback for a record produced at start.
func (t *tally) ack(start time.Time, err error) {
	if t.lat != nil {
		t.lat[t.latN.Add(1)-1] = time.Since(start)
	}
	if err != nil {
		t.fail(err)
	}
	if int(t.done.Add(1)) == t.n {
		close(t.all)
	}
}

// fail counts a failed record and keeps the first error. It is apart from
// ack because taking err's address moves it to the heap at function entry,
// which inside ack cost every record an allocation.
func (t *tally) fail(err error) {
	t.failed.Add(1)
	t.first.CompareAndSwap(nil, &err)
}

// wait blocks until every record was acknowledged or ctx ends.
func (t *tally) wait(ctx context.Context) error {
	select {
	case <-t.all:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%d of %d records acknowledged: %w", t.done.Load(), t.n, ctx.Err())
	}
}

// chunked returns a send function for pace that hands send the i-th of
// records allocated chunk at a time.
func chunked[R any](send func(r *R)) func(i int) {
	var recs []R
	return func(i int) {
		if i%chunk == 0 {
			recs = make([]R, chunk)
		}
		send(&recs[i%chunk])
	}
}

// pace spaces out n sends at rate per second (or none when rate is 0),
// calling send(i) for each.
func pace(ctx context.Context, n, rate int, send func(i int)) error {
	if rate <= 0 {
		for i := range n {
			send(i)
		}
		return nil
	}
	start := time.Now()
	for i := 0; i < n; {
		due := min(n, int(time.Since(start).Seconds()*float64(rate))+1)
		for ; i < due; i++ {
			send(i)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		time.Sleep(200 * time.Microsecond)
	}
	return nil
}

// produce runs the produce mode with the chosen client.
func produce(ctx context.Context, o options) (measurement, error) {
	value := fake.Value(newRand(), o.Size)
	// Only a paced run measures latency, from the timestamp the harness
	// sets; flat out, each client stamps records itself (as both do when
	// the timestamp is zero), so the harness adds no clock read of its own.
	timed := o.Rate > 0
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = defaultMaxRequestBytes
	}
	if o.MaxBufferedBytes > 0 {
		// A request cannot carry more than the buffer holds (Gregor checks it).
		o.MaxRequestBytes = min(o.MaxRequestBytes, int(o.MaxBufferedBytes))
	}
	t := newTally(o.Records, timed)
	var (
		m      meter
		out    measurement
		sendFn func(i int)
		flush  func() error
		closer func()
	)
	switch o.Client {
	case "gregor":
		codec, err := compression.ParseCodec(o.Codec)
		if err != nil {
			return out, err
		}
		linger := o.Linger
		if linger == 0 {
			linger = -1 // Gregor's zero means its default; negative is none
		}
		p, err := producer.New(producer.Config{
			Conn:               gregor.ConnConfig{SeedBrokers: o.Brokers},
			Acks:               producer.AcksAll,
			Compression:        codec,
			Linger:             linger,
			BatchBytes:         o.BatchBytes,
			MaxRequestBytes:    o.MaxRequestBytes,
			MaxBufferedBytes:   o.MaxBufferedBytes,
			MaxBufferedRecords: int64(o.MaxBufferedRecords),
		})
		if err != nil {
			return out, err
		}
		if _, err := p.ProduceSync(ctx, &gregor.Record{Topic: o.Topic, Value: value}); err != nil {
			p.Close(ctx)
			return out, fmt.Errorf("warm-up record: %w", err)
		}
		cb := func(r *gregor.Record, res producer.Result) { t.ack(r.Timestamp, res.Err) }
		sendFn = chunked(func(r *gregor.Record) {
			r.Topic, r.Value = o.Topic, value
			if timed {
				r.Timestamp = time.Now()
			}
			p.Produce(ctx, r, cb)
		})
		flush = func() error { return p.Flush(ctx) }
		closer = func() { p.Close(ctx) }
	case "franz":
		codec, err := fake.Codec(o.Codec)
		if err != nil {
			return out, err
		}
		cl, err := kgo.NewClient(
			kgo.SeedBrokers(o.Brokers...),
			kgo.RequiredAcks(kgo.AllISRAcks()),
			kgo.ProducerBatchCompression(codec),
			kgo.ProducerLinger(o.Linger),
			kgo.ProducerBatchMaxBytes(int32(o.BatchBytes)),
			kgo.BrokerMaxWriteBytes(int32(o.MaxRequestBytes)),
			kgo.MaxBufferedBytes(int(o.MaxBufferedBytes)),
			kgo.MaxBufferedRecords(o.MaxBufferedRecords),
		)
		if err != nil {
			return out, err
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: o.Topic, Value: value}).FirstErr(); err != nil {
			cl.Close()
			return out, fmt.Errorf("warm-up record: %w", err)
		}
		cb := func(r *kgo.Record, err error) { t.ack(r.Timestamp, err) }
		sendFn = chunked(func(r *kgo.Record) {
			r.Topic, r.Value = o.Topic, value
			if timed {
				r.Timestamp = time.Now()
			}
			cl.Produce(ctx, r, cb)
		})
		flush = func() error { return cl.Flush(ctx) }
		closer = cl.Close
	default:
		return out, fmt.Errorf("unknown -client %q", o.Client)
	}
	defer closer()

	m.start()
	start := time.Now()
	err := pace(ctx, o.Records, o.Rate, sendFn)
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = t.wait(ctx)
	}
	out.elapsed = time.Since(start)
	m.stop(&out)
	if err != nil {
		return out, err
	}
	out.records, out.failed = o.Records, int(t.failed.Load())
	out.bytes = int64(o.Records) * int64(o.Size)
	if p := t.first.Load(); p != nil {
		return out, fmt.Errorf("%d records failed, first: %w", out.failed, *p)
	}
	if t.lat != nil {
		out.lat = t.lat
		slices.Sort(out.lat)
	}
	return out, nil
}

// seedTopic creates o.Topic with o.Partitions partitions (replication
// factor 1) on a real cluster, unless it exists, and writes o.Records
// records of o.Size bytes with codec o.Codec to it.
func seedTopic(ctx context.Context, o options) error {
	a, err := admin.New(gregor.ConnConfig{SeedBrokers: o.Brokers})
	if err != nil {
		return err
	}
	defer a.Close(context.WithoutCancel(ctx))
	res, err := a.CreateTopic(ctx, admin.NewTopic{Name: o.Topic, Partitions: int32(o.Partitions), ReplicationFactor: 1}, admin.CreateTopicsOptions{})
	if err == nil {
		err = res.Err
	}
	if err != nil && !errors.Is(err, protocol.ErrTopicAlreadyExists) {
		return fmt.Errorf("creating %s: %w", o.Topic, err)
	}
	if o.Records == 0 {
		return nil
	}
	return fake.Seed(ctx, o.Brokers, o.Topic, o.Partitions, o.Records, o.Size, o.Codec)
}

// deleteTopic deletes o.Topic from a real cluster (a topic already gone
// is not an error), so that a benchmark's data does not pile up in the
// broker's log directory from run to run.
func deleteTopic(ctx context.Context, o options) error {
	a, err := admin.New(gregor.ConnConfig{SeedBrokers: o.Brokers})
	if err != nil {
		return err
	}
	defer a.Close(context.WithoutCancel(ctx))
	res, err := a.DeleteTopics(ctx, o.Topic)
	if err == nil {
		err = res.Err()
	}
	if err != nil && !errors.Is(err, protocol.ErrUnknownTopicOrPartition) {
		return fmt.Errorf("deleting %s: %w", o.Topic, err)
	}
	return nil
}

// newRand returns the generator record values are drawn from, fixed so that
// every run sends the same bytes.
func newRand() *rand.Rand { return rand.New(rand.NewPCG(3, 4)) }
