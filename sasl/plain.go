package sasl

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// Plain authenticates with a user name and password sent as they are
// (RFC 4616). Use it only over TLS: the password crosses the wire in clear.
type Plain struct {
	// User is the name to authenticate as. Required.
	User string
	// Password is User's password. Required.
	Password string
	// AuthzID, when not empty, asks to act as this identity instead of User.
	// Kafka refuses an AuthzID that differs from User.
	AuthzID string
}

// Name returns "PLAIN".
func (Plain) Name() string { return "PLAIN" }

// Start returns the single PLAIN message: authzid, user and password
// separated by NUL bytes.
func (p Plain) Start(context.Context, string) (Exchange, []byte, error) {
	if p.User == "" || p.Password == "" {
		return nil, nil, fmt.Errorf("%w: PLAIN needs both User and Password", ErrInvalidConfig)
	}
	if strings.ContainsRune(p.User, 0) || strings.ContainsRune(p.Password, 0) || strings.ContainsRune(p.AuthzID, 0) {
		return nil, nil, fmt.Errorf("%w: PLAIN credentials must not contain NUL bytes", ErrInvalidConfig)
	}
	msg := make([]byte, 0, len(p.AuthzID)+len(p.User)+len(p.Password)+2)
	msg = append(msg, p.AuthzID...)
	msg = append(msg, 0)
	msg = append(msg, p.User...)
	msg = append(msg, 0)
	msg = append(msg, p.Password...)
	return plainExchange{}, msg, nil
}

// String describes the mechanism without its password.
func (p Plain) String() string {
	return "PLAIN(user=" + p.User + ", password=" + redacted + ")"
}

// GoString is String, so that %#v leaves the password out too.
func (p Plain) GoString() string { return p.String() }

// LogValue keeps the password out of structured logs.
func (p Plain) LogValue() slog.Value {
	return slog.GroupValue(slog.String("mechanism", "PLAIN"), slog.String("user", p.User))
}

type plainExchange struct{}

// Next accepts the broker's reply: with PLAIN, any reply after the single
// client message means success, since a refusal comes back as an error code
// in SaslAuthenticate instead.
func (plainExchange) Next([]byte) (bool, []byte, error) { return true, nil, nil }

// MarshalJSON encodes the redacted description, so that JSON logs and
// config dumps leave the secret out.
func (x Plain) MarshalJSON() ([]byte, error) { return redactedJSON(x.String()) }
