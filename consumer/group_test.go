package consumer

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/consumer/assign"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// groupCfg is a fast group configuration for kfake.
func groupCfg(group string, assignors ...assign.Assignor) func(*Config) {
	return func(c *Config) {
		if testing.Verbose() {
			c.Conn.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		}
		c.Group = GroupConfig{GroupID: group, Topics: []string{testTopic}, Assignors: assignors,
			SessionTimeout: 6 * time.Second, HeartbeatInterval: 100 * time.Millisecond,
			RebalanceTimeout: 5 * time.Second, AutoCommitInterval: 100 * time.Millisecond}
	}
}

// events records a member's callbacks.
type events struct {
	mu       sync.Mutex
	assigned []TopicPartition
	revoked  [][]TopicPartition
	lost     [][]TopicPartition
	owned    map[TopicPartition]bool
}

func (e *events) hook(c *Config) {
	e.owned = map[TopicPartition]bool{}
	c.Group.OnAssigned = func(_ context.Context, _ *Consumer, tps []TopicPartition) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.assigned = append(e.assigned, tps...)
		for _, tp := range tps {
			e.owned[tp] = true
		}
	}
	c.Group.OnRevoked = func(_ context.Context, _ *Consumer, tps []TopicPartition) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.revoked = append(e.revoked, tps)
		for _, tp := range tps {
			delete(e.owned, tp)
		}
	}
	c.Group.OnLost = func(_ context.Context, _ *Consumer, tps []TopicPartition) {
		e.mu.Lock()
		defer e.mu.Unlock()
		e.lost = append(e.lost, tps)
		for _, tp := range tps {
			delete(e.owned, tp)
		}
	}
}

func (e *events) ownedNow() []TopicPartition {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []TopicPartition
	for tp := range e.owned {
		out = append(out, tp)
	}
	slices.SortFunc(out, compareTP)
	return out
}

func (e *events) lostCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.lost)
}

