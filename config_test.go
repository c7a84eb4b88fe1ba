package gregor

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/protocol"
	"github.com/gregorkafka/gregor/sasl"
)

func TestValidateNamesField(t *testing.T) {
	cases := []struct {
		field string
		cfg   ConnConfig
	}{
		{"SeedBrokers", ConnConfig{}},
		{"SeedBrokers", ConnConfig{SeedBrokers: []string{"nohost"}}},
		{"SeedBrokers", ConnConfig{SeedBrokers: []string{"h:0"}}},
		{"RequestTimeout", ConnConfig{SeedBrokers: []string{"h:9092"}, RequestTimeout: -1}},
		{"MaxInFlightPerConn", ConnConfig{SeedBrokers: []string{"h:9092"}, MaxInFlightPerConn: -1}},
		{"MaxResponseSize", ConnConfig{SeedBrokers: []string{"h:9092"}, MaxResponseSize: 10}},
		{"ReauthFraction", ConnConfig{SeedBrokers: []string{"h:9092"}, ReauthFraction: 1.5}},
		{"MetadataRecovery", ConnConfig{SeedBrokers: []string{"h:9092"}, MetadataRecovery: 7}},
		{"RetryBackoffBase", ConnConfig{SeedBrokers: []string{"h:9092"}, RetryBackoffBase: time.Second, RetryBackoffMax: time.Millisecond}},
	}
	for _, tc := range cases {
		err := tc.cfg.Validate()
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field || !errors.Is(err, ErrInvalidConfig) ||
			!strings.HasPrefix(err.Error(), "gregor: ConnConfig."+tc.field+": ") {
			t.Errorf("%+v: got %v, want an error naming %s", tc.cfg, err, tc.field)
		}
	}
	if err := (&ConnConfig{SeedBrokers: []string{"localhost:9092", "[::1]:9093"}}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestDefaults(t *testing.T) {
	c := ConnConfig{SeedBrokers: []string{"h:1"}}.WithDefaults()
	if c.ClientID != "gregor" || c.RequestTimeout != DefaultRequestTimeout || c.MaxInFlightPerConn != 5 ||
		c.MaxResponseSize != DefaultMaxResponseSize || c.Logger == nil || c.Dial == nil || c.ReauthFraction != 0.85 {
		t.Fatalf("defaults not applied: %v", c)
	}
}

func TestPrintedFormsHideSecrets(t *testing.T) {
	cfg := ConnConfig{
		SeedBrokers: []string{"h:1"},
		SASL:        sasl.Scram{Hash: sasl.ScramSHA512, User: "bob", Password: "hunter2"},
		TLS:         &tls.Config{},
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("cfg", "cfg", cfg)
	js, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v", cfg, cfg, cfg), string(js), buf.String()} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("secret printed: %s", s)
		}
		if !strings.Contains(s, "SCRAM-SHA-512") {
			t.Fatalf("mechanism missing: %s", s)
		}
	}
}

func TestIsRetriable(t *testing.T) {
	ne := &NetworkError{Broker: 1, Addr: "h:1", Op: "read", Err: errors.New("eof")}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{ne, true},
		{fmt.Errorf("wrapped: %w", ne), true},
		{protocol.ErrNotLeaderOrFollower, true},
		{protocol.ErrTopicAuthorizationFailed, false},
		{&AuthError{Mechanism: "PLAIN", Err: protocol.ErrSASLAuthenticationFailed}, false},
		{&TLSError{Err: errors.New("x509")}, false},
		{&VersionError{Key: 1, BrokerMax: -1}, false},
		{ErrClosed, false},
		{context.DeadlineExceeded, false},
		{&net.OpError{Op: "dial", Err: errors.New("refused")}, true},
	} {
		if got := IsRetriable(tc.err); got != tc.want {
			t.Errorf("IsRetriable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	if !errors.Is(&VersionError{}, protocol.ErrVersionNotSupported) {
		t.Error("VersionError should match protocol.ErrVersionNotSupported")
	}
	if !errors.Is(&VersionError{}, protocol.ErrUnsupportedVersion) {
		t.Error("VersionError should match protocol.ErrUnsupportedVersion")
	}
}

func TestConfigErrorNamesTheFullPath(t *testing.T) {
	var c ConnConfig
	err := c.ValidateWithin("producer.Config", "Conn")
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Config != "producer.Config" || ce.Field != "Conn.SeedBrokers" || !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("got %#v", err)
	}
	if want := "gregor: producer.Config.Conn.SeedBrokers: at least one host:port address is required"; err.Error() != want {
		t.Fatalf("message %q, want %q", err.Error(), want)
	}
	if err := c.Validate(); err == nil || err.Error() != "gregor: ConnConfig.SeedBrokers: at least one host:port address is required" {
		t.Fatalf("plain Validate: %v", err)
	}
}
