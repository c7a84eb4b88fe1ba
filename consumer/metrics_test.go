package consumer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/consumer/assign"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// recMeter records the consumer's counters and keeps the callbacks.
type recMeter struct {
	noop.Meter
	mu        sync.Mutex
	counters  map[string]int64
	hists     map[string][]float64
	callbacks []metric.Callback
}

type recHistogram struct {
	noop.Float64Histogram
	m    *recMeter
	name string
}

func (h recHistogram) Record(_ context.Context, v float64, _ ...metric.RecordOption) {
	h.m.mu.Lock()
	h.m.hists[h.name] = append(h.m.hists[h.name], v)
	h.m.mu.Unlock()
}

func (m *recMeter) Float64Histogram(name string, _ ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return recHistogram{m: m, name: name}, nil
}

type recProvider struct {
	noop.MeterProvider
	m *recMeter
}

func (p recProvider) Meter(string, ...metric.MeterOption) metric.Meter { return p.m }

type recCounter struct {
	noop.Int64Counter
	m    *recMeter
	name string
}

func (c recCounter) Add(_ context.Context, v int64, _ ...metric.AddOption) {
	c.m.mu.Lock()
	c.m.counters[c.name] += v
	c.m.mu.Unlock()
}

func (m *recMeter) Int64Counter(name string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return recCounter{m: m, name: name}, nil
}

func (m *recMeter) RegisterCallback(f metric.Callback, _ ...metric.Observable) (metric.Registration, error) {
	m.mu.Lock()
	m.callbacks = append(m.callbacks, f)
	m.mu.Unlock()
	return noop.Registration{}, nil
}

type lagObserver struct {
	noop.Observer
	lags []int64
}

func (o *lagObserver) ObserveInt64(_ metric.Int64Observable, v int64, _ ...metric.ObserveOption) {
	o.lags = append(o.lags, v)
}

// TestMetrics checks the record and byte counters and the lag gauge with
// a MeterProvider configured.
func TestMetrics(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 2)
	produce(t, f.ListenAddrs(), []int32{0, 1}, 0, 30, time.Time{})
	m := &recMeter{counters: map[string]int64{}, hists: map[string][]float64{}}
	c := newConsumer(t, f.ListenAddrs(), func(c *Config) { c.Conn.MeterProvider = recProvider{m: m} })
	c.Assign(all([]int32{0, 1}, AtOffset(10)))
	collect(t, c, 40, 10*time.Second)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.counters["gregor.consumer.records"] != 40 || m.counters["gregor.consumer.fetch.bytes"] <= 0 {
		t.Fatalf("counters %v", m.counters)
	}
	var o lagObserver
	for _, cb := range m.callbacks {
		cb(context.Background(), &o)
	}
	if len(o.lags) != 2 || o.lags[0] != 0 || o.lags[1] != 0 {
		t.Fatalf("lags %v", o.lags)
	}
}

// TestValidateAfterLeaderChange moves the leader after the consumer read
// 100 records, with the new leader's OffsetForLeaderEpoch saying the old
// epoch ended at 50: the consumer detects the truncation (KIP-320) and
// continues at 50.
func TestValidateAfterLeaderChange(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 2, 1)
	produce(t, f.ListenAddrs(), []int32{0}, 0, 100, time.Time{})
	c := newConsumer(t, f.ListenAddrs(), nil)
	c.Assign(all([]int32{0}, AtEarliest()))
	checkExact(t, collect(t, c, 100, 10*time.Second), []int32{0}, 0, 100)
	f.ControlKey(23, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		f.KeepControl()
		req := kreq.(*kmsg.OffsetForLeaderEpochRequest)
		resp := req.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
		for _, rt := range req.Topics {
			st := kmsg.OffsetForLeaderEpochResponseTopic{Topic: rt.Topic}
			for _, rp := range rt.Partitions {
				sp := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
				sp.Partition, sp.LeaderEpoch, sp.EndOffset = rp.Partition, rp.LeaderEpoch, 50
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	if err := f.MoveTopicPartition(testTopic, 0, 1-f.LeaderFor(testTopic, 0)); err != nil {
		t.Fatal(err)
	}
	c.cl.TriggerRefresh()
	checkExact(t, collect(t, c, 50, 10*time.Second), []int32{0}, 50, 50)
	if c.validations.Load() == 0 {
		t.Fatal("no OffsetForLeaderEpoch validation")
	}
}

// TestRebalanceMetrics: a classic member counts one rebalance when it
// joins alone and another when a second member joins, each with a
// duration. The test waits until the second member owns its half, so that
// nothing is closed in the middle of a rebalance.
func TestRebalanceMetrics(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 4)
	addrs := f.ListenAddrs()
	produce(t, addrs, []int32{0, 1, 2, 3}, 0, 10, time.Time{})
	m := &recMeter{counters: map[string]int64{}, hists: map[string][]float64{}}
	count := func() (int64, int) {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.counters["gregor.consumer.rebalances"], len(m.hists["gregor.consumer.rebalance.duration"])
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	a := newConsumer(t, addrs, func(c *Config) {
		groupCfg("g-metrics", assign.Range)(c)
		c.Conn.MeterProvider = recProvider{m: m}
	})
	wg.Add(1)
	go func() { defer wg.Done(); pollLoop(ctx, a, new(sync.Map)) }()
	waitFor(t, "the first rebalance", 10*time.Second, func() bool { n, _ := count(); return n >= 1 })
	var eb events
	b := newConsumer(t, addrs, func(c *Config) {
		groupCfg("g-metrics", assign.Range)(c)
		eb.hook(c)
	})
	wg.Add(1)
	go func() { defer wg.Done(); pollLoop(ctx, b, new(sync.Map)) }()
	waitFor(t, "a rebalance for the second member", 15*time.Second, func() bool {
		n, _ := count()
		return n >= 2 && len(eb.ownedNow()) == 2
	})
	n, h := count()
	m.mu.Lock()
	defer m.mu.Unlock()
	if int64(h) != n {
		t.Fatalf("%d rebalances counted, %d durations recorded", n, h)
	}
	for _, d := range m.hists["gregor.consumer.rebalance.duration"] {
		if d <= 0 || d > 15 {
			t.Fatalf("rebalance durations %v", m.hists["gregor.consumer.rebalance.duration"])
		}
	}
}
