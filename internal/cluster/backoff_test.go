package cluster

import (
	"errors"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
)

func TestBackoff(t *testing.T) {
	base, max := 100*time.Millisecond, time.Second
	prev := time.Duration(0)
	for attempt := 1; attempt <= 10; attempt++ {
		d := Backoff(base, max, attempt)
		nominal := min(base<<(attempt-1), max)
		if d < nominal*8/10 || d > nominal*12/10 {
			t.Fatalf("attempt %d: %s outside ±20%% of %s", attempt, d, nominal)
		}
		if attempt > 1 && nominal < max && d < prev/2 {
			t.Fatalf("attempt %d: %s did not grow from %s", attempt, d, prev)
		}
		prev = d
	}
}

func TestDialBackoffAuth(t *testing.T) {
	c := &Cluster{cfg: gregor.ConnConfig{SeedBrokers: []string{"h:1"}}.WithDefaults()}
	auth := &gregor.AuthError{Mechanism: "PLAIN", Err: errors.New("no")}
	if d := c.dialBackoff(1, auth); d != gregor.DefaultAuthFailureBackoff {
		t.Fatalf("auth failure backoff %s", d)
	}
	tlsErr := &gregor.TLSError{Err: errors.New("x509")}
	if d := c.dialBackoff(1, tlsErr); d != gregor.DefaultAuthFailureBackoff {
		t.Fatalf("TLS failure backoff %s", d)
	}
	if d := c.dialBackoff(1, &gregor.NetworkError{Op: "dial", Err: errors.New("refused")}); d > 100*time.Millisecond {
		t.Fatalf("first reconnect backoff %s", d)
	}
}
