package protocol

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors of the codec. Every error returned by a Decode method
// wraps exactly one of ErrTruncated or ErrMalformed inside a *DecodeError;
// encode methods return errors wrapping ErrVersionNotSupported,
// ErrFieldNotSupported or ErrInvalidValue.
var (
	// ErrTruncated means the input ended before the message did.
	ErrTruncated = errors.New("protocol: truncated input")
	// ErrMalformed means the input is structurally invalid: a negative
	// length that is not the null marker, a null where the version does not
	// allow one, an oversized varint, a count larger than the input could
	// hold, or bytes left over after the message.
	ErrMalformed = errors.New("protocol: malformed input")
	// ErrVersionNotSupported means the message type has no such version in
	// this codec, or the broker and the codec share no version of an API.
	// (It is not named ErrUnsupportedVersion: that name belongs to Kafka's
	// UNSUPPORTED_VERSION error code in errors.go.)
	ErrVersionNotSupported = errors.New("protocol: unsupported version")
	// ErrFieldNotSupported means a field holds a non-default value but the
	// version being encoded does not carry that field and the field is not
	// ignorable, so encoding would silently lose data.
	ErrFieldNotSupported = errors.New("protocol: field not supported at this version")
	// ErrInvalidValue means a value cannot be represented on the wire, such
	// as null for a field that is not nullable at the version, or a string
	// longer than 32767 bytes in a non-compact field.
	ErrInvalidValue = errors.New("protocol: value cannot be encoded")
)

// DecodeError describes where decoding stopped. Type and Field name the Go
// type and field being read, Offset is the byte position within the buffer
// handed to Decode, and Err is ErrTruncated or ErrMalformed.
type DecodeError struct {
	Type   string
	Field  string
	Offset int
	Msg    string
	Err    error
}

func (e *DecodeError) Error() string {
	s := e.Err.Error()
	if e.Type != "" {
		s += ": " + e.Type
		if e.Field != "" {
			s += "." + e.Field
		}
	}
	s += " at offset " + strconv.Itoa(e.Offset)
	if e.Msg != "" {
		s += ": " + e.Msg
	}
	return s
}

func (e *DecodeError) Unwrap() error { return e.Err }

// EncodeError reports why a value could not be encoded. Err is one of
// ErrVersionNotSupported, ErrFieldNotSupported or ErrInvalidValue.
type EncodeError struct {
	Type    string
	Field   string
	Version int16
	Err     error
}

func (e *EncodeError) Error() string {
	s := e.Err.Error() + ": " + e.Type
	if e.Field != "" {
		s += "." + e.Field
	}
	return s + " at version " + strconv.Itoa(int(e.Version))
}

func (e *EncodeError) Unwrap() error { return e.Err }

// VersionError is returned by version negotiation when the codec and the
// broker have no version of an API in common. It wraps ErrVersionNotSupported.
type VersionError struct {
	Key                  int16
	ClientMin, ClientMax int16
	BrokerMin, BrokerMax int16
	// BrokerLacksKey is set when the broker did not list the API at all.
	BrokerLacksKey bool
}

func (e *VersionError) Error() string {
	if e.BrokerLacksKey {
		return fmt.Sprintf("protocol: broker does not support API %s (key %d)", KeyName(e.Key), e.Key)
	}
	return fmt.Sprintf("protocol: no common version for API %s (key %d): client %d-%d, broker %d-%d",
		KeyName(e.Key), e.Key, e.ClientMin, e.ClientMax, e.BrokerMin, e.BrokerMax)
}

func (e *VersionError) Unwrap() error { return ErrVersionNotSupported }
