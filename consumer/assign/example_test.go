package assign_test

import (
	"fmt"

	"github.com/gregorkafka/gregor/consumer/assign"
)

// The leader of an eager group using the range assignor.
func ExampleRangeAssignor() {
	members := []assign.Member{
		{MemberID: "consumer-b", Topics: []string{"orders", "payments"}},
		{MemberID: "consumer-a", Topics: []string{"orders", "payments"}},
		{MemberID: "consumer-c", GroupInstanceID: "host-1", Topics: []string{"orders"}},
	}
	topics := assign.Topics(map[string]int{"orders": 5, "payments": 2})
	result, err := assign.Range.Assign(members, topics)
	if err != nil {
		panic(err)
	}
	for _, id := range []string{"consumer-c", "consumer-a", "consumer-b"} {
		fmt.Printf("%s: %s\n", id, assign.FormatAssignment(result[id].Partitions))
	}
	// Output:
	// consumer-c: orders:0,1
	// consumer-a: orders:2,3 payments:0
	// consumer-b: orders:4 payments:1
}

// Two cooperative rebalances after a third member joins: the first only
// revokes, the follow-up hands the freed partitions over.
func ExampleCooperativeStickyAssignor() {
	a := assign.CooperativeSticky
	topics := assign.Topics(map[string]int{"events": 6})
	owned := map[string][]assign.TopicPartitions{
		"m1": {{Topic: "events", Partitions: []int32{0, 1, 2}}},
		"m2": {{Topic: "events", Partitions: []int32{3, 4, 5}}},
	}
	gens := map[string]int32{"m1": 4, "m2": 4, "m3": assign.DefaultGeneration}
	for round := 1; round <= 2; round++ {
		var members []assign.Member
		for _, id := range []string{"m1", "m2", "m3"} {
			members = append(members, assign.Member{
				MemberID:        id,
				Topics:          []string{"events"},
				OwnedPartitions: owned[id],
				Generation:      gens[id],
				UserData:        a.SubscriptionUserData(owned[id], gens[id]),
			})
		}
		result, err := a.Assign(members, topics)
		if err != nil {
			panic(err)
		}
		if err := assign.ValidateCooperative(members, result); err != nil {
			panic(err)
		}
		fmt.Printf("round %d:", round)
		for _, m := range members {
			fmt.Printf(" %s=[%s]", m.MemberID, assign.FormatAssignment(result[m.MemberID].Partitions))
			owned[m.MemberID] = result[m.MemberID].Partitions
			gens[m.MemberID] = int32(4 + round)
		}
		fmt.Println()
	}
	// Output:
	// round 1: m1=[events:0,1] m2=[events:3,4] m3=[]
	// round 2: m1=[events:0,1] m2=[events:3,4] m3=[events:2,5]
}

// Sticky user data round trip, in the Java client's format.
func ExampleEncodeStickyUserData() {
	owned := []assign.TopicPartitions{{Topic: "t", Partitions: []int32{0, 7}}}
	b := assign.EncodeStickyUserData(owned, 12)
	got, gen, err := assign.DecodeStickyUserData(b)
	fmt.Println(len(b), assign.FormatAssignment(got), gen, err)
	// Output: 23 t:0,7 12 <nil>
}
