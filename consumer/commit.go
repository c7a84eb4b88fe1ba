package consumer

import (
	"context"
	"errors"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/protocol"
)

// ranged pins a request to a version range (topic names rather than the
// topic ids of the newest OffsetCommit and OffsetFetch versions).
type ranged struct {
	protocol.Request
	lo, hi int16
}

func (r ranged) MaxVersion() int16 { return min(r.hi, codecMax(r.Key())) }
func (r ranged) MinVersion() int16 { return max(r.lo, codecMin(r.Key())) }

// ErrNoGroup is returned by the group methods of a consumer configured
// without Config.Group.GroupID.
var ErrNoGroup = errors.New("gregor/consumer: no consumer group configured")

// MarkProcessed records that the caller finished processing records Poll
// returned. Commits cover, per partition, only the offsets before the
// first record handed out and not yet marked, so marking out of order is
// safe: a gap holds the commit back until it is filled. Records of
// partitions the member no longer owns are ignored. Only the record's
// Topic, Partition, Offset and LeaderEpoch are read, so a copy made before
// the next Poll is enough.
func (c *Consumer) MarkProcessed(recs ...*gregor.Record) {
	if c.grp == nil {
		return
	}
	for _, r := range recs {
		c.grp.led.mark(r)
	}
}

// Processed returns the offset a commit of tp would send now: every record
// before it that Poll handed out was marked processed. ok is false when
// the member does not own tp or its start position is not known yet.
func (c *Consumer) Processed(tp TopicPartition) (offset int64, ok bool) {
	if c.grp == nil {
		return -1, false
	}
	return c.grp.led.processed(tp)
}

// Member returns the member id and generation the coordinator gave this
// member ("" and -1 before the first join). Under GroupConsumer the
// generation is the member epoch (0 until the coordinator accepted the
// member) and the member id is the one the member chose.
func (c *Consumer) Member() (memberID string, generation int32) {
	if c.grp == nil {
		return "", -1
	}
	c.grp.mu.Lock()
	defer c.grp.mu.Unlock()
	return c.grp.memberID, c.grp.generation
}

// GroupMetadata returns what a transactional producer needs to commit
// this member's offsets inside a transaction
// (producer.SendOffsetsToTransaction): the group, the member id, the
// current generation (the member epoch under the KIP-848 protocol) and the
// static instance id. Take it after the Poll whose records the transaction
// covers: a rebalance in between makes the coordinator refuse the offsets.
// Without a group it returns the zero value with GenerationID -1.
func (c *Consumer) GroupMetadata() gregor.GroupMetadata {
	if c.grp == nil {
		return gregor.GroupMetadata{GenerationID: -1}
	}
	c.grp.mu.Lock()
	defer c.grp.mu.Unlock()
	return gregor.GroupMetadata{GroupID: c.grp.cfg.GroupID, GenerationID: c.grp.generation,
		MemberID: c.grp.memberID, GroupInstanceID: c.grp.cfg.InstanceID}
}

// CommitSync commits the processed offsets of every owned partition and
// waits for the coordinator's answer (or ctx).
func (c *Consumer) CommitSync(ctx context.Context) error {
	if c.grp == nil {
		return ErrNoGroup
	}
	return c.grp.commit(ctx, nil)
}

// CommitAsync commits like CommitSync on its own goroutine and calls done
// (when not nil) with the result. Commits are sent one at a time, each
// with the processed offsets current when it is sent, so a later commit
// never moves an offset back; Close waits for them. After Close started, done receives
// gregor.ErrClosed.
func (c *Consumer) CommitAsync(done func(error)) {
	if c.grp == nil {
		if done != nil {
			done(ErrNoGroup)
		}
		return
	}
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		if done != nil {
			done(gregor.ErrClosed)
		}
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		err := c.grp.commit(c.ctx, nil)
		if done != nil {
			done(err)
		}
	}()
}

