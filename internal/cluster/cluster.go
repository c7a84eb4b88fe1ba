// Package cluster is the connection pool the producer, consumer and admin
// clients share: per-broker connections split by role, a metadata cache
// with coalesced refreshes, coordinator look-ups, request routing and
// retries.
//
// How a client uses it:
//
//   - New(cfg) once; Close(ctx) at the end (fails waiting requests with
//     gregor.ErrClosed and waits for every goroutine).
//   - Do(ctx, target, role, req) for a routed, retried request; or, for full
//     control (a producer batching per broker), Conn(ctx, brokerID, role)
//     and then (*broker.Conn).Do, which only pipelines and never retries.
//   - Decode the body with the codec at resp.Version. For errors inside it,
//     call HandleError (leaders, unknown partitions, storage errors trigger
//     a coalesced metadata refresh) or HandleCoordinatorError (a moved
//     coordinator is forgotten); both say whether to retry. Apply KIP-951
//     leader hints from Produce and Fetch responses with ApplyLeaderHints,
//     and throttle times with Throttled.
//   - Leader(ctx, topic, partition), Coordinator(s)(ctx, type, keys...),
//     Metadata(), AddTopics and Refresh give the cached cluster view.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/broker"
	"go.opentelemetry.io/otel/trace"
)

// tracerName is the instrumentation scope of Gregor's spans.
const tracerName = "github.com/gregorkafka/gregor"

// Role picks which of a broker's connections a request uses, so that slow
// requests of one kind never queue behind another: a long fetch or a
// JoinGroup never delays a produce.
type Role uint8

const (
	// RoleProduce carries Produce requests.
	RoleProduce Role = iota
	// RoleFetch carries Fetch requests, which the broker may hold.
	RoleFetch
	// RoleGroup carries group coordination (JoinGroup, SyncGroup,
	// Heartbeat, offset commits).
	RoleGroup
	// RoleAdmin carries metadata, coordinator look-ups, admin and anything
	// else.
	RoleAdmin
	numRoles
)

var roleNames = [numRoles]string{"produce", "fetch", "group", "admin"}

// String names the role.
func (r Role) String() string {
	if r < numRoles {
		return roleNames[r]
	}
	return "Role(" + strconv.Itoa(int(r)) + ")"
}

// Cluster is a client's view of a Kafka cluster and its connections. It is
// safe for concurrent use.
type Cluster struct {
	cfg gregor.ConnConfig
	m   *broker.Metrics
	log *slog.Logger

	ctx    context.Context // ends at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	nodes   map[int32]*node // brokers from metadata
	seeds   []*node         // seed brokers, ids -1, -2, ...
	topics  map[string]struct{}
	waiters *refreshWait // completes with the next refresh that starts
	lastOK  time.Time    // last successful refresh
	downAt  time.Time    // when refreshes started failing

	tracer  trace.Tracer
	meta    metaPtr
	refresh chan struct{}
	coords  coordinators
}

// node is one broker and its connections by role.
type node struct {
	id    int32
	addr  string
	slots [numRoles]slot
}

// slot is one role's connection to one broker, with its dial state.
type slot struct {
	mu       sync.Mutex
	conn     *broker.Conn
	dialing  chan struct{}
	failures int
	nextDial time.Time
	lastErr  error
}

// New validates cfg, applies its defaults and starts the metadata and
// reaper goroutines. It does not connect; the first request does.
func New(cfg gregor.ConnConfig) (*Cluster, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cluster{
		cfg: cfg, m: broker.NewMetrics(cfg.MeterProvider), log: cfg.Logger,
		ctx: ctx, cancel: cancel,
		nodes:   map[int32]*node{},
		topics:  map[string]struct{}{},
		refresh: make(chan struct{}, 1),
	}
	c.coords.init()
	if cfg.TracerProvider != nil {
		c.tracer = cfg.TracerProvider.Tracer(tracerName)
	}
	for i, addr := range cfg.SeedBrokers {
		c.seeds = append(c.seeds, &node{id: int32(-1 - i), addr: addr})
	}
	c.wg.Add(2)
	go c.refreshLoop()
	go c.reapLoop()
	return c, nil
}

// Config is the configuration in use, with defaults applied.
func (c *Cluster) Config() *gregor.ConnConfig { return &c.cfg }

// Close fails waiting and in-flight requests with gregor.ErrClosed, closes
// every connection and waits for every goroutine, or for ctx.
func (c *Cluster) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	all := append(c.seeds[:len(c.seeds):len(c.seeds)], mapValues(c.nodes)...)
	c.mu.Unlock()
	c.cancel()
	done := make(chan struct{})
	go func() {
		for _, n := range all {
			for r := range n.slots {
				s := &n.slots[r]
				s.mu.Lock()
				conn := s.conn
				s.conn = nil
				s.mu.Unlock()
				if conn != nil {
					conn.Close()
				}
			}
		}
		c.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("gregor: close: %w", ctx.Err())
	}
}

func mapValues(m map[int32]*node) []*node {
	out := make([]*node, 0, len(m))
	for _, n := range m {
		out = append(out, n)
	}
	return out
}

// track adds one to c.wg unless the cluster is closed, so that Close waits
// for work started before it and none starts after.
func (c *Cluster) track() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	return true
}

// goTracked runs f in a goroutine Close waits for; after Close it runs f
// in the caller's goroutine.
func (c *Cluster) goTracked(f func()) {
	if !c.track() {
		f()
		return
	}
	go func() { defer c.wg.Done(); f() }()
}

// errClosed wraps gregor.ErrClosed.
func errClosed() error { return gregor.ErrClosed }

