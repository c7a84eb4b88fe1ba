package integration_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/integration"
)

// single is the single-node shape the kcat listener checks run against.
// The authorizer is on, so the checks also show that the super user
// ANONYMOUS keeps the inter-broker and controller traffic working and that
// ordinary users authenticate.
var single = integration.LocalConfig{Nodes: 1, SASL: true, TLS: true, Authorizer: true}

// kcatPath finds kcat, failing in CI and skipping elsewhere when it is absent.
func kcatPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		integration.Unavailable(t, fmt.Errorf("kcat is not installed (make deps installs it): %w", err))
	}
	return p
}

// kcat runs kcat with args and stdin, bounded by timeout.
func kcat(t *testing.T, timeout time.Duration, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, kcatPath(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return out.String(), errb.String(), err
}

// metadata is the part of `kcat -L -J` output the tests read.
type metadata struct {
	Brokers []struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	} `json:"brokers"`
	Topics []struct {
		Topic      string          `json:"topic"`
		Error      string          `json:"error"`
		Partitions []partitionMeta `json:"partitions"`
	} `json:"topics"`
}

// partitionMeta is one partition in `kcat -L -J` output.
type partitionMeta struct {
	Partition int `json:"partition"`
	Leader    int `json:"leader"`
	ISRs      []struct {
		ID int `json:"id"`
	} `json:"isrs"`
}

func parseMetadata(t *testing.T, out string) metadata {
	t.Helper()
	var md metadata
	if err := json.Unmarshal([]byte(out), &md); err != nil {
		t.Fatalf("kcat -L -J printed no JSON: %v\n%s", err, out)
	}
	return md
}

// securityArgs are the kcat -X options for a listener and SASL mechanism.
func securityArgs(c *integration.Cluster, l integration.Listener, mech string, user integration.Credential) []string {
	files := c.TLSFiles()
	var args []string
	switch l {
	case integration.Plaintext:
	case integration.SASLPlaintext, integration.SASLSSL:
		args = append(args, "-X", "security.protocol="+l.String(), "-X", "sasl.mechanisms="+mech,
			"-X", "sasl.username="+user.Username, "-X", "sasl.password="+user.Password)
	case integration.SSL, integration.MTLS:
		args = append(args, "-X", "security.protocol=SSL")
	}
	if l == integration.SSL || l == integration.SASLSSL || l == integration.MTLS {
		args = append(args, "-X", "ssl.ca.location="+files.CA)
	}
	return args
}

func TestKcatMetadataOverEveryListener(t *testing.T) {
	c := integration.Shared(t, single)
	cases := []struct {
		name     string
		listener integration.Listener
		mech     string
		extra    []string
	}{
		{"PLAINTEXT", integration.Plaintext, "", nil},
		{"SASL_PLAINTEXT/PLAIN", integration.SASLPlaintext, integration.MechanismPlain, nil},
		{"SASL_PLAINTEXT/SCRAM-SHA-256", integration.SASLPlaintext, integration.MechanismSCRAMSHA256, nil},
		{"SASL_PLAINTEXT/SCRAM-SHA-512", integration.SASLPlaintext, integration.MechanismSCRAMSHA512, nil},
		{"SSL", integration.SSL, "", nil},
		{"SASL_SSL/PLAIN", integration.SASLSSL, integration.MechanismPlain, nil},
		{"SASL_SSL/SCRAM-SHA-256", integration.SASLSSL, integration.MechanismSCRAMSHA256, nil},
		{"SASL_SSL/SCRAM-SHA-512", integration.SASLSSL, integration.MechanismSCRAMSHA512, nil},
		{"MTLS", integration.MTLS, "", []string{"-X", "ssl.certificate.location=" + c.TLSFiles().ClientCert,
			"-X", "ssl.key.location=" + c.TLSFiles().ClientKey}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !c.Has(tc.listener) {
				t.Skipf("cluster has no %s listener", tc.listener)
			}
			skipBrokenSCRAM(t, tc.mech)
			addr := c.Bootstrap(tc.listener)
			args := append([]string{"-L", "-J", "-m", "15", "-b", strings.Join(addr, ",")},
				securityArgs(c, tc.listener, tc.mech, integration.AliceUser)...)
			args = append(args, tc.extra...)
			out, stderr, err := kcat(t, 30*time.Second, "", args...)
			if err != nil {
				t.Fatalf("kcat -L over %s failed: %v\n%s", tc.name, err, stderr)
			}
			md := parseMetadata(t, out)
			if len(md.Brokers) != c.Nodes() && !c.External() {
				t.Fatalf("metadata lists %d brokers, want %d: %s", len(md.Brokers), c.Nodes(), out)
			}
			// The broker advertises the address of the listener we connected to.
			if !c.External() && md.Brokers[0].Name != addr[0] {
				t.Fatalf("broker advertised %q on %s, want %q", md.Brokers[0].Name, tc.name, addr[0])
			}
			t.Logf("kcat -L over %s: OK, broker %d at %s", tc.name, md.Brokers[0].ID, md.Brokers[0].Name)
		})
	}
}

