package raw

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/gregorkafka/gregor/sasl"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestMain(m *testing.M) { integration.Main(m) }

// secured is the one-node cluster with every listener. Its short
// connections.max.reauth.ms makes brokers hand out 4-second SASL sessions
// (KIP-368), which TestIntegrationReauth needs and the other tests do not
// mind.
var secured = integration.LocalConfig{
	SASL: true, TLS: true,
	BrokerProperties: map[string]string{"connections.max.reauth.ms": "4000"},
}

// three is a plain three-node cluster for failover.
var three = integration.LocalConfig{Nodes: 3}

func countingDial(n *atomic.Int32) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		return d.DialContext(ctx, network, addr)
	}
}

func scram(h sasl.ScramHash) sasl.Mechanism {
	return sasl.Scram{Hash: h, User: integration.AdminUser.Username, Password: integration.AdminUser.Password}
}

// TestIntegrationListeners connects through every listener of a real Kafka
// 4.1.1 broker and fetches metadata.
func TestIntegrationListeners(t *testing.T) {
	kc := integration.Shared(t, secured)
	plain := sasl.Plain{User: integration.AdminUser.Username, Password: integration.AdminUser.Password}
	cases := []struct {
		name     string
		listener integration.Listener
		tls      *tls.Config
		mech     sasl.Mechanism
	}{
		{"PLAINTEXT", integration.Plaintext, nil, nil},
		{"SASL_PLAINTEXT/PLAIN", integration.SASLPlaintext, nil, plain},
		{"SASL_PLAINTEXT/SCRAM-SHA-256", integration.SASLPlaintext, nil, scram(sasl.ScramSHA256)},
		{"SASL_PLAINTEXT/SCRAM-SHA-512", integration.SASLPlaintext, nil, scram(sasl.ScramSHA512)},
		{"SSL", integration.SSL, kc.TLSConfig(), nil},
		{"SASL_SSL/PLAIN", integration.SASLSSL, kc.TLSConfig(), plain},
		{"SASL_SSL/SCRAM-SHA-512", integration.SASLSSL, kc.TLSConfig(), scram(sasl.ScramSHA512)},
		{"MTLS", integration.MTLS, kc.MTLSConfig(), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !kc.Has(tc.listener) {
				t.Skipf("cluster has no %s listener", tc.listener)
			}
			leakcheck.Check(t)
			c := newClient(t, kc.Bootstrap(tc.listener), func(cfg *gregor.ConnConfig) {
				cfg.TLS, cfg.SASL = tc.tls, tc.mech
			})
			ctx := ctxT(t, 30*time.Second)
			if err := c.RefreshMetadata(ctx); err != nil {
				t.Fatal(err)
			}
			md := c.cluster().Metadata()
			if md == nil || md.ClusterID == "" || len(md.Brokers) != 1 {
				t.Fatalf("metadata: %+v", md)
			}
			avReq := kmsg.NewPtrApiVersionsRequest()
			avReq.ClientSoftwareName, avReq.ClientSoftwareVersion = "gregor-test", "1"
			r, err := c.Request(ctx, Controller(), Wrap(avReq))
			if err != nil {
				t.Fatal(err)
			}
			av := kmsg.NewPtrApiVersionsResponse()
			av.SetVersion(r.Version)
			if err := av.ReadFrom(r.Body); err != nil || av.ErrorCode != 0 || len(av.ApiKeys) < 40 {
				t.Fatalf("ApiVersions v%d: %v, code %d, %d keys", r.Version, err, av.ErrorCode, len(av.ApiKeys))
			}
		})
	}
}

// TestIntegrationWrongPassword checks that refused credentials give the
// typed error at once and are not retried: three requests dial once.
func TestIntegrationWrongPassword(t *testing.T) {
	kc := integration.Shared(t, secured)
	if !kc.Has(integration.SASLPlaintext) {
		t.Skip("no SASL listener")
	}
	leakcheck.Check(t)
	for _, mech := range []sasl.Mechanism{
		sasl.Plain{User: integration.AdminUser.Username, Password: "wrong"},
		sasl.Scram{Hash: sasl.ScramSHA512, User: integration.AdminUser.Username, Password: "wrong"},
	} {
		var dials atomic.Int32
		c := newClient(t, kc.Bootstrap(integration.SASLPlaintext), func(cfg *gregor.ConnConfig) {
			cfg.SASL = mech
			cfg.Dial = countingDial(&dials)
		})
		start := time.Now()
		for i := 0; i < 3; i++ {
			_, err := c.Request(ctxT(t, 30*time.Second), AnyBroker(), Wrap(kmsg.NewPtrMetadataRequest()))
			var ae *gregor.AuthError
			if !errors.As(err, &ae) || !errors.Is(err, protocol.ErrSASLAuthenticationFailed) || gregor.IsRetriable(err) {
				t.Fatalf("%s: got %v, want *gregor.AuthError wrapping SASL_AUTHENTICATION_FAILED", mech.Name(), err)
			}
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("%s: three refused requests took %s", mech.Name(), d)
		}
		if n := dials.Load(); n != 1 {
			t.Fatalf("%s: %d dials for three requests, want 1 (auth failures back off)", mech.Name(), n)
		}
	}
}

