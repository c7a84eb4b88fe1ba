package examples_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/sasl"
)

// testSecure runs the secure example over every secured listener of the
// shared cluster, then with a wrong password and with an untrusted broker
// certificate, and checks the exit status that tells those apart and that
// no password ever shows in the output.
func testSecure(t *testing.T, rn runner, c *integration.Cluster) {
	files := c.TLSFiles()
	alice := integration.AliceUser
	wrong := "wrong-" + alice.Password + "-x"
	cases := []struct {
		name     string
		listener integration.Listener
		password string
		args     []string
		code     int    // expected exit status
		want     string // expected in the output
	}{
		{"SASL_PLAINTEXT/PLAIN", integration.SASLPlaintext, alice.Password,
			[]string{"-sasl-mechanism", "PLAIN", "-user", alice.Username}, 0, "read it back"},
		{"SASL_PLAINTEXT/SCRAM-SHA-512", integration.SASLPlaintext, alice.Password,
			[]string{"-sasl-mechanism", "SCRAM-SHA-512", "-user", alice.Username}, 0, "read it back"},
		{"SASL_SSL/SCRAM-SHA-512", integration.SASLSSL, alice.Password,
			[]string{"-sasl-mechanism", "SCRAM-SHA-512", "-user", alice.Username, "-ca-file", files.CA}, 0, "read it back"},
		{"SASL_SSL/PLAIN", integration.SASLSSL, alice.Password,
			[]string{"-sasl-mechanism", "PLAIN", "-user", alice.Username, "-ca-file", files.CA}, 0, "read it back"},
		{"SSL", integration.SSL, "", []string{"-ca-file", files.CA}, 0, "read it back"},
		{"MTLS", integration.MTLS, "",
			[]string{"-ca-file", files.CA, "-cert-file", files.ClientCert, "-key-file", files.ClientKey}, 0, "read it back"},
		{"wrong password", integration.SASLSSL, wrong,
			[]string{"-sasl-mechanism", "SCRAM-SHA-512", "-user", alice.Username, "-ca-file", files.CA}, 3, "(*gregor.AuthError, mechanism SCRAM-SHA-512)"},
		{"wrong PLAIN password", integration.SASLPlaintext, wrong,
			[]string{"-sasl-mechanism", "PLAIN", "-user", alice.Username}, 3, "(*gregor.AuthError, mechanism PLAIN)"},
		{"untrusted certificate", integration.SSL, "", []string{"-tls"}, 4, "(*gregor.TLSError)"},
		{"no password", integration.SASLPlaintext, "",
			[]string{"-sasl-mechanism", "PLAIN", "-user", alice.Username}, 2, "SASL needs the password in $GREGOR_SASL_PASSWORD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"-brokers", strings.Join(c.Bootstrap(tc.listener), ","), "-topic", "examples-secure"}, tc.args...)
			res := rn.run(t, []string{"GREGOR_SASL_PASSWORD=" + tc.password}, "secure", args...)
			if res.code != tc.code || !strings.Contains(res.output(), tc.want) {
				t.Fatalf("exit status %d, want %d with %q in the output:\n%s", res.code, tc.code, tc.want, res.output())
			}
			for _, secret := range []string{alice.Password, wrong} {
				if strings.Contains(res.output(), secret) {
					t.Fatalf("the output shows a password:\n%s", res.output())
				}
			}
		})
	}
	t.Run("AuthError in process", func(t *testing.T) {
		leakcheck.Check(t)
		adm, err := admin.New(gregor.ConnConfig{
			SeedBrokers: c.Bootstrap(integration.SASLPlaintext),
			SASL:        sasl.Scram{Hash: sasl.ScramSHA512, User: alice.Username, Password: wrong},
		})
		mustf(t, err, "new admin client")
		defer adm.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, err = adm.ListTopics(ctx, admin.ListTopicsOptions{})
		var authErr *gregor.AuthError
		if !errors.As(err, &authErr) || authErr.Mechanism != "SCRAM-SHA-512" {
			t.Fatalf("list topics with a wrong password: %v (%T), want a *gregor.AuthError for SCRAM-SHA-512", err, err)
		}
		if strings.Contains(err.Error(), wrong) {
			t.Fatalf("the error shows the password: %v", err)
		}
	})
}