func (e *events) revokedAll() []TopicPartition {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []TopicPartition
	for _, r := range e.revoked {
		out = append(out, r...)
	}
	return out
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pollLoop polls c until ctx ends, marking every record processed, and
// counts records per partition offset.
func pollLoop(ctx context.Context, c *Consumer, seen *sync.Map) {
	for ctx.Err() == nil {
		fs, err := c.Poll(ctx)
		if err != nil {
			return
		}
		fs.EachRecord(func(r *gregor.Record) {
			k := TopicPartition{r.Topic, r.Partition}
			v, _ := seen.LoadOrStore(k, new(sync.Map))
			n, _ := v.(*sync.Map).LoadOrStore(r.Offset, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
			c.MarkProcessed(r)
		})
	}
}

func TestGroupConfigValidate(t *testing.T) {
	cases := []struct {
		g     GroupConfig
		field string
	}{
		{GroupConfig{GroupID: "g"}, "Group.Topics"},
		{GroupConfig{Topics: []string{"t"}}, "Group.GroupID"},
		{GroupConfig{GroupID: "g", Topics: []string{"t"}, TopicRegex: "t.*"}, "Group.TopicRegex"},
		{GroupConfig{GroupID: "g", TopicRegex: "("}, "Group.TopicRegex"},
		{GroupConfig{GroupID: "g", Topics: []string{"t"}, Protocol: 7}, "Group.Protocol"},
		{GroupConfig{GroupID: "g", Topics: []string{"t"}, ServerAssignor: ServerAssignorRange}, "Group.ServerAssignor"},
		{GroupConfig{GroupID: "g", Topics: []string{"t"}, Protocol: GroupConsumer, ServerAssignor: 9}, "Group.ServerAssignor"},
		{GroupConfig{GroupID: "g", Topics: []string{"t"}, Protocol: GroupConsumer, Assignors: []assign.Assignor{assign.Range}}, "Group.Assignors"},
		{GroupConfig{GroupID: "g", Topics: []string{"t"}, Protocol: GroupConsumer, SessionTimeout: time.Second}, "Group.SessionTimeout"},
		{GroupConfig{GroupID: "g", Topics: []string{"t"}, Protocol: GroupConsumer, HeartbeatInterval: time.Second}, "Group.HeartbeatInterval"},
		{GroupConfig{GroupID: "g", Topics: []string{"t"}, HeartbeatInterval: time.Minute}, "Group.HeartbeatInterval"},
		{GroupConfig{GroupID: "g", Topics: []string{"t"}, SessionTimeout: -1}, "Group.SessionTimeout"},
		{GroupConfig{GroupID: "g", Topics: []string{"t"}, Assignors: []assign.Assignor{assign.Range, assign.Range}}, "Group.Assignors"},
	}
	for _, tc := range cases {
		cfg := Config{Conn: gregor.ConnConfig{SeedBrokers: []string{"x:9092"}}, Group: tc.g}
		var ce *ConfigError
		if err := cfg.Validate(); !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%+v: got %v, want field %s", tc.g, err, tc.field)
		}
	}
	d := (Config{Group: GroupConfig{GroupID: "g", Topics: []string{"t"}}}).WithDefaults().Group
	if d.SessionTimeout != 45*time.Second || d.HeartbeatInterval != 3*time.Second || d.RebalanceTimeout != 5*time.Minute ||
		d.AutoCommitInterval != 5*time.Second || len(d.Assignors) != 2 || d.Assignors[0].Name() != "range" ||
		d.Assignors[1].Name() != "cooperative-sticky" {
		t.Errorf("defaults: %+v", d)
	}
}

func TestLedgerPrefix(t *testing.T) {
	l := newLedger()
	tp := TopicPartition{"t", 0}
	l.own(tp, 10)
	recs := []gregor.Record{{Topic: "t", Offset: 10}, {Topic: "t", Offset: 11}, {Topic: "t", Offset: 13}, {Topic: "t", Offset: 14}}
	l.handed(tp, recs, 15)
	if off, _ := l.processed(tp); off != 10 {
		t.Fatalf("nothing marked: %d", off)
	}
	l.mark(&recs[1])
	l.mark(&recs[3])
	if off, _ := l.processed(tp); off != 10 {
		t.Fatalf("gap at 10: %d", off)
	}
	l.mark(&recs[0])
	if off, _ := l.processed(tp); off != 13 {
		t.Fatalf("gap at 13: %d", off)
	}
	l.mark(&recs[2])
	if off, _ := l.processed(tp); off != 15 {
		t.Fatalf("all marked: %d, want 15 (past the batch)", off)
	}
	if n := l.inFlight([]TopicPartition{tp}); n != 0 {
		t.Fatalf("in flight %d", n)
	}
}

// TestGroupCommitProcessedPrefix: one member consumes, marks records out
// of order, and the committed offset stops at the first unmarked record.
func TestGroupCommitProcessedPrefix(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 1)
	addrs := f.ListenAddrs()
	produce(t, addrs, []int32{0}, 0, 10, time.Time{})
	c := newConsumer(t, addrs, groupCfg("g-prefix"))
	var recs []gregor.Record
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for len(recs) < 10 {
		fs, err := c.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *gregor.Record) {
			recs = append(recs, gregor.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset})
		})
	}
	for _, i := range []int{0, 1, 2, 4, 5, 6} { // 3 is still being processed
		c.MarkProcessed(&recs[i])
	}
	tp := TopicPartition{testTopic, 0}
	if off, ok := c.Processed(tp); !ok || off != 3 {
		t.Fatalf("Processed = %d %v, want 3", off, ok)
	}
	if err := c.CommitSync(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := c.grp.fetchCommitted(ctx, []TopicPartition{tp})
	if err != nil || got[tp] != 3 {
		t.Fatalf("committed %v %v, want 3", got, err)
	}
	c.MarkProcessed(&recs[3])
	done := make(chan error, 1)
	c.CommitAsync(func(err error) { done <- err })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got, _ = c.grp.fetchCommitted(ctx, []TopicPartition{tp})
	if got[tp] != 7 {
		t.Fatalf("committed %v, want 7", got)
	}
	c.MarkProcessed(&recs[7], &recs[8], &recs[9])
}

