package assign

import (
	"slices"
	"strings"
)

// RangeAssignor is the "range" strategy. For each topic on its own, it
// orders the topic's subscribers (static members by group instance id
// first, then dynamic members by member id) and hands each a contiguous
// block of partitions; the first members get one extra partition when the
// count does not divide evenly. Topics with the same subscribers are
// therefore co-partitioned: partition i of each goes to the same member.
//
// When members and partitions both carry racks and the racks make a
// difference (KIP-881), the assignor first gives members partitions with a
// replica in their own rack, keeping co-partitioned topics aligned, and then
// fills the remaining quotas in range order. The output is identical to the
// Java client's RangeAssignor.
type RangeAssignor struct{}

// Name returns "range".
func (RangeAssignor) Name() string { return "range" }

// SupportedProtocols returns only Eager.
func (RangeAssignor) SupportedProtocols() []RebalanceProtocol { return []RebalanceProtocol{Eager} }

// SubscriptionUserData returns nil: the range assignor needs no user data.
func (RangeAssignor) SubscriptionUserData([]TopicPartitions, int32) []byte { return nil }

// rangeTopic is the assignment state of one topic.
type rangeTopic struct {
	base       int        // global number of partition 0, in the grid
	consumers  []int      // indexes into members, in assignment order
	key        string     // identifies the consumer list, for co-partitioning
	racks      [][]string // per partition; nil when no consumer has a rack
	unassigned []bool
	left       int // number of unassigned partitions
	first      int // no partition below first is unassigned
	assigned   map[int]int
	per        int
	extra      int
	rackAware  bool
}

func (t *rangeTopic) maxAssignable(c int) int {
	n := t.per - t.assigned[c]
	if t.extra > 0 {
		n++
	}
	return max(0, n)
}

func (t *rangeTopic) racksMatch(rack string, p int) bool {
	return rack == "" || slices.Contains(t.racks[p], rack)
}

// Assign implements Assignor.
func (RangeAssignor) Assign(members []Member, topics map[string]Topic) (map[string]Assignment, error) {
	if err := validate(members, topics); err != nil {
		return nil, err
	}
	order := make([]int, len(members))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return compareMembers(&members[a], &members[b]) })

	subs := make(map[string][]int)
	for _, mi := range order {
		seen := make(map[string]bool, len(members[mi].Topics))
		for _, t := range members[mi].Topics {
			if !seen[t] {
				seen[t] = true
				subs[t] = append(subs[t], mi)
			}
		}
	}

	var states []*rangeTopic
	useRack := false
	g := newGrid(sortedTopicNames(members, topics), topics)
	for ti, name := range g.topics {
		md := topics[name]
		st := &rangeTopic{
			base:       g.base[ti],
			consumers:  subs[name],
			unassigned: make([]bool, md.Partitions),
			left:       md.Partitions,
			assigned:   make(map[int]int, len(subs[name])),
		}
		for p := range st.unassigned {
			st.unassigned[p] = true
		}
		st.per = md.Partitions / len(st.consumers)
		st.extra = md.Partitions % len(st.consumers)
		var key strings.Builder
		memberRacks := map[string]bool{}
		for _, c := range st.consumers {
			key.WriteString(members[c].MemberID)
			key.WriteByte(0)
			if r := members[c].RackID; r != "" {
				memberRacks[r] = true
			}
		}
		st.key = key.String()
		if len(memberRacks) > 0 {
			st.racks = make([][]string, md.Partitions)
			if md.Racks != nil {
				copy(st.racks, md.Racks)
			}
			st.rackAware = useRackAware(memberRacks, st.racks)
		}
		useRack = useRack || st.rackAware
		states = append(states, st)
	}

	give := func(st *rangeTopic, c int, parts []int) {
		for _, p := range parts {
			g.owner[st.base+p] = int32(c)
			st.unassigned[p] = false
		}
		st.left -= len(parts)
		for st.first < len(st.unassigned) && !st.unassigned[st.first] {
			st.first++
		}
		st.assigned[c] += len(parts)
		if st.assigned[c] > st.per {
			st.extra--
		}
	}
	assignRanges := func(st *rangeTopic, rackMatch bool) {
		var buf []int
		for _, c := range st.consumers {
			if st.left == 0 {
				break
			}
			limit := st.maxAssignable(c)
			buf = buf[:0]
			for p := st.first; p < len(st.unassigned) && len(buf) < limit; p++ {
				if st.unassigned[p] && (!rackMatch || st.racksMatch(members[c].RackID, p)) {
					buf = append(buf, p)
				}
			}
			if len(buf) > 0 {
				give(st, c, buf)
			}
		}
	}

	if useRack {
		// Group topics with the same subscribers and, when racks are in
		// play, the same partition count: those are co-partitioned.
		type groupKey struct {
			consumers string
			n         int
		}
		groups := map[groupKey][]*rangeTopic{}
		var keys []groupKey
		for _, st := range states {
			k := groupKey{st.key, len(st.racks)}
			if groups[k] == nil {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], st)
		}
		for _, k := range keys {
			g := groups[k]
			if len(g) > 1 {
				assignCoPartitioned(members, g, k.n, give)
			} else if g[0].rackAware {
				assignRanges(g[0], true)
			}
		}
	}
	for _, st := range states {
		assignRanges(st, false)
	}
	return g.result(members), nil
}

// assignCoPartitioned gives partition p of every topic in g to the first
// member whose rack holds a replica of p for all of them, as long as that
// member still has room in each topic.
func assignCoPartitioned(members []Member, g []*rangeTopic, n int, give func(*rangeTopic, int, []int)) {
	remaining := slices.Clone(g[0].consumers)
	one := make([]int, 1)
	for p := 0; p < n; p++ {
		found := -1
		for i, c := range remaining {
			ok := true
			for _, st := range g {
				if !st.racksMatch(members[c].RackID, p) || st.maxAssignable(c) <= 0 {
					ok = false
					break
				}
			}
			if ok {
				found = i
				break
			}
		}
		if found < 0 {
			continue
		}
		c := remaining[found]
		for _, st := range g {
			one[0] = p
			give(st, c, one)
		}
		full := true
		for _, st := range g {
			if st.maxAssignable(c) > 0 {
				full = false
				break
			}
		}
		if full {
			remaining = slices.Delete(remaining, found, found+1)
			if len(remaining) == 0 {
				break
			}
		}
	}
}

// useRackAware reports whether rack-aware assignment can change anything:
// some member rack must hold replicas, and not every partition may be
// replicated on exactly the same set of racks.
func useRackAware(memberRacks map[string]bool, partitionRacks [][]string) bool {
	all := map[string]bool{}
	for _, rs := range partitionRacks {
		for _, r := range rs {
			if r != "" {
				all[r] = true
			}
		}
	}
	overlap := false
	for r := range memberRacks {
		if all[r] {
			overlap = true
			break
		}
	}
	if !overlap {
		return false
	}
	for _, rs := range partitionRacks {
		set := map[string]bool{}
		for _, r := range rs {
			if r != "" {
				set[r] = true
			}
		}
		if len(set) != len(all) {
			return true
		}
	}
	return false
}
