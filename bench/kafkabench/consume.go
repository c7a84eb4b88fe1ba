package main

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/consumer"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fetchMaxWait is the broker's wait for FetchMinBytes, the same for both
// clients (Gregor's default; franz-go's is 5s).
const fetchMaxWait = 500 * time.Millisecond

// consume runs the consume-direct or consume-group mode: it reads from the
// start of every partition until exactly o.Records records arrived. Time
// runs from the assignment (direct: right after it; group: when the group
// hands the partitions over, so the join is left out) to the last record;
// CPU and allocations cover the whole run, client start-up and join
// included.
func consume(ctx context.Context, o options) (measurement, error) {
	group := o.Mode == "consume-group"
	groupID := o.GroupID
	if group && groupID == "" {
		groupID = fmt.Sprintf("kafkabench-%s-%d", o.Client, time.Now().UnixNano())
	}
	var (
		m     meter
		out   measurement
		got   int
		bytes int64
		first atomic.Int64 // unix nanoseconds of the assignment
	)
	assigned := func() { first.CompareAndSwap(0, time.Now().UnixNano()) }
	// note is called for each run of records handed out.
	note := func(n int, b int64) {
		got += n
		bytes += b
	}
	m.start()
	switch o.Client {
	case "gregor":
		cfg := consumer.Config{
			Conn:              gregor.ConnConfig{SeedBrokers: o.Brokers},
			FetchMaxWait:      fetchMaxWait,
			FetchMaxBytes:     int32(o.FetchMaxBytes),
			PartitionMaxBytes: int32(o.PartitionMaxBytes),
			MaxBufferedBytes:  o.MaxBufferedBytes,
		}
		if group {
			cfg.Group = consumer.GroupConfig{GroupID: groupID, Topics: []string{o.Topic},
				OnAssigned: func(context.Context, *consumer.Consumer, []consumer.TopicPartition) { assigned() }}
		}
		c, err := consumer.New(cfg)
		if err != nil {
			return out, err
		}
		defer c.Close(context.WithoutCancel(ctx))
		if !group {
			parts := make(map[consumer.TopicPartition]consumer.Offset, o.Partitions)
			for p := range o.Partitions {
				parts[consumer.TopicPartition{Topic: o.Topic, Partition: int32(p)}] = consumer.AtEarliest()
			}
			if err := c.Assign(parts); err != nil {
				return out, err
			}
			assigned()
		}
		for got < o.Records {
			fs, err := c.Poll(ctx)
			if err != nil {
				return out, fmt.Errorf("after %d records: %w", got, err)
			}
			for i := range fs {
				p := &fs[i]
				if p.Err != nil {
					return out, fmt.Errorf("partition %d after %d records: %w", p.Partition, got, p.Err)
				}
				var b int64
				for j := range p.Records {
					r := &p.Records[j]
					b += int64(len(r.Key) + len(r.Value))
					if group {
						c.MarkProcessed(r)
					}
				}
				note(len(p.Records), b)
			}
		}
	case "franz":
		opts := []kgo.Opt{
			kgo.SeedBrokers(o.Brokers...),
			kgo.FetchMaxWait(fetchMaxWait),
			kgo.FetchMaxBytes(int32(o.FetchMaxBytes)),
			kgo.FetchMaxPartitionBytes(int32(o.PartitionMaxBytes)),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		}
		if group {
			// Commit what was processed, as Gregor's MarkProcessed does.
			opts = append(opts, kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(o.Topic), kgo.AutoCommitMarks(),
				kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) { assigned() }))
		} else {
			parts := make(map[int32]kgo.Offset, o.Partitions)
			for p := range o.Partitions {
				parts[int32(p)] = kgo.NewOffset().AtStart()
			}
			opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.Topic: parts}))
		}
		cl, err := kgo.NewClient(opts...)
		if err != nil {
			return out, err
		}
		if !group {
			assigned()
		}
		defer cl.Close()
		for got < o.Records {
			fs := cl.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				return out, fmt.Errorf("after %d records: %w", got, err)
			}
			fs.EachPartition(func(p kgo.FetchTopicPartition) {
				var b int64
				for _, r := range p.Records {
					b += int64(len(r.Key) + len(r.Value))
				}
				if group && len(p.Records) > 0 {
					// franz-go commits a partition up to its highest marked
					// record, so marking the last one marks the run.
					cl.MarkCommitRecords(p.Records[len(p.Records)-1])
				}
				note(len(p.Records), b)
			})
		}
	default:
		return out, fmt.Errorf("unknown -client %q", o.Client)
	}
	out.elapsed = time.Since(time.Unix(0, first.Load()))
	m.stop(&out)
	if got != o.Records {
		return out, fmt.Errorf("consumed %d records, want exactly %d", got, o.Records)
	}
	out.records, out.bytes = got, bytes
	return out, nil
}
