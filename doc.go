// Package gregor holds what Gregor's producer, consumer and admin clients share.
//
// Gregor is a Go client for Apache Kafka. The clients live in their own
// packages (producer, consumer, admin) over one core; this package keeps only
// the small set of types every one of them uses: ConnConfig, the connection
// settings (seed brokers, TLS, SASL, timeouts, retries, logging, metrics and
// tracing), and the errors the connection layer returns (NetworkError,
// AuthError, TLSError, VersionError, ResponseSizeError, ErrClosed) with
// IsRetriable, the one classification of retriable errors.
//
// Package raw sends any protocol request through the shared connection pool.
package gregor
