package admin

import (
	"context"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// CommittedOffset is a group's committed offset for one partition.
type CommittedOffset struct {
	// Offset is -1 when the group has no offset for the partition.
	Offset      int64
	LeaderEpoch int32
	Metadata    string
	// Err is nil, or the partition's *ItemError.
	Err error
}

// FetchOffsetsOptions modifies FetchOffsets.
type FetchOffsetsOptions struct {
	// Partitions limits the answer to these partitions; all the group's
	// committed offsets when empty.
	Partitions []TopicPartition
	// RequireStable waits for pending transactional commits to settle.
	RequireStable bool
}

// offsetFetchMax caps OffsetFetch below v10, which names topics by id.
const offsetFetchMax = 9

// FetchOffsets returns a group's committed offsets from its coordinator.
// The error is the group's (such as GROUP_AUTHORIZATION_FAILED) or the
// call's; partitions carry their own.
func (a *Client) FetchOffsets(ctx context.Context, group string, opts FetchOffsetsOptions) (map[TopicPartition]CommittedOffset, error) {
	out := map[TopicPartition]CommittedOffset{}
	errs := a.perCoordinator(ctx, []string{group}, func(ctx context.Context, coord int32, _ []string) (map[string]error, error) {
		req := protocol.NewOffsetFetchRequest()
		req.RequireStable = opts.RequireStable
		g := protocol.OffsetFetchRequestGroup{GroupId: group, MemberEpoch: -1}
		if len(opts.Partitions) > 0 {
			for topic, parts := range byTopic(opts.Partitions) {
				g.Topics = append(g.Topics, protocol.OffsetFetchRequestTopics{Name: topic, PartitionIndexes: parts})
			}
		}
		req.Groups = []protocol.OffsetFetchRequestGroup{g}
		r, id, err := a.send(ctx, cluster.BrokerID(coord), capped{req, 8, offsetFetchMax})
		if err != nil {
			return nil, err
		}
		resp := r.(*protocol.OffsetFetchResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		if len(resp.Groups) != 1 {
			return map[string]error{group: &ItemError{Kind: "group", Name: group, Err: protocol.ErrUnknownServerError, Message: "no group in response"}}, nil
		}
		rg := resp.Groups[0]
		if e := itemErr("group", group, rg.ErrorCode, nil); e != nil {
			return map[string]error{group: e}, nil
		}
		clear(out)
		for _, t := range rg.Topics {
			for _, p := range t.Partitions {
				tp := TopicPartition{t.Name, p.PartitionIndex}
				out[tp] = CommittedOffset{Offset: p.CommittedOffset, LeaderEpoch: p.CommittedLeaderEpoch, Metadata: deref(p.Metadata),
					Err: itemErr("partition", tp.String(), p.ErrorCode, nil)}
			}
		}
		return map[string]error{group: nil}, nil
	})
	if err := errs[group]; err != nil {
		return nil, err
	}
	return out, nil
}

// NewOffset is an offset to commit for a partition.
type NewOffset struct {
	Offset int64
	// LeaderEpoch is the epoch of the record at Offset-1, or -1.
	LeaderEpoch int32
	Metadata    string
}

// AlterOffsets commits offsets for a group that has no active members (the
// coordinator refuses otherwise: UNKNOWN_MEMBER_ID for a classic group). The error is the
// group's or the call's; the map holds each partition's.
func (a *Client) AlterOffsets(ctx context.Context, group string, offsets map[TopicPartition]NewOffset) (map[TopicPartition]error, error) {
	out := map[TopicPartition]error{}
	tps := make([]TopicPartition, 0, len(offsets))
	for tp := range offsets {
		tps = append(tps, tp)
	}
	errs := a.perCoordinator(ctx, []string{group}, func(ctx context.Context, coord int32, _ []string) (map[string]error, error) {
		req := protocol.NewOffsetCommitRequest()
		req.GroupId, req.GenerationIdOrMemberEpoch, req.MemberId = group, -1, ""
		for topic, parts := range byTopic(tps) {
			t := protocol.OffsetCommitRequestTopic{Name: topic}
			for _, p := range parts {
				o := offsets[TopicPartition{topic, p}]
				t.Partitions = append(t.Partitions, protocol.OffsetCommitRequestPartition{PartitionIndex: p, CommittedOffset: o.Offset,
					CommittedLeaderEpoch: o.LeaderEpoch, CommittedMetadata: strPtr(o.Metadata)})
			}
			req.Topics = append(req.Topics, t)
		}
		r, id, err := a.sendRole(ctx, cluster.BrokerID(coord), cluster.RoleGroup, capped{req, 2, 9})
		if err != nil {
			return nil, err
		}
		resp := r.(*protocol.OffsetCommitResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		var groupErr error
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				tp := TopicPartition{t.Name, p.PartitionIndex}
				e := itemErr("partition", tp.String(), p.ErrorCode, nil)
				out[tp] = e
				// Coordinator errors apply to the whole group: retry it.
				if e != nil && (isCoordinatorErr(e)) {
					groupErr = &ItemError{Kind: "group", Name: group, Err: protocol.ErrorForCode(p.ErrorCode)}
				}
			}
		}
		return map[string]error{group: groupErr}, nil
	})
	if err := errs[group]; err != nil && !isCoordinatorErr(err) {
		return out, err
	}
	return out, nil
}

func isCoordinatorErr(err error) bool {
	return errorsIs(err, protocol.ErrNotCoordinator, protocol.ErrCoordinatorNotAvailable, protocol.ErrCoordinatorLoadInProgress)
}

// DeleteOffsets removes a group's committed offsets for partitions that no
// member of the group subscribes to. The error is the group's or the
// call's; the map holds each partition's (GROUP_SUBSCRIBED_TO_TOPIC for a
// topic still consumed).
func (a *Client) DeleteOffsets(ctx context.Context, group string, partitions []TopicPartition) (map[TopicPartition]error, error) {
	out := map[TopicPartition]error{}
	errs := a.perCoordinator(ctx, []string{group}, func(ctx context.Context, coord int32, _ []string) (map[string]error, error) {
		req := protocol.NewOffsetDeleteRequest()
		req.GroupId = group
		for topic, parts := range byTopic(partitions) {
			t := protocol.OffsetDeleteRequestTopic{Name: topic}
			for _, p := range parts {
				t.Partitions = append(t.Partitions, protocol.OffsetDeleteRequestPartition{PartitionIndex: p})
			}
			req.Topics = append(req.Topics, t)
		}
		r, id, err := a.send(ctx, cluster.BrokerID(coord), req)
		if err != nil {
			return nil, err
		}
		resp := r.(*protocol.OffsetDeleteResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		if e := itemErr("group", group, resp.ErrorCode, nil); e != nil {
			return map[string]error{group: e}, nil
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				tp := TopicPartition{t.Name, p.PartitionIndex}
				out[tp] = itemErr("partition", tp.String(), p.ErrorCode, nil)
			}
		}
		return map[string]error{group: nil}, nil
	})
	if err := errs[group]; err != nil {
		return nil, err
	}
	return out, nil
}

// PartitionLag is a group's position on one partition.
type PartitionLag struct {
	// Committed is the group's committed offset, -1 if none.
	Committed int64
	// End is the partition's log end offset (high watermark), -1 if it
	// could not be read.
	End int64
	// Lag is End-Committed, or -1 when either is unknown.
	Lag int64
	// Err is nil, or why End or Committed is unknown.
	Err error
}

// Lag computes, per partition with a committed offset, how far a group is
// behind the log end.
func (a *Client) Lag(ctx context.Context, group string) (map[TopicPartition]PartitionLag, error) {
	committed, err := a.FetchOffsets(ctx, group, FetchOffsetsOptions{})
	if err != nil {
		return nil, err
	}
	specs := map[TopicPartition]OffsetSpec{}
	for tp := range committed {
		specs[tp] = OffsetLatest
	}
	ends, err := a.ListOffsets(ctx, specs, ListOffsetsOptions{})
	if err != nil {
		return nil, err
	}
	out := make(map[TopicPartition]PartitionLag, len(committed))
	for tp, c := range committed {
		l := PartitionLag{Committed: c.Offset, End: -1, Lag: -1, Err: c.Err}
		if e, ok := ends[tp]; ok {
			if e.Err != nil {
				l.Err = e.Err
			} else {
				l.End = e.Offset
			}
		}
		if l.Committed >= 0 && l.End >= 0 {
			l.Lag = max(l.End-l.Committed, 0)
		}
		out[tp] = l
	}
	return out, nil
}
