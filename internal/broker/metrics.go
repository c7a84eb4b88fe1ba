package broker

import (
	"context"
	"strconv"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Metrics records the connection layer's OpenTelemetry instruments. One
// Metrics is shared by every connection of a client.
type Metrics struct {
	duration metric.Float64Histogram
	written  metric.Int64Counter
	readB    metric.Int64Counter
	open     metric.Int64UpDownCounter
	throttle metric.Float64Histogram
	reauth   metric.Int64Counter
}

// NewMetrics creates the instruments from mp, or from the global provider
// when mp is nil. Instruments that fail to register are left out.
func NewMetrics(mp metric.MeterProvider) *Metrics {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter("github.com/gregorkafka/gregor")
	m := &Metrics{}
	m.duration, _ = meter.Float64Histogram("gregor.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Time from queueing a request to receiving its response, per API and broker."))
	m.written, _ = meter.Int64Counter("gregor.bytes.written", metric.WithUnit("By"),
		metric.WithDescription("Bytes written to brokers."))
	m.readB, _ = meter.Int64Counter("gregor.bytes.read", metric.WithUnit("By"),
		metric.WithDescription("Bytes read from brokers."))
	m.open, _ = meter.Int64UpDownCounter("gregor.connections.open", metric.WithUnit("{connection}"),
		metric.WithDescription("Open broker connections."))
	m.throttle, _ = meter.Float64Histogram("gregor.throttle.duration", metric.WithUnit("s"),
		metric.WithDescription("Throttle time reported by brokers in responses."))
	m.reauth, _ = meter.Int64Counter("gregor.sasl.reauthentications", metric.WithUnit("{reauthentication}"),
		metric.WithDescription("Completed SASL re-authentications (KIP-368)."))
	return m
}

type latencyAttrs struct{ opts []metric.RecordOption }

func (c *Conn) brokerAttrs() metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(
		attribute.String("broker", strconv.Itoa(int(c.id))), attribute.String("role", c.role)))
}

func (m *Metrics) connOpened(c *Conn) {
	if m == nil || m.open == nil || !c.opened.CompareAndSwap(false, true) {
		return
	}
	m.open.Add(context.Background(), 1, c.ioOpt)
}

func (m *Metrics) connClosed(c *Conn) {
	if m == nil || m.open == nil || !c.opened.CompareAndSwap(true, false) {
		return // never counted as open
	}
	m.open.Add(context.Background(), -1, c.ioOpt)
}

func (m *Metrics) wrote(c *Conn, n int) {
	if m == nil || m.written == nil {
		return
	}
	m.written.Add(context.Background(), int64(n), c.ioAdd...)
}

func (m *Metrics) read(c *Conn, n int) {
	if m == nil || m.readB == nil {
		return
	}
	m.readB.Add(context.Background(), int64(n), c.ioAdd...)
}

// latency records one round trip; called only from the reader goroutine.
func (m *Metrics) latency(c *Conn, key int16, d time.Duration) {
	if m == nil || m.duration == nil || key < 0 {
		return
	}
	var opts []metric.RecordOption
	if int(key) < len(c.lat) {
		if opts = c.lat[key].opts; opts == nil {
			opts = []metric.RecordOption{c.apiAttrs(key)}
			c.lat[key].opts = opts
		}
	} else {
		opts = []metric.RecordOption{c.apiAttrs(key)}
	}
	m.duration.Record(context.Background(), d.Seconds(), opts...)
}

func (c *Conn) apiAttrs(key int16) metric.MeasurementOption {
	return metric.WithAttributeSet(attribute.NewSet(
		attribute.Int("api_key", int(key)), attribute.String("broker", strconv.Itoa(int(c.id)))))
}

// Throttled records a throttle time a response reported and makes the
// connection hold further writes until it has passed (KIP-219).
func (c *Conn) Throttled(ms int32) {
	if ms <= 0 {
		return
	}
	d := time.Duration(ms) * time.Millisecond
	c.ThrottleUntil(time.Now().Add(d))
	if c.m != nil && c.m.throttle != nil {
		c.m.throttle.Record(context.Background(), d.Seconds(), c.ioOpt)
	}
}
