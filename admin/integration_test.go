package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
)

func TestMain(m *testing.M) { integration.Main(m) }

// three is the cluster every integration test of this package shares:
// three KRaft nodes, SASL users and the standard authorizer (plaintext
// clients are the super user User:ANONYMOUS; alice has no rights until an
// ACL grants them).
var three = integration.LocalConfig{Nodes: 3, SASL: true, Authorizer: true,
	BrokerProperties: map[string]string{"delegation.token.secret.key": "gregor-admin-test-secret"}}

var topicSeq atomic.Int32

func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1e6, topicSeq.Add(1))
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func testConfig(seeds []string) gregor.ConnConfig {
	return gregor.ConnConfig{SeedBrokers: seeds, RequestTimeout: 15 * time.Second, MetadataMinRefresh: 10 * time.Millisecond,
		RetryBackoffBase: 20 * time.Millisecond, RetryBackoffMax: 250 * time.Millisecond}
}

// newAdmin returns a client on the plaintext listener of kc, closed (and
// checked for leaked goroutines) when the test ends.
func newAdmin(t *testing.T, kc *integration.Cluster) *Client {
	t.Helper()
	return newAdminCfg(t, testConfig(kc.Bootstrap(integration.Plaintext)))
}

func newAdminCfg(t *testing.T, cfg gregor.ConnConfig) *Client {
	t.Helper()
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := a.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return a
}

