package consumer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/consumer/assign"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
)

func realGroupCfg(group, topic string) func(*Config) {
	return func(c *Config) {
		c.FetchMaxWait = 200 * time.Millisecond
		c.Group = GroupConfig{GroupID: group, Topics: []string{topic},
			SessionTimeout: 3 * time.Second, HeartbeatInterval: 200 * time.Millisecond,
			RebalanceTimeout: 10 * time.Second, AutoCommitInterval: 200 * time.Millisecond}
	}
}

func realSetup(t *testing.T, prefix string, partitions int) (boot []string, topic string) {
	t.Helper()
	if testing.Short() {
		t.Skip("real broker")
	}
	kc := integration.Shared(t, integration.LocalConfig{Nodes: 1})
	leakcheck.Check(t)
	boot = kc.Bootstrap(integration.Plaintext)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic = fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
	if err := kc.CreateTopic(ctx, topic, partitions, 1); err != nil {
		t.Fatal(err)
	}
	return boot, topic
}

// kcatBatch writes n records keyed "b<batch>-<i>" with the default
// partitioner (spread over the partitions).
func kcatBatch(t *testing.T, boot []string, topic string, batch, n int) {
	lines := make([]string, n)
	for i := range lines {
		lines[i] = fmt.Sprintf("b%d-%d:v", batch, i)
	}
	kcatProduce(t, boot, topic, -1, "none", lines)
}

// tracker records which member processed which record.
type tracker struct {
	mu   sync.Mutex
	seen map[string][]string // "p@offset" -> members
}

func (tr *tracker) add(member string, r *gregor.Record) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	k := fmt.Sprintf("%d@%d", r.Partition, r.Offset)
	tr.seen[k] = append(tr.seen[k], member)
}

func (tr *tracker) count() int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.seen)
}

// realMember polls and marks every record after processing it, until it
// is stopped; with crash set it stops marking and keeps what it received
// unmarked in inflight.
type realMember struct {
	name     string
	c        *Consumer
	cancel   context.CancelFunc
	done     chan struct{}
	mu       sync.Mutex
	crashed  bool
	inflight map[string]bool
}

func startMember(t *testing.T, name string, boot []string, mod func(*Config), tr *tracker) *realMember {
	c, err := New(func() Config {
		cfg := Config{Conn: gregor.ConnConfig{SeedBrokers: boot}}
		mod(&cfg)
		return cfg
	}())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &realMember{name: name, c: c, cancel: cancel, done: make(chan struct{}), inflight: map[string]bool{}}
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			fs, err := c.Poll(ctx)
			if err != nil {
				return
			}
			fs.EachRecord(func(r *gregor.Record) {
				m.mu.Lock()
				defer m.mu.Unlock()
				if m.crashed {
					m.inflight[fmt.Sprintf("%d@%d", r.Partition, r.Offset)] = true
					return
				}
				tr.add(name, r)
				c.MarkProcessed(r)
			})
		}
	}()
	return m
}

// stop closes the member: it commits what was processed and leaves.
func (m *realMember) stop(t *testing.T, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := m.c.Close(ctx); err != nil {
		t.Logf("%s: Close: %v", m.name, err)
	}
	m.cancel()
	<-m.done
}

// TestRealGroupMembersComeAndGo runs three Gregor members of one group on a
// 12-partition topic of Kafka 4.1.1 while kcat keeps writing: members join
// one by one, one leaves cleanly and one "crashes" (stops processing: what
// it was handed stays unmarked, so its Close commits only what it
// processed). Every record is processed exactly once: the records the
// crashed member held unprocessed are picked up by the remaining member,
// and no other record is processed twice.
func TestRealGroupMembersComeAndGo(t *testing.T) {
	membersComeAndGo(t, GroupClassic)
}

