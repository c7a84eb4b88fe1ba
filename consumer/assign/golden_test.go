package assign

import (
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// genScenario makes a random group for the golden tests: varied member
// and topic counts, partial subscriptions, static members, topics missing
// from metadata, and (sometimes) member and partition racks.
func genScenario(rng *rand.Rand) (map[string]Topic, []Member) {
	nTopics := 1 + rng.IntN(6)
	withRacks := rng.IntN(3) == 0
	racks := []string{"r0", "r1", "r2", "r3"}
	topics := map[string]Topic{}
	var names []string
	counts := []int{1, 2, 3, 4, 6, 8}
	for i := range nTopics {
		name := fmt.Sprintf("t%d", i)
		if rng.IntN(4) == 0 {
			name = fmt.Sprintf("Topic-%c%d", 'a'+rng.IntN(26), i)
		}
		names = append(names, name)
		if rng.IntN(12) == 0 {
			continue // subscribed but unknown to metadata
		}
		n := counts[rng.IntN(len(counts))]
		if rng.IntN(3) == 0 {
			n = 1 + rng.IntN(40)
		}
		if rng.IntN(20) == 0 {
			n = 1 + rng.IntN(300)
		}
		t := Topic{Partitions: n}
		if withRacks {
			same := rng.IntN(4) == 0
			var first []string
			t.Racks = make([][]string, n)
			for p := range n {
				if same && p > 0 {
					t.Racks[p] = first
					continue
				}
				k := rng.IntN(3)
				if rng.IntN(10) == 0 {
					k = 0
				}
				for _, ri := range rng.Perm(len(racks))[:k] {
					t.Racks[p] = append(t.Racks[p], racks[ri])
				}
				first = t.Racks[p]
			}
		}
		topics[name] = t
	}
	nMembers := 1 + rng.IntN(12)
	if rng.IntN(10) == 0 {
		nMembers = 1 + rng.IntN(60) // a few bigger groups
	}
	allSame := rng.IntN(3) == 0
	var members []Member
	for i := range nMembers {
		m := Member{MemberID: fmt.Sprintf("c%d-%04x", rng.IntN(3), rng.IntN(1<<16)) + fmt.Sprint(i), Generation: -1}
		if rng.IntN(3) == 0 {
			m.GroupInstanceID = fmt.Sprintf("inst-%d", rng.IntN(100)) + fmt.Sprint(i)
		}
		if withRacks && rng.IntN(5) != 0 {
			m.RackID = racks[rng.IntN(3)]
		}
		for _, name := range names {
			if allSame || rng.IntN(2) == 0 {
				m.Topics = append(m.Topics, name)
			}
		}
		members = append(members, m)
	}
	return topics, members
}

// TestJava runs every comparison with the Java client against one
// AssignServer process.
func TestJava(t *testing.T) {
	j := startJava(t)
	run := func(name string, f func(*testing.T)) {
		t.Run(name, func(t *testing.T) {
			j.t = t // report failures on the subtest
			defer func() { j.t = nil }()
			f(t)
		})
	}
	run("RangeRoundRobinIdentical", func(t *testing.T) { testIdentical(t, j) })
	run("UserDataInterop", func(t *testing.T) { testUserDataInterop(t, j) })
	run("StickyProperties", func(t *testing.T) { testStickyVsJava(t, j, Sticky) })
	run("CooperativeStickyProperties", func(t *testing.T) { testStickyVsJava(t, j, CooperativeSticky) })
	run("Timing", func(t *testing.T) { testTiming(t, j) })
}

// testIdentical checks that range and roundrobin give exactly Java's answer.
func testIdentical(t *testing.T, j *javaProc) {
	const scenarios = 1500
	rng := rand.New(rand.NewPCG(7, 11))
	rackAware, static := 0, 0
	for i := range scenarios {
		topics, members := genScenario(rng)
		if rangeUsesRacks(members, topics) {
			rackAware++
		}
		for _, m := range members {
			if m.GroupInstanceID != "" {
				static++
				break
			}
		}
		jm := make([]javaMember, len(members))
		for k := range members {
			jm[k] = javaMember{Member: members[k], ud: "-"}
		}
		for _, a := range []Assignor{Range, RoundRobin} {
			want, _ := j.assign(a.Name(), 1, topics, jm)
			got, err := a.Assign(members, topics)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range members {
				if g := formatTP(got[m.MemberID].Partitions); g != want[m.MemberID] {
					t.Fatalf("scenario %d %s: member %s (instance %q) got %s, Java %s\ntopics %+v\nmembers %+v",
						i, a.Name(), m.MemberID, m.GroupInstanceID, g, want[m.MemberID], topics, members)
				}
			}
		}
	}
	t.Logf("range and roundrobin identical to Java for %d scenarios each (%d with static members, %d where range's rack-aware pass runs)",
		scenarios, static, rackAware)
}

// rangeUsesRacks reports whether some topic triggers range's rack-aware pass.
func rangeUsesRacks(members []Member, topics map[string]Topic) bool {
	for name, md := range topics {
		racks := map[string]bool{}
		for _, m := range members {
			if m.RackID != "" && slices.Contains(m.Topics, name) {
				racks[m.RackID] = true
			}
		}
		if len(racks) > 0 && md.Partitions > 0 && useRackAware(racks, md.Racks) {
			return true
		}
	}
	return false
}

// testUserDataInterop checks that sticky user data written by either side
// decodes to the same partitions and generation on the other.
func testUserDataInterop(t *testing.T, j *javaProc) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		var owned []TopicPartitions
		for k := range rng.IntN(4) {
			tp := TopicPartitions{Topic: fmt.Sprintf("topic.%d_%d", i, k)}
			for _, p := range rng.Perm(20)[:1+rng.IntN(5)] {
				tp.Partitions = append(tp.Partitions, int32(p))
			}
			owned = append(owned, tp)
		}
		gen := int32(rng.IntN(1000)) - 1
		want := formatTP(owned)

		// Gregor -> Java.
		j.send("decode sticky " + hex.EncodeToString(Sticky.SubscriptionUserData(owned, gen)) + "\n")
		if got, exp := j.line(), fmt.Sprintf("owned %s %d", want, gen); got != exp {
			t.Fatalf("Java decoded Gregor's sticky user data as %q, want %q", got, exp)
		}
		j.send("decode cooperative-sticky " + hex.EncodeToString(CooperativeSticky.SubscriptionUserData(owned, gen)) + "\n")
		if got, exp := j.line(), fmt.Sprintf("owned - %d", gen); got != exp {
			t.Fatalf("Java decoded Gregor's cooperative user data as %q, want %q", got, exp)
		}

		// Java -> Gregor.
		for _, name := range []string{"sticky", "cooperative-sticky"} {
			j.send(fmt.Sprintf("encode %s %s %d\n", name, want, gen))
			var h string
			fmt.Sscanf(j.line(), "hex %s", &h)
			b, err := hex.DecodeString(h)
			if err != nil {
				t.Fatal(err)
			}
			if name == "sticky" {
				gotOwned, gotGen, err := DecodeStickyUserData(b)
				if err != nil || formatTP(gotOwned) != want || gotGen != gen {
					t.Fatalf("Gregor decoded Java's sticky user data as %v %d %v, want %s %d", gotOwned, gotGen, err, want, gen)
				}
			} else if g, err := DecodeCooperativeUserData(b); err != nil || g != gen {
				t.Fatalf("Gregor decoded Java's cooperative user data as %d %v, want %d", g, err, gen)
			}
		}
	}
	// Version 0 sticky data (no generation) and garbage, both ways.
	v0 := EncodeStickyUserData([]TopicPartitions{{Topic: "a", Partitions: []int32{1, 2}}}, 0)
	v0 = v0[:len(v0)-4]
	j.send("decode sticky " + hex.EncodeToString(v0) + "\n")
	if got := j.line(); got != "owned a:1,2 -1" {
		t.Fatalf("Java decoded v0 data as %q", got)
	}
	if owned, gen, err := DecodeStickyUserData(v0); err != nil || formatTP(owned) != "a:1,2" || gen != -1 {
		t.Fatalf("Gregor decoded v0 data as %v %d %v", owned, gen, err)
	}

	// Java's StickyAssignor, reading Gregor-encoded user data as the
	// members' previous assignment, keeps an already balanced assignment.
	for i := range 50 {
		topics, members := genScenario(rng)
		for k := range members {
			members[k].Topics = slices.Collect(func(yield func(string) bool) {
				for n := range topics {
					if !yield(n) {
						return
					}
				}
			})
			slices.Sort(members[k].Topics)
			members[k].RackID = ""
		}
		for n, tp := range topics {
			tp.Racks = nil
			topics[n] = tp
		}
		prev, err := RoundRobin.Assign(members, topics)
		if err != nil {
			t.Fatal(err)
		}
		jm := make([]javaMember, len(members))
		for k, m := range members {
			ud := Sticky.SubscriptionUserData(prev[m.MemberID].Partitions, int32(i+1))
			jm[k] = javaMember{Member: m, ud: "hex:" + hex.EncodeToString(ud)}
			jm[k].Generation = int32(i + 1)
		}
		got, _ := j.assign("sticky", 1, topics, jm)
		for _, m := range members {
			if want := formatTP(prev[m.MemberID].Partitions); got[m.MemberID] != want {
				t.Fatalf("Java sticky with Gregor user data moved %s: %s, want %s", m.MemberID, got[m.MemberID], want)
			}
		}
	}
}
