package consumer

import (
	"testing"

	"github.com/gregorkafka/gregor/consumer/assign"
	"github.com/gregorkafka/gregor/protocol"
)

// TestTopicsWithRacks: the leader hands the assignors the racks of each
// partition's replicas from metadata, so rack-aware range assignment
// (KIP-881) gives each member the partitions stored in its rack.
func TestTopicsWithRacks(t *testing.T) {
	rack := func(s string) *string { return &s }
	name := "t"
	resp := &protocol.MetadataResponse{
		Brokers: []protocol.MetadataResponseBroker{{NodeId: 1, Rack: rack("a")}, {NodeId: 2, Rack: rack("b")}, {NodeId: 3, Rack: rack("c")}},
	}
	tp := protocol.MetadataResponseTopic{Name: &name}
	for _, p := range []int32{5, 0, 3, 1, 4, 2} { // not in order
		tp.Partitions = append(tp.Partitions, protocol.MetadataResponsePartition{PartitionIndex: p, ReplicaNodes: []int32{p%3 + 1}})
	}
	resp.Topics = []protocol.MetadataResponseTopic{tp}
	topics := topicsWithRacks(resp)
	if got := topics[name]; got.Partitions != 6 || len(got.Racks) != 6 || got.Racks[4][0] != "b" {
		t.Fatalf("topic %+v", got)
	}
	members := []assign.Member{
		{MemberID: "m1", RackID: "c", Topics: []string{name}},
		{MemberID: "m2", RackID: "a", Topics: []string{name}},
		{MemberID: "m3", RackID: "b", Topics: []string{name}},
	}
	res, err := assign.Range.Assign(members, topics)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		n := 0
		for _, tps := range res[m.MemberID].Partitions {
			for _, p := range tps.Partitions {
				n++
				if r := topics[name].Racks[p][0]; r != m.RackID {
					t.Errorf("member in rack %s got partition %d of rack %s", m.RackID, p, r)
				}
			}
		}
		if n != 2 {
			t.Errorf("member %s got %d partitions", m.MemberID, n)
		}
	}
	// without broker racks the assignors get counts only
	resp.Brokers = []protocol.MetadataResponseBroker{{NodeId: 1}, {NodeId: 2}, {NodeId: 3}}
	if got := topicsWithRacks(resp)[name]; got.Partitions != 6 || got.Racks != nil {
		t.Fatalf("no racks: %+v", got)
	}
}
