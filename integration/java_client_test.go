package integration_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
			file := clientProperties(t, c, tc.listener, tc.mech, tc.user)
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

// clientProperties writes a Java client configuration for a SASL listener.
func clientProperties(t *testing.T, c *integration.Cluster, l integration.Listener, mech string, user integration.Credential) string {
	t.Helper()
	module := "org.apache.kafka.common.security.scram.ScramLoginModule"
	if mech == integration.MechanismPlain {
		module = "org.apache.kafka.common.security.plain.PlainLoginModule"
	}
	props := fmt.Sprintf("security.protocol=%s\nsasl.mechanism=%s\nsasl.jaas.config=%s required username=%q password=%q;\n",
		l, mech, module, user.Username, user.Password)
	if l == integration.SASLSSL {
		props += "ssl.truststore.type=PEM\nssl.truststore.location=" + c.TLSFiles().CA + "\n"
	}
	file := filepath.Join(t.TempDir(), "client.properties")
	if err := os.WriteFile(file, []byte(props), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestAuthorizer checks LocalConfig.Authorizer: with no ACLs, the ordinary
// user alice may not create a topic, and the super user admin may.
func TestAuthorizer(t *testing.T) {
	c := integration.Shared(t, single)
	if c.External() || !c.Has(integration.SASLPlaintext) {
		t.Skip("needs the harness's own SASL cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	create := func(user integration.Credential, topic string) error {
		file := clientProperties(t, c, integration.SASLPlaintext, integration.MechanismPlain, user)
		_, err := integration.RunTool(ctx, "org.apache.kafka.tools.TopicCommand",
			"--bootstrap-server", strings.Join(c.Bootstrap(integration.SASLPlaintext), ","), "--command-config", file,
			"--create", "--topic", topic, "--partitions", "1")
		return err
	}
	err := create(integration.AliceUser, fmt.Sprintf("denied-%d", time.Now().UnixNano()))
	if err == nil || !strings.Contains(err.Error(), "Authorization failed") {
		t.Fatalf("alice created a topic without ACLs; want an authorization failure, got %v", err)
	}
	if err := create(integration.AdminUser, fmt.Sprintf("allowed-%d", time.Now().UnixNano())); err != nil {
		t.Fatalf("super user admin could not create a topic: %v", err)
	}
	t.Log("authorizer: alice denied topic creation, super user admin allowed")
}

// TestExternalBootstrap points Shared at a running cluster through
// GREGOR_TEST_BOOTSTRAP and checks what an external cluster offers.
func TestExternalBootstrap(t *testing.T) {
	c := integration.Shared(t, single)
	if c.External() {
		t.Skip("already running against an external cluster")
	}
	boot := c.Bootstrap(integration.Plaintext)
	t.Setenv(integration.BootstrapEnv, strings.Join(boot, ","))
	ext := integration.Shared(t, integration.LocalConfig{Nodes: 3, SASL: true})
	if !ext.External() || !slices.Equal(ext.Bootstrap(integration.Plaintext), boot) {
		t.Fatalf("Shared with %s set: external=%t bootstrap=%v, want %v", integration.BootstrapEnv, ext.External(),
			ext.Bootstrap(integration.Plaintext), boot)
	}
	if ext.Has(integration.SASLPlaintext) || ext.Bootstrap(integration.SASLPlaintext) != nil {
		t.Fatal("an external cluster claims a SASL listener")
	}
	if err := ext.KillNode(context.Background(), 0); !errors.Is(err, integration.ErrExternal) {
		t.Fatalf("KillNode on an external cluster: %v, want ErrExternal", err)
	}
	out, stderr, err := kcat(t, 30*time.Second, "", "-L", "-J", "-m", "10", "-b", strings.Join(ext.Bootstrap(integration.Plaintext), ","))
	if err != nil {
		t.Fatalf("kcat -L on the external cluster: %v\n%s", err, stderr)
	}
	if md := parseMetadata(t, out); len(md.Brokers) == 0 {
		t.Fatal("external cluster lists no brokers")
	}
	t.Log("GREGOR_TEST_BOOTSTRAP: Shared returned the external cluster, plaintext only, node control refused")
}
