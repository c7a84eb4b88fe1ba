package consumer

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/consumer/assign"
	"github.com/gregorkafka/gregor/producer"
)

// millionRecords is how many records the three-member tests write;
// GREGOR_GROUP_RECORDS overrides it.
func millionRecords(t *testing.T) int {
	if s := os.Getenv("GREGOR_GROUP_RECORDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 5 {
			t.Fatalf("GREGOR_GROUP_RECORDS=%q", s)
		}
		return n
	}
	return 1_000_000
}

// coverage counts, per partition and offset, how often a record was
// processed.
type coverage struct {
	mu     sync.Mutex
	counts map[int32][]uint8
	total  atomic.Int64 // distinct records processed
}

func (cv *coverage) addAll(fs Fetches) {
	cv.mu.Lock()
	defer cv.mu.Unlock()
	fs.EachRecord(func(r *gregor.Record) {
		c := cv.counts[r.Partition]
		if int64(len(c)) <= r.Offset {
			c = append(c, make([]uint8, int(r.Offset)+1-len(c)+len(c)/2)...)
			cv.counts[r.Partition] = c
		}
		if c[r.Offset] == 0 {
			cv.total.Add(1)
		}
		if c[r.Offset] < 255 {
			c[r.Offset]++
		}
	})
}

// newSpreadProducer returns a Gregor producer that spreads records over
// the partitions in turn, in large batches.
func newSpreadProducer(tb testing.TB, boot []string) *producer.Producer {
	pr, err := producer.New(producer.Config{Conn: gregor.ConnConfig{SeedBrokers: boot},
		Partitioner: producer.PartitionRoundRobin, BatchBytes: 256 << 10, Linger: 10 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	return pr
}

// produceN writes n records with 100-byte values to topic and waits until
// all are acknowledged; it returns the first failure.
func produceN(ctx context.Context, pr *producer.Producer, topic string, n int) error {
	value := make([]byte, 100)
	var failed atomic.Value
	for range n {
		pr.Produce(ctx, &gregor.Record{Topic: topic, Value: value}, func(_ *gregor.Record, res producer.Result) {
			if res.Err != nil {
				failed.Store(res.Err)
			}
		})
	}
	if err := pr.Flush(ctx); err != nil {
		return err
	}
	err, _ := failed.Load().(error)
	return err
}

// churnMember is one member of the three-member tests: it processes and
// marks every record and counts the partitions revoked from it while it
// stays in the group (not those it gives up on Close).
type churnMember struct {
	name    string
	c       *Consumer
	ev      *events
	leaving atomic.Bool
	revoked atomic.Int64
	cancel  context.CancelFunc
	done    chan struct{}
}

func startChurnMember(t *testing.T, name string, boot []string, mod func(*Config), cv *coverage) *churnMember {
	m := &churnMember{name: name, ev: &events{}, done: make(chan struct{})}
	cfg := Config{Conn: gregor.ConnConfig{SeedBrokers: boot}}
	mod(&cfg)
	m.ev.hook(&cfg)
	onRevoked := cfg.Group.OnRevoked
	cfg.Group.OnRevoked = func(ctx context.Context, c *Consumer, tps []TopicPartition) {
		if !m.leaving.Load() {
			m.revoked.Add(int64(len(tps)))
		}
		onRevoked(ctx, c, tps)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m.c = c
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			fs, err := c.Poll(ctx)
			if err != nil {
				return
			}
			cv.addAll(fs)
			fs.EachRecord(func(r *gregor.Record) { c.MarkProcessed(r) })
		}
	}()
	return m
}

func (m *churnMember) stop(t *testing.T) {
	m.leaving.Store(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m.c.Close(ctx); err != nil {
		t.Errorf("%s: Close: %v", m.name, err)
	}
	m.cancel()
	<-m.done
}

// threeMembers is issue #6's group test: three members of one group on a
// 12-partition topic join and leave one by one (all cleanly) while the
// producer writes n 100-byte records in five chunks, one per membership
// change. Every record must be processed exactly once, and the members
// that stay must give up only the partitions that have to move: 6 when
// the second member joins, 4 when the third does, none when the others
// leave.
func threeMembers(t *testing.T, mod func(group, topic string) func(*Config)) {
	boot, topic := realSetup(t, "group-million", 12)
	n := millionRecords(t)
	cfgMod := mod("g-"+topic, topic)
	pr := newSpreadProducer(t, boot)
	defer pr.Close(context.Background())
	var produceErr atomic.Value
	produce := func(count int) chan struct{} {
		done := make(chan struct{})
		go func() {
			defer close(done)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			if err := produceN(ctx, pr, topic, count); err != nil {
				produceErr.Store(err)
			}
		}()
		return done
	}
	cv := &coverage{counts: map[int32][]uint8{}}
	var live, all []*churnMember
	settled := func() bool { // balanced, every partition owned once
		owned := 0
		for _, m := range live {
			k := len(m.ev.ownedNow())
			if k < 12/len(live) || k > (12+len(live)-1)/len(live) {
				return false
			}
			owned += k
		}
		return owned == 12
	}
	join := func(name string) func() {
		return func() {
			m := startChurnMember(t, name, boot, cfgMod, cv)
			live, all = append(live, m), append(all, m)
		}
	}
	leave := func() {
		m := live[0]
		live = live[1:]
		m.stop(t)
	}
	steps := []func(){join("m1"), join("m2"), join("m3"), leave, leave}
	wantMoved := []int64{0, 6, 4, 0, 0}
	start := time.Now()
	for i, step := range steps {
		before := revocations(all...)
		chunk := n / len(steps)
		if i == len(steps)-1 {
			chunk = n - chunk*(len(steps)-1)
		}
		written := produce(chunk)
		step()
		waitFor(t, fmt.Sprintf("group settled after step %d", i+1), 60*time.Second, settled)
		if moved := revocations(all...) - before; moved != wantMoved[i] {
			t.Errorf("step %d: members that stayed gave up %d partitions, want %d", i+1, moved, wantMoved[i])
		}
		<-written
		if err, _ := produceErr.Load().(error); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	waitFor(t, "every record processed", 120*time.Second, func() bool { return cv.total.Load() >= int64(n) })
	elapsed := time.Since(start)
	live[0].stop(t)
	cv.mu.Lock()
	defer cv.mu.Unlock()
	dups := 0
	for p := range int32(12) {
		for off, c := range cv.counts[p] {
			if c > 1 {
				if dups++; dups < 5 {
					t.Errorf("partition %d offset %d processed %d times", p, off, c)
				}
			}
		}
	}
	// the log holds exactly n records at offsets 0..: n distinct ones
	// processed is complete coverage
	if cv.total.Load() != int64(n) || dups > 0 {
		t.Fatalf("%d distinct records processed of %d written; %d processed more than once", cv.total.Load(), n, dups)
	}
	t.Logf("%d records through 5 membership changes in %v, none processed twice", n, elapsed.Round(time.Millisecond))
}

// revocations sums the partitions revoked from members while they stayed.
func revocations(ms ...*churnMember) int64 {
	var n int64
	for _, m := range ms {
		n += m.revoked.Load()
	}
	return n
}

// TestRealGroupMillionClassic runs threeMembers with the classic protocol
// and the cooperative-sticky assignor.
func TestRealGroupMillionClassic(t *testing.T) {
	threeMembers(t, func(group, topic string) func(*Config) {
		return func(c *Config) {
			realGroupCfg(group, topic)(c)
			c.Group.Assignors = []assign.Assignor{assign.CooperativeSticky}
		}
	})
}

// TestRealGroupMillion848 runs threeMembers with the KIP-848 protocol.
func TestRealGroupMillion848(t *testing.T) {
	threeMembers(t, realGroupCfg848)
}
