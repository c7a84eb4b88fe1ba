package integration_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/integration"
)

// startContainers starts a container cluster for one test and closes it
// when the test ends. Without a container engine (or image) the test fails
// under CI=true and is skipped, loudly, otherwise.
func startContainers(t *testing.T, cfg integration.ContainerConfig) *integration.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	begin := time.Now()
	c, err := integration.StartContainers(ctx, cfg)
	if err != nil {
		integration.Unavailable(t, fmt.Errorf("start Kafka in containers (DOCKER_HOST=%q, %s=%q): %w",
			os.Getenv("DOCKER_HOST"), integration.ImageEnv, os.Getenv(integration.ImageEnv), err))
	}
	t.Logf("container cluster with %d node(s) started in %s", c.Nodes(), time.Since(begin).Round(time.Millisecond))
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close the container cluster: %v", err)
		}
	})
	c.LogOnFailure(t)
	return c
}

// records returns n distinct record values tagged with prefix.
func records(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%03d", prefix, i)
	}
	return out
}

// produce writes values to partition 0 of topic with kcat, acks=all and
// idempotence, so that a retry during a failover neither loses nor repeats
// a record.
func produce(t *testing.T, brokers []string, topic string, values []string, extra ...string) {
	t.Helper()
	args := append([]string{"-P", "-b", strings.Join(brokers, ","), "-t", topic, "-p", "0",
		"-X", "acks=all", "-X", "enable.idempotence=true", "-X", "message.timeout.ms=60000"}, extra...)
	if _, stderr, err := kcat(t, 90*time.Second, strings.Join(values, "\n")+"\n", args...); err != nil {
		t.Fatalf("kcat produce to %s: %v\n%s", topic, err, stderr)
	}
}

// consume reads partition 0 of topic from the beginning until its end.
func consume(t *testing.T, brokers []string, topic string, extra ...string) []string {
	t.Helper()
	args := append([]string{"-C", "-b", strings.Join(brokers, ","), "-t", topic, "-p", "0", "-o", "beginning",
		"-e", "-q", "-f", "%s\n"}, extra...)
	out, stderr, err := kcat(t, 90*time.Second, "", args...)
	if err != nil {
		t.Fatalf("kcat consume from %s: %v\n%s", topic, err, stderr)
	}
	return strings.Fields(out)
}

// TestContainerSingleNode checks one containerized node end to end: records
// go round trip over PLAINTEXT and over SASL_PLAINTEXT with PLAIN, a wrong
// password is refused, the SSL listener serves the generated certificate on
// its published port, and a node stopped with StopNode comes back with
// StartNode on the same ports with its records.
func TestContainerSingleNode(t *testing.T) {
	kcatPath(t)
	c := startContainers(t, integration.ContainerConfig{Nodes: 1, SASL: true, TLS: true})
	t.Run("PLAINTEXT round trip", func(t *testing.T) {
		want := records("plain", 5)
		produce(t, c.Bootstrap(integration.Plaintext), "ctr-plain", want)
		if got := consume(t, c.Bootstrap(integration.Plaintext), "ctr-plain"); !slices.Equal(got, want) {
			t.Fatalf("consumed %q, want %q", got, want)
		}
	})
	alice := integration.AliceUser
	t.Run("SASL PLAIN round trip", func(t *testing.T) {
		sasl := securityArgs(c, integration.SASLPlaintext, integration.MechanismPlain, alice)
		want := records("sasl", 5)
		produce(t, c.Bootstrap(integration.SASLPlaintext), "ctr-sasl", want, sasl...)
		if got := consume(t, c.Bootstrap(integration.SASLPlaintext), "ctr-sasl", sasl...); !slices.Equal(got, want) {
			t.Fatalf("consumed %q, want %q", got, want)
		}
	})
	t.Run("SASL PLAIN wrong password refused", func(t *testing.T) {
		bad := integration.Credential{Username: alice.Username, Password: "not-" + alice.Password}
		args := append([]string{"-L", "-b", c.Bootstrap(integration.SASLPlaintext)[0], "-m", "4"},
			securityArgs(c, integration.SASLPlaintext, integration.MechanismPlain, bad)...)
		out, stderr, err := kcat(t, 60*time.Second, "", args...)
		if err == nil {
			t.Fatalf("kcat -L with a wrong password succeeded:\n%s", out)
		}
		if !strings.Contains(stderr, "Authentication failed") {
			t.Fatalf("kcat failed without an authentication error: %v\n%s", err, stderr)
		}
	})
	t.Run("SSL metadata", func(t *testing.T) {
		args := append([]string{"-L", "-J", "-b", c.Bootstrap(integration.SSL)[0]},
			securityArgs(c, integration.SSL, "", integration.Credential{})...)
		out, stderr, err := kcat(t, 60*time.Second, "", args...)
		if err != nil {
			t.Fatalf("kcat -L over SSL: %v\n%s", err, stderr)
		}
		if md := parseMetadata(t, out); len(md.Brokers) != 1 {
			t.Fatalf("brokers %+v, want one", md.Brokers)
		}
	})
	t.Run("StopNode and StartNode keep the data", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		begin := time.Now()
		if err := c.StopNode(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if c.Running(0) {
			t.Fatal("node still runs after StopNode")
		}
		stopped := time.Now()
		if err := c.StartNode(ctx, 0); err != nil {
			t.Fatal(err)
		}
		t.Logf("controlled shutdown took %s, restart %s", stopped.Sub(begin).Round(time.Millisecond),
			time.Since(stopped).Round(time.Millisecond))
		if got, want := consume(t, c.Bootstrap(integration.Plaintext), "ctr-plain"), records("plain", 5); !slices.Equal(got, want) {
			t.Fatalf("after the restart consumed %q, want %q", got, want)
		}
	})
}

