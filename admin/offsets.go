package admin

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// TopicPartition names one partition of a topic.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String formats the partition as "topic[3]".
func (tp TopicPartition) String() string { return partName(tp.Topic, tp.Partition) }

// OffsetSpec says which offset ListOffsets looks up: one of the constants
// below, or a timestamp in milliseconds (see OffsetAtTime).
type OffsetSpec int64

// The special offset specs.
const (
	// OffsetLatest is the log end offset (the high watermark, or the last
	// stable offset when reading committed).
	OffsetLatest OffsetSpec = -1
	// OffsetEarliest is the log start offset.
	OffsetEarliest OffsetSpec = -2
	// OffsetMaxTimestamp is the offset of the record with the highest
	// timestamp.
	OffsetMaxTimestamp OffsetSpec = -3
)

// OffsetAtTime is the spec of the earliest offset whose timestamp is at or
// after t.
func OffsetAtTime(t time.Time) OffsetSpec { return OffsetSpec(t.UnixMilli()) }

// ListedOffset is the answer for one partition of ListOffsets.
type ListedOffset struct {
	// Offset is -1 when no record matches a timestamp spec.
	Offset int64
	// Timestamp is the record's timestamp for timestamp specs, else -1.
	Timestamp   int64
	LeaderEpoch int32
	// Err is nil, or the partition's *ItemError.
	Err error
}

// ListOffsetsOptions modifies ListOffsets.
type ListOffsetsOptions struct {
	// ReadCommitted looks up offsets as a read_committed consumer sees them:
	// OffsetLatest becomes the last stable offset.
	ReadCommitted bool
}

// ListOffsets looks up offsets of partitions, asking each partition's
// leader. Partitions whose leader moved are retried.
func (a *Client) ListOffsets(ctx context.Context, specs map[TopicPartition]OffsetSpec, opts ListOffsetsOptions) (map[TopicPartition]ListedOffset, error) {
	out := make(map[TopicPartition]ListedOffset, len(specs))
	tps := make([]TopicPartition, 0, len(specs))
	for tp := range specs {
		tps = append(tps, tp)
	}
	var mu sync.Mutex // guards out: leaders are asked concurrently
	errs := a.perLeader(ctx, tps, func(ctx context.Context, leader int32, batch []TopicPartition) (map[TopicPartition]error, error) {
		req := protocol.NewListOffsetsRequest()
		req.ReplicaId = -1
		if opts.ReadCommitted {
			req.IsolationLevel = 1
		}
		req.TimeoutMs = timeoutMs(ctx)
		for topic, parts := range byTopic(batch) {
			t := protocol.ListOffsetsRequestListOffsetsTopic{Name: topic}
			for _, p := range parts {
				t.Partitions = append(t.Partitions, protocol.ListOffsetsRequestListOffsetsPartition{PartitionIndex: p, CurrentLeaderEpoch: -1, Timestamp: int64(specs[TopicPartition{topic, p}])})
			}
			req.Topics = append(req.Topics, t)
		}
		r, id, err := a.send(ctx, cluster.BrokerID(leader), req)
		if err != nil {
			return nil, err
		}
		resp := r.(*protocol.ListOffsetsResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		res := map[TopicPartition]error{}
		mu.Lock()
		defer mu.Unlock()
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				tp := TopicPartition{t.Name, p.PartitionIndex}
				e := itemErr("partition", tp.String(), p.ErrorCode, nil)
				res[tp] = e
				if e == nil {
					out[tp] = ListedOffset{Offset: p.Offset, Timestamp: p.Timestamp, LeaderEpoch: p.LeaderEpoch}
				}
			}
		}
		return res, nil
	})
	for tp, e := range errs {
		if e != nil {
			out[tp] = ListedOffset{Offset: -1, Timestamp: -1, LeaderEpoch: -1, Err: e}
		}
	}
	return out, nil
}

