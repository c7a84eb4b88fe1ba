package assign

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// simMember is a member's identity and subscription in one step.
type simMember struct {
	id, rack string
	topics   []string
}

// simStep is the group and metadata during one rebalance step.
type simStep struct {
	topics  map[string]Topic
	members []simMember
	// dupClaim makes the second member also claim the first member's first
	// partition in the same generation.
	dupClaim bool
	// zombie names a member that rejoins with the partitions and generation
	// it had when it left.
	zombie string
	// shrunk marks a step where a topic came back with fewer partitions.
	shrunk bool
}

type memberState struct {
	owned []TopicPartitions
	gen   int32
}

// assignFunc runs one assignor for the simulation; members carry their
// owned partitions and generation in OwnedPartitions and Generation.
type assignFunc func(topics map[string]Topic, members []Member) map[string][]TopicPartitions

type simStats struct {
	moves, rounds, steps, violations int
	transferViolations               int
	// With a shadow assignor: partitions taken from a present, still
	// subscribed owner, by the main and the shadow assignor, in the same
	// rounds from identical inputs.
	revoked, shadowRevoked int
	// Settled partitions held by a member with a rack, and how many of
	// those have a replica on the member's rack.
	rackHeld, rackLocal int
	aborted             bool
}

type tpKey struct {
	topic string
	p     int32
}

// genSteps makes a multi-step rebalance scenario: members join and leave,
// partitions and topics are added, subscriptions change, stale owners
// return and duplicate claims appear.
func genSteps(rng *rand.Rand) []simStep {
	topics := map[string]Topic{}
	var names []string
	withRacks := rng.IntN(4) == 0
	racks := []string{"r0", "r1", "r2"}
	addTopic := func(n int) {
		name := fmt.Sprintf("t%d", len(names))
		names = append(names, name)
		topics[name] = Topic{Partitions: n}
	}
	for range 1 + rng.IntN(4) {
		n := 1 + rng.IntN(24)
		if rng.IntN(5) == 0 {
			n = 1 + rng.IntN(120)
		}
		addTopic(n)
	}
	mixed := rng.IntN(3) == 0
	next := 0
	newMember := func() simMember {
		m := simMember{id: fmt.Sprintf("m%03d", next)}
		next++
		if withRacks && rng.IntN(4) != 0 {
			m.rack = racks[rng.IntN(len(racks))]
		}
		for _, n := range names {
			if !mixed || rng.IntN(2) == 0 {
				m.topics = append(m.topics, n)
			}
		}
		if len(m.topics) == 0 {
			m.topics = []string{names[0]}
		}
		return m
	}
	var members []simMember
	for range 1 + rng.IntN(12) {
		members = append(members, newMember())
	}
	left := map[string]simMember{}
	var steps []simStep
	for s := range 4 + rng.IntN(5) {
		st := simStep{}
		if s > 0 {
			switch ev := rng.IntN(10); {
			case ev < 2:
				for range 1 + rng.IntN(3) {
					members = append(members, newMember())
				}
			case ev < 4 && len(members) > 1:
				i := rng.IntN(len(members))
				left[members[i].id] = members[i]
				members = slices.Delete(members, i, i+1)
			case ev == 4:
				name := names[rng.IntN(len(names))]
				tp := topics[name]
				tp.Partitions += 1 + rng.IntN(10)
				topics[name] = tp
			case ev == 5:
				addTopic(1 + rng.IntN(20))
				for i := range members {
					if !mixed || rng.IntN(2) == 0 {
						members[i].topics = append(slices.Clone(members[i].topics), names[len(names)-1])
					}
				}
			case ev == 6 && mixed:
				i := rng.IntN(len(members))
				members[i].topics = []string{names[rng.IntN(len(names))]}
			case ev == 7 && len(members) > 1:
				st.dupClaim = true
			case ev == 8 && len(left) > 0:
				ids := slices.Sorted(maps.Keys(left))
				id := ids[rng.IntN(len(ids))]
				members = append(members, left[id])
				delete(left, id)
				st.zombie = id
			case ev == 9:
				// The topic is deleted and recreated with fewer partitions.
				name := names[rng.IntN(len(names))]
				tp := topics[name]
				tp.Partitions = 1 + rng.IntN(tp.Partitions)
				topics[name] = tp
				st.shrunk = true
			}
		}
		st.topics = maps.Clone(topics)
		if withRacks {
			for name, tp := range st.topics {
				tp.Racks = make([][]string, tp.Partitions)
				for p := range tp.Racks {
					tp.Racks[p] = []string{racks[(p+len(name))%len(racks)], racks[(p*7+1)%len(racks)]}
				}
				st.topics[name] = tp
			}
		}
		st.members = slices.Clone(members)
		steps = append(steps, st)
	}
	return steps
}