func membersComeAndGo(t *testing.T, proto GroupProtocol) {
	boot, topic := realSetup(t, "group-churn", 12)
	group := "g-" + topic
	tr := &tracker{seen: map[string][]string{}}
	mod := realGroupCfg(group, topic)
	if proto == GroupConsumer {
		mod = realGroupCfg848(group, topic)
	}
	total := 0
	batch := func(n int) {
		kcatBatch(t, boot, topic, total, n)
		total += n
	}
	waitAll := func(what string) {
		waitFor(t, what, 20*time.Second, func() bool { return tr.count() == total })
	}
	m1 := startMember(t, "m1", boot, mod, tr)
	batch(200)
	m2 := startMember(t, "m2", boot, mod, tr)
	batch(200)
	m3 := startMember(t, "m3", boot, mod, tr)
	batch(200)
	waitAll("records with three members")
	m1.stop(t, 5*time.Second)
	batch(200)
	waitAll("records after m1 left")
	m2.mu.Lock()
	m2.crashed = true
	m2.mu.Unlock()
	batch(200)
	m2.stop(t, time.Second) // processed prefix only: its in-flight records go to m3
	batch(200)
	waitAll("records after m2 crashed")
	m3.stop(t, 5*time.Second)
	tr.mu.Lock()
	defer tr.mu.Unlock()
	dups := 0
	for k, who := range tr.seen {
		if len(who) > 1 {
			dups++
			t.Errorf("%s processed by %v", k, who)
		}
	}
	if len(tr.seen) != total {
		t.Fatalf("%d distinct records processed, %d written", len(tr.seen), total)
	}
	t.Logf("%d records, %d processed twice, %d handed to m2 after its crash", total, dups, len(m2.inflight))
}

// TestRealGroupStaticRestart: a static member (KIP-345) closed without
// leaving and restarted within the session timeout gets its partitions
// back in the same generation: no rebalance happened.
func TestRealGroupStaticRestart(t *testing.T) {
	boot, topic := realSetup(t, "group-static", 3)
	mod := func(c *Config) {
		realGroupCfg("g-"+topic, topic)(c)
		c.Group.SessionTimeout = 10 * time.Second
		c.Group.InstanceID = "instance-1"
		c.Group.Assignors = []assign.Assignor{assign.CooperativeSticky}
	}
	kcatBatch(t, boot, topic, 0, 30)
	tr := &tracker{seen: map[string][]string{}}
	m1 := startMember(t, "first", boot, mod, tr)
	waitFor(t, "first reads 30", 20*time.Second, func() bool { return tr.count() == 30 })
	id1, gen1 := m1.c.Member()
	m1.stop(t, 5*time.Second)
	m2 := startMember(t, "second", boot, mod, tr)
	defer m2.stop(t, 5*time.Second)
	kcatBatch(t, boot, topic, 1, 30)
	waitFor(t, "second reads 30 more", 20*time.Second, func() bool { return tr.count() == 60 })
	id2, gen2 := m2.c.Member()
	if gen2 != gen1 {
		t.Fatalf("generation %d after the restart, was %d: a rebalance happened", gen2, gen1)
	}
	t.Logf("member id %s -> %s, generation %d kept", id1, id2, gen1)
	for k, who := range tr.seen {
		if len(who) > 1 {
			t.Errorf("%s processed by %v", k, who)
		}
	}
}

// TestRealGroupWithJava: a Gregor member and Java's ConsoleConsumer (range
// assignor) share one group; the records both print cover everything,
// each partition was read by one of them only, and both got records, so
// the assignment one leader computed was followed by the other client.
func TestRealGroupWithJava(t *testing.T) {
	groupWithJava(t, GroupClassic)
}

