package integration_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/integration"
)

// TestGoTLSConfigs checks the *tls.Config values the cluster hands to Go
// clients: TLSConfig verifies the broker, MTLSConfig presents the client
// certificate, and the system roots do not trust the generated CA.
func TestGoTLSConfigs(t *testing.T) {
	c := integration.Shared(t, single)
	if !c.Has(integration.SSL) {
		t.Skip("cluster has no TLS listeners")
	}
	handshake := func(addr string, cfg *tls.Config) error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		d := tls.Dialer{NetDialer: &net.Dialer{}, Config: cfg}
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return conn.Close()
	}
	if err := handshake(c.Bootstrap(integration.SSL)[0], c.TLSConfig()); err != nil {
		t.Fatalf("TLS handshake with TLSConfig on the SSL listener: %v", err)
	}
	if err := handshake(c.Bootstrap(integration.MTLS)[0], c.MTLSConfig()); err != nil {
		t.Fatalf("TLS handshake with MTLSConfig on the MTLS listener: %v", err)
	}
	err := handshake(c.Bootstrap(integration.SSL)[0], &tls.Config{MinVersion: tls.VersionTLS12})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("handshake with system roots: got %v, want an unknown-authority error", err)
	}
	t.Log("Go TLS configs: server verified, client certificate accepted, system roots refuse the test CA")
}
