package sasl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/xdg-go/scram"
)

func TestPlainMessage(t *testing.T) {
	x, msg, err := Plain{User: "alice", Password: "alice-secret"}.Start(context.Background(), "b:9092")
	if err != nil {
		t.Fatal(err)
	}
	if want := "\x00alice\x00alice-secret"; string(msg) != want {
		t.Fatalf("message %q, want %q", msg, want)
	}
	done, resp, err := x.Next(nil)
	if !done || resp != nil || err != nil {
		t.Fatalf("Next = %v %q %v", done, resp, err)
	}
	for _, p := range []Plain{{User: "a"}, {Password: "p"}, {User: "a\x00b", Password: "p"}} {
		if _, _, err := p.Start(context.Background(), ""); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%v: err %v, want ErrInvalidConfig", p, err)
		}
	}
}

// printedForms renders v every way a user or a logger might.
func printedForms(v any) string {
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "sasl", v)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "sasl", v)
	return fmt.Sprintf("%v|%+v|%#v|%s|", v, v, v, v) + logged.String()
}

func TestSecretsNeverPrinted(t *testing.T) {
	const secret = "hunter2-very-secret"
	mechs := []any{
		Plain{User: "alice", Password: secret},
		&Plain{User: "alice", Password: secret},
		Scram{Hash: ScramSHA512, User: "alice", Password: secret},
		OAuthBearer{Source: StaticToken(Token{Value: secret}), Extensions: map[string]string{"x": "y"}},
		Token{Value: secret, Expiry: time.Unix(1e9, 0)},
		struct{ M Mechanism }{Plain{User: "alice", Password: secret}},
	}
	for _, m := range mechs {
		out := printedForms(m)
		if strings.Contains(out, secret) {
			t.Errorf("secret printed: %s", out)
		}
	}
	if out := printedForms(Plain{User: "alice", Password: secret}); !strings.Contains(out, "alice") {
		t.Errorf("user name should stay visible: %s", out)
	}
}

