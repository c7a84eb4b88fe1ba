// Package raw sends any Kafka protocol request through Gregor's connection
// pool: for tools, and for users who need an API the producer, consumer and
// admin clients do not offer.
//
// A Client routes each request to a target (any broker, a broker id, the
// controller, a partition leader, or a group or transaction coordinator),
// picks the highest version both the broker and the request type support,
// and retries failures to reach the broker. It returns the response body
// undecoded, with the version to decode it at; errors inside the body are
// the caller's to read, and HandleError lets the client react to them
// (refresh metadata, forget a coordinator).
package raw

import (
	"context"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/broker"
	"github.com/gregorkafka/gregor/internal/cluster"
)

// Request is a protocol request that can be encoded at a chosen version:
// the encoding side of the generated codec's request types. The versions it
// can be sent at come from its MaxVersion() int16 and MinVersion() int16
// methods when it has them, else from the codec's table. A request may also
// implement NoResponse() bool for requests the broker does not answer
// (Produce with acks=0), and ExtraTimeout() time.Duration for requests the
// broker may hold (Fetch).
//
// The version is always chosen by the client: any version set beforehand is
// overwritten.
type Request interface {
	Key() int16
	SetVersion(int16)
	GetVersion() int16
	IsFlexible() bool
	AppendTo([]byte) ([]byte, error)
}

// SimpleRequest is a request type whose encoding cannot fail and which
// knows its highest version, such as franz-go's kmsg requests.
type SimpleRequest interface {
	Key() int16
	MaxVersion() int16
	SetVersion(int16)
	GetVersion() int16
	IsFlexible() bool
	AppendTo([]byte) []byte
}

// Wrap adapts a SimpleRequest to Request.
func Wrap(r SimpleRequest) Request { return simple{r} }

type simple struct{ SimpleRequest }

func (s simple) AppendTo(b []byte) ([]byte, error) { return s.SimpleRequest.AppendTo(b), nil }

// Response is an undecoded response.
type Response struct {
	// Broker is the node id of the broker that answered (negative for a seed
	// broker).
	Broker int32
	// Version is the version the request was sent at, and the body uses.
	Version int16
	// Body is the response body after the response header; the caller owns
	// it. Empty for a request that expects no response.
	Body []byte
}

// Target says which broker a request goes to.
type Target struct{ t cluster.Target }

// AnyBroker targets any broker.
func AnyBroker() Target { return Target{cluster.AnyBroker()} }

// Broker targets the broker with node id id.
func Broker(id int32) Target { return Target{cluster.BrokerID(id)} }

// Controller targets the broker the metadata names as controller.
func Controller() Target { return Target{cluster.Controller()} }

// Leader targets the leader of a topic partition.
func Leader(topic string, partition int32) Target {
	return Target{cluster.Leader(topic, partition)}
}

// GroupCoordinator targets the coordinator of a consumer group.
func GroupCoordinator(group string) Target {
	return Target{cluster.Coordinator(cluster.GroupCoordinator, group)}
}

// TxnCoordinator targets the coordinator of a transactional id.
func TxnCoordinator(transactionalID string) Target {
	return Target{cluster.Coordinator(cluster.TxnCoordinator, transactionalID)}
}

// String describes the target.
func (t Target) String() string { return t.t.String() }

// Client sends raw requests. It is safe for concurrent use.
type Client struct {
	c *cluster.Cluster
}

// New creates a client. It validates cfg but does not connect; the first
// request does.
func New(cfg gregor.ConnConfig) (*Client, error) {
	c, err := cluster.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Client{c: c}, nil
}

// Request sends req to target and returns the response. Network failures,
// an unknown leader or coordinator, and brokers in their reconnect backoff
// are retried with backoff until ctx ends (or for 60s if ctx has no
// deadline). Authentication, TLS and version errors come back at once.
//
// Produce, Fetch and group-coordination requests use their own connections
// per broker, so that a long Fetch or JoinGroup does not delay others.
func (c *Client) Request(ctx context.Context, target Target, req Request) (Response, error) {
	resp, id, err := c.c.Do(ctx, target.t, roleFor(req.Key()), req)
	return Response{Broker: id, Version: resp.Version, Body: resp.Body}, err
}

// HandleError tells the client about an error read from a response body to
// a request sent to target: a moved leader or stale metadata triggers a
// metadata refresh, a moved coordinator is forgotten. It reports whether the
// request is worth retrying.
func (c *Client) HandleError(target Target, err error) bool {
	if typ, key, ok := target.t.CoordinatorKey(); ok {
		return c.c.HandleCoordinatorError(typ, key, err)
	}
	return c.c.HandleError(err)
}

// Throttled tells the client a response from broker asked it to hold
// requests for ms milliseconds (KIP-219); it is recorded in the metrics and
// further requests to that broker wait.
func (c *Client) Throttled(brokerID int32, ms int32) {
	c.c.Throttled(brokerID, ms)
}

// RefreshMetadata fetches fresh metadata now.
func (c *Client) RefreshMetadata(ctx context.Context) error { return c.c.Refresh(ctx) }

// Close fails requests still waiting with gregor.ErrClosed, closes every
// connection and waits for the client's goroutines, or for ctx.
func (c *Client) Close(ctx context.Context) error { return c.c.Close(ctx) }

// Cluster exposes the pool to Gregor's own packages and tests.
func (c *Client) cluster() *cluster.Cluster { return c.c }

func roleFor(key int16) cluster.Role {
	switch key {
	case 0:
		return cluster.RoleProduce
	case 1:
		return cluster.RoleFetch
	case 8, 9, 11, 12, 13, 14, 68:
		return cluster.RoleGroup
	}
	return cluster.RoleAdmin
}

var _ broker.Request = Request(nil)
