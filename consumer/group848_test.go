package consumer

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/protocol"
)

// TestCGHeartbeatFields: the first heartbeat (and any after an error)
// carries every field; later ones only the member's identity, plus the
// owned partitions when they changed since the coordinator last heard
// them; after a rejoin everything is sent again.
func TestCGHeartbeatFields(t *testing.T) {
	g := &group{c: &Consumer{cfg: Config{Rack: "r1"}}, owned: map[TopicPartition]struct{}{},
		cfg: GroupConfig{GroupID: "g", Topics: []string{"a", "b"}, Protocol: GroupConsumer,
			ServerAssignor: ServerAssignorRange, InstanceID: "i1", RebalanceTimeout: 7 * time.Second}}
	id := protocol.UUID{1}
	m := &cgMember{g: g, full: true, ids: map[string]protocol.UUID{"a": id}, names: map[protocol.UUID]string{id: "a"}}
	g.memberID, g.generation = newMemberID(), 0
	if len(g.memberID) != 22 {
		t.Fatalf("member id %q", g.memberID)
	}
	ok := func(reported []TopicPartition, epoch int32) {
		m.full, g.generation = false, epoch
		if reported != nil {
			m.acked = reported
		}
	}
	req, rep := m.request()
	if req.MemberEpoch != 0 || req.InstanceId == nil || *req.InstanceId != "i1" || req.RackId == nil ||
		req.RebalanceTimeoutMs != 7000 || len(req.SubscribedTopicNames) != 2 || req.ServerAssignor == nil ||
		*req.ServerAssignor != "range" || req.TopicPartitions == nil || len(req.TopicPartitions) != 0 || rep == nil {
		t.Fatalf("joining heartbeat %+v", req)
	}
	ok(rep, 3)
	req, rep = m.request()
	if req.MemberEpoch != 3 || req.MemberId != g.memberID || req.InstanceId != nil || req.RackId != nil ||
		req.RebalanceTimeoutMs != -1 || req.SubscribedTopicNames != nil || req.ServerAssignor != nil ||
		req.TopicPartitions != nil || rep != nil {
		t.Fatalf("steady heartbeat %+v", req)
	}
	g.owned[TopicPartition{"a", 2}] = struct{}{}
	g.owned[TopicPartition{"a", 0}] = struct{}{}
	req, rep = m.request()
	if len(req.TopicPartitions) != 1 || req.TopicPartitions[0].TopicId != id ||
		fmt.Sprint(req.TopicPartitions[0].Partitions) != "[0 2]" || req.SubscribedTopicNames != nil || len(rep) != 2 {
		t.Fatalf("acknowledging heartbeat %+v", req)
	}
	ok(rep, 4)
	if req, _ = m.request(); req.TopicPartitions != nil {
		t.Fatalf("acknowledged twice: %+v", req)
	}
	m.full = true // after an error
	if req, _ = m.request(); req.SubscribedTopicNames == nil || len(req.TopicPartitions) != 1 || req.RebalanceTimeoutMs != 7000 {
		t.Fatalf("heartbeat after an error %+v", req)
	}
	g.cfg.Topics, g.cfg.TopicRegex = nil, "a.*"
	if req, _ = m.request(); req.SubscribedTopicRegex == nil || *req.SubscribedTopicRegex != "a.*" || req.SubscribedTopicNames != nil {
		t.Fatalf("regex heartbeat %+v", req)
	}
}

// TestCGFatal: errors that end a KIP-848 membership are told apart from
// those after which the member rejoins or retries.
func TestCGFatal(t *testing.T) {
	for _, e := range []error{protocol.ErrUnreleasedInstanceID, protocol.ErrGroupMaxSizeReached,
		protocol.ErrUnsupportedAssignor, protocol.ErrFencedInstanceID, protocol.ErrInvalidRegularExpression,
		fmt.Errorf("wrapped: %w", protocol.ErrGroupAuthorizationFailed)} {
		if !cgFatal(e) {
			t.Errorf("%v not fatal", e)
		}
	}
	for _, e := range []error{protocol.ErrFencedMemberEpoch, protocol.ErrUnknownMemberID,
		protocol.ErrCoordinatorNotAvailable, protocol.ErrNotCoordinator, errors.New("network")} {
		if cgFatal(e) {
			t.Errorf("%v fatal", e)
		}
	}
}

func TestServerAssignorString(t *testing.T) {
	for a, want := range map[ServerAssignor]string{ServerAssignorDefault: "default", ServerAssignorUniform: "uniform",
		ServerAssignorRange: "range", 9: "ServerAssignor(9)"} {
		if a.String() != want {
			t.Errorf("%d: %q, want %q", a, a.String(), want)
		}
	}
}
