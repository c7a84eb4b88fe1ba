package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/broker"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

type respT = broker.Response

// DefaultAPITimeout bounds a request and its retries when the caller's
// context has no deadline.
const DefaultAPITimeout = 60 * time.Second

type targetKind uint8

const (
	targetAny targetKind = iota
	targetBroker
	targetController
	targetLeader
	targetCoordinator
)

// Target says which broker a request goes to.
type Target struct {
	kind      targetKind
	broker    int32
	topic     string
	partition int32
	coordType CoordinatorType
	key       string
}

// AnyBroker targets whichever broker has a ready connection, else a random
// known broker, else a seed broker.
func AnyBroker() Target { return Target{kind: targetAny} }

// BrokerID targets one broker by node id.
func BrokerID(id int32) Target { return Target{kind: targetBroker, broker: id} }

// Controller targets the broker the metadata names as controller, where
// admin requests for the controller go.
func Controller() Target { return Target{kind: targetController} }

// Leader targets the leader of a partition.
func Leader(topic string, partition int32) Target {
	return Target{kind: targetLeader, topic: topic, partition: partition}
}

// Coordinator targets the coordinator of a group or transactional id.
func Coordinator(typ CoordinatorType, key string) Target {
	return Target{kind: targetCoordinator, coordType: typ, key: key}
}

// String describes the target.
func (t Target) String() string {
	switch t.kind {
	case targetBroker:
		return fmt.Sprintf("broker %d", t.broker)
	case targetController:
		return "controller"
	case targetLeader:
		return fmt.Sprintf("leader of %s[%d]", t.topic, t.partition)
	case targetCoordinator:
		return fmt.Sprintf("%s coordinator of %q", t.coordType, t.key)
	}
	return "any broker"
}

// Resolve returns the broker id t points at now.
func (c *Cluster) Resolve(ctx context.Context, t Target) (int32, error) {
	switch t.kind {
	case targetBroker:
		return t.broker, nil
	case targetController:
		m := c.meta.Load()
		if m == nil {
			if err := c.Refresh(ctx); err != nil {
				return -1, err
			}
			m = c.meta.Load()
		}
		if m == nil || m.ControllerID < 0 {
			c.TriggerRefresh()
			return -1, fmt.Errorf("gregor: no controller known: %w", gregor.ErrNoBrokers)
		}
		return m.ControllerID, nil
	case targetLeader:
		id, _, err := c.Leader(ctx, t.topic, t.partition)
		return id, err
	case targetCoordinator:
		return c.Coordinator(ctx, t.coordType, t.key)
	}
	return -1, nil
}

// anyConn returns a connection to some broker: a live one of role if there
// is one, else it dials known brokers in random order, then seeds.
func (c *Cluster) anyConn(ctx context.Context, role Role) (*broker.Conn, int32, error) {
	c.mu.Lock()
	known := mapValues(c.nodes)
	seeds := c.seeds
	c.mu.Unlock()
	for _, n := range known {
		s := &n.slots[role]
		s.mu.Lock()
		conn := s.conn
		s.mu.Unlock()
		if conn != nil && conn.Err() == nil {
			return conn, n.id, nil
		}
	}
	rand.Shuffle(len(known), func(i, j int) { known[i], known[j] = known[j], known[i] })
	var errs []error
	for _, list := range [][]*node{known, seeds} {
		for _, n := range list {
			conn, err := c.conn(ctx, n, role)
			if err == nil {
				return conn, n.id, nil
			}
			if ctx.Err() != nil || errors.Is(err, gregor.ErrClosed) {
				return nil, -1, err
			}
			errs = append(errs, err)
			if !gregor.IsRetriable(err) {
				return nil, -1, err
			}
		}
		if len(known) > 0 && c.cfg.MetadataRecovery == gregor.RecoveryNone {
			break
		}
	}
	return nil, -1, fmt.Errorf("%w: %w", gregor.ErrNoBrokers, errors.Join(errs...))
}

// sleep waits d, or returns early with ctx's error or gregor.ErrClosed.
func (c *Cluster) sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.ctx.Done():
		return errClosed()
	}
}