// rebalanceRun starts member a alone on 6 partitions, lets it consume the
// first records, then starts member b and waits until the two split the
// partitions. It returns both members' callback events.
func rebalanceRun(t *testing.T, group string, assignors ...assign.Assignor) (ea, eb *events, seen *sync.Map) {
	f := newFake(t, 1, 6)
	addrs := f.ListenAddrs()
	all := []int32{0, 1, 2, 3, 4, 5}
	produce(t, addrs, all, 0, 20, time.Time{})
	ea, eb, seen = &events{}, &events{}, &sync.Map{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	a := newConsumer(t, addrs, func(c *Config) { groupCfg(group, assignors...)(c); ea.hook(c) })
	wg.Add(1)
	go func() { defer wg.Done(); pollLoop(ctx, a, seen) }()
	waitFor(t, "a owns all", 10*time.Second, func() bool { return len(ea.ownedNow()) == 6 })
	b := newConsumer(t, addrs, func(c *Config) { groupCfg(group, assignors...)(c); eb.hook(c) })
	wg.Add(1)
	go func() { defer wg.Done(); pollLoop(ctx, b, seen) }()
	waitFor(t, "split 3/3", 15*time.Second, func() bool { return len(ea.ownedNow()) == 3 && len(eb.ownedNow()) == 3 })
	oa, ob := ea.ownedNow(), eb.ownedNow()
	for _, tp := range oa {
		if slices.Contains(ob, tp) {
			t.Fatalf("%s owned by both: %v %v", tp, oa, ob)
		}
	}
	produce(t, addrs, all, 20, 10, time.Time{})
	waitFor(t, "every record", 15*time.Second, func() bool {
		// Count the records processed, not the counters: pollLoop creates
		// a record's counter before it adds to it.
		n := 0
		seen.Range(func(_, v any) bool {
			v.(*sync.Map).Range(func(_, c any) bool {
				if c.(*atomic.Int32).Load() > 0 {
					n++
				}
				return true
			})
			return true
		})
		return n == 6*30
	})
	// every record was marked right after processing and revoked partitions
	// were committed before they moved: none is processed twice
	seen.Range(func(k, v any) bool {
		v.(*sync.Map).Range(func(off, n any) bool {
			if c := n.(*atomic.Int32).Load(); c != 1 {
				t.Errorf("%v@%v processed %d times", k, off, c)
			}
			return true
		})
		return true
	})
	return ea, eb, seen
}

// TestGroupCooperativeRebalance: with cooperative-sticky, the first member
// gives up only the three partitions that move, in one revoke, and keeps
// consuming the others; every record is seen.
func TestGroupCooperativeRebalance(t *testing.T) {
	leakcheck.Check(t)
	ea, _, _ := rebalanceRun(t, "g-coop", assign.CooperativeSticky)
	rev := ea.revokedAll()
	if len(rev) != 3 {
		t.Fatalf("a revoked %v, want exactly the 3 moving partitions", rev)
	}
	for _, tp := range ea.ownedNow() {
		if slices.Contains(rev, tp) {
			t.Fatalf("kept partition %s was revoked", tp)
		}
	}
}

// TestGroupEagerRebalance: with range (eager) the first member revokes all
// six partitions before rejoining, then gets three back.
func TestGroupEagerRebalance(t *testing.T) {
	leakcheck.Check(t)
	ea, _, _ := rebalanceRun(t, "g-eager", assign.Range)
	if rev := ea.revokedAll(); len(rev) < 6 {
		t.Fatalf("a revoked %v, want all 6", rev)
	}
}

// TestGroupRevokeBarrier: a member holds its records unmarked (a slow
// processor). When a second member joins, the revoke waits for the marks;
// the commit then equals what was processed, and the new owner starts
// exactly there: no record is processed by both.
func TestGroupRevokeBarrier(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 4)
	addrs := f.ListenAddrs()
	all := []int32{0, 1, 2, 3}
	produce(t, addrs, all, 0, 10, time.Time{})
	ea, eb := &events{}, &events{}
	var revokedAt atomic.Int64
	a := newConsumer(t, addrs, func(c *Config) {
		groupCfg("g-barrier", assign.CooperativeSticky)(c)
		ea.hook(c)
		inner := c.Group.OnRevoked
		c.Group.OnRevoked = func(ctx context.Context, cc *Consumer, tps []TopicPartition) {
			revokedAt.Store(time.Now().UnixNano())
			inner(ctx, cc, tps)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	var mu sync.Mutex
	var held []gregor.Record
	var released atomic.Bool
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			fs, err := a.Poll(ctx)
			if err != nil {
				return
			}
			fs.EachRecord(func(r *gregor.Record) {
				mu.Lock()
				defer mu.Unlock()
				if released.Load() {
					a.MarkProcessed(r)
					return
				}
				held = append(held, gregor.Record{Topic: r.Topic, Partition: r.Partition, Offset: r.Offset})
			})
		}
	}()
	waitFor(t, "a holds 40 records", 10*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(held) == 40 })
	seenB := &sync.Map{}
	b := newConsumer(t, addrs, func(c *Config) { groupCfg("g-barrier", assign.CooperativeSticky)(c); eb.hook(c) })
	wg.Add(1)
	go func() { defer wg.Done(); pollLoop(ctx, b, seenB) }()
	time.Sleep(time.Second)
	if revokedAt.Load() != 0 {
		t.Fatal("partitions revoked while their records were still being processed")
	}
	releasedAt := time.Now().UnixNano()
	mu.Lock()
	released.Store(true)
	for i := range held {
		a.MarkProcessed(&held[i])
	}
	mu.Unlock()
	waitFor(t, "split 2/2", 10*time.Second, func() bool { return len(ea.ownedNow()) == 2 && len(eb.ownedNow()) == 2 })
	if r := revokedAt.Load(); r < releasedAt {
		t.Fatalf("revoked at %d, before the records were marked at %d", r, releasedAt)
	}
	for _, tp := range eb.ownedNow() {
		got, err := b.grp.fetchCommitted(ctx, []TopicPartition{tp})
		if err != nil || got[tp] != 10 {
			t.Fatalf("%s committed %v %v, want 10 (what a processed)", tp, got, err)
		}
	}
	produce(t, addrs, all, 10, 5, time.Time{})
	waitFor(t, "b reads the new records", 10*time.Second, func() bool {
		n := 0
		seenB.Range(func(_, v any) bool {
			v.(*sync.Map).Range(func(_, _ any) bool { n++; return true })
			return true
		})
		return n == 10
	})
	seenB.Range(func(k, v any) bool {
		v.(*sync.Map).Range(func(off, _ any) bool {
			if off.(int64) < 10 {
				t.Errorf("b processed %v@%d, which a had processed", k, off)
			}
			return true
		})
		return true
	})
}

