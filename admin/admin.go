// Package admin is Gregor's administrative client for Kafka: topics,
// partitions, configs, consumer groups and their offsets, share groups,
// records, the cluster and its quorum, ACLs, SCRAM credentials, delegation
// tokens and client quotas.
//
// Every method takes a context and sends its requests to the broker Kafka
// expects them at (the controller, a partition leader, a group coordinator
// or any broker), retrying failures that the broker calls retriable until
// the context ends, or for 60 seconds when the context has no deadline.
//
// Methods that act on several items (topics, groups, resources) return one
// result per item, each with its own error, so one failed topic never hides
// the others. Per-item errors are *ItemError values naming the item; they
// wrap the broker's *protocol.Error, so errors.Is(err,
// protocol.ErrTopicAlreadyExists) works on them. The method's own error is
// reserved for failures of the whole call (no broker reachable, context
// ended, authentication refused).
package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/broker"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

func init() {
	if broker.CodecVersions == nil {
		broker.CodecVersions = protocol.SupportedVersions
	}
}

// Client is an admin client. It is safe for concurrent use; create it with
// New and release it with Close.
type Client struct {
	c *cluster.Cluster
	// onDescribePage, when set by a test, sees every DescribeTopicPartitions
	// request with its response.
	onDescribePage func(*protocol.DescribeTopicPartitionsRequest, *protocol.DescribeTopicPartitionsResponse)
}

// New validates cfg and creates a client. It does not connect: the first
// call does.
func New(cfg gregor.ConnConfig) (*Client, error) {
	c, err := cluster.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Close fails calls still waiting with gregor.ErrClosed, closes every
// connection and waits for the client's goroutines, or for ctx.
func (a *Client) Close(ctx context.Context) error { return a.c.Close(ctx) }

// ItemError is the error of one item (a topic, a group, a config resource,
// a partition) in a call that acts on several. It wraps the broker's error,
// usually a *protocol.Error, so errors.Is and errors.As see through it.
type ItemError struct {
	// Kind says what the item is, such as "topic" or "group".
	Kind string
	// Name identifies the item, such as a topic name or "orders[3]".
	Name string
	// Message is the broker's explanation, when it sent one.
	Message string
	// Err is the underlying error.
	Err error
}

// Error names the item, the error and the broker's message.
func (e *ItemError) Error() string {
	s := e.Kind + " " + fmt.Sprintf("%q", e.Name) + ": " + e.Err.Error()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns the underlying error.
func (e *ItemError) Unwrap() error { return e.Err }

// itemErr builds the error of an item from a response's code and message,
// or returns nil for code 0.
func itemErr(kind, name string, code int16, msg *string) error {
	err := protocol.ErrorForCode(code)
	if err == nil {
		return nil
	}
	ie := &ItemError{Kind: kind, Name: name, Err: err}
	if msg != nil {
		ie.Message = *msg
	}
	return ie
}

// wrapItem wraps a call-level error as the error of one item.
func wrapItem(kind, name string, err error) error {
	if err == nil {
		return nil
	}
	var ie *ItemError
	if errors.As(err, &ie) && ie.Kind == kind && ie.Name == name {
		return err
	}
	return &ItemError{Kind: kind, Name: name, Err: err}
}

// capped limits the versions a request is sent at, for APIs whose newest
// versions change the request's shape in ways this client does not use yet.
type capped struct {
	protocol.Request
	lo, hi int16
}

// MaxVersion is the highest version the request may be sent at.
func (c capped) MaxVersion() int16 { return c.hi }

// MinVersion is the lowest version the request may be sent at.
func (c capped) MinVersion() int16 { return c.lo }

// send routes req to target over the admin connections, decodes the answer
// and applies its throttle time. It returns the broker that answered.
func (a *Client) send(ctx context.Context, target cluster.Target, req protocol.Request) (protocol.Response, int32, error) {
	return a.sendRole(ctx, target, cluster.RoleAdmin, req)
}

func (a *Client) sendRole(ctx context.Context, target cluster.Target, role cluster.Role, req protocol.Request) (protocol.Response, int32, error) {
	var breq broker.Request = req
	inner := req
	if c, ok := req.(capped); ok {
		inner = c.Request
	}
	r, id, err := a.c.Do(ctx, target, role, breq)
	if err != nil {
		return nil, id, err
	}
	resp := inner.ResponseKind()
	resp.SetVersion(r.Version)
	if err := resp.Decode(r.Body); err != nil {
		return nil, id, &gregor.NetworkError{Broker: id, Op: "decode", Err: err}
	}
	return resp, id, nil
}

// budget returns ctx bounded by the default API timeout when it has no
// deadline.
func budget(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, cluster.DefaultAPITimeout)
}

// timeoutMs is the time left in ctx in milliseconds, for the TimeoutMs
// fields of requests the broker completes asynchronously.
func timeoutMs(ctx context.Context) int32 {
	d, ok := ctx.Deadline()
	if !ok {
		return int32(cluster.DefaultAPITimeout / time.Millisecond)
	}
	left := time.Until(d) - 100*time.Millisecond
	if left < time.Second {
		left = time.Second
	}
	if left > time.Hour {
		left = time.Hour
	}
	return int32(left / time.Millisecond)
}

// retry runs round until it reports that nothing is left to retry, or ctx
// (bounded by the default API timeout) ends. Between rounds it waits with
// exponential backoff and jitter. round receives the bounded context; a
// non-nil error from round ends the loop at once.
func (a *Client) retry(ctx context.Context, round func(ctx context.Context) (again bool, err error)) error {
	ctx, cancel := budget(ctx)
	defer cancel()
	cfg := a.c.Config()
	for attempt := 1; ; attempt++ {
		again, err := round(ctx)
		if err != nil || !again {
			return err
		}
		d := cfg.RetryBackoffBase
		for i := 1; i < attempt && d < cfg.RetryBackoffMax; i++ {
			d *= 2
		}
		d = min(d, cfg.RetryBackoffMax)
		d = time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return nil // out of time: the last round's errors stand
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// retriable reports whether a per-item error is worth another round, and
// lets the pool react to it (refresh metadata on a moved controller or
// leader). Errors matching one of final are never retried: an unknown
// topic is retriable for a producer waiting for it to appear, but final for
// a call that deletes or describes it.
func (a *Client) retriable(err error, final ...error) bool {
	if err == nil {
		return false
	}
	for _, f := range final {
		if errors.Is(err, f) {
			return false
		}
	}
	return a.c.HandleError(err)
}

func strPtr(s string) *string { return &s }

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// partName names a partition in errors, as "topic[3]".
func partName(topic string, p int32) string { return topic + "[" + strconv.Itoa(int(p)) + "]" }

// uuidString formats a topic id the way Kafka prints it (URL-safe base64
// without padding).
func uuidString(u protocol.UUID) string { return base64.RawURLEncoding.EncodeToString(u[:]) }

// ParseTopicID parses a topic id as Kafka prints it (22 characters of
// URL-safe base64).
func ParseTopicID(s string) (protocol.UUID, error) {
	var u protocol.UUID
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return u, fmt.Errorf("admin: invalid topic id %q", s)
	}
	copy(u[:], b)
	return u, nil
}

// TopicIDString formats a topic id the way Kafka prints it.
func TopicIDString(u protocol.UUID) string { return uuidString(u) }

// errorsIs reports whether err matches any of targets.
func errorsIs(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
