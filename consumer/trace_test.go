package consumer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

type startedSpan struct {
	name  string
	links []trace.Link
}

// recTracer records the spans started and their links.
type recTracer struct {
	noop.TracerProvider
	noop.Tracer
	mu    sync.Mutex
	spans []startedSpan
}

type recTP struct {
	noop.TracerProvider
	t *recTracer
}

func (p recTP) Tracer(string, ...trace.TracerOption) trace.Tracer { return p.t }

func (t *recTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	t.mu.Lock()
	t.spans = append(t.spans, startedSpan{name, cfg.Links()})
	t.mu.Unlock()
	return ctx, noop.Span{}
}

// TestTraceLinks checks that poll and process spans link to the producer
// span named in a record's traceparent header.
func TestTraceLinks(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 1)
	const traceID, spanID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	err = cl.ProduceSync(context.Background(), &kgo.Record{Topic: testTopic, Value: []byte("v"),
		Headers: []kgo.RecordHeader{{Key: "traceparent", Value: []byte("00-" + traceID + "-" + spanID + "-01")}}}).FirstErr()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	rt := &recTracer{}
	c := newConsumer(t, f.ListenAddrs(), func(c *Config) { c.Conn.TracerProvider = recTP{t: rt} })
	c.Assign(all([]int32{0}, AtEarliest()))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fs, err := c.Poll(ctx)
	if err != nil || fs.NumRecords() != 1 {
		t.Fatalf("Poll: %v, %d records", err, fs.NumRecords())
	}
	r := &fs[0].Records[0]
	if sc := RecordSpanContext(r); sc.TraceID().String() != traceID || sc.SpanID().String() != spanID {
		t.Fatalf("span context %v", sc)
	}
	_, span := c.StartProcessSpan(ctx, r)
	span.End()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	found := map[string]bool{}
	for _, s := range rt.spans {
		if (s.name == "poll" || s.name == "process "+testTopic) && len(s.links) == 1 && s.links[0].SpanContext.TraceID().String() == traceID {
			found[s.name] = true
		}
	}
	if !found["poll"] || !found["process "+testTopic] {
		t.Fatalf("spans %+v", rt.spans)
	}
}
