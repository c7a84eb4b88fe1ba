package raw

import (
	"context"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// recorder sums what the instruments of a recordingMP were given, and
// counts the calls, per instrument name.
type recorder struct {
	mu    sync.Mutex
	sum   map[string]float64
	calls map[string]int
}

func (r *recorder) add(name string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum[name] += v
	r.calls[name]++
}

func (r *recorder) get(name string) (float64, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sum[name], r.calls[name]
}

type recordingMP struct {
	noop.MeterProvider
	r *recorder
}

func (p recordingMP) Meter(string, ...metric.MeterOption) metric.Meter { return recordingMeter{r: p.r} }

type recordingMeter struct {
	noop.Meter
	r *recorder
}

func (m recordingMeter) Int64Counter(name string, _ ...metric.Int64CounterOption) (metric.Int64Counter, error) {
	return recInt{name: name, r: m.r}, nil
}

func (m recordingMeter) Int64UpDownCounter(name string, _ ...metric.Int64UpDownCounterOption) (metric.Int64UpDownCounter, error) {
	return recUpDown{name: name, r: m.r}, nil
}

func (m recordingMeter) Float64Histogram(name string, _ ...metric.Float64HistogramOption) (metric.Float64Histogram, error) {
	return recHist{name: name, r: m.r}, nil
}

type recInt struct {
	noop.Int64Counter
	name string
	r    *recorder
}

func (c recInt) Add(_ context.Context, v int64, _ ...metric.AddOption) { c.r.add(c.name, float64(v)) }

type recUpDown struct {
	noop.Int64UpDownCounter
	name string
	r    *recorder
}

func (c recUpDown) Add(_ context.Context, v int64, _ ...metric.AddOption) {
	c.r.add(c.name, float64(v))
}

type recHist struct {
	noop.Float64Histogram
	name string
	r    *recorder
}

func (h recHist) Record(_ context.Context, v float64, _ ...metric.RecordOption) { h.r.add(h.name, v) }

// TestMetrics checks every instrument: latency, bytes both ways, open
// connections (back to zero after Close) and a throttle time read from a
// response.
func TestMetrics(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(1))
	host, port, _ := net.SplitHostPort(fake.ListenAddrs()[0])
	p, _ := strconv.Atoi(port)
	fake.ControlKey(3, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		resp := kreq.ResponseKind().(*kmsg.MetadataResponse)
		resp.ThrottleMillis = 250
		resp.Brokers = []kmsg.MetadataResponseBroker{{NodeID: 0, Host: host, Port: int32(p)}}
		resp.ControllerID = 0
		return resp, nil, true
	})
	rec := &recorder{sum: map[string]float64{}, calls: map[string]int{}}
	c, err := New(gregor.ConnConfig{SeedBrokers: fake.ListenAddrs(), MeterProvider: recordingMP{r: rec}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxT(t, 5*time.Second)
	if err := c.RefreshMetadata(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Request(ctx, Broker(0), Wrap(kmsg.NewPtrMetadataRequest())); err != nil {
		t.Fatal(err)
	}
	if s, _ := rec.get("gregor.bytes.written"); s <= 0 {
		t.Error("no bytes written recorded")
	}
	if s, _ := rec.get("gregor.bytes.read"); s <= 0 {
		t.Error("no bytes read recorded")
	}
	if _, n := rec.get("gregor.request.duration"); n < 3 { // ApiVersions, Metadata, Metadata
		t.Errorf("%d latencies recorded, want at least 3", n)
	}
	if s, _ := rec.get("gregor.connections.open"); s < 1 {
		t.Errorf("open connections %v, want at least 1", s)
	}
	if s, n := rec.get("gregor.throttle.duration"); n != 1 || s != 0.25 {
		t.Errorf("throttle: %d records summing to %vs, want one of 0.25s", n, s)
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := rec.get("gregor.connections.open"); s != 0 {
		t.Errorf("open connections %v after Close, want 0", s)
	}
}
