package admin

import (
	"context"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// AlterReassignments starts partition reassignments through the
// controller: each partition moves to the listed replicas (the first
// becomes the preferred leader); a nil list cancels the partition's
// ongoing reassignment. It returns one error (nil on success) per
// partition; the error is the whole call's when the controller refused
// the request.
func (a *Client) AlterReassignments(ctx context.Context, moves map[TopicPartition][]int32) (map[TopicPartition]error, error) {
	out := map[TopicPartition]error{}
	tps := make([]TopicPartition, 0, len(moves))
	for tp := range moves {
		tps = append(tps, tp)
	}
	var callErr error
	err := a.retry(ctx, func(ctx context.Context) (bool, error) {
		req := protocol.NewAlterPartitionReassignmentsRequest()
		req.TimeoutMs = timeoutMs(ctx)
		for topic, parts := range byTopic(tps) {
			t := protocol.AlterPartitionReassignmentsRequestReassignableTopic{Name: topic}
			for _, p := range parts {
				t.Partitions = append(t.Partitions, protocol.AlterPartitionReassignmentsRequestReassignablePartition{PartitionIndex: p, Replicas: moves[TopicPartition{topic, p}]})
			}
			req.Topics = append(req.Topics, t)
		}
		r, id, err := a.send(ctx, cluster.Controller(), req)
		if err != nil {
			return false, err
		}
		resp := r.(*protocol.AlterPartitionReassignmentsResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		if callErr = itemErr("reassignment", "", resp.ErrorCode, resp.ErrorMessage); callErr != nil {
			return a.retriable(callErr), nil
		}
		for _, t := range resp.Responses {
			for _, p := range t.Partitions {
				tp := TopicPartition{t.Name, p.PartitionIndex}
				out[tp] = itemErr("partition", tp.String(), p.ErrorCode, p.ErrorMessage)
			}
		}
		return false, nil
	})
	if err == nil {
		err = callErr
	}
	return out, err
}

// Reassignment is an ongoing partition reassignment.
type Reassignment struct {
	// Replicas is the full replica set during the move.
	Replicas []int32
	// Adding and Removing are the replicas being added and removed.
	Adding, Removing []int32
}

// ListReassignments lists ongoing reassignments through the controller:
// of the given partitions, or of all partitions when none are given.
func (a *Client) ListReassignments(ctx context.Context, partitions ...TopicPartition) (map[TopicPartition]Reassignment, error) {
	out := map[TopicPartition]Reassignment{}
	var callErr error
	err := a.retry(ctx, func(ctx context.Context) (bool, error) {
		req := protocol.NewListPartitionReassignmentsRequest()
		req.TimeoutMs = timeoutMs(ctx)
		if len(partitions) > 0 {
			for topic, parts := range byTopic(partitions) {
				req.Topics = append(req.Topics, protocol.ListPartitionReassignmentsRequestListPartitionReassignmentsTopics{Name: topic, PartitionIndexes: parts})
			}
		} else {
			req.Topics = nil
		}
		r, id, err := a.send(ctx, cluster.Controller(), req)
		if err != nil {
			return false, err
		}
		resp := r.(*protocol.ListPartitionReassignmentsResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		if callErr = itemErr("reassignments", "", resp.ErrorCode, resp.ErrorMessage); callErr != nil {
			return a.retriable(callErr), nil
		}
		clear(out)
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				out[TopicPartition{t.Name, p.PartitionIndex}] = Reassignment{Replicas: p.Replicas, Adding: p.AddingReplicas, Removing: p.RemovingReplicas}
			}
		}
		return false, nil
	})
	if err == nil {
		err = callErr
	}
	return out, err
}

// ElectionType picks how ElectLeaders chooses a leader.
type ElectionType int8

// The election types.
const (
	// ElectPreferred moves leadership to the first replica of each
	// partition, if it is in sync.
	ElectPreferred ElectionType = 0
	// ElectUnclean elects an out-of-sync replica when no in-sync replica
	// is alive, accepting data loss.
	ElectUnclean ElectionType = 1
)

// ElectLeaders runs leader elections through the controller, for the
// given partitions or, with none, for every partition that needs one. It
// returns one error per partition (ELECTION_NOT_NEEDED when the leader is
// already the preferred one).
func (a *Client) ElectLeaders(ctx context.Context, typ ElectionType, partitions ...TopicPartition) (map[TopicPartition]error, error) {
	out := map[TopicPartition]error{}
	var callErr error
	err := a.retry(ctx, func(ctx context.Context) (bool, error) {
		req := protocol.NewElectLeadersRequest()
		req.ElectionType = int8(typ)
		req.TimeoutMs = timeoutMs(ctx)
		if len(partitions) > 0 {
			for topic, parts := range byTopic(partitions) {
				req.TopicPartitions = append(req.TopicPartitions, protocol.ElectLeadersRequestTopicPartitions{Topic: topic, Partitions: parts})
			}
		} else {
			req.TopicPartitions = nil
		}
		r, id, err := a.send(ctx, cluster.Controller(), req)
		if err != nil {
			return false, err
		}
		resp := r.(*protocol.ElectLeadersResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		if callErr = itemErr("election", "", resp.ErrorCode, nil); callErr != nil {
			return a.retriable(callErr), nil
		}
		for _, t := range resp.ReplicaElectionResults {
			for _, p := range t.PartitionResult {
				tp := TopicPartition{t.Topic, p.PartitionId}
				out[tp] = itemErr("partition", tp.String(), p.ErrorCode, p.ErrorMessage)
			}
		}
		return false, nil
	})
	if err == nil {
		err = callErr
	}
	return out, err
}