// nodeFor returns the node of a broker id from metadata, or nil.
func (c *Cluster) nodeFor(id int32) *node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if id < 0 {
		if i := int(-1 - id); i < len(c.seeds) {
			return c.seeds[i]
		}
		return nil
	}
	return c.nodes[id]
}

// Conn returns the role's connection to broker id, dialling if needed.
func (c *Cluster) Conn(ctx context.Context, id int32, role Role) (*broker.Conn, error) {
	n := c.nodeFor(id)
	if n == nil {
		return nil, fmt.Errorf("gregor: broker %d: %w", id, gregor.ErrUnknownBroker)
	}
	return c.conn(ctx, n, role)
}

// conn returns a live connection on n for role. While a broker is in its
// reconnect backoff, the last dial error comes back at once, so that failing
// brokers (and above all refused credentials) are not hammered.
func (c *Cluster) conn(ctx context.Context, n *node, role Role) (*broker.Conn, error) {
	s := &n.slots[role]
	for {
		s.mu.Lock()
		if conn := s.conn; conn != nil {
			select {
			case <-conn.Done():
				s.conn = nil
				c.goTracked(conn.Close)
			default:
				s.mu.Unlock()
				return conn, nil
			}
		}
		if c.ctx.Err() != nil {
			s.mu.Unlock()
			return nil, errClosed()
		}
		if ch := s.dialing; ch != nil {
			s.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if s.lastErr != nil && time.Now().Before(s.nextDial) {
			err := s.lastErr
			s.mu.Unlock()
			return nil, err
		}
		if !c.track() {
			s.mu.Unlock()
			return nil, errClosed()
		}
		ch := make(chan struct{})
		s.dialing = ch
		s.mu.Unlock()

		conn, err := broker.Dial(c.ctx, &c.cfg, c.m, n.id, n.addr, role.String())
		c.wg.Done()

		s.mu.Lock()
		s.dialing = nil
		close(ch)
		if err != nil {
			s.failures++
			s.lastErr = err
			s.nextDial = time.Now().Add(c.dialBackoff(s.failures, err))
			s.mu.Unlock()
			if c.ctx.Err() != nil {
				return nil, errClosed()
			}
			c.log.Info("gregor: connect failed", slog.Int("broker", int(n.id)), slog.String("addr", n.addr),
				slog.String("role", role.String()), slog.Any("err", err), slog.Int("failures", s.failures))
			return nil, err
		}
		s.failures, s.lastErr = 0, nil
		if c.ctx.Err() != nil {
			s.mu.Unlock()
			conn.Close()
			return nil, errClosed()
		}
		s.conn = conn
		s.mu.Unlock()
		return conn, nil
	}
}

// dialBackoff is the wait before the next dial after failures failures:
// exponential with jitter, and AuthFailureBackoff after refused credentials
// or an untrusted certificate.
func (c *Cluster) dialBackoff(failures int, err error) time.Duration {
	var ae *gregor.AuthError
	var te *gregor.TLSError
	if errors.As(err, &ae) || errors.As(err, &te) {
		return c.cfg.AuthFailureBackoff
	}
	return Backoff(c.cfg.ReconnectBackoffBase, c.cfg.ReconnectBackoffMax, failures)
}

// Backoff is base·2^(attempt-1), capped at max, with ±20% jitter: the
// wait before retry number attempt, for the pool and its clients alike.
func Backoff(base, max time.Duration, attempt int) time.Duration {
	d := base
	for i := 1; i < attempt && d < max; i++ {
		d *= 2
	}
	d = min(d, max)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// reapLoop closes connections idle for longer than ConnIdleTimeout.
func (c *Cluster) reapLoop() {
	defer c.wg.Done()
	if c.cfg.ConnIdleTimeout < 0 {
		return
	}
	every := min(c.cfg.ConnIdleTimeout/2, 30*time.Second)
	t := time.NewTicker(max(every, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		all := append(c.seeds[:len(c.seeds):len(c.seeds)], mapValues(c.nodes)...)
		c.mu.Unlock()
		for _, n := range all {
			for r := range n.slots {
				s := &n.slots[r]
				s.mu.Lock()
				conn := s.conn
				if conn != nil && conn.Idle(c.cfg.ConnIdleTimeout) {
					s.conn = nil
				} else {
					conn = nil
				}
				s.mu.Unlock()
				if conn != nil {
					c.log.Debug("gregor: closing idle connection", slog.Int("broker", int(n.id)), slog.String("role", Role(r).String()))
					conn.Retire("idle connection closed")
				}
			}
		}
	}
}

// OpenConns counts live connections, for tests and diagnostics.
func (c *Cluster) OpenConns() int {
	c.mu.Lock()
	all := append(c.seeds[:len(c.seeds):len(c.seeds)], mapValues(c.nodes)...)
	c.mu.Unlock()
	var n int
	for _, nd := range all {
		for r := range nd.slots {
			s := &nd.slots[r]
			s.mu.Lock()
			if s.conn != nil && s.conn.Err() == nil {
				n++
			}
			s.mu.Unlock()
		}
	}
	return n
}

func joinHostPort(host string, port int32) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

// Reauthentications sums the SASL re-authentications of the open
// connections, for tests and diagnostics.
func (c *Cluster) Reauthentications() int64 {
	c.mu.Lock()
	all := append(c.seeds[:len(c.seeds):len(c.seeds)], mapValues(c.nodes)...)
	c.mu.Unlock()
	var n int64
	for _, nd := range all {
		for r := range nd.slots {
			s := &nd.slots[r]
			s.mu.Lock()
			if s.conn != nil {
				n += s.conn.Reauthentications()
			}
			s.mu.Unlock()
		}
	}
	return n
}
