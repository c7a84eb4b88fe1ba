package integration_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/consumer"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/producer"
	"github.com/gregorkafka/gregor/sasl"
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

// connTo is the Gregor connection to brokers, with sasl when not nil and
// TLS when tlsConfig is not nil.
func connTo(brokers []string, mech sasl.Mechanism, tlsConfig *tls.Config) gregor.ConnConfig {
	return gregor.ConnConfig{SeedBrokers: brokers, ClientID: "gregor-container-test", SASL: mech, TLS: tlsConfig}
}

// createTopic creates topic with one partition and replicationFactor
// replicas through Gregor's admin client.
func createTopic(t *testing.T, conn gregor.ConnConfig, topic string, replicationFactor int16) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	adm, err := admin.New(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close(context.Background())
	if _, err := adm.CreateTopic(ctx, admin.NewTopic{Name: topic, Partitions: 1, ReplicationFactor: replicationFactor},
		admin.CreateTopicsOptions{}); err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// produce writes values to partition 0 of topic with Gregor's producer
// (acks=all, idempotent: the defaults), so that a retry during a failover
// neither loses nor repeats a record, and fails the test unless every
// record is written.
func produce(t *testing.T, conn gregor.ConnConfig, topic string, values []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p, err := producer.New(producer.Config{Conn: conn, Partitioner: producer.PartitionManual})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	recs := make([]*gregor.Record, len(values))
	for i, v := range values {
		recs[i] = &gregor.Record{Topic: topic, Partition: 0, Value: []byte(v)}
	}
	if _, err := p.ProduceSync(ctx, recs...); err != nil {
		t.Fatalf("produce %d records to %s: %v", len(values), topic, err)
	}
}

// consume reads partition 0 of topic with Gregor's consumer from the
// beginning up to the end offset it had when consume started.
func consume(t *testing.T, conn gregor.ConnConfig, topic string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	adm, err := admin.New(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close(context.Background())
	tp := admin.TopicPartition{Topic: topic, Partition: 0}
	ends, err := adm.ListOffsets(ctx, map[admin.TopicPartition]admin.OffsetSpec{tp: admin.OffsetLatest}, admin.ListOffsetsOptions{})
	if err == nil {
		err = ends[tp].Err
	}
	if err != nil {
		t.Fatalf("end offset of %s: %v", tp, err)
	}
	end := ends[tp].Offset
	c, err := consumer.New(consumer.Config{Conn: conn})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if err := c.Assign(map[consumer.TopicPartition]consumer.Offset{{Topic: topic, Partition: 0}: consumer.AtEarliest()}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for next := int64(0); next < end; {
		fetches, err := c.Poll(ctx)
		if err != nil {
			t.Fatalf("consume %s after %d of %d records: %v", topic, len(got), end, err)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			t.Fatalf("consume %s: %v", topic, errs[0])
		}
		fetches.EachRecord(func(r *gregor.Record) {
			got = append(got, string(r.Value))
			next = r.Offset + 1
		})
	}
	return got
}

// kcatConsume reads partition 0 of topic with kcat, as a cross-check that
// another client sees what Gregor wrote.
func kcatConsume(t *testing.T, brokers []string, topic string) []string {
	t.Helper()
	out, stderr, err := kcat(t, 90*time.Second, "", "-C", "-b", strings.Join(brokers, ","), "-t", topic, "-p", "0",
		"-o", "beginning", "-e", "-q", "-f", "%s\n")
	if err != nil {
		t.Fatalf("kcat consume from %s: %v\n%s", topic, err, stderr)
	}
	return strings.Fields(out)
}

// TestContainerSingleNode checks one containerized node end to end with
// Gregor's own clients: records go round trip over PLAINTEXT (and kcat reads
// the same records back, as a cross-check) and over SASL_PLAINTEXT with
// PLAIN, a wrong password is refused with a *gregor.AuthError, the SSL
// listener serves a certificate the generated CA vouches for, and a node
// stopped with StopNode comes back with StartNode on the same ports with its
// records.
func TestContainerSingleNode(t *testing.T) {
	leakcheck.Check(t)
	c := startContainers(t, integration.ContainerConfig{Nodes: 1, SASL: true, TLS: true})
	plain := connTo(c.Bootstrap(integration.Plaintext), nil, nil)
	want := records("plain", 5)
	t.Run("PLAINTEXT round trip", func(t *testing.T) {
		createTopic(t, plain, "ctr-plain", 1)
		produce(t, plain, "ctr-plain", want)
		if got := consume(t, plain, "ctr-plain"); !slices.Equal(got, want) {
			t.Fatalf("consumed %q, want %q", got, want)
		}
	})
	t.Run("kcat reads what Gregor wrote", func(t *testing.T) {
		kcatPath(t)
		if got := kcatConsume(t, c.Bootstrap(integration.Plaintext), "ctr-plain"); !slices.Equal(got, want) {
			t.Fatalf("kcat consumed %q, want %q", got, want)
		}
	})
	alice := integration.AliceUser
	t.Run("SASL PLAIN round trip", func(t *testing.T) {
		conn := connTo(c.Bootstrap(integration.SASLPlaintext), sasl.Plain{User: alice.Username, Password: alice.Password}, nil)
		createTopic(t, conn, "ctr-sasl", 1)
		want := records("sasl", 5)
		produce(t, conn, "ctr-sasl", want)
		if got := consume(t, conn, "ctr-sasl"); !slices.Equal(got, want) {
			t.Fatalf("consumed %q, want %q", got, want)
		}
	})
	t.Run("SASL PLAIN wrong password refused", func(t *testing.T) {
		wrong := "not-" + alice.Password
		adm, err := admin.New(connTo(c.Bootstrap(integration.SASLPlaintext), sasl.Plain{User: alice.Username, Password: wrong}, nil))
		if err != nil {
			t.Fatal(err)
		}
		defer adm.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		_, err = adm.ListTopics(ctx, admin.ListTopicsOptions{})
		var authErr *gregor.AuthError
		if !errors.As(err, &authErr) {
			t.Fatalf("list topics with a wrong password: %v (%T), want a *gregor.AuthError", err, err)
		}
		if strings.Contains(err.Error(), wrong) {
			t.Fatalf("the error shows the password: %v", err)
		}
	})
	t.Run("SSL metadata", func(t *testing.T) {
		adm, err := admin.New(connTo(c.Bootstrap(integration.SSL), nil, c.TLSConfig()))
		if err != nil {
			t.Fatal(err)
		}
		defer adm.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cluster, err := adm.DescribeCluster(ctx, admin.DescribeClusterOptions{})
		if err != nil {
			t.Fatalf("describe the cluster over SSL: %v", err)
		}
		if len(cluster.Brokers) != 1 {
			t.Fatalf("brokers %+v, want one", cluster.Brokers)
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
		if got := consume(t, plain, "ctr-plain"); !slices.Equal(got, want) {
			t.Fatalf("after the restart consumed %q, want %q", got, want)
		}
	})
}

// TestContainerThreeNodesFailover runs three containerized nodes whose
// controllers vote over the container network. The leader of a topic with
// replication factor 3 is killed; Gregor's producer (acks=all, idempotent)
// keeps writing and its consumer keeps reading through the other two, and
// after StartNode the node rejoins the ISR and every record is read back
// once, in order.
func TestContainerThreeNodesFailover(t *testing.T) {
	leakcheck.Check(t)
	c := startContainers(t, integration.ContainerConfig{Nodes: 3})
	conn := connTo(c.Bootstrap(integration.Plaintext), nil, nil)
	const topic = "ctr-failover"
	createTopic(t, conn, topic, 3) // min.insync.replicas=2 on three nodes
	before := records("before", 20)
	produce(t, conn, topic, before)
	p := waitPartition(t, conn, topic, 3)
	victim := int(p.Leader) - 1
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
	survivors := connTo(alive, nil, nil)
	during := records("during", 20)
	produce(t, survivors, topic, during)
	if got, want := consume(t, survivors, topic), append(slices.Clone(before), during...); !slices.Equal(got, want) {
		t.Fatalf("with node %d down consumed %q, want %q", victim, got, want)
	}
	begin := time.Now()
	if err := c.StartNode(ctx, victim); err != nil {
		t.Fatal(err)
	}
	t.Logf("node %d restarted in %s", victim, time.Since(begin).Round(time.Millisecond))
	after := records("after", 20)
	produce(t, conn, topic, after)
	waitPartition(t, conn, topic, 3)
	want := append(append(slices.Clone(before), during...), after...)
	if got := consume(t, conn, topic); !slices.Equal(got, want) {
		t.Fatalf("after the restart consumed %q, want %q", got, want)
	}
}

// waitPartition waits until partition 0 of topic has a leader and isr
// in-sync replicas, and returns it.
func waitPartition(t *testing.T, conn gregor.ConnConfig, topic string, isr int) admin.PartitionInfo {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm, err := admin.New(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close(context.Background())
	var last any
	for {
		descs, err := adm.DescribeTopics(ctx, []string{topic}, admin.DescribeTopicsOptions{})
		switch {
		case err != nil:
			last = err
		case descs[0].Err != nil:
			last = descs[0].Err
		default:
			last = descs[0].Partitions
			for _, p := range descs[0].Partitions {
				if p.Partition == 0 && p.Leader > 0 && len(p.ISR) == isr {
					return p
				}
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("partition %s-0 never had a leader and %d in-sync replicas; last answer: %+v", topic, isr, last)
		case <-time.After(500 * time.Millisecond):
		}
	}
}