// groupWithJava runs a Gregor member and Java's ConsoleConsumer in one
// group of the given protocol.
func groupWithJava(t *testing.T, proto GroupProtocol) {
	boot, topic := realSetup(t, "group-java", 12)
	group := "g-" + topic
	tr := &tracker{seen: map[string][]string{}}
	ev := &events{}
	mod := realGroupCfg(group, topic)
	javaProps := []string{
		"--consumer-property", "partition.assignment.strategy=org.apache.kafka.clients.consumer.RangeAssignor",
		"--consumer-property", "session.timeout.ms=3000", "--consumer-property", "heartbeat.interval.ms=200"}
	if proto == GroupConsumer {
		mod = realGroupCfg848(group, topic)
		javaProps = []string{"--consumer-property", "group.protocol=consumer"}
	}
	g := startMember(t, "gregor", boot, func(c *Config) { mod(c); ev.hook(c) }, tr)
	defer g.stop(t, 5*time.Second)
	waitFor(t, "gregor owns all 12", 20*time.Second, func() bool { return len(ev.ownedNow()) == 12 })
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	type result struct {
		out string
		err error
	}
	javaDone := make(chan result, 1)
	go func() {
		args := append([]string{"--bootstrap-server", strings.Join(boot, ","), "--topic", topic, "--group", group,
			"--from-beginning", "--property", "print.partition=true", "--property", "print.offset=true",
			"--timeout-ms", "10000"}, javaProps...)
		out, err := integration.RunTool(ctx, "org.apache.kafka.tools.consumer.ConsoleConsumer", args...)
		javaDone <- result{out, err}
	}()
	waitFor(t, "java joins (gregor keeps 6)", 30*time.Second, func() bool { return len(ev.ownedNow()) == 6 })
	mine := ev.ownedNow()
	kcatBatch(t, boot, topic, 0, 600)
	r := <-javaDone
	// ConsoleConsumer exits with an error after --timeout-ms without records
	if r.err != nil && !strings.Contains(r.err.Error(), "TimeoutException") {
		t.Logf("ConsoleConsumer: %v", r.err)
	}
	javaParts := map[int32]bool{}
	for _, line := range strings.Split(r.out, "\n") {
		var p int32
		var off int64
		if _, err := fmt.Sscanf(line, "Partition:%d\tOffset:%d", &p, &off); err == nil {
			javaParts[p] = true
			tr.add("java", &gregor.Record{Partition: p, Offset: off})
		}
	}
	gregorParts := map[int32]bool{}
	for _, tp := range mine {
		gregorParts[tp.Partition] = true
	}
	for p := range javaParts {
		if gregorParts[p] {
			t.Errorf("partition %d read by both", p)
		}
	}
	if len(javaParts) == 0 || tr.count() != 600 {
		t.Fatalf("java read partitions %v; %d of 600 records read in all; java output starts %.300q", javaParts, tr.count(), r.out)
	}
	for k, who := range tr.seen {
		if len(who) > 1 {
			t.Errorf("%s read by %v", k, who)
		}
	}
	t.Logf("gregor partitions %v, java partitions %v", mine, javaParts)
}

// TestRealGroupFenced: a second static member with the same instance id
// fences the first, whose Poll then fails with a *GroupError wrapping
// FENCED_INSTANCE_ID.
func TestRealGroupFenced(t *testing.T) {
	boot, topic := realSetup(t, "group-fenced", 2)
	mod := func(c *Config) {
		realGroupCfg("g-"+topic, topic)(c)
		c.Group.InstanceID = "twin"
	}
	first := realConsumer(t, boot, mod)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	waitFor(t, "first joins", 20*time.Second, func() bool { _, gen := first.Member(); return gen > 0 })
	second := realConsumer(t, boot, mod)
	waitFor(t, "second joins", 20*time.Second, func() bool { _, gen := second.Member(); return gen > 0 })
	for {
		_, err := first.Poll(ctx)
		var ge *GroupError
		if errors.As(err, &ge) {
			if !errors.Is(err, protocol.ErrFencedInstanceID) {
				t.Fatalf("fatal error %v, want FENCED_INSTANCE_ID", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
	}
}
