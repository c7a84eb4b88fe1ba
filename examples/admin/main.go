// Command admin walks through the admin client: it describes the cluster,
// creates a topic with a config, describes it, changes a config, adds
// partitions, writes a few records and lists the partitions' end offsets,
// commits offsets for a group, lists groups and the group's offsets and
// lag, and finally deletes the group and the topic. Each step prints what
// it did and what the cluster answered.
//
// Calls that act on several items (topics, configs, partitions) return one
// result per item, each with its own error; the walkthrough checks both the
// call's error and the item's.
//
// By default it runs against an in-process fake cluster; -brokers points it
// at real brokers:
//
//	go run ./examples/admin
//	go run ./examples/admin -brokers 127.0.0.1:9092 -topic my-walkthrough
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/producer"
	"github.com/twmb/franz-go/pkg/kfake"
)

// options are the program's flags.
type options struct {
	brokers string
	topic   string
	group   string
}

func main() {
	var o options
	flag.StringVar(&o.brokers, "brokers", "", "comma-separated bootstrap brokers; empty starts an in-process fake cluster")
	flag.StringVar(&o.topic, "topic", "gregor-admin-walkthrough", "topic the walkthrough creates and deletes")
	flag.StringVar(&o.group, "group", "gregor-admin-walkthrough", "group whose offsets the walkthrough sets and deletes")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "admin:", err)
		os.Exit(1)
	}
}

// step numbers and prints the walkthrough's steps.
type step int

