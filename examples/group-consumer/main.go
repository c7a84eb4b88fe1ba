// Command group-consumer shows a consumer group with rebalance callbacks and
// manual commits.
//
// It creates a topic and starts -members consumers in one group (in one
// process here; in production each is usually its own process). Every
// member prints the partitions the group assigns, revokes or loses, marks
// each record it finished with MarkProcessed, and commits after each batch
// with CommitSync; automatic commits are off. Once every member owns
// partitions, it writes -records keyed records, waits until the group has
// read them all, closes the members one by one (each commits what it
// processed and hands its partitions back) and prints the group's committed
// offsets next to the partitions' end offsets: they are equal, so a new
// member would start exactly after the last processed record.
//
// Commits follow what was marked processed, not what Poll returned, so
// a record handed out but not finished when a rebalance takes its partition
// away is read again by the next owner rather than skipped.
//
// By default it runs against an in-process fake cluster; -brokers points it
// at real brokers:
//
//	go run ./examples/group-consumer
//	go run ./examples/group-consumer -brokers 127.0.0.1:9092 -members 3 -records 1000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/consumer"
	"github.com/gregorkafka/gregor/producer"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
)

// options are the program's flags.
type options struct {
	brokers    string
	topic      string
	group      string
	partitions int
	members    int
	records    int
}

func main() {
	var o options
	flag.StringVar(&o.brokers, "brokers", "", "comma-separated bootstrap brokers; empty starts an in-process fake cluster")
	flag.StringVar(&o.topic, "topic", fmt.Sprintf("gregor-group-%d", time.Now().Unix()), "topic to create and read")
	flag.StringVar(&o.group, "group", fmt.Sprintf("gregor-group-%d", time.Now().Unix()), "consumer group id")
	flag.IntVar(&o.partitions, "partitions", 6, "partitions of the new topic")
	flag.IntVar(&o.members, "members", 2, "group members to run")
	flag.IntVar(&o.records, "records", 100, "records to write and read")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "group-consumer:", err)
		os.Exit(1)
	}
}

// state is what the members share: who owns which partition, and how often
// each record was processed. Callbacks and poll loops run on several
// goroutines, so everything goes through mu.
type state struct {
	mu        sync.Mutex
	owned     map[string][]consumer.TopicPartition // member name -> partitions
	seen      map[string]int                       // record value -> times processed
	perMember map[string]int                       // member name -> records processed
	changed   chan struct{}                        // closed and replaced on every change
}

// update runs f under the lock and wakes waiters.
func (s *state) update(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f()
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor waits until cond, checked under the lock, holds or ctx ends.
func (s *state) waitFor(ctx context.Context, what string, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		}
	}
}

func run(ctx context.Context, o options) error {
	if o.members <= 0 || o.records <= 0 || o.partitions < o.members {
		return fmt.Errorf("need members > 0, records > 0 and at least as many partitions as members")
	}
	seeds := strings.Split(o.brokers, ",")
	if o.brokers == "" {
		fake, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			return fmt.Errorf("start a fake cluster: %w", err)
		}
		defer fake.Close()
		seeds = fake.ListenAddrs()
	}
	conn := gregor.ConnConfig{SeedBrokers: seeds, ClientID: "gregor-group-consumer"}
	adm, err := admin.New(conn)
	if err != nil {
		return err
	}
	defer adm.Close(context.Background())
	_, err = adm.CreateTopic(ctx, admin.NewTopic{Name: o.topic, Partitions: int32(o.partitions)}, admin.CreateTopicsOptions{})
	if err != nil && !errors.Is(err, protocol.ErrTopicAlreadyExists) {
		return fmt.Errorf("create topic: %w", err)
	}

	st := &state{owned: map[string][]consumer.TopicPartition{}, seen: map[string]int{},
		perMember: map[string]int{}, changed: make(chan struct{})}
	pollCtx, stopPolling := context.WithCancel(ctx)
	defer stopPolling()
	var loops sync.WaitGroup
	members := make([]*consumer.Consumer, o.members)
	names := make([]string, o.members)
	for i := range members {
		names[i] = fmt.Sprintf("member-%d", i+1)
		c, err := newMember(conn, o, names[i], st)
		if err != nil {
			return err
		}
		members[i] = c
		defer c.Close(context.Background()) // after an early return only; see below
		loops.Add(1)
		go func() {
			defer loops.Done()
			pollLoop(pollCtx, c, names[i], st)
		}()
	}

	// Records are written only once the group is stable with every member
	// owning partitions, so that each member gets a share.
	err = st.waitFor(ctx, "every member to own partitions", func() bool {
		total := 0
		for _, name := range names {
			if len(st.owned[name]) == 0 {
				return false
			}
			total += len(st.owned[name])
		}
		return total == o.partitions
	})
	if err != nil {
		return err
	}
	if err := produce(ctx, conn, o); err != nil {
		return err
	}
	err = st.waitFor(ctx, "every record to be processed", func() bool { return len(st.seen) == o.records })
	if err != nil {
		return err
	}

	// Stop the poll loops, then close the members one at a time: Close
	// commits what was marked processed and leaves the group, which hands
	// the member's partitions to the others.
	stopPolling()
	loops.Wait()
	for i, c := range members {
		if err := c.Close(ctx); err != nil {
			return fmt.Errorf("close %s: %w", names[i], err)
		}
		fmt.Printf("[%s] closed\n", names[i])
	}
	return report(ctx, adm, o, names, st)
}

