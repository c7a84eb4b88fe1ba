// Package broker is one pipelined connection to one Kafka broker: dialling,
// TLS, ApiVersions, SASL authentication and re-authentication, and the
// writer and reader goroutines that carry many requests at once.
package broker

import (
	"sync"
	"time"

	"github.com/gregorkafka/gregor/protocol"
)

// Request is a Kafka request body that can be encoded at a chosen version.
// Its method set is the one the generated codec's request types have
// (protocol.Request without decoding), so codec requests are sent as they
// are.
type Request interface {
	// Key is the API key.
	Key() int16
	// SetVersion sets the version AppendTo encodes at.
	SetVersion(int16)
	// GetVersion returns the version set.
	GetVersion() int16
	// IsFlexible reports whether the version set uses flexible encoding
	// (request header v2, response header v1).
	IsFlexible() bool
	// AppendTo appends the body at the version set.
	AppendTo([]byte) ([]byte, error)
}

// MaxVersioner is implemented by requests that know the highest version
// they can encode.
type MaxVersioner interface{ MaxVersion() int16 }

// MinVersioner is implemented by requests that cannot be encoded below some
// version.
type MinVersioner interface{ MinVersion() int16 }

// CodecVersions, when set, gives the versions the codec can encode for an
// API key; it is consulted for requests that implement neither
// MaxVersioner nor MinVersioner. Set it once, before any request.
var CodecVersions func(key int16) (min, max int16, ok bool)

// ClientVersions returns the versions this client can encode req at.
func ClientVersions(req Request) (lo, hi int16, ok bool) {
	mx, hasMax := req.(MaxVersioner)
	mn, hasMin := req.(MinVersioner)
	if !hasMax && CodecVersions != nil {
		if lo, hi, ok = CodecVersions(req.Key()); ok {
			if hasMin {
				lo = max(lo, mn.MinVersion())
			}
			return lo, hi, true
		}
	}
	if !hasMax {
		return -1, -1, false
	}
	if hasMin {
		lo = mn.MinVersion()
	}
	return lo, mx.MaxVersion(), true
}

// NoResponder is implemented by requests that may expect no response, such
// as Produce with acks=0.
type NoResponder interface{ NoResponse() bool }

// Timeouter is implemented by requests the broker may hold for a while,
// such as Fetch with a max wait; the time is added to the request timeout.
type Timeouter interface{ ExtraTimeout() time.Duration }

// ResponseAllocator is implemented by requests whose caller supplies the
// buffer the response is read into, to recycle large responses such as
// fetches. AllocResponse returns a slice of length size; it runs on the
// connection's reader goroutine, and the response Body is a sub-slice of
// what it returned. When the call fails or is abandoned, the buffer may
// still be being written: the caller must then not reuse it.
type ResponseAllocator interface{ AllocResponse(size int) []byte }

// WriteNotifier is implemented by requests whose sender wants to know when
// the connection has finished writing them, to encode the next one only
// then. Written runs on the goroutine that wrote the request, once, right
// after the write returned (whether or not it succeeded) and before the
// request's result is delivered; it must be quick. A request that fails
// before any write takes it is not told: its result says so.
type WriteNotifier interface{ Written() }

// SegmentAppender is implemented by requests that can be written without
// copying their record batches, such as the codec's ProduceRequest. On a
// plain TCP connection the batches listed by AppendSegmentsTo are written
// in place, from the request's own memory, by a vectored write; over TLS
// (and any other net.Conn) AppendTo is used. Either way the connection
// reads a request's memory until the request is written, and no longer
// than that once the call's result has been delivered: when Do or
// Pending.Wait returns a response or an error, the request may be reused,
// except after its ctx ended while it was being written (the error is then
// ctx's, without ErrNotSent). That request is abandoned to the
// connection, which may still be writing it: the caller must then not
// modify or recycle the request's memory, and leave it to the garbage
// collector.
type SegmentAppender interface {
	AppendSegmentsTo(dst []byte, s *protocol.Segments) ([]byte, error)
}

// Response is a raw response: the body after the response header, and the
// version it was sent at.
type Response struct {
	// Version is the request's version, which the response body uses.
	Version int16
	// Body is the response body; the caller owns it.
	Body []byte
}

// call states, guarded by Conn.mu.
const (
	statePending   uint8 = iota // in Conn.pending, not yet taken by the writer
	stateWriting                // taken by the writer, not yet in flight
	stateInflight               // written (or being written), awaiting its response
	stateAbandoned              // the caller gave up; the connection recycles it
	stateDone                   // the result is set or about to be signalled
)

// call is one request's trip through a connection. Calls are pooled; a call
// is owned by the caller until queued, by the connection until done is
// signalled or it is abandoned, and recycled by whoever owns it last.
type call struct {
	req      Request
	key, ver int16
	flexResp bool
	noResp   bool
	noSlot   bool // sent by the writer itself (re-authentication): holds no in-flight slot
	corr     int32
	state    uint8
	writing  bool // taken by the writer, whose write has not returned yet
	parked   bool // the result (body, err) is set, for the writer to deliver
	timeout  time.Duration
	start    time.Time
	deadline time.Time
	done     chan struct{}
	comp     Completer // set for EnqueueAsync: completed through it, never awaited
	body     []byte
	err      error
}

var callPool = sync.Pool{New: func() any { return &call{done: make(chan struct{}, 1)} }}

func getCall() *call { return callPool.Get().(*call) }

func putCall(c *call) {
	c.req, c.body, c.err, c.comp = nil, nil, nil, nil
	c.writing, c.parked = false, false
	callPool.Put(c)
}

// bufPool holds write buffers shared by every connection's writer.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 16<<10); return &b }}

// maxPooledBuf is the largest buffer returned to bufPool, so that one huge
// produce does not pin memory.
const maxPooledBuf = 1 << 20