func (s *step) printf(format string, args ...any) {
	*s++
	fmt.Printf("step %d: %s\n", int(*s), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, o options) error {
	seeds := strings.Split(o.brokers, ",")
	if o.brokers == "" {
		fake, err := kfake.NewCluster(kfake.NumBrokers(3))
		if err != nil {
			return fmt.Errorf("start a fake cluster: %w", err)
		}
		defer fake.Close()
		seeds = fake.ListenAddrs()
	}
	conn := gregor.ConnConfig{SeedBrokers: seeds, ClientID: "gregor-admin-walkthrough"}
	adm, err := admin.New(conn)
	if err != nil {
		return err
	}
	defer adm.Close(context.Background())
	var s step

	// A broker that lacks an API answers with a typed *gregor.VersionError;
	// the fake cluster has no DescribeCluster, for example.
	cluster, err := adm.DescribeCluster(ctx, admin.DescribeClusterOptions{})
	var unsupported *gregor.VersionError
	switch {
	case errors.As(err, &unsupported):
		s.printf("the broker cannot describe the cluster: %v", err)
	case err != nil:
		return fmt.Errorf("describe cluster: %w", err)
	default:
		ids := make([]string, len(cluster.Brokers))
		for i, b := range cluster.Brokers {
			ids[i] = fmt.Sprintf("%d@%s:%d", b.ID, b.Host, b.Port)
		}
		s.printf("cluster %s: brokers %s, controller %d", cluster.ClusterID, strings.Join(ids, " "), cluster.Controller)
	}

	// Create the topic with one config set; the result reports the
	// defaults the broker applied.
	created, err := adm.CreateTopic(ctx, admin.NewTopic{
		Name:       o.topic,
		Partitions: 3,
		Configs:    map[string]string{"retention.ms": "86400000"},
	}, admin.CreateTopicsOptions{})
	if err != nil {
		return fmt.Errorf("create topic: %w", err)
	}
	s.printf("created topic %s (id %s): %d partitions, replication factor %d",
		created.Name, admin.TopicIDString(created.ID), created.Partitions, created.ReplicationFactor)

	if err := describeTopic(ctx, adm, &s, o.topic); err != nil {
		return err
	}

	// Incremental config changes (KIP-339): set one config, leave the
	// others as they are.
	res := admin.TopicResource(o.topic)
	changes := map[admin.ConfigResource][]admin.ConfigOp{
		res: {{Op: admin.OpSet, Name: "retention.ms", Value: "3600000"}},
	}
	if err := firstError(adm.AlterConfigs(ctx, changes, admin.AlterConfigsOptions{})); err != nil {
		return fmt.Errorf("alter configs: %w", err)
	}
	// The controller accepts the change first; brokers apply it when it
	// reaches them through the metadata log, a moment later. Describe until
	// the new value shows.
	value, err := waitForConfig(ctx, adm, res, "retention.ms", "3600000")
	if err != nil {
		return err
	}
	s.printf("altered config retention.ms of %s: now %s", o.topic, value)

	// Partitions can only grow; keyed records may map to other partitions
	// afterwards.
	grow := []admin.NewPartitions{{Topic: o.topic, Total: 6}}
	if err := firstError(adm.CreatePartitions(ctx, grow, admin.CreatePartitionsOptions{})); err != nil {
		return fmt.Errorf("create partitions: %w", err)
	}
	s.printf("grew %s to 6 partitions", o.topic)
	if err := describeTopic(ctx, adm, &s, o.topic); err != nil {
		return err
	}

	ends, err := writeAndListEnds(ctx, adm, conn, &s, o.topic)
	if err != nil {
		return err
	}

	// Committing offsets for a group that has no members creates it as an
	// offsets-only group; a consumer joining it later starts there.
	commit := map[admin.TopicPartition]admin.NewOffset{}
	for tp, end := range ends {
		commit[tp] = admin.NewOffset{Offset: end / 2, LeaderEpoch: -1}
	}
	if err := firstError(adm.AlterOffsets(ctx, o.group, commit)); err != nil {
		return fmt.Errorf("alter offsets: %w", err)
	}
	s.printf("committed offsets of group %s at half of each partition's end", o.group)

	groups, err := adm.ListGroups(ctx, admin.ListGroupsOptions{})
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	names := make([]string, 0, len(groups))
	for _, g := range groups {
		names = append(names, fmt.Sprintf("%s(%s)", g.Group, g.State))
	}
	slices.Sort(names)
	s.printf("groups: %s", strings.Join(names, " "))

	lag, err := adm.Lag(ctx, o.group)
	if err != nil {
		return fmt.Errorf("lag: %w", err)
	}
	var total int64
	for _, tp := range sortedPartitions(lag) {
		l := lag[tp]
		if l.Err != nil {
			return fmt.Errorf("lag of %s: %w", tp, l.Err)
		}
		fmt.Printf("  %s committed=%d end=%d lag=%d\n", tp, l.Committed, l.End, l.Lag)
		total += l.Lag
	}
	s.printf("group %s lags %d records behind on %s", o.group, total, o.topic)

	if err := firstError(adm.DeleteGroups(ctx, o.group)); err != nil {
		return fmt.Errorf("delete group: %w", err)
	}
	s.printf("deleted group %s", o.group)

	deleted, err := adm.DeleteTopics(ctx, o.topic)
	if err == nil {
		err = deleted.Err()
	}
	if err != nil {
		return fmt.Errorf("delete topic: %w", err)
	}
	s.printf("deleted topic %s", o.topic)
	return nil
}

// describeTopic prints the topic's partitions with their leaders and
// replicas.
func describeTopic(ctx context.Context, adm *admin.Client, s *step, topic string) error {
	descs, err := adm.DescribeTopics(ctx, []string{topic}, admin.DescribeTopicsOptions{})
	if err == nil {
		err = descs[0].Err
	}
	if err != nil {
		return fmt.Errorf("describe topic %s: %w", topic, err)
	}
	d := descs[0]
	s.printf("described topic %s: %d partitions", d.Name, len(d.Partitions))
	for _, p := range d.Partitions {
		fmt.Printf("  partition %d leader=%d replicas=%v isr=%v\n", p.Partition, p.Leader, p.Replicas, p.ISR)
	}
	return nil
}

// writeAndListEnds writes one record to every partition and lists the end
// offsets (the offset the next record will get).
func writeAndListEnds(ctx context.Context, adm *admin.Client, conn gregor.ConnConfig, s *step, topic string) (map[admin.TopicPartition]int64, error) {
	p, err := producer.New(producer.Config{Conn: conn, Partitioner: producer.PartitionRoundRobin})
	if err != nil {
		return nil, err
	}
	defer p.Close(context.Background())
	recs := make([]*gregor.Record, 12)
	for i := range recs {
		recs[i] = &gregor.Record{Topic: topic, Value: fmt.Appendf(nil, "record %d", i)}
	}
	if _, err := p.ProduceSync(ctx, recs...); err != nil {
		return nil, fmt.Errorf("produce: %w", err)
	}
	specs := map[admin.TopicPartition]admin.OffsetSpec{}
	for i := range int32(6) {
		specs[admin.TopicPartition{Topic: topic, Partition: i}] = admin.OffsetLatest
	}
	listed, err := adm.ListOffsets(ctx, specs, admin.ListOffsetsOptions{})
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	ends := map[admin.TopicPartition]int64{}
	for _, tp := range sortedPartitions(listed) {
		if listed[tp].Err != nil {
			return nil, fmt.Errorf("list offsets of %s: %w", tp, listed[tp].Err)
		}
		ends[tp] = listed[tp].Offset
		fmt.Printf("  %s end offset %d\n", tp, listed[tp].Offset)
	}
	s.printf("wrote %d records round robin and listed the end offsets", len(recs))
	return ends, nil
}

// firstError returns the call's error, else the first item's error, in
// a stable order.
func firstError[K comparable](items map[K]error, err error) error {
	if err != nil {
		return err
	}
	for _, k := range slices.SortedFunc(maps.Keys(items), func(a, b K) int {
		return strings.Compare(fmt.Sprint(a), fmt.Sprint(b))
	}) {
		if items[k] != nil {
			return fmt.Errorf("%v: %w", k, items[k])
		}
	}
	return nil
}

// sortedPartitions returns m's partitions by topic and partition number.
func sortedPartitions[V any](m map[admin.TopicPartition]V) []admin.TopicPartition {
	return slices.SortedFunc(maps.Keys(m), func(a, b admin.TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
}

// waitForConfig describes a config until it has the wanted value or ctx
// ends, and returns the last value seen.
func waitForConfig(ctx context.Context, adm *admin.Client, res admin.ConfigResource, name, want string) (string, error) {
	for {
		configs, err := adm.DescribeConfigs(ctx, []admin.ConfigResource{res}, admin.DescribeConfigsOptions{Keys: []string{name}})
		if err == nil {
			err = configs[0].Err
		}
		if err != nil {
			return "", fmt.Errorf("describe configs: %w", err)
		}
		entry, ok := configs[0].Get(name)
		if !ok || entry.Value == nil {
			return "", fmt.Errorf("describe configs: %s missing from the answer", name)
		}
		if *entry.Value == want {
			return want, nil
		}
		select {
		case <-ctx.Done():
			return *entry.Value, fmt.Errorf("%s is still %s: %w", name, *entry.Value, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
