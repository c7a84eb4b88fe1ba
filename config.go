package gregor

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gregorkafka/gregor/sasl"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Version is this release of Gregor. It is sent to brokers as the client
// software version in ApiVersions requests (KIP-511).
const Version = "0.1.0"

// SoftwareName is the client software name sent in ApiVersions (KIP-511).
const SoftwareName = "gregor"

// Defaults used for zero fields of ConnConfig.
const (
	DefaultClientID                   = "gregor"
	DefaultDialTimeout                = 10 * time.Second
	DefaultRequestTimeout             = 30 * time.Second
	DefaultConnIdleTimeout            = 9 * time.Minute
	DefaultMaxInFlightPerConn         = 5
	DefaultMaxResponseSize            = 100 << 20
	DefaultMetadataMaxAge             = 5 * time.Minute
	DefaultMetadataMinRefresh         = time.Second
	DefaultRetryBackoffBase           = 100 * time.Millisecond
	DefaultRetryBackoffMax            = time.Second
	DefaultReconnectBackoffBase       = 50 * time.Millisecond
	DefaultReconnectBackoffMax        = time.Second
	DefaultAuthFailureBackoff         = 5 * time.Second
	DefaultReauthFraction             = 0.85
	maxClientIDLen                    = 1 << 15
	minMaxResponseSize          int32 = 1 << 10
)

// MetadataRecovery says what a client does when none of the brokers it knows
// of can be reached (KIP-899).
type MetadataRecovery uint8

const (
	// RecoveryRebootstrap, the default: when a metadata refresh finds none of
	// the brokers from the last metadata reachable, it asks the seed brokers
	// (resolving their names again) in the same refresh.
	RecoveryRebootstrap MetadataRecovery = iota
	// RecoveryNone keeps trying the brokers from the last metadata.
	RecoveryNone
)

// String names the strategy as Kafka's metadata.recovery.strategy does.
func (m MetadataRecovery) String() string {
	switch m {
	case RecoveryRebootstrap:
		return "rebootstrap"
	case RecoveryNone:
		return "none"
	}
	return "MetadataRecovery(" + strconv.Itoa(int(m)) + ")"
}

// ConnConfig holds the connection settings that every Gregor client shares:
// where the cluster is, how to reach and authenticate to it, and how the
// connection layer times out, retries and reports.
//
// The zero value of every field except SeedBrokers is usable; the comment on
// each field gives its default. A ConnConfig must not be changed once a client
// uses it.
type ConnConfig struct {
	// SeedBrokers lists "host:port" addresses used to discover the cluster.
	// Required. One reachable broker is enough.
	SeedBrokers []string

	// ClientID is sent in every request header and shows up in broker logs
	// and quotas. Default "gregor".
	ClientID string

	// TLS, when not nil, makes every connection use TLS with this
	// configuration. An empty ServerName is set to the broker's host name.
	// Certificates are verified unless this config itself sets
	// InsecureSkipVerify. Nil means plaintext.
	TLS *tls.Config

	// SASL, when not nil, authenticates every connection with this mechanism
	// and re-authenticates before the broker's session lifetime ends
	// (KIP-368).
	SASL sasl.Mechanism

	// Dial opens the network connection to a broker. Default: a net.Dialer
	// with DialTimeout. TLS, when configured, is layered over the returned
	// connection.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)

	// DialTimeout bounds connecting, the TLS handshake, ApiVersions and SASL
	// authentication of one new connection. Default 10s.
	DialTimeout time.Duration

	// RequestTimeout bounds one request's round trip when its context has no
	// earlier deadline; a connection whose oldest request is this late is
	// considered broken and closed. Default 30s.
	RequestTimeout time.Duration

	// ConnIdleTimeout closes connections unused for this long. Default 9m.
	// Negative disables reaping.
	ConnIdleTimeout time.Duration

	// MaxInFlightPerConn is how many requests may await their responses on
	// one connection; further requests wait for a slot. Default 5.
	MaxInFlightPerConn int

	// MaxResponseSize is the largest response a broker may send; a larger
	// length prefix breaks the connection with *ResponseSizeError. Default
	// 100 MiB.
	MaxResponseSize int32

	// MetadataMaxAge is how often cached metadata is refreshed even when
	// nothing went wrong. Default 5m.
	MetadataMaxAge time.Duration

	// MetadataMinRefresh is the least time between two metadata refreshes
	// triggered by errors; triggers within it are coalesced. Default 1s.
	MetadataMinRefresh time.Duration

	// RetryBackoffBase and RetryBackoffMax bound the exponential backoff,
	// with jitter, between retries of a failed request. Defaults 100ms and 1s.
	RetryBackoffBase time.Duration
	// RetryBackoffMax: see RetryBackoffBase.
	RetryBackoffMax time.Duration

	// ReconnectBackoffBase and ReconnectBackoffMax bound the exponential
	// backoff, with jitter, between attempts to connect to one broker.
	// Defaults 50ms and 1s.
	ReconnectBackoffBase time.Duration
	// ReconnectBackoffMax: see ReconnectBackoffBase.
	ReconnectBackoffMax time.Duration

	// AuthFailureBackoff is how long a broker is not dialled again after it
	// refused authentication or TLS verification failed; requests in that
	// time fail at once with the same error. Default 5s.
	AuthFailureBackoff time.Duration

	// ReauthFraction is the share of the broker's SASL session lifetime
	// after which a connection re-authenticates, with up to 10% more added
	// as jitter but never past the lifetime. Default 0.85; must be in (0, 1).
	ReauthFraction float64

	// MetadataRecovery says what to do when no known broker can be reached.
	// Default RecoveryRebootstrap.
	MetadataRecovery MetadataRecovery

	// Logger receives connection events: debug per request, info for
	// connects and disconnects, warn for authentication failures. Secrets are
	// never logged. Default: discard.
	Logger *slog.Logger

	// MeterProvider receives request latency, bytes, open connections and
	// throttle metrics. Default: the global provider.
	MeterProvider metric.MeterProvider

	// TracerProvider, when set, makes every request a client span. When nil,
	// a request whose context carries a recording span gets a child span
	// from that span's provider (in practice the global one), and other
	// requests are not traced, which keeps the hot path free of allocations.
	TracerProvider trace.TracerProvider
}