// TestIntegrationUntrustedCert connects to the SSL listener without the
// test CA: the typed TLS error comes back, not retried.
func TestIntegrationUntrustedCert(t *testing.T) {
	kc := integration.Shared(t, secured)
	if !kc.Has(integration.SSL) {
		t.Skip("no SSL listener")
	}
	leakcheck.Check(t)
	var dials atomic.Int32
	c := newClient(t, kc.Bootstrap(integration.SSL), func(cfg *gregor.ConnConfig) {
		cfg.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
		cfg.Dial = countingDial(&dials)
	})
	for i := 0; i < 2; i++ {
		_, err := c.Request(ctxT(t, 30*time.Second), AnyBroker(), Wrap(kmsg.NewPtrMetadataRequest()))
		var te *gregor.TLSError
		if !errors.As(err, &te) || gregor.IsRetriable(err) {
			t.Fatalf("got %v (%T), want *gregor.TLSError", err, err)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d dials, want 1", n)
	}
}

// TestIntegrationReauth keeps one SASL connection busy for longer than two
// 4-second sessions: it re-authenticates (KIP-368) and no request fails.
func TestIntegrationReauth(t *testing.T) {
	kc := integration.Shared(t, secured)
	if !kc.Has(integration.SASLPlaintext) {
		t.Skip("no SASL listener")
	}
	leakcheck.Check(t)
	var dials atomic.Int32
	c := newClient(t, kc.Bootstrap(integration.SASLPlaintext), func(cfg *gregor.ConnConfig) {
		cfg.SASL = scram(sasl.ScramSHA256)
		cfg.Dial = countingDial(&dials)
	})
	end := time.Now().Add(9 * time.Second)
	var reqs int
	for time.Now().Before(end) {
		if _, err := c.Request(ctxT(t, 10*time.Second), Broker(-1), Wrap(kmsg.NewPtrMetadataRequest())); err != nil {
			t.Fatalf("request %d failed: %v", reqs, err)
		}
		reqs++
		time.Sleep(20 * time.Millisecond)
	}
	if n := c.cluster().Reauthentications(); n < 2 {
		t.Fatalf("%d re-authentications in 9s with 4s sessions, want at least 2", n)
	}
	if n := dials.Load(); n != 1 {
		t.Fatalf("%d dials, want 1: the connection should have lived on", n)
	}
	t.Logf("%d requests, %d re-authentications, 1 connection", reqs, c.cluster().Reauthentications())
}

// TestIntegrationFailover kills the leader of a partition on a three-node
// cluster: requests to the partition's leader fail over to the new leader
// through a metadata refresh; the node is then restarted.
func TestIntegrationFailover(t *testing.T) {
	kc := integration.Shared(t, three)
	if kc.External() {
		t.Skip("needs node control")
	}
	leakcheck.Check(t)
	ctx := ctxT(t, 3*time.Minute)
	if err := kc.CreateTopic(ctx, "failover", 3, 3); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, kc.Bootstrap(integration.Plaintext), func(cfg *gregor.ConnConfig) {
		cfg.RequestTimeout = 10 * time.Second
	})
	// listFrom sends ListOffsets to the partition leader until it answers
	// without error, feeding body errors back to the client.
	listFrom := func(partition int32) int32 {
		t.Helper()
		for {
			rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			r, err := c.Request(rctx, Leader("failover", partition), Wrap(listOffsets("failover", partition)))
			cancel()
			if err == nil {
				kerr := listOffsetsErr(t, r)
				if kerr == nil {
					return r.Broker
				}
				err = kerr
			}
			if !c.HandleError(Leader("failover", partition), err) && !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("partition %d: non-retriable %v", partition, err)
			}
			if ctx.Err() != nil {
				t.Fatalf("partition %d: no leader answered: %v", partition, err)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	old := listFrom(0)
	idx := int(old) - 1
	if err := kc.KillNode(ctx, idx); err != nil {
		t.Fatal(err)
	}
	restarted := false
	defer func() {
		if restarted {
			return
		}
		if err := kc.StartNode(context.Background(), idx); err != nil {
			t.Errorf("restart node %d: %v", old, err)
		}
	}()
	start := time.Now()
	next := listFrom(0)
	if next == old {
		t.Fatalf("partition 0 still answered by killed broker %d", old)
	}
	t.Logf("leader of failover[0] moved from %d to %d; the client followed in %s", old, next, time.Since(start).Round(time.Millisecond))
	for p := int32(1); p < 3; p++ {
		if b := listFrom(p); b == old {
			t.Fatalf("partition %d answered by killed broker %d", p, old)
		}
	}
	restarted = true
	if err := kc.StartNode(ctx, idx); err != nil {
		t.Fatal(err)
	}
	// After the restart the whole cluster answers again.
	for p := int32(0); p < 3; p++ {
		listFrom(p)
	}
}