func scramServer(t *testing.T, hash scram.HashGeneratorFcn, user, password string) *scram.Server {
	t.Helper()
	client, err := hash.NewClient(user, password, "")
	if err != nil {
		t.Fatal(err)
	}
	creds, err := client.GetStoredCredentialsWithError(scram.KeyFactors{Salt: "c2FsdHNhbHQ=", Iters: 4096})
	if err != nil {
		t.Fatal(err)
	}
	server, err := hash.NewServer(func(name string) (scram.StoredCredentials, error) {
		if name != user {
			return scram.StoredCredentials{}, errors.New("unknown user")
		}
		return creds, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return server
}

// runScram plays the exchange against an xdg-go server conversation the way
// SaslAuthenticate would carry it.
func runScram(t *testing.T, mech Scram, server *scram.Server) error {
	t.Helper()
	x, msg, err := mech.Start(context.Background(), "")
	if err != nil {
		return err
	}
	conv := server.NewConversation()
	for i := 0; i < 4; i++ {
		reply, serr := conv.Step(string(msg))
		if serr != nil && reply == "" {
			return fmt.Errorf("%w: server: %v", ErrAuthentication, serr)
		}
		done, next, err := x.Next([]byte(reply))
		if err != nil {
			return err
		}
		if done {
			if !conv.Valid() {
				t.Fatal("client finished but the server did not accept")
			}
			return nil
		}
		msg = next
	}
	t.Fatal("exchange did not finish")
	return nil
}

func TestScramAgainstServer(t *testing.T) {
	for _, tc := range []struct {
		hash ScramHash
		fn   scram.HashGeneratorFcn
		name string
	}{{ScramSHA256, scram.SHA256, "SCRAM-SHA-256"}, {ScramSHA512, scram.SHA512, "SCRAM-SHA-512"}} {
		server := scramServer(t, tc.fn, "alice", "alice-secret")
		good := Scram{Hash: tc.hash, User: "alice", Password: "alice-secret"}
		if good.Name() != tc.name {
			t.Fatalf("name %s", good.Name())
		}
		if err := runScram(t, good, server); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		bad := Scram{Hash: tc.hash, User: "alice", Password: "wrong"}
		err := runScram(t, bad, server)
		if !errors.Is(err, ErrAuthentication) {
			t.Fatalf("%s wrong password: err %v, want ErrAuthentication", tc.name, err)
		}
		if strings.Contains(fmt.Sprint(err), "wrong") {
			t.Fatalf("error shows the password: %v", err)
		}
	}
}

func TestScramRejectsForgedServerSignature(t *testing.T) {
	server := scramServer(t, scram.SHA256, "alice", "alice-secret")
	x, msg, err := Scram{User: "alice", Password: "alice-secret"}.Start(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	conv := server.NewConversation()
	first, err := conv.Step(string(msg))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := x.Next([]byte(first)); err != nil {
		t.Fatal(err)
	}
	forged := "v=" + strings.Repeat("A", 44)
	if done, _, err := x.Next([]byte(forged)); done || !errors.Is(err, ErrAuthentication) {
		t.Fatalf("forged signature accepted: done=%v err=%v", done, err)
	}
}

func TestOAuthBearerMessage(t *testing.T) {
	mech := OAuthBearer{
		Source:     StaticToken(Token{Value: "eyJ.abc.def"}),
		AuthzID:    "svc,a=b",
		Extensions: map[string]string{"logicalCluster": "lkc-1", "identityPool": "pool-2"},
	}
	x, msg, err := mech.Start(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	want := "n,a=svc=2Ca=3Db,\x01auth=Bearer eyJ.abc.def\x01identityPool=pool-2\x01logicalCluster=lkc-1\x01\x01"
	if string(msg) != want {
		t.Fatalf("message %q\nwant    %q", msg, want)
	}
	if done, _, err := x.Next(nil); !done || err != nil {
		t.Fatalf("empty reply should finish: %v %v", done, err)
	}
}

func TestOAuthBearerServerError(t *testing.T) {
	x, _, err := OAuthBearer{Source: StaticToken(Token{Value: "tok"})}.Start(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	done, resp, err := x.Next([]byte(`{"status":"invalid_token"}`))
	if done || err != nil || !bytes.Equal(resp, []byte{1}) {
		t.Fatalf("first error reply: %v %q %v", done, resp, err)
	}
	if _, _, err := x.Next(nil); !errors.Is(err, ErrAuthentication) || !strings.Contains(err.Error(), "invalid_token") {
		t.Fatalf("second reply: %v", err)
	}
}

func TestOAuthBearerRejectsBadInput(t *testing.T) {
	const secret = "abc\x01auth=x"
	cases := []OAuthBearer{
		{},
		{Source: StaticToken(Token{Value: ""})},
		{Source: StaticToken(Token{Value: secret})},
		{Source: StaticToken(Token{Value: "ok"}), Extensions: map[string]string{"auth": "x"}},
		{Source: StaticToken(Token{Value: "ok"}), Extensions: map[string]string{"k1": "x"}},
		{Source: StaticToken(Token{Value: "ok"}), Extensions: map[string]string{"k": "x\x01"}},
		{Source: StaticToken(Token{Value: "ok", Expiry: time.Now().Add(-time.Minute)})},
	}
	for i, m := range cases {
		_, _, err := m.Start(context.Background(), "")
		if !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("case %d: err %v, want ErrInvalidConfig", i, err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("case %d: error shows the token", i)
		}
	}
	boom := errors.New("idp down")
	_, _, err := OAuthBearer{Source: TokenSourceFunc(func(context.Context) (Token, error) { return Token{}, boom })}.Start(context.Background(), "")
	if !errors.Is(err, boom) {
		t.Fatalf("source error lost: %v", err)
	}
}

type countingSource struct {
	calls int
	fail  bool
	life  time.Duration
	now   *time.Time
}

func (c *countingSource) Token(context.Context) (Token, error) {
	c.calls++
	if c.fail {
		return Token{}, errors.New("idp down")
	}
	return Token{Value: fmt.Sprintf("t%d", c.calls), Expiry: c.now.Add(c.life)}, nil
}

func TestRefreshingSource(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	src := &countingSource{life: 100 * time.Second, now: &now}
	r, err := NewRefreshingSource(src, 0)
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return now }
	ctx := context.Background()
	get := func() (string, error) {
		tok, err := r.Token(ctx)
		return tok.Value, err
	}
	if v, _ := get(); v != "t1" {
		t.Fatalf("first token %s", v)
	}
	now = now.Add(79 * time.Second)
	if v, _ := get(); v != "t1" || src.calls != 1 {
		t.Fatalf("refreshed too early: %s after %d calls", v, src.calls)
	}
	now = now.Add(1 * time.Second) // 80% of the lifetime
	if v, _ := get(); v != "t2" {
		t.Fatalf("not refreshed at 80%%: %s", v)
	}
	src.fail = true
	now = now.Add(85 * time.Second) // t2 is due but still valid for 15 s
	if v, err := get(); v != "t2" || err != nil {
		t.Fatalf("failed refresh should keep the valid token: %s %v", v, err)
	}
	now = now.Add(20 * time.Second) // t2 expired
	if _, err := get(); !errors.Is(err, ErrTokenExpired) {
		t.Fatalf("expired token: err %v, want ErrTokenExpired", err)
	}
	src.fail = false
	if v, err := get(); v == "" || err != nil {
		t.Fatalf("recovery: %s %v", v, err)
	}
	if _, err := NewRefreshingSource(src, 0.3); !errors.Is(err, ErrInvalidConfig) {
		t.Fatalf("fraction 0.3 accepted: %v", err)
	}
}
