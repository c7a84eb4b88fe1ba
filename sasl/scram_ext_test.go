package sasl

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/xdg-go/scram"
)

func TestScramTokenAuthClientFirst(t *testing.T) {
	const secret = "aG1hYy1vZi10aGUtdG9rZW4="
	_, msg, err := Scram{Hash: ScramSHA512, User: "tok=en,1", Password: secret, TokenAuth: true}.Start(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	s := string(msg)
	if !strings.HasPrefix(s, "n,,n=tok=3Den=2C1,r=") || !strings.HasSuffix(s, ",tokenauth=true") {
		t.Fatalf("client-first %q", s)
	}
	nonce := strings.TrimSuffix(strings.TrimPrefix(s, "n,,n=tok=3Den=2C1,r="), ",tokenauth=true")
	if len(nonce) < 24 || strings.ContainsAny(nonce, ",=") {
		t.Fatalf("nonce %q", nonce)
	}
	if strings.Contains(s, secret) {
		t.Fatal("client-first message carries the password")
	}
	// Without TokenAuth the message has no extension.
	_, msg, err = Scram{User: "u", Password: "p"}.Start(context.Background(), "")
	if err != nil || strings.Contains(string(msg), "tokenauth") {
		t.Fatalf("plain SCRAM first message %q %v", msg, err)
	}
	out := printedForms(Scram{User: "tok", Password: secret, TokenAuth: true})
	if strings.Contains(out, secret) || !strings.Contains(out, "tokenauth") {
		t.Fatalf("printed: %s", out)
	}
}

// The xdg-go server keeps everything after the user name in the
// client-first-bare message, extensions included, so a full exchange with
// it shows that the proof and the server signature cover the extension.
func TestScramTokenAuthAgainstServer(t *testing.T) {
	for _, tc := range []struct {
		hash ScramHash
		fn   scram.HashGeneratorFcn
	}{{ScramSHA256, scram.SHA256}, {ScramSHA512, scram.SHA512}} {
		server := scramServer(t, tc.fn, "token-id", "token-hmac")
		if err := runScram(t, Scram{Hash: tc.hash, User: "token-id", Password: "token-hmac", TokenAuth: true}, server); err != nil {
			t.Fatalf("%v: %v", tc.hash, err)
		}
		err := runScram(t, Scram{Hash: tc.hash, User: "token-id", Password: "wrong", TokenAuth: true}, server)
		if !errors.Is(err, ErrAuthentication) || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("wrong HMAC: %v", err)
		}
	}
}

// A client-first message stripped of its extension on the way must make
// the proof fail: the broker would otherwise authenticate a token as a user.
func TestScramTokenAuthExtensionCovered(t *testing.T) {
	server := scramServer(t, scram.SHA256, "token-id", "token-hmac")
	x, msg, err := Scram{User: "token-id", Password: "token-hmac", TokenAuth: true}.Start(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	conv := server.NewConversation()
	first, err := conv.Step(strings.TrimSuffix(string(msg), ",tokenauth=true"))
	if err != nil {
		t.Fatal(err)
	}
	_, final, err := x.Next([]byte(first))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conv.Step(string(final)); err == nil || conv.Valid() {
		t.Fatal("the server accepted a proof over a different client-first message")
	}
}

func TestScramTokenAuthBadServer(t *testing.T) {
	for name, tc := range map[string]func(nonce string) string{
		"foreign nonce": func(string) string { return "r=other,s=c2FsdA==,i=4096" },
		"few iters":     func(n string) string { return "r=" + n + "x,s=c2FsdA==,i=100" },
		"error":         func(string) string { return "e=unknown-user" },
		"bad salt":      func(n string) string { return "r=" + n + "x,s=!!,i=4096" },
	} {
		x, msg, err := Scram{User: "t", Password: "p", TokenAuth: true}.Start(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		nonce := strings.TrimSuffix(strings.SplitN(string(msg), ",r=", 2)[1], ",tokenauth=true")
		if _, _, err := x.Next([]byte(tc(nonce))); !errors.Is(err, ErrAuthentication) {
			t.Errorf("%s: %v", name, err)
		}
		if _, _, err := x.Next([]byte("v=AAAA")); err == nil {
			t.Errorf("%s: exchange went on after a failure", name)
		}
	}
}
