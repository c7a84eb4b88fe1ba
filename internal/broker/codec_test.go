package broker

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/gregorkafka/gregor/sasl"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestVersionBounds checks that the versions the handshake asks for are
// ones the codec encodes and decodes.
func TestVersionBounds(t *testing.T) {
	for _, b := range []struct{ key, lo, hi int16 }{
		{protocol.KeyApiVersions, 0, apiVersionsMax},
		{protocol.KeySaslHandshake, saslHandshakeVer, saslHandshakeVer},
		{protocol.KeySaslAuthenticate, 0, saslAuthenticateMax},
	} {
		lo, hi, ok := protocol.SupportedVersions(b.key)
		if !ok || b.lo < lo || b.hi > hi {
			t.Errorf("%s: asks for v%d-v%d, codec has v%d-v%d", protocol.KeyName(b.key), b.lo, b.hi, lo, hi)
		}
	}
}

// TestApiVersionsSoftwareName checks the first ApiVersions request: v3 with
// the client software name and version (KIP-511), and that the broker's
// ranges are indexed by key.
func TestApiVersionsSoftwareName(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t)
	var mu sync.Mutex
	var got []*kmsg.ApiVersionsRequest
	fake.ControlKey(protocol.KeyApiVersions, func(r kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		mu.Lock()
		got = append(got, r.(*kmsg.ApiVersionsRequest))
		mu.Unlock()
		resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
		resp.ApiKeys = []kmsg.ApiVersionsResponseApiKey{
			{ApiKey: protocol.KeyMetadata, MinVersion: 1, MaxVersion: 12},
			{ApiKey: protocol.KeyApiVersions, MinVersion: 0, MaxVersion: 4},
			{ApiKey: 2000, MinVersion: 0, MaxVersion: 1}, // out of range: ignored
		}
		return resp, nil, true
	})
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0].GetVersion() != 3 || got[0].ClientSoftwareName != gregor.SoftwareName ||
		got[0].ClientSoftwareVersion != gregor.Version {
		t.Fatalf("ApiVersions requests: %+v", got)
	}
	if lo, hi, ok := c.Versions(protocol.KeyMetadata); !ok || lo != 1 || hi != 12 {
		t.Fatalf("Metadata versions %d-%d %v", lo, hi, ok)
	}
	if _, _, ok := c.Versions(protocol.KeyProduce); ok {
		t.Fatal("Produce reported supported though the broker did not list it")
	}
	if _, _, ok := c.Versions(2000); ok {
		t.Fatal("key 2000 reported supported")
	}
}

// TestApiVersionsFallbackToV0 answers every ApiVersions above v0 the way an
// old broker does, UNSUPPORTED_VERSION in a v0 body, without listing
// ApiVersions itself: the client decodes that body at v0, retries at v0 and
// the connection works.
func TestApiVersionsFallbackToV0(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	var versions []int16
	var mu sync.Mutex
	fake.ControlKey(protocol.KeyApiVersions, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		mu.Lock()
		defer mu.Unlock()
		versions = append(versions, kreq.GetVersion())
		if kreq.GetVersion() > 0 {
			resp := kmsg.NewPtrApiVersionsResponse()
			resp.SetVersion(0)
			resp.ErrorCode = protocol.ErrUnsupportedVersion.Code
			resp.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{ApiKey: protocol.KeyMetadata, MinVersion: 0, MaxVersion: 12}}
			return resp, nil, true
		}
		return nil, nil, false
	})
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	if _, err := metadataFor(t, c, context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(versions) != 2 || versions[0] != 3 || versions[1] != 0 {
		t.Fatalf("ApiVersions versions sent: %v, want [3 0]", versions)
	}
}

// TestApiVersionsUnsupportedAtV0 rejects even v0: the dial fails with
// UNSUPPORTED_VERSION instead of looping.
func TestApiVersionsUnsupportedAtV0(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t)
	fake.ControlKey(protocol.KeyApiVersions, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		resp := kmsg.NewPtrApiVersionsResponse()
		resp.SetVersion(0)
		resp.ErrorCode = protocol.ErrUnsupportedVersion.Code
		return resp, nil, true
	})
	cfg := testConfig(fake.ListenAddrs(), nil)
	_, err := Dial(context.Background(), cfg, nil, 0, cfg.SeedBrokers[0], "test")
	if !errors.Is(err, protocol.ErrUnsupportedVersion) {
		t.Fatalf("got %v, want UNSUPPORTED_VERSION", err)
	}
}