// Do sends req to the broker t names over the role's connection and returns
// the raw response and the broker id that answered. Failures to reach the
// broker (network errors, a leader or coordinator not known yet) are retried
// with exponential backoff and jitter until ctx ends, or DefaultAPITimeout
// when ctx has no deadline; metadata is refreshed or the coordinator
// forgotten between attempts as the error requires. Errors inside the
// response body are the caller's to decode; it reports them back with
// HandleError or HandleCoordinatorError. Each call is one client span
// from ConnConfig.TracerProvider when it is set, or, when it is not, from
// the provider of a recording span in ctx.
func (c *Cluster) Do(ctx context.Context, t Target, role Role, req broker.Request) (broker.Response, int32, error) {
	tracer := c.tracer
	if tracer == nil {
		if parent := trace.SpanFromContext(ctx); parent.IsRecording() {
			tracer = parent.TracerProvider().Tracer(tracerName)
		}
	}
	if tracer == nil {
		resp, id, err := c.do(ctx, t, role, req)
		return resp, id, withRequest(err, req, t)
	}
	ctx, span := tracer.Start(ctx, "gregor.request", trace.WithSpanKind(trace.SpanKindClient))
	defer span.End()
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("kafka.api_key", int(req.Key())), attribute.String("kafka.target", t.String()))
	}
	resp, id, err := c.do(ctx, t, role, req)
	if span.IsRecording() {
		span.SetAttributes(attribute.Int("kafka.broker", int(id)), attribute.Int("kafka.api_version", int(resp.Version)))
		if err != nil {
			span.RecordError(err)
			span.SetStatus(codes.Error, err.Error())
		}
	}
	return resp, id, withRequest(err, req, t)
}

// withRequest adds the API key and target to an error, keeping it
// matchable with errors.Is and errors.As.
func withRequest(err error, req broker.Request, t Target) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("gregor: API key %d to %s: %w", req.Key(), t, err)
}

func (c *Cluster) do(ctx context.Context, t Target, role Role, req broker.Request) (broker.Response, int32, error) {
	// The first attempt runs on ctx as it is: the connection's own request
	// timeout bounds it, and wrapping ctx would cost allocations on the hot
	// path. The retry budget is only computed once something failed.
	var deadline time.Time
	for attempt := 1; ; attempt++ {
		resp, id, err := c.doOnce(ctx, t, role, req)
		if err == nil {
			return resp, id, nil
		}
		if c.ctx.Err() != nil {
			return broker.Response{}, id, errClosed()
		}
		if ctx.Err() != nil || !gregor.IsRetriable(err) {
			return broker.Response{}, id, err
		}
		if deadline.IsZero() {
			var ok bool
			if deadline, ok = ctx.Deadline(); !ok {
				deadline = time.Now().Add(DefaultAPITimeout)
			}
		}
		if t.kind == targetCoordinator {
			c.HandleCoordinatorError(t.coordType, t.key, err)
		} else {
			c.HandleError(err)
		}
		d := Backoff(c.cfg.RetryBackoffBase, c.cfg.RetryBackoffMax, attempt)
		if left := time.Until(deadline); left < d {
			if left <= 0 {
				return broker.Response{}, id, fmt.Errorf("%w (last error: %w)", context.DeadlineExceeded, err)
			}
			d = left
		}
		c.log.Debug("gregor: retrying request", slog.Int("api_key", int(req.Key())), slog.String("target", t.String()),
			slog.Int("attempt", attempt), slog.Duration("backoff", d), slog.Any("err", err))
		if werr := c.sleep(ctx, d); werr != nil {
			if errors.Is(werr, gregor.ErrClosed) {
				return broker.Response{}, id, werr
			}
			return broker.Response{}, id, fmt.Errorf("%w (last error: %w)", werr, err)
		}
	}
}

func (c *Cluster) doOnce(ctx context.Context, t Target, role Role, req broker.Request) (broker.Response, int32, error) {
	var conn *broker.Conn
	var id int32
	var err error
	if t.kind == targetAny {
		conn, id, err = c.anyConn(ctx, role)
	} else {
		if id, err = c.Resolve(ctx, t); err != nil {
			return broker.Response{}, id, err
		}
		n := c.nodeFor(id)
		if n == nil {
			c.TriggerRefresh()
			return broker.Response{}, id, &gregor.NetworkError{Broker: id, Op: "route", Err: gregor.ErrUnknownBroker}
		}
		conn, err = c.conn(ctx, n, role)
	}
	if err != nil {
		return broker.Response{}, id, err
	}
	resp, err := conn.Do(ctx, req)
	return resp, id, err
}

// CoordinatorKey returns the coordinator type and key of a coordinator
// target; ok is false for other targets.
func (t Target) CoordinatorKey() (CoordinatorType, string, bool) {
	return t.coordType, t.key, t.kind == targetCoordinator
}

// Throttled applies a throttle time a response from broker id carried to
// every open connection to that broker (KIP-219).
func (c *Cluster) Throttled(id int32, ms int32) {
	n := c.nodeFor(id)
	if n == nil || ms <= 0 {
		return
	}
	for r := range n.slots {
		s := &n.slots[r]
		s.mu.Lock()
		conn := s.conn
		s.mu.Unlock()
		if conn != nil {
			conn.Throttled(ms)
		}
	}
}