// TestContainerThreeNodesFailover runs three containerized nodes whose
// controllers vote over the container network. The leader of a topic with
// replication factor 3 is killed while kcat produces with acks=all and
// consumes; after StartNode the node rejoins the ISR and every record is
// read back once, in order.
func TestContainerThreeNodesFailover(t *testing.T) {
	kcatPath(t)
	c := startContainers(t, integration.ContainerConfig{Nodes: 3})
	brokers := c.Bootstrap(integration.Plaintext)
	const topic = "ctr-failover"
	before := records("before", 20)
	produce(t, brokers, topic, before) // auto-created: default.replication.factor=3, min.insync.replicas=2
	p := waitPartition(t, brokers, topic, 3)
	victim := p.Leader - 1
	t.Logf("killing node %d, the leader of %s-0", victim, topic)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	if err := c.KillNode(ctx, victim); err != nil {
		t.Fatal(err)
	}
	if c.Running(victim) {
		t.Fatalf("node %d still runs after KillNode", victim)
	}
	var alive []string
	for i := range c.Nodes() {
		if i != victim {
			alive = append(alive, c.NodeAddr(i, integration.Plaintext))
		}
	}
	during := records("during", 20)
	produce(t, alive, topic, during)
	if got, want := consume(t, alive, topic), append(slices.Clone(before), during...); !slices.Equal(got, want) {
		t.Fatalf("with node %d down consumed %q, want %q", victim, got, want)
	}
	begin := time.Now()
	if err := c.StartNode(ctx, victim); err != nil {
		t.Fatal(err)
	}
	t.Logf("node %d restarted in %s", victim, time.Since(begin).Round(time.Millisecond))
	after := records("after", 20)
	produce(t, brokers, topic, after)
	waitPartition(t, brokers, topic, 3)
	want := append(append(slices.Clone(before), during...), after...)
	if got := consume(t, brokers, topic); !slices.Equal(got, want) {
		t.Fatalf("after the restart consumed %q, want %q", got, want)
	}
}

// waitPartition waits until partition 0 of topic has a leader and isr
// in-sync replicas, and returns it.
func waitPartition(t *testing.T, brokers []string, topic string, isr int) partitionMeta {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for time.Now().Before(deadline) {
		out, stderr, err := kcat(t, 30*time.Second, "", "-L", "-J", "-b", strings.Join(brokers, ","), "-t", topic)
		if err == nil {
			md := parseMetadata(t, out)
			for _, tp := range md.Topics {
				for _, p := range tp.Partitions {
					if tp.Topic == topic && p.Partition == 0 && p.Leader > 0 && len(p.ISRs) == isr {
						return p
					}
				}
			}
			last = out
		} else {
			last = stderr
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("partition %s-0 never had a leader and %d in-sync replicas; last metadata:\n%s", topic, isr, last)
	return partitionMeta{}
}
