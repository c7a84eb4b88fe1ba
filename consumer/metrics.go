package consumer

import (
	"context"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// metrics are the consumer's OpenTelemetry instruments; nil (and free)
// unless ConnConfig.MeterProvider is set.
type metrics struct {
	records metric.Int64Counter
	bytes   metric.Int64Counter
	lag     metric.Int64ObservableGauge
	reg     metric.Registration

	rebalances metric.Int64Counter
	rebalance  metric.Float64Histogram
}

func newMetrics(mp metric.MeterProvider, c *Consumer) *metrics {
	if mp == nil {
		return nil
	}
	m := mp.Meter("github.com/gregorkafka/gregor/consumer")
	var out metrics
	var err error
	if out.records, err = m.Int64Counter("gregor.consumer.records", metric.WithDescription("Records handed out by Poll."), metric.WithUnit("{record}")); err != nil {
		return nil
	}
	if out.bytes, err = m.Int64Counter("gregor.consumer.fetch.bytes", metric.WithDescription("Bytes of fetch responses received."), metric.WithUnit("By")); err != nil {
		return nil
	}
	if out.lag, err = m.Int64ObservableGauge("gregor.consumer.lag", metric.WithDescription("High watermark minus position, per partition."), metric.WithUnit("{record}")); err != nil {
		return nil
	}
	if out.rebalances, err = m.Int64Counter("gregor.consumer.rebalances", metric.WithDescription("Rebalances this member completed: a new assignment applied, with revoked partitions committed and released."), metric.WithUnit("{rebalance}")); err != nil {
		return nil
	}
	if out.rebalance, err = m.Float64Histogram("gregor.consumer.rebalance.duration", metric.WithDescription("Time from the start of a rebalance (a rejoin under the classic protocol, a new target assignment under KIP-848) until this member applied its new assignment."), metric.WithUnit("s")); err != nil {
		return nil
	}
	out.reg, _ = m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		for tp, p := range c.parts {
			if lag, ok := p.lagLocked(c.cfg.IsolationLevel); ok {
				o.ObserveInt64(out.lag, lag, metric.WithAttributes(attribute.String("topic", tp.Topic), attribute.Int("partition", int(tp.Partition))))
			}
		}
		return nil
	}, out.lag)
	return &out
}

func (m *metrics) consumed(ctx context.Context, topic string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.records.Add(ctx, int64(n), metric.WithAttributes(attribute.String("topic", topic)))
}

func (m *metrics) fetched(ctx context.Context, n int) {
	if m == nil {
		return
	}
	m.bytes.Add(ctx, int64(n))
}

// rebalanced records one completed rebalance of a group using protocol
// ("classic" or "consumer") that began at start.
func (m *metrics) rebalanced(ctx context.Context, protocol string, start time.Time) {
	if m == nil {
		return
	}
	attrs := metric.WithAttributes(attribute.String("protocol", protocol))
	m.rebalances.Add(ctx, 1, attrs)
	m.rebalance.Record(ctx, time.Since(start).Seconds(), attrs)
}

func (m *metrics) close() {
	if m != nil && m.reg != nil {
		_ = m.reg.Unregister()
	}
}
