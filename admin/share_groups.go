package admin

import (
	"context"
	"sync"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// ListShareGroups lists the share groups (KIP-932) of every broker, those
// in the given states only when states are given (such as "Stable" or
// "Empty"). It is ListGroups with the "share" type filter.
func (a *Client) ListShareGroups(ctx context.Context, states ...string) ([]GroupListing, error) {
	return a.ListGroups(ctx, ListGroupsOptions{States: states, Types: []string{"share"}})
}

// ShareMember is one member of a share group.
type ShareMember struct {
	MemberID   string
	RackID     string
	ClientID   string
	ClientHost string
	// Epoch is the member's epoch.
	Epoch int32
	// Subscription is the topics the member subscribes to.
	Subscription []string
	// Assignment is the partitions the coordinator assigned to the member;
	// in a share group several members may share a partition.
	Assignment []TopicPartitions
}

// ShareGroupDescription describes one share group.
type ShareGroupDescription struct {
	Group string
	// State is the group's state, such as "Empty" or "Stable".
	State string
	// Epoch is the group's epoch; AssignmentEpoch the epoch of its current
	// target assignment.
	Epoch, AssignmentEpoch int32
	// Assignor is the server-side assignor, such as "simple".
	Assignor    string
	Coordinator int32
	Members     []ShareMember
	// AuthorizedOperations is filled on request.
	AuthorizedOperations []ACLOperation
	// Err is nil, or the group's *ItemError: GROUP_ID_NOT_FOUND for a group
	// that does not exist or is not a share group.
	Err error
}

// DescribeShareGroups describes share groups at their coordinators with
// ShareGroupDescribe, in request order.
func (a *Client) DescribeShareGroups(ctx context.Context, groups []string, opts DescribeGroupsOptions) ([]ShareGroupDescription, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	descs := make(map[string]ShareGroupDescription, len(groups))
	var mu sync.Mutex
	errs := a.perCoordinator(ctx, groups, func(ctx context.Context, coord int32, batch []string) (map[string]error, error) {
		req := protocol.NewShareGroupDescribeRequest()
		req.GroupIds, req.IncludeAuthorizedOperations = batch, opts.AuthorizedOperations
		r, id, err := a.send(ctx, cluster.BrokerID(coord), req)
		if err != nil {
			return nil, err
		}
		resp := r.(*protocol.ShareGroupDescribeResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		res := map[string]error{}
		mu.Lock()
		defer mu.Unlock()
		for _, g := range resp.Groups {
			e := itemErr("group", g.GroupId, g.ErrorCode, g.ErrorMessage)
			res[g.GroupId] = e
			if e != nil {
				continue
			}
			d := ShareGroupDescription{Group: g.GroupId, State: g.GroupState, Epoch: g.GroupEpoch,
				AssignmentEpoch: g.AssignmentEpoch, Assignor: g.AssignorName, Coordinator: coord}
			if opts.AuthorizedOperations {
				d.AuthorizedOperations = decodeOperations(g.AuthorizedOperations)
			}
			for _, m := range g.Members {
				sm := ShareMember{MemberID: m.MemberId, RackID: deref(m.RackId), ClientID: m.ClientId,
					ClientHost: m.ClientHost, Epoch: m.MemberEpoch, Subscription: m.SubscribedTopicNames}
				for _, tp := range m.Assignment.TopicPartitions {
					sm.Assignment = append(sm.Assignment, TopicPartitions{Topic: tp.TopicName, Partitions: tp.Partitions})
				}
				d.Members = append(d.Members, sm)
			}
			descs[g.GroupId] = d
		}
		return res, nil
	})
	out := make([]ShareGroupDescription, len(groups))
	for i, g := range groups {
		d, ok := descs[g]
		if e := errs[g]; e != nil {
			d = ShareGroupDescription{Group: g, Err: e}
		} else if !ok {
			d = ShareGroupDescription{Group: g, Err: &ItemError{Kind: "group", Name: g, Err: protocol.ErrGroupIDNotFound}}
		}
		out[i] = d
	}
	return out, nil
}
