// Package sasl holds the SASL mechanisms Gregor can use to authenticate to
// Kafka brokers: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (with user passwords
// or delegation tokens) and OAUTHBEARER.
//
// A Mechanism only produces and checks the authentication messages; the
// connection layer carries them in SaslHandshake and SaslAuthenticate
// requests, and repeats the exchange before the broker's session lifetime
// ends (KIP-368). Users can plug in a mechanism of their own by implementing
// Mechanism.
//
// Credentials never appear in the printed form of a mechanism: String,
// GoString and LogValue all leave passwords and tokens out.
package sasl

import (
	"context"
	"encoding/json"
	"errors"
)

// Mechanism is one SASL mechanism with its credentials.
//
// Start is called once per authentication of a connection, including each
// re-authentication, so a mechanism may fetch fresh credentials there.
type Mechanism interface {
	// Name is the mechanism's registered name, sent in SaslHandshake, such as
	// "SCRAM-SHA-512".
	Name() string
	// Start begins an exchange with the broker at addr and returns the first
	// message the client sends.
	Start(ctx context.Context, addr string) (Exchange, []byte, error)
}

// Exchange is the client side of one authentication in progress.
type Exchange interface {
	// Next takes the broker's latest message. It returns done once the
	// broker's message completes the authentication; otherwise it returns the
	// client's next message. An error means authentication failed and the
	// connection must be closed.
	Next(challenge []byte) (done bool, response []byte, err error)
}

// ErrAuthentication is wrapped by every error a mechanism returns when the
// broker's messages show that the credentials were refused or the exchange
// went wrong. Such errors are not worth retrying with the same credentials.
var ErrAuthentication = errors.New("sasl: authentication failed")

// ErrInvalidConfig is wrapped by errors about a mechanism's own settings,
// such as an empty user name.
var ErrInvalidConfig = errors.New("sasl: invalid configuration")

// redacted stands in for a secret in every printed form.
const redacted = "[redacted]"

// redactedJSON is the JSON form of a credential-bearing value: its
// description with the secrets already left out.
func redactedJSON(description string) ([]byte, error) {
	return json.Marshal(map[string]string{"sasl": description})
}