func TestKcatRefusals(t *testing.T) {
	c := integration.Shared(t, single)
	wrong := integration.Credential{Username: integration.AliceUser.Username, Password: "not-the-password"}
	cases := []struct {
		name     string
		listener integration.Listener
		args     []string
		want     []string // any of these in kcat's stderr
	}{
		{"wrong password PLAIN", integration.SASLPlaintext,
			securityArgs(c, integration.SASLPlaintext, integration.MechanismPlain, wrong), []string{"Authentication failed", "invalid credentials"}},
		{"wrong password SCRAM-SHA-256", integration.SASLPlaintext,
			securityArgs(c, integration.SASLPlaintext, integration.MechanismSCRAMSHA256, wrong), []string{"Authentication failed", "invalid credentials"}},
		{"wrong password SCRAM-SHA-512 over SASL_SSL", integration.SASLSSL,
			securityArgs(c, integration.SASLSSL, integration.MechanismSCRAMSHA512, wrong), []string{"Authentication failed", "invalid credentials"}},
		{"unknown user PLAIN", integration.SASLPlaintext,
			securityArgs(c, integration.SASLPlaintext, integration.MechanismPlain, integration.Credential{Username: "mallory", Password: "x"}),
			[]string{"Authentication failed", "invalid credentials"}},
		{"mTLS without client certificate", integration.MTLS,
			securityArgs(c, integration.MTLS, "", integration.Credential{}), []string{"bad certificate", "certificate required"}},
		{"SSL with untrusted CA", integration.SSL,
			[]string{"-X", "security.protocol=SSL", "-X", "ssl.ca.location=" + c.TLSFiles().ClientCert},
			[]string{"certificate verify failed"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each refusal takes kcat's whole 5 s metadata timeout
			if !c.Has(tc.listener) {
				t.Skipf("cluster has no %s listener", tc.listener)
			}
			if strings.Contains(tc.name, "SCRAM") {
				skipBrokenSCRAM(t, "SCRAM")
			}
			args := append([]string{"-L", "-J", "-m", "5", "-b", strings.Join(c.Bootstrap(tc.listener), ",")}, tc.args...)
			out, stderr, err := kcat(t, 30*time.Second, "", args...)
			if err == nil {
				t.Fatalf("kcat -L succeeded, want a refusal; stdout:\n%s", out)
			}
			if !slices.ContainsFunc(tc.want, func(w string) bool { return strings.Contains(stderr, w) }) {
				t.Fatalf("kcat failed (%v) without any of %q in its stderr:\n%s", err, tc.want, stderr)
			}
			t.Logf("refused as expected: %s", firstLine(stderr, tc.want))
		})
	}
}

func firstLine(s string, any []string) string {
	for _, line := range strings.Split(s, "\n") {
		for _, w := range any {
			if strings.Contains(line, w) {
				return strings.TrimSpace(line)
			}
		}
	}
	return ""
}

var librdkafka struct {
	once                sync.Once
	major, minor, patch int
	text                string
}

// skipBrokenSCRAM skips a kcat SCRAM check when kcat's librdkafka predates
// 2.6.1: older versions repeat the client nonce in the SCRAM final message,
// which Kafka 4.x brokers reject as invalid credentials
// (confluentinc/librdkafka#4895). Debian 12's kcat ships librdkafka 2.0.2.
// TestJavaClientSCRAM covers SCRAM with Kafka's own client instead.
func skipBrokenSCRAM(t *testing.T, mech string) {
	t.Helper()
	if !strings.HasPrefix(mech, "SCRAM") {
		return
	}
	librdkafka.once.Do(func() {
		out, _ := exec.Command(kcatPath(t), "-V").CombinedOutput()
		m := regexp.MustCompile(`librdkafka (\d+)\.(\d+)\.(\d+)`).FindStringSubmatch(string(out))
		if m != nil {
			librdkafka.major, _ = strconv.Atoi(m[1])
			librdkafka.minor, _ = strconv.Atoi(m[2])
			librdkafka.patch, _ = strconv.Atoi(m[3])
			librdkafka.text = m[0]
		}
	})
	v := librdkafka.major*1_000_000 + librdkafka.minor*1_000 + librdkafka.patch
	if v < 2_006_001 {
		t.Skipf("kcat uses %q (< 2.6.1), whose SCRAM client Kafka 4.x rejects (librdkafka#4895); TestJavaClientSCRAM checks SCRAM instead",
			librdkafka.text)
	}
}