// ConfigError reports an invalid configuration field. The producer,
// consumer and admin clients report their own Config fields with it too.
type ConfigError struct {
	// Config names the struct that holds Field, such as "producer.Config";
	// empty means ConnConfig.
	Config string
	// Field is the field's name, such as "SeedBrokers"; fields of a nested
	// struct are written with a dot, such as "Conn.SeedBrokers".
	Field string
	// Reason says what is wrong.
	Reason string
}

// Error names the struct, the field and the reason.
func (e *ConfigError) Error() string {
	name := e.Config
	if name == "" {
		name = "ConnConfig"
	}
	return "gregor: " + name + "." + e.Field + ": " + e.Reason
}

// ValidateWithin validates a ConnConfig held in field conn of the struct
// named config, so that its errors name the full path, such as
// "producer.Config.Conn.SeedBrokers".
func (c *ConnConfig) ValidateWithin(config, conn string) error {
	err := c.Validate()
	var ce *ConfigError
	if errors.As(err, &ce) {
		return &ConfigError{Config: config, Field: conn + "." + ce.Field, Reason: ce.Reason}
	}
	return err
}

// Is makes errors.Is(err, ErrInvalidConfig) true.
func (e *ConfigError) Is(target error) bool { return target == ErrInvalidConfig }

// Validate reports the first invalid field as a *ConfigError.
func (c *ConnConfig) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if len(c.SeedBrokers) == 0 {
		return bad("SeedBrokers", "at least one host:port address is required")
	}
	for i, addr := range c.SeedBrokers {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return bad("SeedBrokers", "entry %d (%q) is not host:port: %v", i, addr, err)
		}
		if host == "" {
			return bad("SeedBrokers", "entry %d (%q) has no host", i, addr)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return bad("SeedBrokers", "entry %d (%q) has an invalid port", i, addr)
		}
	}
	if len(c.ClientID) > maxClientIDLen-1 {
		return bad("ClientID", "longer than %d bytes", maxClientIDLen-1)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"DialTimeout", c.DialTimeout}, {"RequestTimeout", c.RequestTimeout},
		{"MetadataMaxAge", c.MetadataMaxAge}, {"MetadataMinRefresh", c.MetadataMinRefresh},
		{"RetryBackoffBase", c.RetryBackoffBase}, {"RetryBackoffMax", c.RetryBackoffMax},
		{"ReconnectBackoffBase", c.ReconnectBackoffBase}, {"ReconnectBackoffMax", c.ReconnectBackoffMax},
		{"AuthFailureBackoff", c.AuthFailureBackoff},
	} {
		if d.v < 0 {
			return bad(d.name, "must not be negative (got %s)", d.v)
		}
	}
	if c.MaxInFlightPerConn < 0 {
		return bad("MaxInFlightPerConn", "must not be negative (got %d)", c.MaxInFlightPerConn)
	}
	if c.MaxResponseSize != 0 && c.MaxResponseSize < minMaxResponseSize {
		return bad("MaxResponseSize", "must be at least %d bytes (got %d)", minMaxResponseSize, c.MaxResponseSize)
	}
	if c.ReauthFraction != 0 && (c.ReauthFraction <= 0 || c.ReauthFraction >= 1) {
		return bad("ReauthFraction", "must be between 0 and 1 exclusive (got %v)", c.ReauthFraction)
	}
	if c.MetadataRecovery > RecoveryNone {
		return bad("MetadataRecovery", "unknown strategy %d", c.MetadataRecovery)
	}
	if c.RetryBackoffMax != 0 && c.RetryBackoffBase > c.RetryBackoffMax {
		return bad("RetryBackoffBase", "is above RetryBackoffMax")
	}
	if c.ReconnectBackoffMax != 0 && c.ReconnectBackoffBase > c.ReconnectBackoffMax {
		return bad("ReconnectBackoffBase", "is above ReconnectBackoffMax")
	}
	return nil
}