// simulate runs the steps with one assignor, feeding each round's output
// back as the members' owned partitions, and checks the properties.
// Cooperative groups rebalance again (up to three times) while a round
// revoked partitions, as a real cooperative consumer does.
func simulate(t *testing.T, who string, cooperative bool, steps []simStep, fn assignFunc, st *simStats) {
	simulateShadow(t, who, cooperative, steps, fn, nil, st)
}

// simulateShadow is simulate, also running shadow on every round's input
// (but not following its output) to compare revocations like for like.
func simulateShadow(t *testing.T, who string, cooperative bool, steps []simStep, fn, shadow assignFunc, st *simStats) {
	t.Helper()
	// Gregor's violations fail the test; Java's are only counted and logged.
	errorf := t.Errorf
	if who != "gregor" {
		errorf = t.Logf
	}
	state := map[string]*memberState{}
	departed := map[string]*memberState{}
	gen := int32(0)
	prev := map[tpKey]string{}
	for si, step := range steps {
		present := map[string]bool{}
		for _, m := range step.members {
			present[m.id] = true
		}
		for id, s := range state {
			if !present[id] {
				departed[id] = s
				delete(state, id)
			}
		}
		for _, m := range step.members {
			if state[m.id] == nil {
				state[m.id] = &memberState{gen: DefaultGeneration}
			}
		}
		if step.zombie != "" && departed[step.zombie] != nil {
			state[step.zombie] = departed[step.zombie]
		}
		if step.dupClaim {
			a, b := state[step.members[0].id], state[step.members[1].id]
			if len(a.owned) > 0 && len(a.owned[0].Partitions) > 0 {
				b.owned = append(slices.Clone(b.owned), TopicPartitions{Topic: a.owned[0].Topic, Partitions: a.owned[0].Partitions[:1]})
				b.gen = a.gen
			}
		}
		var out map[string][]TopicPartitions
		for round := 0; ; round++ {
			gen++
			st.rounds++
			members := make([]Member, len(step.members))
			for i, m := range step.members {
				s := state[m.id]
				members[i] = Member{MemberID: m.id, RackID: m.rack, Topics: m.topics, OwnedPartitions: s.owned, Generation: s.gen}
			}
			out = fn(step.topics, members)
			if out == nil {
				st.aborted = true // the other implementation failed
				return
			}
			if shadow != nil {
				st.revoked += countRevoked(step, members, out)
				st.shadowRevoked += countRevoked(step, members, shadow(step.topics, members))
			}
			owners := map[tpKey]string{}
			for id, parts := range out {
				for _, tp := range parts {
					for _, p := range tp.Partitions {
						k := tpKey{tp.Topic, p}
						if o, dup := owners[k]; dup {
							errorf("%s step %d: %v assigned to %s and %s", who, si, k, o, id)
							st.violations++
						}
						owners[k] = id
					}
				}
			}
			// A partition may go to a member that did not claim it only when
			// nobody else claims it either (cooperative two-phase rule).
			claims := map[tpKey]map[string]bool{}
			revoked := false
			for _, m := range step.members {
				for _, tp := range state[m.id].owned {
					for _, p := range tp.Partitions {
						k := tpKey{tp.Topic, p}
						if claims[k] == nil {
							claims[k] = map[string]bool{}
						}
						claims[k][m.id] = true
						if owners[k] != m.id {
							revoked = true
						}
					}
				}
			}
			for k, o := range owners {
				if cooperative && len(claims[k]) > 0 && !claims[k][o] {
					st.transferViolations++
				}
			}
			for _, m := range step.members {
				state[m.id] = &memberState{owned: out[m.id], gen: gen}
			}
			if !cooperative || !revoked || round >= 3 {
				break
			}
		}
		st.steps++
		cur := map[tpKey]string{}
		counts := map[string]int{}
		subs := map[string]map[string]bool{}
		for _, m := range step.members {
			subs[m.id] = map[string]bool{}
			for _, tn := range m.topics {
				if step.topics[tn].Partitions > 0 {
					subs[m.id][tn] = true
				}
			}
			for _, tp := range out[m.id] {
				if !subs[m.id][tp.Topic] {
					errorf("%s step %d: %s got unsubscribed topic %s", who, si, m.id, tp.Topic)
					st.violations++
				}
				for _, p := range tp.Partitions {
					cur[tpKey{tp.Topic, p}] = m.id
					counts[m.id]++
				}
			}
		}
		for tn, md := range step.topics {
			subscribed := false
			for _, s := range subs {
				subscribed = subscribed || s[tn]
			}
			for p := range md.Partitions {
				if _, ok := cur[tpKey{tn, int32(p)}]; subscribed && !ok {
					errorf("%s step %d: %s-%d unassigned after settling", who, si, tn, p)
					st.violations++
				}
			}
		}
		st.violations += checkBalance(t, who, si, step.members, subs, counts, out)
		for _, m := range step.members {
			if m.rack == "" {
				continue
			}
			for _, tp := range out[m.id] {
				for _, p := range tp.Partitions {
					if racks := step.topics[tp.Topic].Racks; racks != nil {
						st.rackHeld++
						if slices.Contains(racks[p], m.rack) {
							st.rackLocal++
						}
					}
				}
			}
		}
		for k, o := range prev {
			if subs[o] != nil && subs[o][k.topic] && k.p < int32(step.topics[k.topic].Partitions) && cur[k] != o {
				st.moves++
			}
		}
		prev = cur
	}
}