// TestGroupRegexAndPauseCleared: a member subscribed by regular expression
// gets the matching topic; a partition it paused, lost to another member
// and got back is fetched again (the pause did not survive the move).
func TestGroupRegexAndPauseCleared(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 2)
	addrs := f.ListenAddrs()
	produce(t, addrs, []int32{0, 1}, 0, 5, time.Time{})
	ea := &events{}
	regex := func(c *Config) {
		groupCfg("g-regex", assign.CooperativeSticky)(c)
		c.Group.Topics, c.Group.TopicRegex = nil, "t|nothing"
	}
	a := newConsumer(t, addrs, func(c *Config) { regex(c); ea.hook(c) })
	recs := collect(t, a, 10, 10*time.Second)
	for _, r := range recs {
		a.MarkProcessed(&gregor.Record{Topic: r.tp.Topic, Partition: r.tp.Partition, Offset: r.offset})
	}
	a.Pause(TopicPartition{testTopic, 0}, TopicPartition{testTopic, 1})
	eb := &events{}
	b, err := New(func() Config {
		cfg := Config{Conn: gregor.ConnConfig{SeedBrokers: addrs}, FetchMaxWait: 100 * time.Millisecond}
		regex(&cfg)
		eb.hook(&cfg)
		return cfg
	}())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "split 1/1", 10*time.Second, func() bool { return len(ea.ownedNow()) == 1 && len(eb.ownedNow()) == 1 })
	moved := eb.ownedNow()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a owns both again", 10*time.Second, func() bool { return len(ea.ownedNow()) == 2 })
	produce(t, addrs, []int32{moved.Partition}, 5, 3, time.Time{})
	got := collect(t, a, 3, 10*time.Second)
	checkExact(t, got, []int32{moved.Partition}, 5, 3)
	for _, r := range got {
		a.MarkProcessed(&gregor.Record{Topic: r.tp.Topic, Partition: r.tp.Partition, Offset: r.offset})
	}
}

