package producer

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/protocol"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// scope is the instrumentation scope of the producer's spans and metrics.
const scope = "github.com/gregorkafka/gregor/producer"

// telemetry holds the producer's tracer and instruments. A nil *telemetry
// (no TracerProvider and no MeterProvider configured) does nothing, and
// every method checks for it first, so an unobserved producer pays one
// comparison.
type telemetry struct {
	tracer   trace.Tracer // nil without a TracerProvider
	prop     propagation.TextMapPropagator
	clientID string

	sent     metric.Int64Counter     // records written
	bytes    metric.Int64Counter     // encoded batch bytes written
	batch    metric.Int64Histogram   // records per written batch
	duration metric.Float64Histogram // Produce request round trips, seconds
}

func newTelemetry(cfg *gregor.ConnConfig) *telemetry {
	if cfg.TracerProvider == nil && cfg.MeterProvider == nil {
		return nil
	}
	t := &telemetry{prop: propagation.TraceContext{}, clientID: cfg.ClientID}
	if cfg.TracerProvider != nil {
		t.tracer = cfg.TracerProvider.Tracer(scope)
	}
	if cfg.MeterProvider != nil {
		m := cfg.MeterProvider.Meter(scope)
		t.sent, _ = m.Int64Counter("messaging.client.sent.messages", metric.WithUnit("{message}"),
			metric.WithDescription("Records the brokers acknowledged."))
		t.bytes, _ = m.Int64Counter("gregor.producer.sent.bytes", metric.WithUnit("By"),
			metric.WithDescription("Bytes of record batches the brokers acknowledged, after compression."))
		t.batch, _ = m.Int64Histogram("gregor.producer.batch.records", metric.WithUnit("{message}"),
			metric.WithDescription("Records per acknowledged batch."))
		t.duration, _ = m.Float64Histogram("messaging.client.operation.duration", metric.WithUnit("s"),
			metric.WithDescription("Round trip of Produce requests."))
	}
	return t
}

// headerCarrier lets a propagator write into a record's headers, replacing
// a header of the same key so that producing a record again never
// duplicates its trace context.
type headerCarrier struct{ r *gregor.Record }

// Get returns the first header named key.
func (c headerCarrier) Get(key string) string {
	for _, h := range c.r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// Set replaces the header named key, or adds it.
func (c headerCarrier) Set(key, value string) {
	for i, h := range c.r.Headers {
		if h.Key == key {
			c.r.Headers[i].Value = []byte(value)
			return
		}
	}
	c.r.Headers = append(c.r.Headers, gregor.Header{Key: key, Value: []byte(value)})
}

// Keys lists the header keys.
func (c headerCarrier) Keys() []string {
	keys := make([]string, len(c.r.Headers))
	for i, h := range c.r.Headers {
		keys[i] = h.Key
	}
	return keys
}

// startSend starts the record's send span as a child of ctx's span and
// injects its context into the record's headers (W3C traceparent).
func (t *telemetry) startSend(ctx context.Context, r *gregor.Record) trace.Span {
	if t == nil || t.tracer == nil {
		return nil
	}
	ctx, span := t.tracer.Start(ctx, "send "+r.Topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "kafka"),
			attribute.String("messaging.operation.type", "send"),
			attribute.String("messaging.operation.name", "send"),
			attribute.String("messaging.destination.name", r.Topic),
			attribute.String("messaging.client.id", t.clientID),
			attribute.Int("messaging.message.body.size", len(r.Value)),
		))
	if r.Key != nil {
		span.SetAttributes(attribute.String("messaging.kafka.message.key", string(r.Key)))
	}
	t.prop.Inject(ctx, headerCarrier{r})
	return span
}

// setPartition adds the chosen partition to a record's span.
func setPartition(span trace.Span, partition int32) {
	if span != nil {
		span.SetAttributes(attribute.String("messaging.destination.partition.id", strconv.Itoa(int(partition))))
	}
}

// endSend ends a record's span with its result.
func endSend(span trace.Span, res Result) {
	if span == nil {
		return
	}
	switch res.Outcome {
	case Written:
		span.SetAttributes(attribute.Int64("messaging.kafka.offset", res.Offset))
	default:
		span.SetAttributes(attribute.String("gregor.produce.outcome", res.Outcome.String()),
			attribute.String("error.type", errorType(res.Err)))
		span.SetStatus(codes.Error, res.Err.Error())
	}
	span.End()
}

// errorType names an error for the error.type attribute without its text.
func errorType(err error) string {
	var ke *protocol.Error
	switch {
	case errors.Is(err, ErrOutcomeUnknown):
		return "outcome_unknown"
	case errors.Is(err, ErrDeliveryTimeout):
		return "delivery_timeout"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "context"
	case errors.Is(err, gregor.ErrClosed):
		return "closed"
	case errors.As(err, &ke):
		return strconv.Itoa(int(ke.Code))
	}
	return "_OTHER"
}

// request records one answered Produce request.
func (t *telemetry) request(ctx context.Context, batches, bytes int, d time.Duration) {
	if t == nil || t.duration == nil {
		return
	}
	t.duration.Record(ctx, d.Seconds(), metric.WithAttributes(attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.operation.name", "send")))
}

// batchDone records a written batch.
func (t *telemetry) batchDone(b *batch) {
	if t == nil || t.sent == nil {
		return
	}
	attrs := metric.WithAttributes(attribute.String("messaging.system", "kafka"), attribute.String("messaging.destination.name", b.p.topic))
	ctx := context.Background()
	t.sent.Add(ctx, int64(len(b.recs)), attrs)
	t.bytes.Add(ctx, int64(b.encBytes), attrs)
	t.batch.Record(ctx, int64(len(b.recs)), attrs)
}