// commit sends the processed offsets of tps (every owned partition when
// nil) that moved since their last commit.
func (g *group) commit(ctx context.Context, tps []TopicPartition) error {
	g.commitMu.Lock()
	defer g.commitMu.Unlock()
	offs := g.led.toCommit(tps)
	if len(offs) == 0 {
		return nil
	}
	for attempt := 0; ; attempt++ {
		err := g.commitOnce(ctx, offs)
		// under the consumer protocol a heartbeat answer may have moved
		// the member epoch on while the commit was on its way
		if g.cg == nil || !errors.Is(err, protocol.ErrStaleMemberEpoch) || attempt == 4 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (g *group) commitOnce(ctx context.Context, offs []commitOffset) error {
	g.mu.Lock()
	req := protocol.NewOffsetCommitRequest()
	req.GroupId = g.cfg.GroupID
	req.GenerationIdOrMemberEpoch = g.generation
	req.MemberId = g.memberID
	g.mu.Unlock()
	req.GroupInstanceId = strPtr(g.cfg.InstanceID)
	idx := map[string]int{}
	for _, o := range offs {
		i, ok := idx[o.tp.Topic]
		if !ok {
			i = len(req.Topics)
			idx[o.tp.Topic] = i
			req.Topics = append(req.Topics, protocol.OffsetCommitRequestTopic{Name: o.tp.Topic})
		}
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, protocol.OffsetCommitRequestPartition{
			PartitionIndex: o.tp.Partition, CommittedOffset: o.offset, CommittedLeaderEpoch: o.epoch})
	}
	var resp protocol.OffsetCommitResponse
	if err := g.request(ctx, ranged{req, 2, 9}, &resp); err != nil {
		// per-partition errors: keep the ones that succeeded
		var ok []commitOffset
		failed := map[TopicPartition]bool{}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					failed[TopicPartition{t.Name, p.PartitionIndex}] = true
				}
			}
		}
		for _, o := range offs {
			if len(failed) > 0 && !failed[o.tp] {
				ok = append(ok, o)
			}
		}
		g.led.committed(ok)
		return err
	}
	g.led.committed(offs)
	g.log.Debug("gregor/consumer: committed", "group", g.cfg.GroupID, "partitions", len(offs))
	return nil
}

// fetchCommitted returns the committed offsets of tps (-1 for none).
func (g *group) fetchCommitted(ctx context.Context, tps []TopicPartition) (map[TopicPartition]int64, error) {
	req := protocol.NewOffsetFetchRequest()
	req.RequireStable = true
	grp := protocol.OffsetFetchRequestGroup{GroupId: g.cfg.GroupID, MemberEpoch: -1}
	if g.cg != nil { // the coordinator checks that the member is current
		g.mu.Lock()
		grp.MemberId, grp.MemberEpoch = strPtr(g.memberID), g.generation
		g.mu.Unlock()
	}
	idx := map[string]int{}
	for _, tp := range tps {
		i, ok := idx[tp.Topic]
		if !ok {
			i = len(grp.Topics)
			idx[tp.Topic] = i
			grp.Topics = append(grp.Topics, protocol.OffsetFetchRequestTopics{Name: tp.Topic})
		}
		grp.Topics[i].PartitionIndexes = append(grp.Topics[i].PartitionIndexes, tp.Partition)
	}
	req.Groups = []protocol.OffsetFetchRequestGroup{grp}
	var resp protocol.OffsetFetchResponse
	for {
		err := g.request(ctx, ranged{req, 8, 9}, &resp)
		if err == nil {
			// a partition with a pending transactional commit answers
			// UNSTABLE_OFFSET_COMMIT: retry until it settles
			if !hasPartitionCode(&resp, protocol.ErrUnstableOffsetCommit.Code) {
				break
			}
			err = protocol.ErrUnstableOffsetCommit
		}
		if !protocol.IsRetriable(err) && !errors.Is(err, protocol.ErrStaleMemberEpoch) || ctx.Err() != nil {
			return nil, err
		}
		if g.cg != nil {
			g.mu.Lock()
			req.Groups[0].MemberEpoch = g.generation
			g.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	out := map[TopicPartition]int64{}
	for _, gr := range resp.Groups {
		for _, t := range gr.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					return nil, protocol.ErrorForCode(p.ErrorCode)
				}
				out[TopicPartition{t.Name, p.PartitionIndex}] = p.CommittedOffset
			}
		}
	}
	return out, nil
}

func hasPartitionCode(resp *protocol.OffsetFetchResponse, code int16) bool {
	for _, gr := range resp.Groups {
		for _, t := range gr.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode == code {
					return true
				}
			}
		}
	}
	return false
}
