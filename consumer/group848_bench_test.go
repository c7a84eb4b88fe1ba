package consumer

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/integration"
	"github.com/twmb/franz-go/pkg/kgo"
)

const groupBenchRecords = 200_000

var (
	groupBenchOnce  sync.Once
	groupBenchTopic string
)

// groupBenchSetup writes groupBenchRecords 100-byte records over 12
// partitions of a real broker once per run.
func groupBenchSetup(b *testing.B) []string {
	kc := integration.Shared(b, integration.LocalConfig{Nodes: 1})
	boot := kc.Bootstrap(integration.Plaintext)
	groupBenchOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		groupBenchTopic = fmt.Sprintf("group-bench-%d", time.Now().UnixNano())
		if err := kc.CreateTopic(ctx, groupBenchTopic, 12, 1); err != nil {
			b.Fatal(err)
		}
		pr := newSpreadProducer(b, boot)
		defer pr.Close(ctx)
		if err := produceN(ctx, pr, groupBenchTopic, groupBenchRecords); err != nil {
			b.Fatal(err)
		}
	})
	if groupBenchTopic == "" {
		b.Fatal("setup failed")
	}
	return boot
}

// BenchmarkRealGroup848 compares Gregor's KIP-848 member with franz-go's
// (kgo's opt-in next-gen balancer) on Kafka 4.1.1: each iteration joins a
// new group with one member and reads all 200,000 records (12
// partitions, 100 bytes each) from the earliest offsets, marking each
// record for commit (Gregor's MarkProcessed, kgo's MarkCommitRecords
// with AutoCommitMarks) and committing on Close, so it measures the join,
// the offset fetches, the fetch path and the marking. Each
// client's last group is checked to be a "consumer" (KIP-848) group.
func BenchmarkRealGroup848(b *testing.B) {
	if testing.Short() {
		b.Skip("real broker")
	}
	boot := groupBenchSetup(b)
	var seq atomic.Int64
	newGroup := func() string { return fmt.Sprintf("bench-%s-%d", groupBenchTopic, seq.Add(1)) }
	ctx := context.Background()
	b.Run("gregor", func(b *testing.B) {
		var group string
		measure(b, func(b *testing.B) int {
			group = newGroup()
			c, err := New(Config{Conn: gregor.ConnConfig{SeedBrokers: boot}, Group: GroupConfig{GroupID: group,
				Topics: []string{groupBenchTopic}, Protocol: GroupConsumer}})
			if err != nil {
				b.Fatal(err)
			}
			n := 0
			for n < groupBenchRecords {
				fs, err := c.Poll(ctx)
				if err != nil {
					b.Fatal(err)
				}
				fs.EachRecord(func(r *gregor.Record) { n++; c.MarkProcessed(r) })
			}
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			if err := c.Close(cctx); err != nil {
				b.Fatal(err)
			}
			return n
		})
		checkGroupType(b, boot, group)
	})
	b.Run("franz-go", func(b *testing.B) {
		var group string
		measure(b, func(b *testing.B) int {
			group = newGroup()
			//lint:ignore SA1029 kgo 1.19 reads its KIP-848 opt-in under this plain string key
			optIn := context.WithValue(ctx, "opt_in_kafka_next_gen_balancer_beta", true)
			cl, err := kgo.NewClient(kgo.SeedBrokers(boot...), kgo.ConsumerGroup(group), kgo.ConsumeTopics(groupBenchTopic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.AutoCommitMarks(), kgo.WithContext(optIn))
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			n := 0
			for n < groupBenchRecords {
				fs := cl.PollFetches(ctx)
				if errs := fs.Errors(); len(errs) > 0 {
					b.Fatal(errs)
				}
				fs.EachRecord(func(r *kgo.Record) { n++; cl.MarkCommitRecords(r) })
			}
			return n
		})
		checkGroupType(b, boot, group)
	})
}

// checkGroupType fails b unless the broker lists group as a KIP-848
// consumer group.
func checkGroupType(b *testing.B, boot []string, group string) {
	ad, err := admin.New(gregor.ConnConfig{SeedBrokers: boot})
	if err != nil {
		b.Fatal(err)
	}
	defer ad.Close(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	gs, err := ad.ListGroups(ctx, admin.ListGroupsOptions{})
	if err != nil {
		b.Fatal(err)
	}
	for _, g := range gs {
		if g.Group == group {
			if g.Type != "consumer" {
				b.Fatalf("group %s has type %q", group, g.Type)
			}
			return
		}
	}
	b.Fatalf("group %s not listed", group)
}
