package consumer

import (
	"context"

	"github.com/gregorkafka/gregor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// maxPollLinks caps the producer spans one poll span links to.
const maxPollLinks = 128

// tracerName is the instrumentation scope of the consumer's spans.
const tracerName = "github.com/gregorkafka/gregor/consumer"

// traceContext reads the W3C traceparent and tracestate headers.
var traceContext propagation.TraceContext

// headerCarrier exposes record headers to a propagator (read only).
type headerCarrier []gregor.Header

func (h headerCarrier) Get(key string) string {
	for i := range h {
		if h[i].Key == key {
			return string(h[i].Value)
		}
	}
	return ""
}

func (h headerCarrier) Set(string, string) {}

func (h headerCarrier) Keys() []string {
	keys := make([]string, len(h))
	for i := range h {
		keys[i] = h[i].Key
	}
	return keys
}

// RecordSpanContext returns the span context a producer stored in the
// record's W3C trace-context headers (traceparent, tracestate); it is not
// valid when the record has none.
func RecordSpanContext(r *gregor.Record) trace.SpanContext {
	if len(r.Headers) == 0 {
		return trace.SpanContext{}
	}
	return trace.SpanContextFromContext(traceContext.Extract(context.Background(), headerCarrier(r.Headers)))
}

// StartProcessSpan starts a consumer span "process <topic>" for one record,
// a child of ctx linked to the producer's span found in the record's
// headers. Without ConnConfig.TracerProvider it returns ctx and a no-op
// span. The caller ends the span.
func (c *Consumer) StartProcessSpan(ctx context.Context, r *gregor.Record) (context.Context, trace.Span) {
	if c.tracer == nil {
		return ctx, noop.Span{}
	}
	opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(
		attribute.String("messaging.system", "kafka"),
		attribute.String("messaging.operation.type", "process"),
		attribute.String("messaging.destination.name", r.Topic),
		attribute.Int("messaging.destination.partition.id", int(r.Partition)),
		attribute.Int64("messaging.kafka.offset", r.Offset))}
	if sc := RecordSpanContext(r); sc.IsValid() {
		opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
	}
	return c.tracer.Start(ctx, "process "+r.Topic, opts...)
}

// tracePoll records one poll span covering Poll's wait, linked to the
// producer spans of up to maxPollLinks of the records returned.
func (c *Consumer) tracePoll(ctx context.Context, start trace.SpanStartOption, out Fetches, err error) {
	var links []trace.Link
	for i := range out {
		for j := range out[i].Records {
			if len(links) == maxPollLinks {
				break
			}
			if sc := RecordSpanContext(&out[i].Records[j]); sc.IsValid() {
				links = append(links, trace.Link{SpanContext: sc})
			}
		}
	}
	_, span := c.tracer.Start(ctx, "poll", start, trace.WithSpanKind(trace.SpanKindConsumer), trace.WithLinks(links...),
		trace.WithAttributes(attribute.String("messaging.system", "kafka"), attribute.String("messaging.operation.type", "receive"),
			attribute.Int("messaging.batch.message_count", out.NumRecords())))
	if err != nil {
		span.RecordError(err)
	}
	span.End()
}