// DeleteRecords deletes the records of each partition before the given
// offset (-1 for the high watermark), asking each partition's leader. It
// returns, per partition, the new log start offset (the low watermark) and
// the partition's error.
func (a *Client) DeleteRecords(ctx context.Context, before map[TopicPartition]int64) (map[TopicPartition]DeletedRecords, error) {
	out := make(map[TopicPartition]DeletedRecords, len(before))
	tps := make([]TopicPartition, 0, len(before))
	for tp := range before {
		tps = append(tps, tp)
	}
	var mu sync.Mutex // guards out: leaders are asked concurrently
	errs := a.perLeader(ctx, tps, func(ctx context.Context, leader int32, batch []TopicPartition) (map[TopicPartition]error, error) {
		req := protocol.NewDeleteRecordsRequest()
		req.TimeoutMs = timeoutMs(ctx)
		for topic, parts := range byTopic(batch) {
			t := protocol.DeleteRecordsRequestDeleteRecordsTopic{Name: topic}
			for _, p := range parts {
				t.Partitions = append(t.Partitions, protocol.DeleteRecordsRequestDeleteRecordsPartition{PartitionIndex: p, Offset: before[TopicPartition{topic, p}]})
			}
			req.Topics = append(req.Topics, t)
		}
		r, id, err := a.send(ctx, cluster.BrokerID(leader), req)
		if err != nil {
			return nil, err
		}
		resp := r.(*protocol.DeleteRecordsResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		res := map[TopicPartition]error{}
		mu.Lock()
		defer mu.Unlock()
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				tp := TopicPartition{t.Name, p.PartitionIndex}
				e := itemErr("partition", tp.String(), p.ErrorCode, nil)
				res[tp] = e
				if e == nil {
					out[tp] = DeletedRecords{LowWatermark: p.LowWatermark}
				}
			}
		}
		return res, nil
	})
	for tp, e := range errs {
		if e != nil {
			out[tp] = DeletedRecords{LowWatermark: -1, Err: e}
		}
	}
	return out, nil
}

// DeletedRecords is the outcome for one partition of DeleteRecords.
type DeletedRecords struct {
	// LowWatermark is the partition's log start offset afterwards.
	LowWatermark int64
	// Err is nil, or the partition's *ItemError.
	Err error
}

// unknownRounds is how many rounds a partition missing from the metadata
// is looked up again before its error is final.
const unknownRounds = 4

func byTopic(tps []TopicPartition) map[string][]int32 {
	m := map[string][]int32{}
	for _, tp := range tps {
		m[tp.Topic] = append(m[tp.Topic], tp.Partition)
	}
	return m
}

// perLeader sends partitions in batches to their leaders, concurrently, and
// retries those whose leader moved or was not known, until ctx (bounded by
// the default API timeout) ends. It returns each partition's final error
// (nil on success); send reports per-partition errors or a batch error.
func (a *Client) perLeader(ctx context.Context, tps []TopicPartition,
	send func(ctx context.Context, leader int32, batch []TopicPartition) (map[TopicPartition]error, error)) map[TopicPartition]error {
	final := make(map[TopicPartition]error, len(tps))
	pending := map[TopicPartition]bool{}
	misses := map[TopicPartition]int{}
	topics := map[string]bool{}
	for _, tp := range tps {
		pending[tp] = true
		topics[tp.Topic] = true
	}
	for t := range topics {
		a.c.AddTopics(t)
	}
	_ = a.retry(ctx, func(ctx context.Context) (bool, error) {
		groups := map[int32][]TopicPartition{}
		again := false
		for tp := range pending {
			leader, _, err := a.c.Leader(ctx, tp.Topic, tp.Partition)
			if err != nil {
				final[tp] = wrapItem("partition", tp.String(), err)
				unknown := errors.Is(err, gregor.ErrUnknownTopic) || errors.Is(err, protocol.ErrUnknownTopicOrPartition)
				if unknown {
					// A topic just created may not have reached the broker
					// answering metadata yet: a few rounds, not the whole budget.
					misses[tp]++
				}
				if (unknown && misses[tp] < unknownRounds) || (!unknown && a.retriable(err)) {
					a.c.TriggerRefresh()
					again = true
				} else {
					delete(pending, tp)
				}
				continue
			}
			groups[leader] = append(groups[leader], tp)
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for leader, batch := range groups {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := send(ctx, leader, batch)
				mu.Lock()
				defer mu.Unlock()
				for _, tp := range batch {
					e := err
					if e == nil {
						var ok bool
						if e, ok = res[tp]; !ok {
							e = &ItemError{Kind: "partition", Name: tp.String(), Err: errors.New("no result from broker " + strconv.Itoa(int(leader)))}
						}
					} else {
						e = wrapItem("partition", tp.String(), e)
					}
					final[tp] = e
					if a.retriable(e) {
						again = true
					} else {
						delete(pending, tp)
					}
				}
			}()
		}
		wg.Wait()
		return again, nil
	})
	return final
}