// countRevoked counts partitions that a member owned, still subscribes to
// and that still exist, but that out does not leave with it.
func countRevoked(step simStep, members []Member, out map[string][]TopicPartitions) int {
	n := 0
	for _, m := range members {
		kept := map[tpKey]bool{}
		for _, tp := range out[m.MemberID] {
			for _, p := range tp.Partitions {
				kept[tpKey{tp.Topic, p}] = true
			}
		}
		for _, tp := range m.OwnedPartitions {
			if !slices.Contains(m.Topics, tp.Topic) {
				continue
			}
			for _, p := range tp.Partitions {
				if p < int32(step.topics[tp.Topic].Partitions) && !kept[tpKey{tp.Topic, p}] {
					n++
				}
			}
		}
	}
	return n
}

// checkBalance verifies balance: with identical subscriptions counts differ
// by at most one; otherwise no member has two or more partitions more than
// a member that could take one of them.
func checkBalance(t *testing.T, who string, si int, members []simMember, subs map[string]map[string]bool,
	counts map[string]int, out map[string][]TopicPartitions) int {
	t.Helper()
	bad := 0
	for _, a := range members {
		for _, b := range members {
			if counts[a.id] < counts[b.id]+2 {
				continue
			}
			for _, tp := range out[a.id] {
				if subs[b.id][tp.Topic] {
					t.Logf("%s step %d: unbalanced: %s has %d, %s has %d and could take %s", who, si, a.id, counts[a.id], b.id, counts[b.id], tp.Topic)
					bad++
					break
				}
			}
		}
	}
	return bad
}

