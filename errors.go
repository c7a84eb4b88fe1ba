package gregor

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/gregorkafka/gregor/protocol"
)

// Sentinel errors shared by every client.
var (
	// ErrClosed is returned by calls on, or waiting in, a closed client.
	ErrClosed = errors.New("gregor: client closed")
	// ErrInvalidConfig is matched by every *ConfigError.
	ErrInvalidConfig = errors.New("gregor: invalid configuration")
	// ErrNoBrokers means no broker could be reached or none is known.
	ErrNoBrokers = errors.New("gregor: no broker available")
	// ErrUnknownBroker means a request named a broker id that the cluster
	// metadata does not list.
	ErrUnknownBroker = errors.New("gregor: unknown broker id")
	// ErrUnknownTopic means a topic or partition is not in the metadata.
	ErrUnknownTopic = errors.New("gregor: unknown topic or partition")
)

// NetworkError is a failure of the connection to a broker: dialling,
// writing, reading, a timed-out round trip or a malformed response. Every
// request in flight on a broken connection fails with one. It is retriable:
// the next attempt uses a new connection.
type NetworkError struct {
	// Broker is the broker's node id, or a negative id for a seed broker.
	Broker int32
	// Addr is the broker's host:port.
	Addr string
	// Op is what failed: "dial", "tls", "write", "read", "timeout",
	// "decode".
	Op string
	// Err is the cause.
	Err error
}

// Error names the broker, the operation and the cause.
func (e *NetworkError) Error() string {
	return "gregor: broker " + strconv.Itoa(int(e.Broker)) + " (" + e.Addr + "): " + e.Op + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *NetworkError) Unwrap() error { return e.Err }

// Retriable is always true: another connection may work.
func (e *NetworkError) Retriable() bool { return true }

// AuthError means SASL authentication failed. It is not retriable with the
// same credentials; the connection layer waits ConnConfig.AuthFailureBackoff
// before trying that broker again.
type AuthError struct {
	// Broker and Addr identify the broker.
	Broker int32
	Addr   string
	// Mechanism is the SASL mechanism's name.
	Mechanism string
	// Message is the broker's error message, if it sent one.
	Message string
	// Err is the cause: a *protocol.Error such as
	// protocol.ErrSASLAuthenticationFailed, or an error from the mechanism.
	Err error
}

// Error names the broker and mechanism and includes the broker's message.
func (e *AuthError) Error() string {
	s := "gregor: broker " + strconv.Itoa(int(e.Broker)) + " (" + e.Addr + "): SASL " + e.Mechanism + " authentication failed: " + e.Err.Error()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Unwrap returns the cause.
func (e *AuthError) Unwrap() error { return e.Err }

// Retriable is always false.
func (e *AuthError) Retriable() bool { return false }

// TLSError means the TLS handshake with a broker failed, for example because
// its certificate is not trusted. It is not retriable.
type TLSError struct {
	// Broker and Addr identify the broker.
	Broker int32
	Addr   string
	// Err is the cause from crypto/tls or crypto/x509.
	Err error
}

// Error names the broker and the cause.
func (e *TLSError) Error() string {
	return "gregor: broker " + strconv.Itoa(int(e.Broker)) + " (" + e.Addr + "): TLS handshake failed: " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *TLSError) Unwrap() error { return e.Err }

// Retriable is always false.
func (e *TLSError) Retriable() bool { return false }

// VersionError means the broker supports no version of an API that this
// client can encode, or not the API at all.
type VersionError struct {
	// Broker and Addr identify the broker.
	Broker int32
	Addr   string
	// Key is the API key.
	Key int16
	// ClientMin and ClientMax are the versions this client can encode.
	ClientMin, ClientMax int16
	// BrokerMin and BrokerMax are the broker's versions; both -1 when the
	// broker does not support the API at all.
	BrokerMin, BrokerMax int16
}

// Error names the API and both version ranges.
func (e *VersionError) Error() string {
	s := "gregor: broker " + strconv.Itoa(int(e.Broker)) + " (" + e.Addr + ") "
	if e.BrokerMax < 0 {
		return s + "does not support API key " + strconv.Itoa(int(e.Key))
	}
	return s + "supports API key " + strconv.Itoa(int(e.Key)) + " versions " +
		strconv.Itoa(int(e.BrokerMin)) + "-" + strconv.Itoa(int(e.BrokerMax)) +
		", the client " + strconv.Itoa(int(e.ClientMin)) + "-" + strconv.Itoa(int(e.ClientMax))
}

// Is makes errors.Is true for both protocol.ErrUnsupportedVersion (Kafka's
// code for the same condition) and protocol.ErrVersionNotSupported (the
// codec's error when it has no version in common with a broker).
func (e *VersionError) Is(target error) bool {
	return target == protocol.ErrUnsupportedVersion || target == protocol.ErrVersionNotSupported
}

// Retriable is always false.
func (e *VersionError) Retriable() bool { return false }

// ResponseSizeError means a broker announced a response larger than
// ConnConfig.MaxResponseSize, or a negative size. The connection is closed.
type ResponseSizeError struct {
	// Broker and Addr identify the broker.
	Broker int32
	Addr   string
	// Size is the announced size; Max is the limit.
	Size, Max int32
}

// Error states both sizes.
func (e *ResponseSizeError) Error() string {
	return "gregor: broker " + strconv.Itoa(int(e.Broker)) + " (" + e.Addr + ") announced a response of " +
		strconv.Itoa(int(e.Size)) + " bytes, limit " + strconv.Itoa(int(e.Max))
}

// IsRetriable reports whether a request that failed with err may succeed if
// sent again: network failures, and broker error codes Kafka marks
// retriable. Authentication, TLS, version, configuration errors, ErrClosed
// and context errors are not retriable.
func IsRetriable(err error) bool {
	if err == nil || errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var r interface{ Retriable() bool }
	if errors.As(err, &r) {
		return r.Retriable()
	}
	if protocol.IsRetriable(err) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne)
}