// TestSASLSessionLifetime runs SaslHandshake v1 and SaslAuthenticate v2
// against a broker granting a short session (KIP-368): the connection
// re-authenticates on its own and stays usable.
func TestSASLSessionLifetime(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	var mu sync.Mutex
	var mechs []string
	var auths []*kmsg.SASLAuthenticateRequest
	fake.ControlKey(protocol.KeySaslHandshake, func(r kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		req := r.(*kmsg.SASLHandshakeRequest)
		mu.Lock()
		mechs = append(mechs, req.Mechanism)
		mu.Unlock()
		resp := req.ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.SupportedMechanisms = []string{"PLAIN"}
		return resp, nil, true
	})
	fake.ControlKey(protocol.KeySaslAuthenticate, func(r kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		req := r.(*kmsg.SASLAuthenticateRequest)
		mu.Lock()
		auths = append(auths, req)
		mu.Unlock()
		resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.SessionLifetimeMillis = 300
		return resp, nil, true
	})
	c := dial(t, testConfig(fake.ListenAddrs(), func(cfg *gregor.ConnConfig) {
		cfg.SASL = sasl.Plain{User: "u", Password: "p"}
	}))
	deadline := time.Now().Add(5 * time.Second)
	for c.Reauthentications() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d re-authentications after 5s with a 300ms session", c.Reauthentications())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := metadataFor(t, c, context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(mechs) < 3 || mechs[0] != "PLAIN" {
		t.Fatalf("handshakes: %v", mechs)
	}
	for _, a := range auths {
		if a.GetVersion() != 2 || string(a.SASLAuthBytes) != "\x00u\x00p" {
			t.Fatalf("SaslAuthenticate v%d %q", a.GetVersion(), a.SASLAuthBytes)
		}
	}
}

// TestSASLHandshakeRefused names the broker's mechanisms in the AuthError.
func TestSASLHandshakeRefused(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t)
	fake.ControlKey(protocol.KeySaslHandshake, func(r kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		resp := r.ResponseKind().(*kmsg.SASLHandshakeResponse)
		resp.ErrorCode = protocol.ErrUnsupportedSASLMechanism.Code
		resp.SupportedMechanisms = []string{"SCRAM-SHA-512", "OAUTHBEARER"}
		return resp, nil, true
	})
	cfg := testConfig(fake.ListenAddrs(), func(cfg *gregor.ConnConfig) { cfg.SASL = sasl.Plain{User: "u", Password: "p"} })
	_, err := Dial(context.Background(), cfg, nil, 0, cfg.SeedBrokers[0], "test")
	var ae *gregor.AuthError
	if !errors.As(err, &ae) || !errors.Is(err, protocol.ErrUnsupportedSASLMechanism) || ae.Message != "broker mechanisms: SCRAM-SHA-512,OAUTHBEARER" {
		t.Fatalf("got %v, want an AuthError listing the broker's mechanisms", err)
	}
}

func TestSkipHeaderTags(t *testing.T) {
	for _, tc := range []struct {
		in, rest []byte
		err      error
	}{
		{[]byte{0, 9, 9}, []byte{9, 9}, nil},
		{[]byte{2, 0, 1, 7, 5, 2, 8, 8, 9}, []byte{9}, nil},
		{[]byte{1, 0, 3, 7}, nil, protocol.ErrTruncated},
		{[]byte{}, nil, protocol.ErrTruncated},
		{[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, nil, protocol.ErrMalformed},
	} {
		rest, err := skipHeaderTags(tc.in)
		if !errors.Is(err, tc.err) || string(rest) != string(tc.rest) {
			t.Errorf("%x: got %x %v, want %x %v", tc.in, rest, err, tc.rest, tc.err)
		}
	}
}
