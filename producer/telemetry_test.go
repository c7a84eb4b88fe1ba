package producer

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gregorkafka/gregor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// fakeSpan records what the producer sets on a span.
type fakeSpan struct {
	noop.Span
	sc     trace.SpanContext
	mu     sync.Mutex
	name   string
	attrs  map[attribute.Key]attribute.Value
	status codes.Code
	ended  bool
}

func (s *fakeSpan) SpanContext() trace.SpanContext { return s.sc }
func (s *fakeSpan) IsRecording() bool              { return true }
func (s *fakeSpan) SetAttributes(kv ...attribute.KeyValue) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range kv {
		s.attrs[a.Key] = a.Value
	}
}
func (s *fakeSpan) SetStatus(c codes.Code, _ string) { s.status = c }
func (s *fakeSpan) End(...trace.SpanEndOption) {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
}

type fakeTracer struct {
	noop.Tracer
	mu    sync.Mutex
	spans []*fakeSpan
}

func (t *fakeTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	cfg := trace.NewSpanStartConfig(opts...)
	t.mu.Lock()
	defer t.mu.Unlock()
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: trace.TraceID{1}, SpanID: trace.SpanID{byte(len(t.spans) + 1)}, TraceFlags: trace.FlagsSampled})
	s := &fakeSpan{sc: sc, name: name, attrs: map[attribute.Key]attribute.Value{}}
	s.SetAttributes(cfg.Attributes()...)
	t.spans = append(t.spans, s)
	return trace.ContextWithSpan(ctx, s), s
}

type fakeProvider struct {
	noop.TracerProvider
	t *fakeTracer
}

func (p fakeProvider) Tracer(string, ...trace.TracerOption) trace.Tracer { return p.t }

// TestTracing: one send span per record with the messaging attributes and
// the written offset, and a traceparent header that replaces, not
// duplicates, one already on the record.
func TestTracing(t *testing.T) {
	c := fake(t, 4)
	tr := &fakeTracer{}
	p := newProducer(t, c, func(cfg *Config) {
		cfg.Conn.TracerProvider = fakeProvider{t: tr}
		cfg.Conn.MeterProvider = metricnoop.NewMeterProvider()
	})
	r := &gregor.Record{Topic: "t", Key: []byte("k"), Value: []byte("v"),
		Headers: []gregor.Header{{Key: "traceparent", Value: []byte("stale")}, {Key: "other", Value: []byte("x")}}}
	res, err := p.ProduceSync(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	var sends []*fakeSpan
	for _, s := range tr.spans {
		if strings.HasPrefix(s.name, "send ") {
			sends = append(sends, s)
		}
	}
	if len(sends) != 1 {
		t.Fatalf("%d send spans", len(sends))
	}
	s := sends[0]
	want := map[attribute.Key]attribute.Value{
		"messaging.system":                   attribute.StringValue("kafka"),
		"messaging.destination.name":         attribute.StringValue("t"),
		"messaging.destination.partition.id": attribute.StringValue(itoa(res[0].Partition)),
		"messaging.kafka.offset":             attribute.Int64Value(res[0].Offset),
		"messaging.operation.type":           attribute.StringValue("send"),
	}
	for k, v := range want {
		if s.attrs[k] != v {
			t.Errorf("%s = %v, want %v", k, s.attrs[k].Emit(), v.Emit())
		}
	}
	if !s.ended || s.name != "send t" {
		t.Errorf("span %q ended %v", s.name, s.ended)
	}
	n := 0
	for _, h := range r.Headers {
		if h.Key == "traceparent" {
			n++
			if !strings.HasPrefix(string(h.Value), "00-01000000000000000000000000000000-") {
				t.Errorf("traceparent %s", h.Value)
			}
		}
	}
	if n != 1 || len(r.Headers) != 2 {
		t.Errorf("headers %v", r.Headers)
	}
}

func itoa(i int32) string { return strconv.Itoa(int(i)) }
