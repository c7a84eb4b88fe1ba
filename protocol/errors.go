package protocol

//go:generate go run ../internal/errgen -out errors_table.go

import (
	"errors"
	"strconv"
)

// Error is an error code returned by a Kafka broker in a response.
//
// Every code Kafka 4.1.1 defines has one shared value (ErrNotLeaderOrFollower,
// ErrUnknownTopicOrPartition and so on), so errors.Is(err, protocol.ErrX)
// works through any amount of wrapping. A code this package does not know
// still becomes an *Error, named after its number and never retriable.
type Error struct {
	// Code is the number on the wire.
	Code int16
	// Name is Kafka's upper-case name for the code, such as
	// "NOT_LEADER_OR_FOLLOWER".
	Name string
	// Retriable says whether the same request may succeed if sent again,
	// possibly after refreshing metadata or finding a new coordinator.
	Retriable bool
}

// Error reports the code's name and number.
func (e *Error) Error() string {
	return "kafka error " + e.Name + " (" + strconv.Itoa(int(e.Code)) + ")"
}

// Is reports whether target is an *Error with the same code, so that two
// values for one unknown code also match.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t != nil && t.Code == e.Code
}

// ErrorForCode returns the error for a code from a response, or nil for code 0.
func ErrorForCode(code int16) error {
	if code == 0 {
		return nil
	}
	if int(code) >= minKnownCode && int(code) <= maxKnownCode {
		if e := knownErrors[int(code)-minKnownCode]; e != nil {
			return e
		}
	}
	return &Error{Code: code, Name: "UNKNOWN_CODE_" + strconv.Itoa(int(code))}
}

// IsRetriable reports whether err is, or wraps, a broker error that may go
// away if the request is retried.
func IsRetriable(err error) bool {
	var kerr *Error
	return errors.As(err, &kerr) && kerr.Retriable
}
