package sasl

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/xdg-go/scram"
)

// ScramHash picks the hash function of a SCRAM mechanism.
type ScramHash int

const (
	// ScramSHA256 selects SCRAM-SHA-256. It is the zero value.
	ScramSHA256 ScramHash = iota
	// ScramSHA512 selects SCRAM-SHA-512.
	ScramSHA512
)

// Scram authenticates with SCRAM (RFC 5802 and RFC 7677): the password never
// crosses the wire, and the client checks that the broker knows the stored
// credential too.
type Scram struct {
	// Hash picks SCRAM-SHA-256 (the zero value) or SCRAM-SHA-512. The broker
	// must hold a credential for User under the same mechanism.
	Hash ScramHash
	// User is the name to authenticate as. Required.
	User string
	// Password is User's password. Required.
	Password string
	// TokenAuth authenticates with a Kafka delegation token (KIP-48): User
	// is the token id, Password the token's HMAC in standard base64, and the
	// client-first message carries the SCRAM extension "tokenauth=true" so
	// the broker checks them against its tokens instead of its users. The
	// token's owner becomes the connection's principal.
	TokenAuth bool
}

// Name returns "SCRAM-SHA-256" or "SCRAM-SHA-512".
func (s Scram) Name() string {
	if s.Hash == ScramSHA512 {
		return "SCRAM-SHA-512"
	}
	return "SCRAM-SHA-256"
}

// Start begins a new SCRAM conversation and returns the client-first message.
func (s Scram) Start(context.Context, string) (Exchange, []byte, error) {
	if s.User == "" || s.Password == "" {
		return nil, nil, fmt.Errorf("%w: %s needs both User and Password", ErrInvalidConfig, s.Name())
	}
	hash := scram.SHA256
	switch s.Hash {
	case ScramSHA256:
	case ScramSHA512:
		hash = scram.SHA512
	default:
		return nil, nil, fmt.Errorf("%w: unknown ScramHash %d", ErrInvalidConfig, s.Hash)
	}
	if s.TokenAuth {
		x, first, err := newScramExtClient(s.Name(), scramHashFunc(s.Hash), s.User, s.Password, ",tokenauth=true")
		if err != nil {
			return nil, nil, err
		}
		return x, first, nil
	}
	client, err := hash.NewClient(s.User, s.Password, "")
	if err != nil {
		// The library's error can quote the input it rejected; keep it out.
		return nil, nil, fmt.Errorf("%w: %s cannot prepare the user name or password", ErrInvalidConfig, s.Name())
	}
	conv := client.NewConversation()
	first, err := conv.Step("")
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrAuthentication, s.Name(), err)
	}
	return &scramExchange{name: s.Name(), conv: conv}, []byte(first), nil
}

// String describes the mechanism without its password.
func (s Scram) String() string {
	d := s.Name() + "(user=" + s.User + ", password=" + redacted
	if s.TokenAuth {
		d += ", tokenauth"
	}
	return d + ")"
}

// GoString is String, so that %#v leaves the password out too.
func (s Scram) GoString() string { return s.String() }

// LogValue keeps the password out of structured logs.
func (s Scram) LogValue() slog.Value {
	return slog.GroupValue(slog.String("mechanism", s.Name()), slog.String("user", s.User), slog.Bool("tokenauth", s.TokenAuth))
}

type scramExchange struct {
	name string
	conv *scram.ClientConversation
}

// Next answers the server-first message with the client-final message, then
// checks the server's signature in the server-final message.
func (x *scramExchange) Next(challenge []byte) (bool, []byte, error) {
	if x.conv.Done() {
		return false, nil, fmt.Errorf("%w: %s: message after the exchange ended", ErrAuthentication, x.name)
	}
	resp, err := x.conv.Step(string(challenge))
	if err != nil {
		return false, nil, fmt.Errorf("%w: %s: %v", ErrAuthentication, x.name, err)
	}
	if x.conv.Done() {
		if !x.conv.Valid() {
			return false, nil, fmt.Errorf("%w: %s: the broker's signature did not verify", ErrAuthentication, x.name)
		}
		return true, nil, nil
	}
	return false, []byte(resp), nil
}

// MarshalJSON encodes the redacted description, so that JSON logs and
// config dumps leave the secret out.
func (x Scram) MarshalJSON() ([]byte, error) { return redactedJSON(x.String()) }
