package consumer

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// ListOffsets timestamps for the earliest and latest offsets.
const (
	tsLatest   = -1
	tsEarliest = -2
)

// NoOffsetError reports, under ResetNone, a partition with no position to
// start from: a group member found no committed offset for it (Java's
// NoOffsetForPartitionException), or Assign was given a negative offset.
// The partition stops until Seek.
type NoOffsetError struct {
	TopicPartition
}

// Error names the partition.
func (e *NoOffsetError) Error() string {
	return fmt.Sprintf("gregor/consumer: %s: no committed offset and reset policy none", e.TopicPartition)
}

// lookupItem is one partition whose start position is being looked up.
type lookupItem struct {
	p   *partition
	gen uint64
	o   Offset
	ts  int64 // ListOffsets timestamp

	offset int64
	epoch  int32
	err    error
}

// lookup resolves start positions of partitions led by one broker with
// one ListOffsets request (and a second for timestamps no record reaches,
// which start at the high watermark), then installs them.
func (c *Consumer) lookup(leader int32, items []lookupItem) {
	defer c.wg.Done()
	for i := range items {
		it := &items[i]
		switch it.o.kind {
		case kindLatest:
			it.ts = tsLatest
		case kindTime:
			it.ts = it.o.at
		case kindEarliest:
			it.ts = tsEarliest
		default: // a negative exact offset: as the reset policy says
			it.ts = tsEarliest
			if c.cfg.ResetPolicy == ResetLatest {
				it.ts = tsLatest
			}
		}
	}
	c.listOffsets(leader, items)
	var again []*lookupItem
	for i := range items {
		if it := &items[i]; it.err == nil && it.offset < 0 && it.o.kind == kindTime {
			it.ts = tsLatest
			again = append(again, it)
		}
	}
	if len(again) > 0 {
		sub := make([]lookupItem, len(again))
		for i, it := range again {
			sub[i] = *it
		}
		c.listOffsets(leader, sub)
		for i, it := range again {
			*it = sub[i]
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer c.poke()
	now := time.Now()
	for i := range items {
		it := &items[i]
		p := it.p
		p.resetting = false
		if p.gen != it.gen || c.ctx.Err() != nil {
			continue
		}
		if it.o.kind == kindExact && c.cfg.ResetPolicy == ResetNone {
			c.failLocked(p, &NoOffsetError{TopicPartition: p.tp})
			continue
		}
		if it.err != nil {
			if gregor.IsRetriable(it.err) || protocol.IsRetriable(it.err) {
				c.log.Debug("gregor/consumer: offset look-up failed, retrying", slog.String("partition", p.tp.String()), slog.Any("err", it.err))
				c.backoffLocked(p, now)
				continue
			}
			c.failLocked(p, &PartitionError{TopicPartition: p.tp, Err: it.err})
			continue
		}
		p.reset = nil
		p.retries = 0
		p.pos, p.fetchOff, p.posEpoch, p.fetchEp = it.offset, it.offset, it.epoch, it.epoch
	}
}

// failLocked stops p and queues err for Poll.
func (c *Consumer) failLocked(p *partition, err error) {
	p.failed = true
	pf := pfPool.Get().(*partFetch)
	pf.tp, pf.gen, pf.hwm, pf.lso, pf.logStart = p.tp, p.gen, p.hwm, p.lso, p.logStart
	pf.err = err
	c.queue = append(c.queue, pf)
	c.signalData()
}

// listOffsets asks leader for the offsets of items at their timestamps,
// setting each item's offset, epoch or error.
func (c *Consumer) listOffsets(leader int32, items []lookupItem) {
	req := protocol.NewListOffsetsRequest()
	req.ReplicaId = -1
	req.IsolationLevel = int8(c.cfg.IsolationLevel)
	idx := map[string]int{}
	for _, it := range items {
		i, ok := idx[it.p.tp.Topic]
		if !ok {
			i = len(req.Topics)
			idx[it.p.tp.Topic] = i
			req.Topics = append(req.Topics, protocol.ListOffsetsRequestListOffsetsTopic{Name: it.p.tp.Topic})
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, protocol.ListOffsetsRequestListOffsetsPartition{
			PartitionIndex: it.p.tp.Partition, CurrentLeaderEpoch: -1, Timestamp: it.ts})
	}
	fail := func(err error) {
		for i := range items {
			items[i].err = err
		}
	}
	raw, _, err := c.cl.Do(c.ctx, cluster.BrokerID(leader), cluster.RoleAdmin, versioned{req})
	if err != nil {
		fail(err)
		return
	}
	resp := protocol.ListOffsetsResponse{Version: raw.Version}
	if err := resp.Decode(raw.Body); err != nil {
		fail(&gregor.NetworkError{Broker: leader, Op: "decode ListOffsets response", Err: err})
		return
	}
	type key = TopicPartition
	got := map[key]*protocol.ListOffsetsResponseListOffsetsPartitionResponse{}
	for ti := range resp.Topics {
		t := &resp.Topics[ti]
		for pi := range t.Partitions {
			got[key{t.Name, t.Partitions[pi].PartitionIndex}] = &t.Partitions[pi]
		}
	}
	for i := range items {
		it := &items[i]
		pr := got[it.p.tp]
		switch {
		case pr == nil:
			it.err = &gregor.NetworkError{Broker: leader, Op: "ListOffsets", Err: errors.New("partition missing from response")}
		case pr.ErrorCode != 0:
			it.err = protocol.ErrorForCode(pr.ErrorCode)
			c.cl.HandleError(it.err)
		default:
			it.offset, it.epoch = pr.Offset, pr.LeaderEpoch
		}
	}
}

// validate checks, after a leader change, that the new leader's log still
// holds the consumer's fetch position (KIP-320) with OffsetForLeaderEpoch.
func (c *Consumer) validate(p *partition, gen uint64, leader, leaderEpoch int32) {
	defer c.wg.Done()
	c.mu.Lock()
	fetchEp, fetchOff := p.fetchEp, p.fetchOff
	c.mu.Unlock()
	c.validations.Add(1)
	end, err := c.epochEnd(p.tp, leader, leaderEpoch, fetchEp)
	c.mu.Lock()
	p.validating = false
	if p.gen != gen || c.ctx.Err() != nil {
		c.mu.Unlock()
		c.poke()
		return
	}
	if err != nil {
		if gregor.IsRetriable(err) || protocol.IsRetriable(err) {
			c.backoffLocked(p, time.Now())
			c.mu.Unlock()
			c.poke()
			return
		}
		// The broker cannot answer (for example an old version): fetch on,
		// relying on the diverging epoch in fetch responses.
		c.log.Debug("gregor/consumer: offset validation skipped", slog.String("partition", p.tp.String()), slog.Any("err", err))
	}
	p.validate = false
	c.mu.Unlock()
	if err == nil && end >= 0 && end < fetchOff {
		c.truncated(p, gen, fetchOff, end)
	}
	c.poke()
}

func (c *Consumer) epochEnd(tp TopicPartition, leader, leaderEpoch, epoch int32) (int64, error) {
	req := protocol.NewOffsetForLeaderEpochRequest()
	req.ReplicaId = -2 // a consumer (-1 would be a debug replica)
	req.Topics = []protocol.OffsetForLeaderEpochRequestOffsetForLeaderTopic{{Topic: tp.Topic,
		Partitions: []protocol.OffsetForLeaderEpochRequestOffsetForLeaderPartition{{Partition: tp.Partition,
			CurrentLeaderEpoch: leaderEpoch, LeaderEpoch: epoch}}}}
	raw, _, err := c.cl.Do(c.ctx, cluster.BrokerID(leader), cluster.RoleAdmin, versioned{req})
	if err != nil {
		return -1, err
	}
	resp := protocol.OffsetForLeaderEpochResponse{Version: raw.Version}
	if err := resp.Decode(raw.Body); err != nil {
		return -1, &gregor.NetworkError{Op: "decode OffsetForLeaderEpoch response", Err: err}
	}
	for _, t := range resp.Topics {
		for _, pr := range t.Partitions {
			if t.Topic != tp.Topic || pr.Partition != tp.Partition {
				continue
			}
			if err := protocol.ErrorForCode(pr.ErrorCode); err != nil {
				c.cl.HandleError(err)
				return -1, err
			}
			return pr.EndOffset, nil
		}
	}
	return -1, &gregor.NetworkError{Op: "OffsetForLeaderEpoch", Err: errors.New("partition missing from response")}
}