// WithDefaults returns a copy of c with every zero field set to its default.
// It does not validate.
func (c ConnConfig) WithDefaults() ConnConfig {
	c.SeedBrokers = append([]string(nil), c.SeedBrokers...)
	setDur := func(p *time.Duration, d time.Duration) {
		if *p == 0 {
			*p = d
		}
	}
	if c.ClientID == "" {
		c.ClientID = DefaultClientID
	}
	setDur(&c.DialTimeout, DefaultDialTimeout)
	setDur(&c.RequestTimeout, DefaultRequestTimeout)
	setDur(&c.ConnIdleTimeout, DefaultConnIdleTimeout)
	setDur(&c.MetadataMaxAge, DefaultMetadataMaxAge)
	setDur(&c.MetadataMinRefresh, DefaultMetadataMinRefresh)
	setDur(&c.RetryBackoffBase, DefaultRetryBackoffBase)
	setDur(&c.RetryBackoffMax, DefaultRetryBackoffMax)
	setDur(&c.ReconnectBackoffBase, DefaultReconnectBackoffBase)
	setDur(&c.ReconnectBackoffMax, DefaultReconnectBackoffMax)
	setDur(&c.AuthFailureBackoff, DefaultAuthFailureBackoff)
	if c.MaxInFlightPerConn == 0 {
		c.MaxInFlightPerConn = DefaultMaxInFlightPerConn
	}
	if c.MaxResponseSize == 0 {
		c.MaxResponseSize = DefaultMaxResponseSize
	}
	if c.ReauthFraction == 0 {
		c.ReauthFraction = DefaultReauthFraction
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Dial == nil {
		d := &net.Dialer{Timeout: c.DialTimeout, KeepAlive: 30 * time.Second}
		c.Dial = d.DialContext
	}
	return c
}

// describe lists the settings that are safe to show: never credentials,
// never key material.
func (c *ConnConfig) describe() []slog.Attr {
	tlsDesc := "off"
	if c.TLS != nil {
		tlsDesc = "on"
		if c.TLS.InsecureSkipVerify {
			tlsDesc = "on (verification disabled)"
		}
		if len(c.TLS.Certificates) > 0 || c.TLS.GetClientCertificate != nil {
			tlsDesc += ", client certificate"
		}
	}
	saslDesc := "off"
	if c.SASL != nil {
		// Only the registered mechanism name: a user mechanism's String
		// might not redact its secrets.
		saslDesc = c.SASL.Name()
	}
	return []slog.Attr{
		slog.String("seed_brokers", strings.Join(c.SeedBrokers, ",")),
		slog.String("client_id", c.ClientID),
		slog.String("tls", tlsDesc),
		slog.String("sasl", saslDesc),
		slog.Duration("dial_timeout", c.DialTimeout),
		slog.Duration("request_timeout", c.RequestTimeout),
		slog.Duration("conn_idle_timeout", c.ConnIdleTimeout),
		slog.Int("max_in_flight_per_conn", c.MaxInFlightPerConn),
		slog.Int64("max_response_size", int64(c.MaxResponseSize)),
		slog.Duration("metadata_max_age", c.MetadataMaxAge),
		slog.Duration("metadata_min_refresh", c.MetadataMinRefresh),
		slog.Duration("retry_backoff_base", c.RetryBackoffBase),
		slog.Duration("retry_backoff_max", c.RetryBackoffMax),
		slog.String("metadata_recovery", c.MetadataRecovery.String()),
	}
}

// LogValue gives slog the settings without secrets.
func (c ConnConfig) LogValue() slog.Value { return slog.GroupValue(c.describe()...) }

// String prints the settings without secrets.
func (c ConnConfig) String() string {
	var b strings.Builder
	b.WriteString("ConnConfig{")
	for i, a := range c.describe() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(a.Key)
		b.WriteByte('=')
		b.WriteString(a.Value.String())
	}
	b.WriteByte('}')
	return b.String()
}

// GoString is String, so that %#v shows no secrets either.
func (c ConnConfig) GoString() string { return c.String() }

// MarshalJSON encodes the settings without secrets.
func (c ConnConfig) MarshalJSON() ([]byte, error) {
	m := make(map[string]string)
	for _, a := range c.describe() {
		m[a.Key] = a.Value.String()
	}
	return json.Marshal(m)
}
