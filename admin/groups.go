package admin

import (
	"context"
	"encoding/binary"
	"errors"
	"strconv"
	"sync"

	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// GroupListing is one group of ListGroups.
type GroupListing struct {
	Group string
	// ProtocolType is "consumer" for consumer groups, "" for groups that
	// only store offsets, or another client's type (such as "connect").
	ProtocolType string
	// State is the group's state, such as "Stable" or "Empty".
	State string
	// Type is "classic", "consumer" (KIP-848), "share" or "streams".
	Type string
	// Coordinator is the broker that coordinates the group.
	Coordinator int32
}

// ListGroupsOptions filters ListGroups.
type ListGroupsOptions struct {
	// States keeps groups in these states (case-insensitive), such as
	// "Stable" or "Empty"; all when empty.
	States []string
	// Types keeps groups of these types, such as "classic" or "consumer";
	// all when empty.
	Types []string
}

// ListGroups lists the groups of every broker. If some brokers fail, the
// groups of the others are returned with an error naming the failed ones.
func (a *Client) ListGroups(ctx context.Context, opts ListGroupsOptions) ([]GroupListing, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	if err := a.c.Refresh(ctx); err != nil {
		return nil, err
	}
	m := a.c.Metadata()
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		out  []GroupListing
		errs []error
	)
	for id := range m.Brokers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var got []GroupListing
			err := a.retry(ctx, func(ctx context.Context) (bool, error) {
				req := protocol.NewListGroupsRequest()
				req.StatesFilter, req.TypesFilter = opts.States, opts.Types
				r, bid, err := a.send(ctx, cluster.BrokerID(id), req)
				if err != nil {
					return false, err
				}
				resp := r.(*protocol.ListGroupsResponse)
				a.c.Throttled(bid, resp.ThrottleTimeMs)
				if e := itemErr("broker", itoa(id), resp.ErrorCode, nil); e != nil {
					if a.retriable(e) {
						return true, nil
					}
					return false, e
				}
				got = got[:0]
				for _, g := range resp.Groups {
					got = append(got, GroupListing{Group: g.GroupId, ProtocolType: g.ProtocolType, State: g.GroupState, Type: g.GroupType, Coordinator: id})
				}
				return false, nil
			})
			mu.Lock()
			defer mu.Unlock()
			out = append(out, got...)
			if err != nil {
				errs = append(errs, wrapItem("broker", itoa(id), err))
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// TopicPartitions is a set of partitions of one topic.
type TopicPartitions struct {
	Topic      string
	Partitions []int32
}

// GroupMember is one member of a described group.
type GroupMember struct {
	MemberID   string
	InstanceID string // static membership id, or ""
	ClientID   string
	ClientHost string
	RackID     string // consumer groups only
	// Epoch is the member's epoch in a consumer group (KIP-848), else -1.
	Epoch int32
	// Subscription is the topics the member subscribes to, when known.
	Subscription []string
	// Assignment is the partitions the member owns: decoded from the
	// classic consumer protocol, or as the coordinator reports for
	// consumer groups. Nil for classic groups of other protocol types.
	Assignment []TopicPartitions
	// TargetAssignment is what a consumer group's member is moving to.
	TargetAssignment []TopicPartitions
	// Metadata and RawAssignment are the classic protocol's raw bytes.
	Metadata, RawAssignment []byte
}

// GroupDescription describes one group.
type GroupDescription struct {
	Group string
	// Type is "classic" or "consumer".
	Type  string
	State string
	// ProtocolType and Protocol are the classic protocol type ("consumer")
	// and the chosen protocol (the assignor, such as "range"); for consumer
	// groups Protocol is the server-side assignor.
	ProtocolType, Protocol string
	// Epoch is a consumer group's epoch, else -1.
	Epoch       int32
	Coordinator int32
	Members     []GroupMember
	// AuthorizedOperations is filled on request.
	AuthorizedOperations []ACLOperation
	// Err is nil, or the group's *ItemError (GROUP_ID_NOT_FOUND for a group
	// that does not exist).
	Err error
}

// DescribeGroupsOptions modifies DescribeGroups.
type DescribeGroupsOptions struct {
	// AuthorizedOperations asks for the operations the caller may perform.
	AuthorizedOperations bool
}

// DescribeGroups describes groups at their coordinators, in request order.
// Consumer groups of the KIP-848 protocol are described with
// ConsumerGroupDescribe; the others (classic groups) with DescribeGroups,
// whose member assignments are decoded from the consumer protocol.
func (a *Client) DescribeGroups(ctx context.Context, groups []string, opts DescribeGroupsOptions) ([]GroupDescription, error) {
	ctx, cancel := budget(ctx)
	defer cancel()
	descs := make(map[string]GroupDescription, len(groups))
	var mu sync.Mutex
	errs := a.perCoordinator(ctx, groups, func(ctx context.Context, coord int32, batch []string) (map[string]error, error) {
		req := protocol.NewConsumerGroupDescribeRequest()
		req.GroupIds, req.IncludeAuthorizedOperations = batch, opts.AuthorizedOperations
		r, id, err := a.send(ctx, cluster.BrokerID(coord), req)
		if err != nil {
			if errors.Is(err, protocol.ErrUnsupportedVersion) {
				return map[string]error{}, nil // every group falls back to DescribeGroups
			}
			return nil, err
		}
		resp := r.(*protocol.ConsumerGroupDescribeResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		res := map[string]error{}
		mu.Lock()
		defer mu.Unlock()
		for _, g := range resp.Groups {
			e := itemErr("group", g.GroupId, g.ErrorCode, g.ErrorMessage)
			if errors.Is(e, protocol.ErrGroupIDNotFound) {
				continue // perhaps a classic group: asked again below
			}
			res[g.GroupId] = e
			if e != nil {
				continue
			}
			d := GroupDescription{Group: g.GroupId, Type: "consumer", State: g.GroupState, ProtocolType: "consumer",
				Protocol: g.AssignorName, Epoch: g.GroupEpoch, Coordinator: coord}
			if opts.AuthorizedOperations {
				d.AuthorizedOperations = decodeOperations(g.AuthorizedOperations)
			}
			for _, m := range g.Members {
				d.Members = append(d.Members, GroupMember{MemberID: m.MemberId, InstanceID: deref(m.InstanceId), RackID: deref(m.RackId),
					ClientID: m.ClientId, ClientHost: m.ClientHost, Epoch: m.MemberEpoch, Subscription: m.SubscribedTopicNames,
					Assignment: cgAssignment(m.Assignment), TargetAssignment: cgAssignment(m.TargetAssignment)})
			}
			descs[g.GroupId] = d
		}
		return res, nil
	})
	var classic []string
	for _, g := range groups {
		if _, done := errs[g]; !done {
			classic = append(classic, g)
		} else if e := errs[g]; e != nil {
			descs[g] = GroupDescription{Group: g, Epoch: -1, Err: e}
		}
	}
	errs = a.perCoordinator(ctx, classic, func(ctx context.Context, coord int32, batch []string) (map[string]error, error) {
		req := protocol.NewDescribeGroupsRequest()
		req.Groups, req.IncludeAuthorizedOperations = batch, opts.AuthorizedOperations
		r, id, err := a.send(ctx, cluster.BrokerID(coord), req)
		if err != nil {
			return nil, err
		}
		resp := r.(*protocol.DescribeGroupsResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		res := map[string]error{}
		mu.Lock()
		defer mu.Unlock()
		for _, g := range resp.Groups {
			e := itemErr("group", g.GroupId, g.ErrorCode, g.ErrorMessage)
			if e == nil && g.GroupState == "Dead" {
				e = &ItemError{Kind: "group", Name: g.GroupId, Err: protocol.ErrGroupIDNotFound}
			}
			res[g.GroupId] = e
			if e != nil {
				continue
			}
			d := GroupDescription{Group: g.GroupId, Type: "classic", State: g.GroupState, ProtocolType: g.ProtocolType,
				Protocol: g.ProtocolData, Epoch: -1, Coordinator: coord}
			if opts.AuthorizedOperations {
				d.AuthorizedOperations = decodeOperations(g.AuthorizedOperations)
			}
			for _, m := range g.Members {
				gm := GroupMember{MemberID: m.MemberId, InstanceID: deref(m.GroupInstanceId), ClientID: m.ClientId,
					ClientHost: m.ClientHost, Epoch: -1, Metadata: m.MemberMetadata, RawAssignment: m.MemberAssignment}
				if g.ProtocolType == "consumer" {
					gm.Subscription = decodeSubscription(m.MemberMetadata)
					gm.Assignment = decodeAssignment(m.MemberAssignment)
				}
				d.Members = append(d.Members, gm)
			}
			descs[g.GroupId] = d
		}
		return res, nil
	})
	out := make([]GroupDescription, len(groups))
	for i, g := range groups {
		d, ok := descs[g]
		if e := errs[g]; e != nil {
			d = GroupDescription{Group: g, Epoch: -1, Err: e}
		} else if !ok {
			d = GroupDescription{Group: g, Epoch: -1, Err: &ItemError{Kind: "group", Name: g, Err: protocol.ErrGroupIDNotFound}}
		}
		out[i] = d
	}
	return out, nil
}

func cgAssignment(a protocol.ConsumerGroupDescribeResponseAssignment) []TopicPartitions {
	var out []TopicPartitions
	for _, tp := range a.TopicPartitions {
		out = append(out, TopicPartitions{Topic: tp.TopicName, Partitions: tp.Partitions})
	}
	return out
}

// dataVersion reads the version prefix of a consumer-protocol blob and
// clamps it to the highest version the codec knows: newer versions only
// add fields at the end.
func dataVersion(b []byte, maxV int16) (int16, []byte, bool) {
	if len(b) < 2 {
		return 0, nil, false
	}
	v := int16(binary.BigEndian.Uint16(b))
	if v < 0 {
		return 0, nil, false
	}
	return min(v, maxV), b[2:], true
}

// decodeAssignment decodes a classic consumer's assignment, or returns nil
// when it cannot.
func decodeAssignment(b []byte) []TopicPartitions {
	v, body, ok := dataVersion(b, 3)
	if !ok {
		return nil
	}
	as := protocol.NewConsumerProtocolAssignment()
	as.Version = v
	if err := as.Decode(body); err != nil {
		return nil
	}
	out := []TopicPartitions{}
	for _, tp := range as.AssignedPartitions {
		out = append(out, TopicPartitions{Topic: tp.Topic, Partitions: tp.Partitions})
	}
	return out
}

// decodeSubscription decodes a classic consumer's subscribed topics.
func decodeSubscription(b []byte) []string {
	v, body, ok := dataVersion(b, 3)
	if !ok {
		return nil
	}
	s := protocol.NewConsumerProtocolSubscription()
	s.Version = v
	if err := s.Decode(body); err != nil {
		return nil
	}
	return s.Topics
}

// DeleteGroups deletes groups (which must be empty) at their coordinators
// and returns one error (nil on success) per group.
func (a *Client) DeleteGroups(ctx context.Context, groups ...string) (map[string]error, error) {
	errs := a.perCoordinator(ctx, groups, func(ctx context.Context, coord int32, batch []string) (map[string]error, error) {
		req := protocol.NewDeleteGroupsRequest()
		req.GroupsNames = batch
		r, id, err := a.send(ctx, cluster.BrokerID(coord), req)
		if err != nil {
			return nil, err
		}
		resp := r.(*protocol.DeleteGroupsResponse)
		a.c.Throttled(id, resp.ThrottleTimeMs)
		res := map[string]error{}
		for _, g := range resp.Results {
			res[g.GroupId] = itemErr("group", g.GroupId, g.ErrorCode, nil)
		}
		return res, nil
	})
	return errs, nil
}

// perCoordinator sends groups in batches to their coordinators,
// concurrently, and retries those whose coordinator moved or was loading,
// until ctx (bounded by the default API timeout) ends. It returns each
// group's final error (nil on success). Groups send leaves out of its
// answer are left out of the result too.
func (a *Client) perCoordinator(ctx context.Context, groups []string,
	send func(ctx context.Context, coord int32, batch []string) (map[string]error, error)) map[string]error {
	return a.perKey(ctx, cluster.GroupCoordinator, groups, send)
}

// perKey is perCoordinator for coordinators of any type.
func (a *Client) perKey(ctx context.Context, typ cluster.CoordinatorType, groups []string,
	send func(ctx context.Context, coord int32, batch []string) (map[string]error, error)) map[string]error {
	final := make(map[string]error, len(groups))
	if len(groups) == 0 {
		return final
	}
	pending := map[string]bool{}
	for _, g := range groups {
		pending[g] = true
	}
	_ = a.retry(ctx, func(ctx context.Context) (bool, error) {
		keys := make([]string, 0, len(pending))
		for g := range pending {
			keys = append(keys, g)
		}
		ids, err := a.c.Coordinators(ctx, typ, keys...)
		again := false
		batches := map[int32][]string{}
		for _, g := range keys {
			id, ok := ids[g]
			if !ok {
				e := err
				if e == nil {
					e = protocol.ErrCoordinatorNotAvailable
				}
				final[g] = wrapItem(typ.String(), g, e)
				if a.c.HandleCoordinatorError(typ, g, e) {
					again = true
				} else {
					delete(pending, g)
				}
				continue
			}
			batches[id] = append(batches[id], g)
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for coord, batch := range batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := send(ctx, coord, batch)
				mu.Lock()
				defer mu.Unlock()
				for _, g := range batch {
					e, ok := res[g]
					if err != nil {
						e, ok = wrapItem(typ.String(), g, err), true
					}
					if !ok {
						delete(pending, g)
						continue
					}
					final[g] = e
					if e != nil && a.c.HandleCoordinatorError(typ, g, e) {
						again = true
					} else {
						delete(pending, g)
					}
				}
			}()
		}
		wg.Wait()
		return again, nil
	})
	return final
}

func itoa(id int32) string { return strconv.Itoa(int(id)) }