// gregorFunc runs a Gregor sticky assignor the way a consumer would call it.
func gregorFunc(t *testing.T, a Assignor) assignFunc {
	return func(topics map[string]Topic, members []Member) map[string][]TopicPartitions {
		in := slices.Clone(members)
		for i := range in {
			in[i].UserData = a.SubscriptionUserData(in[i].OwnedPartitions, in[i].Generation)
			if a.Name() == "sticky" {
				in[i].OwnedPartitions = nil // eager members revoke before joining
			}
		}
		res, err := a.Assign(in, topics)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string][]TopicPartitions{}
		for id, as := range res {
			out[id] = as.Partitions
		}
		return out
	}
}

// javaFunc runs the Java assignor of the same name. Java's sticky
// assignors throw IllegalStateException when a member claims a partition
// beyond the topic's current count (a topic recreated smaller), so such
// claims are dropped before Java sees them; Gregor gets them unfiltered.
func javaFunc(j *javaProc, name string) assignFunc {
	return func(topics map[string]Topic, members []Member) map[string][]TopicPartitions {
		jm := make([]javaMember, len(members))
		for i, m := range members {
			m.OwnedPartitions = existing(m.OwnedPartitions, topics)
			ud := "java"
			if name == "sticky" && m.Generation < 0 && len(m.OwnedPartitions) == 0 {
				ud = "-"
			}
			jm[i] = javaMember{Member: m, ud: ud, sendOwned: name != "sticky"}
		}
		res, _, err := j.tryAssign(name, 1, topics, jm)
		if err != nil {
			j.failures = append(j.failures, fmt.Sprintf("%v; request:\n%s", err, j.request))
			return nil
		}
		out := map[string][]TopicPartitions{}
		for id, s := range res {
			out[id] = parseTP(s)
		}
		return out
	}
}

// existing drops partitions that are not in topics' metadata.
func existing(owned []TopicPartitions, topics map[string]Topic) []TopicPartitions {
	var out []TopicPartitions
	for _, tp := range owned {
		md, ok := topics[tp.Topic]
		if !ok {
			out = append(out, tp) // a deleted topic: Java copes with that
			continue
		}
		keep := TopicPartitions{Topic: tp.Topic}
		for _, p := range tp.Partitions {
			if p < int32(md.Partitions) {
				keep.Partitions = append(keep.Partitions, p)
			}
		}
		if len(keep.Partitions) > 0 {
			out = append(out, keep)
		}
	}
	return out
}