// kcatTopics lists topic names and partition counts with kcat -L -J.
func kcatTopics(t *testing.T, kc *integration.Cluster) map[string]int {
	t.Helper()
	path, err := exec.LookPath("kcat")
	if err != nil {
		integration.Unavailable(t, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-b", strings.Join(kc.Bootstrap(integration.Plaintext), ","), "-L", "-J", "-m", "20").Output()
	if err != nil {
		t.Fatalf("kcat -L -J: %v", err)
	}
	var md struct {
		Topics []struct {
			Topic      string            `json:"topic"`
			Partitions []json.RawMessage `json:"partitions"`
		} `json:"topics"`
	}
	if err := json.Unmarshal(out, &md); err != nil {
		t.Fatalf("kcat output: %v", err)
	}
	m := map[string]int{}
	for _, tp := range md.Topics {
		m[tp.Topic] = len(tp.Partitions)
	}
	return m
}

// mustCreate creates a topic or fails the test.
func mustCreate(t *testing.T, a *Client, name string, partitions int32, rf int16) CreateTopicResult {
	t.Helper()
	r, err := a.CreateTopic(ctxT(t, 60*time.Second), NewTopic{Name: name, Partitions: partitions, ReplicationFactor: rf}, CreateTopicsOptions{})
	if err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	return r
}

// waitFor polls f until it returns nil or d passes.
func waitFor(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestIntegrationTopics(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 2*time.Minute)

	good, dup := uniqueName("topics-a"), uniqueName("topics-b")
	mustCreate(t, a, dup, 1, 1)
	rs, err := a.CreateTopics(ctx, []NewTopic{
		{Name: good, Partitions: 3, ReplicationFactor: 3, Configs: map[string]string{"retention.ms": "3600000"}},
		{Name: dup, Partitions: 1, ReplicationFactor: 1},
		{Name: "bad/name", Partitions: 1, ReplicationFactor: 1},
	}, CreateTopicsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Err != nil || rs[0].Partitions != 3 || rs[0].ReplicationFactor != 3 || rs[0].ID == (protocol.UUID{}) {
		t.Fatalf("good topic: %+v", rs[0])
	}
	if !errors.Is(rs[1].Err, protocol.ErrTopicAlreadyExists) || !strings.Contains(rs[1].Err.Error(), dup) {
		t.Fatalf("duplicate topic: %v", rs[1].Err)
	}
	if !errors.Is(rs[2].Err, protocol.ErrInvalidTopicException) {
		t.Fatalf("invalid name: %v", rs[2].Err)
	}
	var ie *ItemError
	if !errors.As(rs[1].Err, &ie) || ie.Name != dup || ie.Kind != "topic" {
		t.Fatalf("not an ItemError: %#v", rs[1].Err)
	}

	// Second path: kcat sees the topic with its partitions.
	waitFor(t, 20*time.Second, func() error {
		if n := kcatTopics(t, kc)[good]; n != 3 {
			return fmt.Errorf("kcat sees %s with %d partitions", good, n)
		}
		return nil
	})

	// Validate-only creates nothing.
	vo := uniqueName("topics-vo")
	if _, err := a.CreateTopic(ctx, NewTopic{Name: vo, Partitions: 1, ReplicationFactor: 1}, CreateTopicsOptions{ValidateOnly: true}); err != nil {
		t.Fatal(err)
	}

	// Explicit assignments.
	asg := uniqueName("topics-asg")
	if _, err := a.CreateTopic(ctx, NewTopic{Name: asg, Assignments: [][]int32{{1, 2}, {2, 3}}}, CreateTopicsOptions{}); err != nil {
		t.Fatal(err)
	}

	// Brokers learn of new topics from the metadata log, each in its time.
	waitFor(t, 20*time.Second, func() error {
		list, err := a.ListTopics(ctx, ListTopicsOptions{})
		if err != nil {
			return err
		}
		names := map[string]bool{}
		for _, l := range list {
			names[l.Name] = true
			if l.Internal {
				return fmt.Errorf("internal topic %s listed", l.Name)
			}
		}
		if !names[good] || !names[asg] || names[vo] {
			return fmt.Errorf("list: good=%v asg=%v validate-only=%v", names[good], names[asg], names[vo])
		}
		return nil
	})
	// A committed offset makes sure the internal __consumer_offsets topic
	// exists, then only the Internal option lists it.
	group := uniqueName("list-internal")
	if errs, err := a.AlterOffsets(ctx, group, map[TopicPartition]NewOffset{{good, 0}: {Offset: 0, LeaderEpoch: -1}}); err != nil || errs[TopicPartition{good, 0}] != nil {
		t.Fatalf("commit an offset: %v %v", err, errs)
	}
	isOffsets := func(l TopicListing) bool { return l.Name == "__consumer_offsets" && l.Internal }
	waitFor(t, 20*time.Second, func() error {
		all, err := a.ListTopics(ctx, ListTopicsOptions{Internal: true})
		if err != nil || !slices.ContainsFunc(all, isOffsets) {
			return fmt.Errorf("internal topic not listed: %v %+v", err, all)
		}
		return nil
	})
	if plain, err := a.ListTopics(ctx, ListTopicsOptions{}); err != nil || slices.ContainsFunc(plain, isOffsets) {
		t.Fatalf("internal topic listed without the option: %v %+v", err, plain)
	}

	var ds []TopicDescription
	waitFor(t, 20*time.Second, func() error {
		var err error
		ds, err = a.DescribeTopics(ctx, []string{good, asg, "no-such-topic"}, DescribeTopicsOptions{AuthorizedOperations: true})
		if err != nil || ds[0].Err != nil || ds[1].Err != nil {
			return fmt.Errorf("describe: %v %+v", err, ds)
		}
		return nil
	})
	if ds[0].Err != nil || len(ds[0].Partitions) != 3 || ds[0].ID != rs[0].ID {
		t.Fatalf("describe good: %+v", ds[0])
	}
	for _, p := range ds[0].Partitions {
		if len(p.Replicas) != 3 || len(p.ISR) == 0 || p.Leader < 0 || p.Err != nil {
			t.Fatalf("partition %+v", p)
		}
	}
	if len(ds[0].AuthorizedOperations) == 0 {
		t.Errorf("no authorized operations for the super user")
	}
	if p := ds[1].Partitions; len(p) != 2 || fmt.Sprint(p[0].Replicas) != "[1 2]" || fmt.Sprint(p[1].Replicas) != "[2 3]" {
		t.Fatalf("assignments not applied: %+v", p)
	}
	if !errors.Is(ds[2].Err, protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("missing topic: %v", ds[2].Err)
	}

	// Partitions added show in metadata (and in kcat).
	cp, err := a.CreatePartitions(ctx, []NewPartitions{{Topic: good, Total: 5}, {Topic: "no-such-topic", Total: 2}}, CreatePartitionsOptions{})
	if err != nil || cp[good] != nil || !errors.Is(cp["no-such-topic"], protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("create partitions: %v %v", err, cp)
	}
	waitFor(t, 20*time.Second, func() error {
		d, err := a.DescribeTopics(ctx, []string{good}, DescribeTopicsOptions{})
		if err != nil || len(d[0].Partitions) != 5 {
			return fmt.Errorf("describe after create partitions: %v %+v", err, d)
		}
		if n := kcatTopics(t, kc)[good]; n != 5 {
			return fmt.Errorf("kcat sees %d partitions", n)
		}
		return nil
	})

	// Delete by name and by id; a missing topic fails on its own.
	dr, err := a.DeleteTopics(ctx, good, "no-such-topic")
	if err != nil || dr[0].Err != nil || !errors.Is(dr[1].Err, protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("delete: %v %+v", err, dr)
	}
	dr, err = a.DeleteTopicsByID(ctx, ds[1].ID)
	if err != nil || dr.Err() != nil || dr[0].Name != asg {
		t.Fatalf("delete by id: %v %+v", err, dr)
	}
	waitFor(t, 30*time.Second, func() error {
		m := kcatTopics(t, kc)
		if _, ok := m[good]; ok {
			return fmt.Errorf("kcat still sees %s", good)
		}
		if _, ok := m[asg]; ok {
			return fmt.Errorf("kcat still sees %s", asg)
		}
		return nil
	})
}

func TestIntegrationConfigs(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 2*time.Minute)
	topic := uniqueName("configs")
	mustCreate(t, a, topic, 1, 3)
	tr := TopicResource(topic)

	res, err := a.AlterConfigs(ctx, map[ConfigResource][]ConfigOp{
		tr: {
			{Op: OpSet, Name: "retention.ms", Value: "123456"},
			{Op: OpAppend, Name: "cleanup.policy", Value: "compact"},
		},
		TopicResource("no-such-topic"): {{Op: OpSet, Name: "retention.ms", Value: "1"}},
	}, AlterConfigsOptions{})
	if err != nil || res[tr] != nil || !errors.Is(res[TopicResource("no-such-topic")], protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("alter: %v %v", err, res)
	}
	var dc []ResourceConfigs
	waitFor(t, 20*time.Second, func() error {
		dc, err = a.DescribeConfigs(ctx, []ConfigResource{tr, BrokerResource(2)}, DescribeConfigsOptions{Synonyms: true})
		if err != nil || dc[0].Err != nil || dc[1].Err != nil {
			return fmt.Errorf("describe: %v %+v", err, dc)
		}
		e, ok := dc[0].Get("retention.ms")
		if !ok || deref(e.Value) != "123456" || e.Source != SourceDynamicTopic || len(e.Synonyms) == 0 || e.Synonyms[0].Source != SourceDynamicTopic {
			return fmt.Errorf("retention.ms: %+v", e)
		}
		if e, _ := dc[0].Get("cleanup.policy"); deref(e.Value) != "delete,compact" {
			return fmt.Errorf("cleanup.policy after append: %q", deref(e.Value))
		}
		return nil
	})
	if e, ok := dc[1].Get("log.retention.hours"); !ok || e.Source != SourceStaticBroker && e.Source != SourceDefault {
		t.Fatalf("broker config: %+v", e)
	}

	// Subtract and delete revert.
	res, err = a.AlterConfigs(ctx, map[ConfigResource][]ConfigOp{tr: {
		{Op: OpDelete, Name: "retention.ms"},
		{Op: OpSubtract, Name: "cleanup.policy", Value: "compact"},
	}}, AlterConfigsOptions{})
	if err != nil || res[tr] != nil {
		t.Fatalf("alter 2: %v %v", err, res)
	}
	waitFor(t, 20*time.Second, func() error {
		dc, err := a.DescribeConfigs(ctx, []ConfigResource{tr}, DescribeConfigsOptions{Keys: []string{"retention.ms", "cleanup.policy"}})
		if err != nil || dc[0].Err != nil || len(dc[0].Configs) != 2 {
			return fmt.Errorf("describe 2: %v %+v", err, dc)
		}
		if e, _ := dc[0].Get("retention.ms"); e.Source == SourceDynamicTopic {
			return fmt.Errorf("retention.ms still set: %+v", e)
		}
		if e, _ := dc[0].Get("cleanup.policy"); deref(e.Value) != "delete" {
			return fmt.Errorf("cleanup.policy after subtract: %q", deref(e.Value))
		}
		return nil
	})

	// A dynamic broker config on one broker, read back from that broker.
	b1 := BrokerResource(1)
	res, err = a.AlterConfigs(ctx, map[ConfigResource][]ConfigOp{b1: {{Op: OpSet, Name: "log.cleaner.threads", Value: "2"}}}, AlterConfigsOptions{})
	if err != nil || res[b1] != nil {
		t.Fatalf("alter broker: %v %v", err, res)
	}
	// The broker applies the change when it replays the metadata log.
	waitFor(t, 20*time.Second, func() error {
		dc, err := a.DescribeConfigs(ctx, []ConfigResource{b1}, DescribeConfigsOptions{Keys: []string{"log.cleaner.threads"}})
		if err != nil || dc[0].Err != nil {
			return fmt.Errorf("%v %+v", err, dc)
		}
		if e, _ := dc[0].Get("log.cleaner.threads"); deref(e.Value) != "2" || e.Source != SourceDynamicBroker {
			return fmt.Errorf("broker config read back: %q %v", deref(e.Value), e.Source)
		}
		return nil
	})
	if _, err := a.AlterConfigs(ctx, map[ConfigResource][]ConfigOp{b1: {{Op: OpDelete, Name: "log.cleaner.threads"}}}, AlterConfigsOptions{}); err != nil {
		t.Fatal(err)
	}

	// Broker loggers and group configs.
	bl := ConfigResource{ConfigBrokerLogger, "2"}
	grp := ConfigResource{ConfigGroup, uniqueName("cfg-group")}
	cm := ConfigResource{ConfigClientMetrics, uniqueName("cfg-metrics")}
	res, err = a.AlterConfigs(ctx, map[ConfigResource][]ConfigOp{
		bl:  {{Op: OpSet, Name: "kafka.server.ReplicaManager", Value: "DEBUG"}},
		grp: {{Op: OpSet, Name: "consumer.session.timeout.ms", Value: "50000"}},
		cm:  {{Op: OpSet, Name: "metrics", Value: "org.apache.kafka.producer."}, {Op: OpSet, Name: "interval.ms", Value: "60000"}},
	}, AlterConfigsOptions{})
	if err != nil || res[bl] != nil || res[grp] != nil || res[cm] != nil {
		t.Fatalf("alter logger, group and client metrics: %v %v", err, res)
	}
	waitFor(t, 20*time.Second, func() error {
		dc, err := a.DescribeConfigs(ctx, []ConfigResource{bl, grp, cm}, DescribeConfigsOptions{})
		if err != nil || dc[0].Err != nil || dc[1].Err != nil || dc[2].Err != nil {
			return fmt.Errorf("describe logger, group and client metrics: %v %+v", err, dc)
		}
		if e, _ := dc[2].Get("interval.ms"); deref(e.Value) != "60000" || e.Source != SourceClientMetrics {
			return fmt.Errorf("client metrics config %q (%v)", deref(e.Value), e.Source)
		}
		if e, _ := dc[0].Get("kafka.server.ReplicaManager"); deref(e.Value) != "DEBUG" {
			return fmt.Errorf("logger level %q (%v)", deref(e.Value), e.Source)
		}
		if e, _ := dc[1].Get("consumer.session.timeout.ms"); deref(e.Value) != "50000" || e.Source != SourceGroup {
			return fmt.Errorf("group config %q (%v)", deref(e.Value), e.Source)
		}
		return nil
	})
	if _, err := a.AlterConfigs(ctx, map[ConfigResource][]ConfigOp{bl: {{Op: OpSet, Name: "kafka.server.ReplicaManager", Value: "INFO"}}}, AlterConfigsOptions{}); err != nil {
		t.Fatal(err)
	}

	// A read-only broker config cannot be altered dynamically.
	res, err = a.AlterConfigs(ctx, map[ConfigResource][]ConfigOp{b1: {{Op: OpSet, Name: "broker.id", Value: "7"}}}, AlterConfigsOptions{})
	if err != nil || !errors.Is(res[b1], protocol.ErrInvalidRequest) && !errors.Is(res[b1], protocol.ErrInvalidConfig) {
		t.Fatalf("read-only config: %v %v", err, res[b1])
	}
	t.Logf("altering broker.id: %v", res[b1])
}
