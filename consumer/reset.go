package consumer

import (
	"errors"
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

// lookup resolves a start position with ListOffsets and installs it.
func (c *Consumer) lookup(p *partition, gen uint64, o Offset) {
	defer c.wg.Done()
	ts := int64(tsEarliest)
	switch o.kind {
	case kindLatest:
		ts = tsLatest
	case kindTime:
		ts = o.at
	case kindExact: // a negative exact offset: treat as the reset policy would
		ts = tsEarliest
		if c.cfg.ResetPolicy == ResetLatest {
			ts = tsLatest
		}
	}
	off, epoch, err := c.listOffset(p.tp, ts)
	if err == nil && off < 0 && o.kind == kindTime {
		off, epoch, err = c.listOffset(p.tp, tsLatest) // no record at or after the time
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p.resetting = false
	defer c.poke()
	if p.gen != gen {
		return
	}
	if err != nil {
		if c.ctx.Err() != nil {
			return
		}
		if gregor.IsRetriable(err) || protocol.IsRetriable(err) {
			c.log.Debug("gregor/consumer: offset look-up failed, retrying", slog.String("partition", p.tp.String()), slog.Any("err", err))
			c.backoffLocked(p, time.Now())
			return
		}
		c.failLocked(p, &PartitionError{TopicPartition: p.tp, Err: err})
		return
	}
	p.reset = nil
	p.retries = 0
	p.pos, p.fetchOff, p.posEpoch, p.fetchEp = off, off, -1, -1
	_ = epoch
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

func (c *Consumer) listOffset(tp TopicPartition, ts int64) (offset int64, epoch int32, err error) {
	req := protocol.NewListOffsetsRequest()
	req.ReplicaId = -1
	req.IsolationLevel = int8(c.cfg.IsolationLevel)
	part := protocol.ListOffsetsRequestListOffsetsPartition{PartitionIndex: tp.Partition, CurrentLeaderEpoch: -1, Timestamp: ts}
	req.Topics = []protocol.ListOffsetsRequestListOffsetsTopic{{Name: tp.Topic, Partitions: []protocol.ListOffsetsRequestListOffsetsPartition{part}}}
	raw, _, err := c.cl.Do(c.ctx, cluster.Leader(tp.Topic, tp.Partition), cluster.RoleAdmin, versioned{req})
	if err != nil {
		return -1, -1, err
	}
	resp := protocol.ListOffsetsResponse{Version: raw.Version}
	if err := resp.Decode(raw.Body); err != nil {
		return -1, -1, &gregor.NetworkError{Op: "decode ListOffsets response", Err: err}
	}
	for _, t := range resp.Topics {
		for _, pr := range t.Partitions {
			if t.Name != tp.Topic || pr.PartitionIndex != tp.Partition {
				continue
			}
			if err := protocol.ErrorForCode(pr.ErrorCode); err != nil {
				c.cl.HandleError(err)
				return -1, -1, err
			}
			return pr.Offset, pr.LeaderEpoch, nil
		}
	}
	return -1, -1, &gregor.NetworkError{Op: "ListOffsets", Err: errors.New("partition missing from response")}
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
