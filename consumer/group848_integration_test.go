package consumer

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/protocol"
)

func realGroupCfg848(group, topic string) func(*Config) {
	return func(c *Config) {
		c.FetchMaxWait = 200 * time.Millisecond
		c.Group = GroupConfig{GroupID: group, Topics: []string{topic}, Protocol: GroupConsumer,
			RebalanceTimeout: 10 * time.Second, AutoCommitInterval: 200 * time.Millisecond}
	}
}

// TestRealGroup848MembersComeAndGo runs the churn scenario of
// TestRealGroupMembersComeAndGo with KIP-848 members: joins, a clean
// leave and a crash, every record processed exactly once.
func TestRealGroup848MembersComeAndGo(t *testing.T) {
	membersComeAndGo(t, GroupConsumer)
}

// TestRealGroup848WithJava: a Gregor KIP-848 member and Java's
// ConsoleConsumer with group.protocol=consumer share one group: the
// broker splits the partitions between them, each partition is read by
// one of them only, and together they read everything.
func TestRealGroup848WithJava(t *testing.T) {
	groupWithJava(t, GroupConsumer)
}

// TestRealGroup848Fenced makes the broker fence a member for real: first
// the member's epoch is pushed past the broker's (FENCED_MEMBER_EPOCH),
// then its member id is swapped for one the broker does not know
// (UNKNOWN_MEMBER_ID). Each time OnLost gets the partitions, the member
// joins again with epoch 0 and gets them back, and no record is lost.
func TestRealGroup848Fenced(t *testing.T) {
	boot, topic := realSetup(t, "group848-fenced", 3)
	tr := &tracker{seen: map[string][]string{}}
	ev := &events{}
	m := startMember(t, "m", boot, func(c *Config) { realGroupCfg848("g-"+topic, topic)(c); ev.hook(c) }, tr)
	defer m.stop(t, 5*time.Second)
	waitFor(t, "member owns 3", 20*time.Second, func() bool { return len(ev.ownedNow()) == 3 })
	total := 0
	for round, fence := range []func(g *group){
		func(g *group) { g.generation += 100 },
		func(g *group) { g.memberID, g.generation = newMemberID(), 7 },
	} {
		lostBefore := ev.lostCount()
		deadline := time.Now().Add(20 * time.Second)
		for ev.lostCount() == lostBefore { // a heartbeat in flight may overwrite the change: redo it
			if time.Now().After(deadline) {
				t.Fatalf("round %d: never fenced", round)
			}
			m.c.grp.mu.Lock()
			fence(m.c.grp)
			m.c.grp.mu.Unlock()
			waitUntil(2*time.Second, func() bool { return ev.lostCount() > lostBefore })
		}
		waitFor(t, "member owns 3 again", 20*time.Second, func() bool { return len(ev.ownedNow()) == 3 })
		if _, epoch := m.c.Member(); epoch <= 0 {
			t.Fatalf("round %d: epoch %d after rejoining", round, epoch)
		}
		kcatBatch(t, boot, topic, round, 30)
		total += 30
		waitFor(t, "records after rejoining", 20*time.Second, func() bool { return tr.count() == total })
	}
	t.Logf("lost %d times, %d records read", ev.lostCount(), total)
}

// waitUntil polls cond until it holds or timeout passes, and reports
// whether it held.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// TestRealGroup848Static: a static member leaves with epoch -2 on Close;
// its successor with the same instance id, started within the session
// timeout, takes its place with the same epoch and partitions (no
// rebalance) and goes on from the committed offsets. While the first runs, a second member with the same instance
// id is refused with a *GroupError wrapping UNRELEASED_INSTANCE_ID.
func TestRealGroup848Static(t *testing.T) {
	boot, topic := realSetup(t, "group848-static", 3)
	mod := func(ev *events) func(c *Config) {
		return func(c *Config) {
			realGroupCfg848("g-"+topic, topic)(c)
			c.Group.InstanceID = "instance-1"
			ev.hook(c)
		}
	}
	kcatBatch(t, boot, topic, 0, 30)
	tr := &tracker{seen: map[string][]string{}}
	ev1 := &events{}
	m1 := startMember(t, "first", boot, mod(ev1), tr)
	waitFor(t, "first reads 30", 20*time.Second, func() bool { return tr.count() == 30 })
	owned1 := ev1.ownedNow()

	twin := realConsumer(t, boot, mod(&events{}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := twin.Poll(ctx)
	var ge *GroupError
	if !errors.As(err, &ge) || !errors.Is(err, protocol.ErrUnreleasedInstanceID) {
		t.Fatalf("twin's Poll: %v, want a *GroupError wrapping UNRELEASED_INSTANCE_ID", err)
	}

	_, epoch1 := m1.c.Member()
	m1.stop(t, 5*time.Second)
	ev2 := &events{}
	m2 := startMember(t, "second", boot, mod(ev2), tr)
	defer m2.stop(t, 5*time.Second)
	kcatBatch(t, boot, topic, 1, 30)
	waitFor(t, "second reads 30 more", 20*time.Second, func() bool { return tr.count() == 60 })
	if owned2 := ev2.ownedNow(); !slices.Equal(owned1, owned2) {
		t.Fatalf("successor owns %v, first owned %v", owned2, owned1)
	}
	// a replaced static member keeps its epoch: the group did not rebalance
	if _, epoch2 := m2.c.Member(); epoch2 != epoch1 {
		t.Fatalf("successor's epoch %d, first's %d: the group rebalanced", epoch2, epoch1)
	}
	for k, who := range tr.seen {
		if len(who) > 1 {
			t.Errorf("%s processed by %v", k, who)
		}
	}
}

// TestRealGroup848Regex subscribes by regular expression (resolved by the
// broker, ConsumerGroupHeartbeat v1) with the range server assignor: the
// member gets the partitions of every matching topic and none of the
// others.
func TestRealGroup848Regex(t *testing.T) {
	boot, topic := realSetup(t, "group848-regex", 2)
	kc := integration.Shared(t, integration.LocalConfig{Nodes: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kc.CreateTopic(ctx, topic+"-b", 3, 1); err != nil {
		t.Fatal(err)
	}
	if err := kc.CreateTopic(ctx, "other-"+topic, 1, 1); err != nil {
		t.Fatal(err)
	}
	ev := &events{}
	c := realConsumer(t, boot, func(c *Config) {
		realGroupCfg848("g-"+topic, topic)(c)
		c.Group.Topics, c.Group.TopicRegex = nil, regexp.QuoteMeta(topic)+".*"
		c.Group.ServerAssignor = ServerAssignorRange
		ev.hook(c)
	})
	go func() {
		for ctx.Err() == nil {
			if _, err := c.Poll(ctx); err != nil {
				return
			}
		}
	}()
	waitFor(t, "member owns both topics' 5 partitions", 30*time.Second, func() bool { return len(ev.ownedNow()) == 5 })
	for _, tp := range ev.ownedNow() {
		if !strings.HasPrefix(tp.Topic, topic) {
			t.Errorf("assigned %s, which does not match", tp)
		}
	}
}
