package consumer

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/consumer/assign"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// The classic protocol's messages between members, as Java writes them: a
// big-endian int16 version, then the data schema at that version.
const (
	subscriptionVersion = 3
	assignmentVersion   = 3
)

func encodeVersioned(version int16, appendTo func([]byte) ([]byte, error)) ([]byte, error) {
	b := binary.BigEndian.AppendUint16(nil, uint16(version))
	return appendTo(b)
}

// decodeVersion splits the version prefix off b; versions newer than this
// codec decode at its newest version, as Java does.
func decodeVersion(b []byte, newest int16) (int16, []byte, error) {
	if len(b) < 2 {
		return 0, nil, errors.New("truncated version")
	}
	v := int16(binary.BigEndian.Uint16(b))
	if v < 0 {
		return 0, nil, fmt.Errorf("negative version %d", v)
	}
	return min(v, newest), b[2:], nil
}

func toAssignParts(tps []TopicPartition) []assign.TopicPartitions {
	sorted := slices.Clone(tps)
	slices.SortFunc(sorted, compareTP)
	var out []assign.TopicPartitions
	for _, tp := range sorted {
		if n := len(out); n > 0 && out[n-1].Topic == tp.Topic {
			out[n-1].Partitions = append(out[n-1].Partitions, tp.Partition)
			continue
		}
		out = append(out, assign.TopicPartitions{Topic: tp.Topic, Partitions: []int32{tp.Partition}})
	}
	return out
}

