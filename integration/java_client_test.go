package integration_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/integration"
)

// TestJavaClientSCRAM checks the SCRAM users with Kafka's own Java client
// (TopicCommand --list), since Debian's kcat cannot do SCRAM against Kafka 4.
func TestJavaClientSCRAM(t *testing.T) {
	c := integration.Shared(t, single)
	cases := []struct {
		listener integration.Listener
		mech     string
		user     integration.Credential
		ok       bool
	}{
		{integration.SASLPlaintext, integration.MechanismSCRAMSHA256, integration.AliceUser, true},
		{integration.SASLPlaintext, integration.MechanismSCRAMSHA512, integration.AdminUser, true},
		{integration.SASLSSL, integration.MechanismSCRAMSHA256, integration.AliceUser, true},
		{integration.SASLSSL, integration.MechanismSCRAMSHA512, integration.AdminUser, true},
		{integration.SASLPlaintext, integration.MechanismSCRAMSHA512,
			integration.Credential{Username: integration.AliceUser.Username, Password: "not-the-password"}, false},
	}
	for _, tc := range cases {
		name := fmt.Sprintf("%s/%s/%s", tc.listener, tc.mech, map[bool]string{true: "valid", false: "wrong-password"}[tc.ok])
		t.Run(name, func(t *testing.T) {
			if !c.Has(tc.listener) {
				t.Skipf("cluster has no %s listener", tc.listener)
			}
			props := fmt.Sprintf("security.protocol=%s\nsasl.mechanism=%s\n"+
				"sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=%q password=%q;\n",
				tc.listener, tc.mech, tc.user.Username, tc.user.Password)
			if tc.listener == integration.SASLSSL {
				props += "ssl.truststore.type=PEM\nssl.truststore.location=" + c.TLSFiles().CA + "\n"
			}
			file := filepath.Join(t.TempDir(), "client.properties")
			if err := os.WriteFile(file, []byte(props), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			_, err := integration.RunTool(ctx, "org.apache.kafka.tools.TopicCommand",
				"--bootstrap-server", strings.Join(c.Bootstrap(tc.listener), ","), "--command-config", file, "--list")
			switch {
			case tc.ok && err != nil:
				t.Fatalf("Java client with %s over %s failed: %v", tc.mech, tc.listener, err)
			case !tc.ok && err == nil:
				t.Fatalf("Java client with a wrong %s password over %s succeeded, want a refusal", tc.mech, tc.listener)
			case !tc.ok && !strings.Contains(err.Error(), "Authentication failed"):
				t.Fatalf("Java client failed, but not with an authentication error: %v", err)
			}
			t.Logf("Java client, %s over %s as %s: ok=%t as expected", tc.mech, tc.listener, tc.user.Username, tc.ok)
		})
	}
}