// testStickyVsJava runs many multi-step scenarios through Gregor's and
// Java's assignor, checks the properties on both and compares stickiness.
func testStickyVsJava(t *testing.T, j *javaProc, a Assignor) {
	const scenarios = 400
	coop := a.Name() == "cooperative-sticky"
	rng := rand.New(rand.NewPCG(21, uint64(len(a.Name()))))
	var g, jv simStats
	kinds := map[string]*[3]int{} // scenarios, Gregor moves, Java moves
	zombies, dups, shrunk, javaFailed := 0, 0, 0, 0
	j.failures = nil
	for range scenarios {
		steps := genSteps(rng)
		var sg, sj simStats
		simulate(t, "gregor", coop, steps, gregorFunc(t, a), &sg)
		simulateShadow(t, "java", coop, steps, javaFunc(j, a.Name()), gregorFunc(t, a), &sj)
		if t.Failed() {
			t.FailNow()
		}
		if sj.aborted {
			javaFailed++
			continue // compare only scenarios both completed
		}
		kind := "same-subscriptions"
		for _, s := range steps {
			for _, m := range s.members {
				if !slices.Equal(m.topics, s.members[0].topics) {
					kind = "mixed-subscriptions"
				}
			}
			if s.zombie != "" {
				zombies++
			}
			if s.dupClaim {
				dups++
			}
			if s.shrunk {
				shrunk++
			}
		}
		for _, m := range steps[0].members {
			if m.rack != "" {
				kind += "+racks"
				break
			}
		}
		if kinds[kind] == nil {
			kinds[kind] = new([3]int)
		}
		kinds[kind][0]++
		kinds[kind][1] += sg.moves
		kinds[kind][2] += sj.moves
		g.shadowRevoked += sj.shadowRevoked
		jv.revoked += sj.revoked
		for _, p := range []struct{ from, to *simStats }{{&sg, &g}, {&sj, &jv}} {
			p.to.moves += p.from.moves
			p.to.rounds += p.from.rounds
			p.to.steps += p.from.steps
			p.to.violations += p.from.violations
			p.to.transferViolations += p.from.transferViolations
			p.to.rackHeld += p.from.rackHeld
			p.to.rackLocal += p.from.rackLocal
		}
	}
	t.Logf("%s: %d scenarios, %d steps (%d with a stale member rejoining, %d with a duplicate same-generation claim, %d with a topic recreated smaller); "+
		"partitions moved: Gregor %d, Java %d; rounds: Gregor %d, Java %d; "+
		"property violations: Gregor %d, Java %d; same-round transfers: Gregor %d, Java %d",
		a.Name(), scenarios, g.steps, zombies, dups, shrunk, g.moves, jv.moves, g.rounds, jv.rounds, g.violations, jv.violations,
		g.transferViolations, jv.transferViolations)
	t.Logf("  Java's assignor failed (threw, or no result after 1 s of CPU) in %d scenarios, left out of the comparison; Gregor passed them",
		javaFailed)
	for i, f := range j.failures {
		if i < 3 {
			t.Logf("  Java failure %d: %s", i+1, f)
		}
	}
	t.Logf("  rack-aware groups, settled: partitions held by members with a rack that have a replica there: Gregor %d/%d, Java %d/%d",
		g.rackLocal, g.rackHeld, jv.rackLocal, jv.rackHeld)
	t.Logf("  same inputs (Java's history), every round: partitions revoked from a present subscribed owner: Gregor %d, Java %d",
		g.shadowRevoked, jv.revoked)
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		t.Logf("  %-30s %3d scenarios: moved Gregor %5d, Java %5d", k, kinds[k][0], kinds[k][1], kinds[k][2])
	}
	if g.violations > 0 || (coop && g.transferViolations > 0) {
		t.Errorf("Gregor violated properties")
	}
	if g.moves > jv.moves+jv.moves/50+10 {
		t.Errorf("Gregor moved %d partitions, Java %d", g.moves, jv.moves)
	}
}

// benchGroup is the benchmark group: 200 members subscribed to 10 topics
// of 200 partitions. With rejoin, 190 members own a balanced assignment
// and 10 new members join.
func benchGroup(rejoin bool) (map[string]Topic, []Member) {
	counts := map[string]int{}
	var names []string
	for i := range 10 {
		names = append(names, fmt.Sprintf("topic-%d", i))
		counts[names[i]] = 200
	}
	topics := Topics(counts)
	members := make([]Member, 200)
	for i := range members {
		members[i] = Member{MemberID: fmt.Sprintf("consumer-%03d", i), Topics: names, Generation: DefaultGeneration}
	}
	if rejoin {
		prev, _ := CooperativeSticky.Assign(members[:190], topics)
		for i := range 190 {
			members[i].OwnedPartitions = prev[members[i].MemberID].Partitions
			members[i].Generation = 1
		}
	}
	return topics, members
}

// testTiming reports Java's time for the benchmark group next to Gregor's.
func testTiming(t *testing.T, j *javaProc) {
	for _, rejoin := range []bool{false, true} {
		topics, members := benchGroup(rejoin)
		jm := make([]javaMember, len(members))
		for i, m := range members {
			jm[i] = javaMember{Member: m, ud: "java", sendOwned: true}
		}
		j.assign("cooperative-sticky", 20, topics, jm) // warm up
		_, javaNs := j.assign("cooperative-sticky", 20, topics, jm)
		start := time.Now()
		for range 20 {
			if _, err := CooperativeSticky.Assign(members, topics); err != nil {
				t.Fatal(err)
			}
		}
		goNs := time.Since(start).Nanoseconds() / 20
		t.Logf("cooperative-sticky 200 members x 2000 partitions (rejoin=%v): Java %d ns/assign, Gregor %d ns/assign", rejoin, javaNs, goNs)
	}
}