// TestGroupCloseDeadline: a member whose last records are never marked
// closes within its deadline, commits the processed prefix only and
// leaves no goroutine behind.
func TestGroupCloseDeadline(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 1)
	addrs := f.ListenAddrs()
	produce(t, addrs, []int32{0}, 0, 10, time.Time{})
	c, err := New(func() Config {
		cfg := Config{Conn: gregor.ConnConfig{SeedBrokers: addrs}, FetchMaxWait: 100 * time.Millisecond}
		groupCfg("g-close")(&cfg)
		cfg.Group.DisableAutoCommit = true
		return cfg
	}())
	if err != nil {
		t.Fatal(err)
	}
	recs := collect(t, c, 10, 10*time.Second)
	for _, r := range recs[:4] {
		c.MarkProcessed(&gregor.Record{Topic: r.tp.Topic, Partition: r.tp.Partition, Offset: r.offset})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if err := c.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if d := time.Since(start); d > 2500*time.Millisecond {
		t.Fatalf("Close took %v with a 2s deadline", d)
	}
	// a fresh member of the group starts where the processed prefix ended
	c2 := newConsumer(t, addrs, groupCfg("g-close"))
	got := collect(t, c2, 6, 10*time.Second)
	checkExact(t, got, []int32{0}, 4, 6)
	for _, r := range got {
		c2.MarkProcessed(&gregor.Record{Topic: r.tp.Topic, Partition: r.tp.Partition, Offset: r.offset})
	}
}

// TestGroupRegexNewTopic: a topic created after the member joined that
// matches its regular expression is picked up at the next metadata check.
func TestGroupRegexNewTopic(t *testing.T) {
	leakcheck.Check(t)
	old := metadataCheckInterval
	metadataCheckInterval = 200 * time.Millisecond
	t.Cleanup(func() { metadataCheckInterval = old })
	f, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, testTopic), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	addrs := f.ListenAddrs()
	ev := &events{}
	c := newConsumer(t, addrs, func(cfg *Config) {
		groupCfg("g-newtopic")(cfg)
		cfg.Group.Topics, cfg.Group.TopicRegex = nil, "t.*"
		ev.hook(cfg)
	})
	waitFor(t, "t[0] owned", 10*time.Second, func() bool { return len(ev.ownedNow()) == 1 })
	cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(context.Background(), &kgo.Record{Topic: "t2", Value: []byte("new")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		fs, err := c.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll: %v (owned %v)", err, ev.ownedNow())
		}
		found := false
		fs.EachRecord(func(r *gregor.Record) {
			c.MarkProcessed(r)
			found = found || (r.Topic == "t2" && string(r.Value) == "new")
		})
		if found {
			return
		}
	}
}

func TestLedgerDuplicateAndStaleMarks(t *testing.T) {
	l := newLedger()
	tp := TopicPartition{"t", 0}
	l.own(tp, 0)
	recs := []gregor.Record{{Topic: "t", Offset: 0}, {Topic: "t", Offset: 1}, {Topic: "t", Offset: 2}}
	l.handed(tp, recs, 3)
	l.mark(&recs[0])
	if l.mark(&recs[0]) {
		t.Fatal("a mark below the prefix was accepted")
	}
	l.mark(&recs[2])
	l.mark(&recs[2])
	if off, _ := l.processed(tp); off != 1 {
		t.Fatalf("processed %d, want 1", off)
	}
	l.mark(&recs[1])
	if off, _ := l.processed(tp); off != 3 {
		t.Fatalf("processed %d, want 3", off)
	}
	l.release([]TopicPartition{tp})
	if l.mark(&recs[1]) {
		t.Fatal("a mark of a released partition was accepted")
	}
}

// TestGroupMetadata: a member's GroupMetadata names its group, member id
// and generation once it has joined, matching Member (kfake refuses static
// members, so the instance id is empty); a consumer without a group gives
// generation -1.
func TestGroupMetadata(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 2)
	addrs := f.ListenAddrs()
	produce(t, addrs, []int32{0, 1}, 0, 5, time.Time{})
	c := newConsumer(t, addrs, groupCfg("g-meta"))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for n := 0; n < 10; {
		fs, err := c.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += fs.NumRecords()
	}
	meta := c.GroupMetadata()
	memberID, gen := c.Member()
	if meta.GroupID != "g-meta" || meta.GroupInstanceID != "" || meta.MemberID != memberID || memberID == "" ||
		meta.GenerationID != gen || gen < 1 {
		t.Fatalf("GroupMetadata %+v; Member %q generation %d", meta, memberID, gen)
	}
	direct := newConsumer(t, addrs, nil)
	if m := direct.GroupMetadata(); m != (gregor.GroupMetadata{GenerationID: -1}) {
		t.Fatalf("direct consumer GroupMetadata %+v", m)
	}
}