func compareTP(a, b TopicPartition) int {
	if a.Topic != b.Topic {
		if a.Topic < b.Topic {
			return -1
		}
		return 1
	}
	return int(a.Partition - b.Partition)
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// joinSync runs one JoinGroup and SyncGroup round and returns the
// partitions assigned to this member.
func (g *group) joinSync(ctx context.Context) ([]TopicPartition, error) {
	topics, err := g.subscribedTopics(ctx)
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	owned := g.ownedLocked()
	gen := g.generation
	if len(owned) == 0 {
		gen = assign.DefaultGeneration
	}
	g.mu.Unlock()
	ownedParts := toAssignParts(owned)

	req := protocol.NewJoinGroupRequest()
	req.GroupId = g.cfg.GroupID
	req.SessionTimeoutMs = int32(g.cfg.SessionTimeout / time.Millisecond)
	req.RebalanceTimeoutMs = int32(g.cfg.RebalanceTimeout / time.Millisecond)
	req.GroupInstanceId = strPtr(g.cfg.InstanceID)
	req.ProtocolType = "consumer"
	for _, a := range g.cfg.Assignors {
		sub := protocol.NewConsumerProtocolSubscription()
		sub.Version = subscriptionVersion
		sub.Topics = topics
		sub.UserData = a.SubscriptionUserData(ownedParts, gen)
		for _, o := range ownedParts {
			sub.OwnedPartitions = append(sub.OwnedPartitions,
				protocol.ConsumerProtocolSubscriptionTopicPartition{Topic: o.Topic, Partitions: o.Partitions})
		}
		sub.GenerationId = gen
		sub.RackId = strPtr(g.c.cfg.Rack)
		meta, err := encodeVersioned(sub.Version, sub.AppendTo)
		if err != nil {
			return nil, err
		}
		req.Protocols = append(req.Protocols, protocol.JoinGroupRequestProtocol{Name: a.Name(), Metadata: meta})
	}

	var resp protocol.JoinGroupResponse
	for attempt := 0; ; attempt++ {
		g.mu.Lock()
		req.MemberId = g.memberID
		g.mu.Unlock()
		jctx, cancel := context.WithTimeout(ctx, g.cfg.RebalanceTimeout+5*time.Second)
		err := g.request(jctx, versioned{req}, &resp)
		cancel()
		if errors.Is(err, protocol.ErrMemberIDRequired) && attempt < 3 {
			g.mu.Lock()
			g.memberID = resp.MemberId
			g.mu.Unlock()
			continue
		}
		if err != nil {
			return nil, err
		}
		break
	}
	g.mu.Lock()
	g.memberID, g.generation = resp.MemberId, resp.GenerationId
	if resp.ProtocolName != nil {
		g.protoName = *resp.ProtocolName
	}
	g.mu.Unlock()
	var chosen assign.Assignor
	for _, a := range g.cfg.Assignors {
		if a.Name() == g.protoName {
			chosen = a
		}
	}
	if chosen == nil {
		return nil, fmt.Errorf("gregor/consumer: group chose assignor %q, which this member does not have", g.protoName)
	}
	g.mu.Lock()
	g.cooperative = slices.Contains(chosen.SupportedProtocols(), assign.Cooperative)
	g.mu.Unlock()

	sreq := protocol.NewSyncGroupRequest()
	sreq.GroupId = g.cfg.GroupID
	sreq.GenerationId = resp.GenerationId
	sreq.MemberId = resp.MemberId
	sreq.GroupInstanceId = strPtr(g.cfg.InstanceID)
	pt, pn := "consumer", g.protoName
	sreq.ProtocolType, sreq.ProtocolName = &pt, &pn
	if resp.Leader == resp.MemberId && !resp.SkipAssignment {
		sreq.Assignments, err = g.lead(ctx, chosen, resp.Members)
		if err != nil {
			return nil, err
		}
	}
	var sresp protocol.SyncGroupResponse
	sctx, cancel := context.WithTimeout(ctx, g.cfg.RebalanceTimeout+5*time.Second)
	err = g.request(sctx, versioned{sreq}, &sresp)
	cancel()
	if err != nil {
		return nil, err
	}
	if len(sresp.Assignment) == 0 {
		return nil, nil
	}
	v, body, err := decodeVersion(sresp.Assignment, assignmentVersion)
	if err != nil {
		return nil, fmt.Errorf("gregor/consumer: bad assignment: %w", err)
	}
	asg := protocol.NewConsumerProtocolAssignment()
	asg.Version = v
	if err := asg.Decode(body); err != nil {
		return nil, fmt.Errorf("gregor/consumer: bad assignment: %w", err)
	}
	var out []TopicPartition
	for _, t := range asg.AssignedPartitions {
		for _, p := range t.Partitions {
			out = append(out, TopicPartition{t.Topic, p})
		}
	}
	return out, nil
}

// lead runs the assignor over the members' subscriptions.
func (g *group) lead(ctx context.Context, a assign.Assignor, jm []protocol.JoinGroupResponseMember) ([]protocol.SyncGroupRequestAssignment, error) {
	members := make([]assign.Member, 0, len(jm))
	var all []string
	for _, m := range jm {
		v, body, err := decodeVersion(m.Metadata, subscriptionVersion)
		if err != nil {
			return nil, fmt.Errorf("gregor/consumer: member %s: bad subscription: %w", m.MemberId, err)
		}
		sub := protocol.NewConsumerProtocolSubscription()
		sub.Version = v
		if err := sub.Decode(body); err != nil {
			return nil, fmt.Errorf("gregor/consumer: member %s: bad subscription: %w", m.MemberId, err)
		}
		am := assign.Member{MemberID: m.MemberId, Topics: sub.Topics, Generation: sub.GenerationId, UserData: sub.UserData}
		if m.GroupInstanceId != nil {
			am.GroupInstanceID = *m.GroupInstanceId
		}
		if sub.RackId != nil {
			am.RackID = *sub.RackId
		}
		for _, o := range sub.OwnedPartitions {
			am.OwnedPartitions = append(am.OwnedPartitions, assign.TopicPartitions{Topic: o.Topic, Partitions: o.Partitions})
		}
		members = append(members, am)
		all = append(all, sub.Topics...)
	}
	slices.Sort(all)
	all = slices.Compact(all)
	topics, err := g.assignTopics(ctx, all)
	if err != nil {
		return nil, err
	}
	result, err := a.Assign(members, topics)
	if err != nil {
		return nil, fmt.Errorf("gregor/consumer: assignor %s: %w", a.Name(), err)
	}
	if slices.Contains(a.SupportedProtocols(), assign.Cooperative) {
		if err := assign.ValidateCooperative(members, result); err != nil {
			return nil, fmt.Errorf("gregor/consumer: assignor %s: %w", a.Name(), err)
		}
	}
	g.log.Debug("gregor/consumer: leader assigned", "group", g.cfg.GroupID, "members", len(members), "assignor", a.Name())
	out := make([]protocol.SyncGroupRequestAssignment, 0, len(members))
	for _, m := range members {
		r := result[m.MemberID]
		asg := protocol.NewConsumerProtocolAssignment()
		asg.Version = assignmentVersion
		asg.UserData = r.UserData
		for _, t := range r.Partitions {
			asg.AssignedPartitions = append(asg.AssignedPartitions,
				protocol.ConsumerProtocolAssignmentTopicPartition{Topic: t.Topic, Partitions: t.Partitions})
		}
		b, err := encodeVersioned(asg.Version, asg.AppendTo)
		if err != nil {
			return nil, err
		}
		out = append(out, protocol.SyncGroupRequestAssignment{MemberId: m.MemberID, Assignment: b})
	}
	return out, nil
}

// topicMetadata asks any broker for metadata of names (every topic when
// names is nil).
func (g *group) topicMetadata(ctx context.Context, names []string) (*protocol.MetadataResponse, error) {
	req := protocol.NewMetadataRequest()
	if names != nil {
		req.Topics = []protocol.MetadataRequestTopic{}
		for _, n := range names {
			req.Topics = append(req.Topics, protocol.MetadataRequestTopic{Name: &n})
		}
	}
	raw, _, err := g.c.cl.Do(ctx, cluster.AnyBroker(), cluster.RoleAdmin, versioned{req})
	if err != nil {
		return nil, err
	}
	resp := protocol.MetadataResponse{Version: raw.Version}
	if err := resp.Decode(raw.Body); err != nil {
		return nil, &gregor.NetworkError{Op: "decode Metadata response", Err: err}
	}
	return &resp, nil
}

// assignTopics describes names for an assignor: partition counts and,
// when the brokers have racks, the racks of each partition's replicas
// (for rack-aware assignment, KIP-881).
func (g *group) assignTopics(ctx context.Context, names []string) (map[string]assign.Topic, error) {
	out := map[string]assign.Topic{}
	if len(names) == 0 {
		return out, nil
	}
	resp, err := g.topicMetadata(ctx, names)
	if err != nil {
		return nil, err
	}
	return topicsWithRacks(resp), nil
}

func topicsWithRacks(resp *protocol.MetadataResponse) map[string]assign.Topic {
	racks := map[int32]string{}
	for _, b := range resp.Brokers {
		if b.Rack != nil && *b.Rack != "" {
			racks[b.NodeId] = *b.Rack
		}
	}
	out := map[string]assign.Topic{}
	for _, t := range resp.Topics {
		if t.ErrorCode != 0 || t.Name == nil || len(t.Partitions) == 0 {
			continue
		}
		at := assign.Topic{Partitions: len(t.Partitions)}
		if len(racks) > 0 {
			at.Racks = make([][]string, len(t.Partitions))
			for _, p := range t.Partitions {
				if p.PartitionIndex < 0 || int(p.PartitionIndex) >= len(at.Racks) {
					continue // a gap in the numbering: leave it without racks
				}
				for _, r := range p.ReplicaNodes {
					if rack, ok := racks[r]; ok {
						at.Racks[p.PartitionIndex] = append(at.Racks[p.PartitionIndex], rack)
					}
				}
			}
		}
		out[*t.Name] = at
	}
	return out
}

func (g *group) partitionCounts(ctx context.Context, names []string) (map[string]int, error) {
	out := map[string]int{}
	if len(names) == 0 {
		return out, nil
	}
	resp, err := g.topicMetadata(ctx, names)
	if err != nil {
		return nil, err
	}
	for _, t := range resp.Topics {
		if t.ErrorCode == 0 && t.Name != nil && len(t.Partitions) > 0 {
			out[*t.Name] = len(t.Partitions)
		}
	}
	return out, nil
}

// subscribedTopics returns the configured topics, or the topics matching
// the regular expression now.
func (g *group) subscribedTopics(ctx context.Context) ([]string, error) {
	if g.re == nil {
		return slices.Clone(g.cfg.Topics), nil
	}
	resp, err := g.topicMetadata(ctx, nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range resp.Topics {
		if t.ErrorCode == 0 && t.Name != nil && !t.IsInternal && g.re.MatchString(*t.Name) {
			out = append(out, *t.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// leave sends LeaveGroup for a dynamic member (a leaving heartbeat under
// the consumer protocol).
func (g *group) leave(ctx context.Context) {
	if g.cg != nil {
		g.cg.leave(ctx)
		return
	}
	g.mu.Lock()
	id := g.memberID
	g.mu.Unlock()
	if g.cfg.InstanceID != "" || id == "" {
		return
	}
	req := protocol.NewLeaveGroupRequest()
	req.GroupId = g.cfg.GroupID
	reason := "consumer closed"
	req.Members = []protocol.LeaveGroupRequestMemberIdentity{{MemberId: id, Reason: &reason}}
	var resp protocol.LeaveGroupResponse
	if err := g.request(ctx, ranged{req, 3, 99}, &resp); err != nil {
		g.log.Info("gregor/consumer: LeaveGroup failed", "group", g.cfg.GroupID, "err", err)
	}
}

// heartbeat sends one Heartbeat for the current generation.
func (g *group) heartbeat(ctx context.Context) error {
	g.mu.Lock()
	req := protocol.NewHeartbeatRequest()
	req.GroupId = g.cfg.GroupID
	req.GenerationId = g.generation
	req.MemberId = g.memberID
	g.mu.Unlock()
	req.GroupInstanceId = strPtr(g.cfg.InstanceID)
	var resp protocol.HeartbeatResponse
	return g.request(ctx, versioned{req}, &resp)
}
