package protocol

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorForCodeKnown(t *testing.T) {
	if err := ErrorForCode(0); err != nil {
		t.Fatalf("code 0 gave %v, want nil", err)
	}
	err := ErrorForCode(6)
	if err != ErrNotLeaderOrFollower {
		t.Fatalf("code 6 gave %v, want ErrNotLeaderOrFollower", err)
	}
	wrapped := fmt.Errorf("produce to orders[3] on broker 2: %w", err)
	if !errors.Is(wrapped, ErrNotLeaderOrFollower) {
		t.Fatal("errors.Is failed through wrapping")
	}
	if errors.Is(wrapped, ErrUnknownTopicOrPartition) {
		t.Fatal("errors.Is matched a different code")
	}
	var kerr *Error
	if !errors.As(wrapped, &kerr) || kerr.Code != 6 || kerr.Name != "NOT_LEADER_OR_FOLLOWER" {
		t.Fatalf("errors.As gave %+v", kerr)
	}
	if got := wrapped.Error(); got != "produce to orders[3] on broker 2: kafka error NOT_LEADER_OR_FOLLOWER (6)" {
		t.Fatalf("message %q", got)
	}
}

func TestErrorRetriable(t *testing.T) {
	cases := map[*Error]bool{
		ErrNotLeaderOrFollower:       true,
		ErrUnknownTopicOrPartition:   true,
		ErrNotCoordinator:            true,
		ErrCoordinatorLoadInProgress: true,
		ErrRequestTimedOut:           true,
		ErrTopicAlreadyExists:        false,
		ErrInvalidProducerEpoch:      false,
		ErrTopicAuthorizationFailed:  false,
		ErrSASLAuthenticationFailed:  false,
		ErrMessageTooLarge:           false,
	}
	for e, want := range cases {
		if e.Retriable != want || IsRetriable(fmt.Errorf("x: %w", e)) != want {
			t.Errorf("%s retriable = %v, want %v", e.Name, e.Retriable, want)
		}
	}
	if IsRetriable(errors.New("plain")) || IsRetriable(nil) {
		t.Error("a non-Kafka error reported retriable")
	}
}

func TestErrorForCodeUnknown(t *testing.T) {
	for _, code := range []int16{-2, 999, 32767, -32768} {
		err := ErrorForCode(code)
		var kerr *Error
		if !errors.As(err, &kerr) || kerr.Code != code || kerr.Retriable {
			t.Fatalf("code %d gave %#v", code, err)
		}
		if !errors.Is(err, ErrorForCode(code)) {
			t.Fatalf("two values for unknown code %d do not match", code)
		}
		if errors.Is(err, ErrUnknownServerError) {
			t.Fatalf("unknown code %d matched UNKNOWN_SERVER_ERROR", code)
		}
	}
}

func TestErrorTableConsistent(t *testing.T) {
	names := map[string]bool{}
	count := 0
	for i, e := range knownErrors {
		if e == nil {
			continue
		}
		count++
		if int(e.Code) != i+minKnownCode {
			t.Errorf("%s sits at index for code %d", e.Name, i+minKnownCode)
		}
		if names[e.Name] {
			t.Errorf("duplicate name %s", e.Name)
		}
		names[e.Name] = true
		if ErrorForCode(e.Code) != e {
			t.Errorf("ErrorForCode(%d) does not return the shared value", e.Code)
		}
	}
	// Kafka 4.1.1 defines codes -1 and 1..133.
	if count != 134 {
		t.Errorf("table holds %d codes, want 134", count)
	}
}
