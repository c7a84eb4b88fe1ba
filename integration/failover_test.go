package integration_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/integration"
)

// three is the three-node shape.
var three = integration.LocalConfig{Nodes: 3}

// waitFor polls cond every 250ms until it returns nil or the deadline
// passes, then fails the test with the last error.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not reached within %s: %v", what, timeout, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// topicState reads the brokers and the topic's partitions with kcat -L -J.
func topicState(t *testing.T, bootstrap []string, topic string) (metadata, error) {
	out, stderr, err := kcat(t, 20*time.Second, "", "-L", "-J", "-m", "5", "-b", strings.Join(bootstrap, ","), "-t", topic)
	if err != nil {
		return metadata{}, fmt.Errorf("kcat -L: %v: %s", err, stderr)
	}
	return parseMetadata(t, out), nil
}

// fullyReplicated checks that the cluster lists want brokers and that every
// partition of topic has a leader and all of them in its ISR.
func fullyReplicated(md metadata, topic string, want int) error {
	if len(md.Brokers) != want {
		return fmt.Errorf("%d brokers listed, want %d", len(md.Brokers), want)
	}
	if len(md.Topics) != 1 || md.Topics[0].Topic != topic || md.Topics[0].Error != "" || len(md.Topics[0].Partitions) == 0 {
		return fmt.Errorf("topic %s not (yet) in metadata: %+v", topic, md.Topics)
	}
	for _, p := range md.Topics[0].Partitions {
		if p.Leader < 1 || len(p.ISRs) != want {
			return fmt.Errorf("partition %d: leader %d, %d in-sync replicas, want %d", p.Partition, p.Leader, len(p.ISRs), want)
		}
	}
	return nil
}

func TestThreeNodeFailover(t *testing.T) {
	c := integration.Shared(t, three)
	if c.External() {
		t.Skip("needs a cluster the harness started: it kills and restarts a node")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	boot := c.Bootstrap(integration.Plaintext)
	topic := fmt.Sprintf("failover-%d", rand.Uint32())

	step := time.Now()
	took := func() time.Duration {
		d := time.Since(step).Round(time.Millisecond)
		step = time.Now()
		return d
	}
	if err := c.CreateTopic(ctx, topic, 3, 3); err != nil {
		t.Fatal(err)
	}
	var md metadata
	waitFor(t, 30*time.Second, "topic fully replicated on 3 brokers", func() (err error) {
		if md, err = topicState(t, boot, topic); err != nil {
			return err
		}
		return fullyReplicated(md, topic, 3)
	})
	t.Logf("created %s: 3 partitions, replication factor 3, all replicas in sync (%s)", topic, took())

	// Kill the leader of partition 0, so producing to it needs a failover.
	i := slices.IndexFunc(md.Topics[0].Partitions, func(p partitionMeta) bool { return p.Partition == 0 })
	leader := md.Topics[0].Partitions[i].Leader
	victim := leader - 1 // node ids are 1-based, indexes 0-based
	if err := c.KillNode(ctx, victim); err != nil {
		t.Fatal(err)
	}
	if c.Running(victim) {
		t.Fatalf("node %d still running after KillNode", leader)
	}
	t.Logf("killed node %d (SIGKILL), the leader of partition 0 (%s)", leader, took())

	want := []string{"k1=alpha", "k2=bravo", "k3=charlie", "k4=delta", "k5=echo"}
	var in strings.Builder
	for _, kv := range want {
		in.WriteString(strings.Replace(kv, "=", ":", 1) + "\n")
	}
	_, stderr, err := kcat(t, 60*time.Second, in.String(), "-P", "-b", strings.Join(boot, ","), "-t", topic, "-p", "0",
		"-K", ":", "-X", "acks=all", "-X", "message.timeout.ms=45000")
	if err != nil {
		t.Fatalf("kcat -P with node %d down: %v\n%s", leader, err, stderr)
	}
	out, stderr, err := kcat(t, 60*time.Second, "", "-C", "-b", strings.Join(boot, ","), "-t", topic, "-p", "0",
		"-o", "beginning", "-e", "-q", "-f", "%k=%s\n")
	if err != nil {
		t.Fatalf("kcat -C with node %d down: %v\n%s", leader, err, stderr)
	}
	got := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if !slices.Equal(got, want) {
		t.Fatalf("consumed %q, want %q", got, want)
	}
	t.Logf("produced and consumed %d records on partition 0 with node %d down (%s)", len(want), leader, took())

	if err := c.StartNode(ctx, victim); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted node %d: ready (%s)", leader, took())
	waitFor(t, 60*time.Second, fmt.Sprintf("node %d back in every ISR", leader), func() error {
		md, err := topicState(t, boot, topic)
		if err != nil {
			return err
		}
		return fullyReplicated(md, topic, 3)
	})
	t.Logf("node %d rejoined and is back in sync for all partitions (%s)", leader, took())
}