// newMember creates one group member whose callbacks print rebalances and
// keep st.owned current.
func newMember(conn gregor.ConnConfig, o options, name string, st *state) (*consumer.Consumer, error) {
	onChange := func(what string, drop bool) consumer.PartitionsFunc {
		return func(_ context.Context, _ *consumer.Consumer, parts []consumer.TopicPartition) {
			fmt.Printf("[%s] %s %s\n", name, what, formatPartitions(parts))
			st.update(func() {
				if drop {
					st.owned[name] = slices.DeleteFunc(st.owned[name], func(tp consumer.TopicPartition) bool {
						return slices.Contains(parts, tp)
					})
				} else {
					st.owned[name] = append(st.owned[name], parts...)
				}
			})
		}
	}
	return consumer.New(consumer.Config{
		Conn: conn,
		Group: consumer.GroupConfig{
			GroupID:           o.group,
			Topics:            []string{o.topic},
			DisableAutoCommit: true,
			// Short timeouts make rebalances quick for a demo; production
			// settings are usually longer.
			SessionTimeout:    10 * time.Second,
			HeartbeatInterval: 500 * time.Millisecond,
			// Runs before any record of the new partitions is handed out.
			OnAssigned: onChange("assigned", false),
			// Runs after the member's processed offsets for these
			// partitions were committed, before they go to another member.
			OnRevoked: onChange("revoked (processed offsets committed)", true),
			// Runs when the member was dropped from the group without a
			// rebalance: nothing can be committed for these partitions.
			OnLost: onChange("lost", true),
		},
	})
}

// pollLoop processes records until ctx ends: each record is counted, marked
// processed, and each batch is committed synchronously.
func pollLoop(ctx context.Context, c *consumer.Consumer, name string, st *state) {
	for {
		fetches, err := c.Poll(ctx)
		if err != nil {
			if ctx.Err() == nil {
				fmt.Printf("[%s] poll: %v\n", name, err)
			}
			return
		}
		for _, err := range fetches.Errors() {
			fmt.Printf("[%s] partition error: %v\n", name, err)
		}
		n := fetches.NumRecords()
		if n == 0 {
			continue
		}
		fetches.EachRecord(func(r *gregor.Record) {
			// The record's Value is only valid until the next Poll; the
			// map key copies it.
			st.update(func() { st.seen[string(r.Value)]++; st.perMember[name]++ })
			c.MarkProcessed(r)
		})
		if err := c.CommitSync(ctx); err != nil && ctx.Err() == nil {
			fmt.Printf("[%s] commit: %v\n", name, err)
		}
	}
}

// produce writes o.records keyed records and waits until all are written.
func produce(ctx context.Context, conn gregor.ConnConfig, o options) error {
	p, err := producer.New(producer.Config{Conn: conn})
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	recs := make([]*gregor.Record, o.records)
	for i := range recs {
		recs[i] = &gregor.Record{Topic: o.topic, Key: fmt.Appendf(nil, "order-%d", i), Value: fmt.Appendf(nil, "order %d", i)}
	}
	if _, err := p.ProduceSync(ctx, recs...); err != nil {
		return fmt.Errorf("produce: %w", err)
	}
	fmt.Printf("wrote %d records to %s\n", o.records, o.topic)
	return nil
}

// report prints what each member processed and compares the group's
// committed offsets with the partitions' end offsets.
func report(ctx context.Context, adm *admin.Client, o options, names []string, st *state) error {
	st.mu.Lock()
	dups := 0
	for _, n := range st.seen {
		dups += n - 1
	}
	for _, name := range names {
		fmt.Printf("[%s] processed %d records\n", name, st.perMember[name])
	}
	fmt.Printf("processed %d distinct records, %d duplicates\n", len(st.seen), dups)
	st.mu.Unlock()
	if dups > 0 {
		return fmt.Errorf("%d records were processed more than once", dups)
	}

	lag, err := adm.Lag(ctx, o.group)
	if err != nil {
		return fmt.Errorf("read the group's offsets: %w", err)
	}
	var behind []string
	for p := range int32(o.partitions) {
		l, ok := lag[admin.TopicPartition{Topic: o.topic, Partition: p}]
		if !ok {
			l = admin.PartitionLag{Committed: -1, End: -1, Lag: -1}
		}
		fmt.Printf("%s[%d] committed=%d end=%d\n", o.topic, p, l.Committed, l.End)
		if l.Err != nil || l.Lag != 0 {
			behind = append(behind, fmt.Sprintf("%d", p))
		}
	}
	if len(behind) > 0 {
		return fmt.Errorf("committed offsets differ from the end offsets on partitions %s", strings.Join(behind, ","))
	}
	fmt.Println("committed offsets equal the end offsets on every partition")
	return nil
}

// formatPartitions prints partitions as topic[0,1,2].
func formatPartitions(parts []consumer.TopicPartition) string {
	if len(parts) == 0 {
		return "nothing"
	}
	nums := make([]string, len(parts))
	for i, tp := range slices.SortedFunc(slices.Values(parts), func(a, b consumer.TopicPartition) int {
		return int(a.Partition - b.Partition)
	}) {
		nums[i] = fmt.Sprint(tp.Partition)
	}
	return parts[0].Topic + "[" + strings.Join(nums, ",") + "]"
}
