package assign

import (
	"slices"
	"sort"
)

// engine computes sticky assignments. Members are kept in member-id order
// and partitions are numbered globally: topics in name order, each topic's
// partitions contiguous, so sorting partition numbers sorts by topic then
// partition.
type engine struct {
	members []*Member    // in member-id order
	data    []memberData // parallel to members
	topics  []string     // subscribed topics with partitions, sorted
	base    []int        // first global partition of each topic
	topicOf []int32      // topic index of each global partition
	index   map[string]int
	total   int

	subscribed [][]bool // [member][topic]
	subsOf     [][]int  // [member] subscribed topics
	eligible   [][]int  // [topic] members subscribed to it, in order

	prevOwner []int32 // winning previous owner of each partition, or -1
	owner     []int32 // new owner of each partition, or -1
	assigned  [][]int // [member] global partitions
	count     []int   // len(assigned[m]), kept separately for speed

	rackAware bool
	rack      []string   // [member] rack when rack-aware
	pracks    [][]string // [partition] replica racks when rack-aware
}

func newEngine(members []Member, data []memberData, topics map[string]Topic) *engine {
	idx := make([]int, len(members))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int { return javaCompare(members[a].MemberID, members[b].MemberID) })
	e := &engine{index: map[string]int{}}
	for _, i := range idx {
		e.members = append(e.members, &members[i])
		e.data = append(e.data, data[i])
	}
	e.topics = sortedTopicNames(members, topics)
	for t, name := range e.topics {
		e.index[name] = t
		e.base = append(e.base, e.total)
		n := topics[name].Partitions
		for range n {
			e.topicOf = append(e.topicOf, int32(t))
		}
		e.total += n
	}
	M := len(e.members)
	// Subscriptions, as a [member][topic] table and as lists both ways,
	// carved out of shared arrays.
	T := len(e.topics)
	e.subscribed = make([][]bool, M)
	e.subsOf = make([][]int, M)
	e.eligible = make([][]int, T)
	table := make([]bool, M*T)
	var flat []int
	off := make([]int, M+1)
	perTopic := make([]int, T+1)
	for m, mem := range e.members {
		e.subscribed[m] = table[m*T : (m+1)*T : (m+1)*T]
		for _, name := range mem.Topics {
			if t, ok := e.index[name]; ok && !e.subscribed[m][t] {
				e.subscribed[m][t] = true
				flat = append(flat, t)
				perTopic[t+1]++
			}
		}
		off[m+1] = len(flat)
	}
	for t := range T {
		perTopic[t+1] += perTopic[t]
	}
	elig := make([]int, len(flat))
	for t := range T {
		e.eligible[t] = elig[perTopic[t]:perTopic[t]:perTopic[t+1]]
	}
	for m := range M {
		e.subsOf[m] = flat[off[m]:off[m+1]:off[m+1]]
		for _, t := range e.subsOf[m] {
			e.eligible[t] = append(e.eligible[t], m)
		}
	}
	e.prevOwner = make([]int32, e.total)
	e.owner = make([]int32, e.total)
	for p := range e.owner {
		e.owner[p] = -1
	}
	// Members start with room for their fair share, carved from one array.
	e.assigned = make([][]int, M)
	if M > 0 {
		share := (e.total+M-1)/M + 1
		backing := make([]int, M*share)
		for m := range e.assigned {
			e.assigned[m] = backing[m*share : m*share : (m+1)*share]
		}
	}
	e.count = make([]int, M)
	e.initRacks(topics)
	e.resolveClaims()
	return e
}

// partitionRange returns the global number of partition 0 of topic and
// its partition count, or ok=false when the topic is not being assigned.
func (e *engine) partitionRange(topic string) (base, n int, ok bool) {
	t, ok := e.index[topic]
	if !ok {
		return 0, 0, false
	}
	end := e.total
	if t+1 < len(e.base) {
		end = e.base[t+1]
	}
	return e.base[t], end - e.base[t], true
}

// initRacks decides, as the Java client does, whether rack-aware
// assignment applies: some member rack must hold replicas, and the
// partitions must not all be replicated on the same set of racks.
func (e *engine) initRacks(topics map[string]Topic) {
	memberRacks := map[string]bool{}
	for _, m := range e.members {
		if m.RackID != "" {
			memberRacks[m.RackID] = true
		}
	}
	if len(memberRacks) == 0 {
		return
	}
	pracks := make([][]string, e.total)
	for t, name := range e.topics {
		rs := topics[name].Racks
		for p := range rs {
			var set []string
			for _, r := range rs[p] {
				if r != "" && !slices.Contains(set, r) {
					set = append(set, r)
				}
			}
			pracks[e.base[t]+p] = set
		}
	}
	if !useRackAware(memberRacks, pracks) {
		return
	}
	e.rackAware = true
	e.pracks = pracks
	e.rack = make([]string, len(e.members))
	for i, m := range e.members {
		e.rack[i] = m.RackID
	}
}

// mismatch reports whether member m has a rack and partition p has no
// replica there.
func (e *engine) mismatch(m, p int) bool {
	return e.rackAware && e.rack[m] != "" && !slices.Contains(e.pracks[p], e.rack[m])
}

// resolveClaims settles who previously owned each partition. When several
// members claim one, the claim from the single highest generation wins; if
// the highest generation is shared, nobody keeps the partition.
func (e *engine) resolveClaims() {
	gen := make([]int32, e.total)
	tie := make([]bool, e.total)
	for p := range e.prevOwner {
		e.prevOwner[p] = -1
	}
	for m := range e.members {
		g := e.data[m].generation
		for _, tp := range e.data[m].owned {
			base, n, ok := e.partitionRange(tp.Topic)
			if !ok {
				continue
			}
			for _, p := range tp.Partitions {
				if p < 0 || int(p) >= n || e.prevOwner[base+int(p)] == int32(m) {
					continue // unknown, or listed twice by the member
				}
				q := base + int(p)
				switch {
				case e.prevOwner[q] < 0 && !tie[q]:
					e.prevOwner[q], gen[q] = int32(m), g
				case g > gen[q]:
					e.prevOwner[q], gen[q], tie[q] = int32(m), g, false
				case g == gen[q]:
					e.prevOwner[q], tie[q] = -1, true
				}
			}
		}
	}
}

// give assigns partition p to member m.
func (e *engine) give(p, m int) {
	e.owner[p] = int32(m)
	e.assigned[m] = append(e.assigned[m], p)
	e.count[m]++
}

// run computes the assignment.
func (e *engine) run() {
	M := len(e.members)
	if M == 0 || e.total == 0 {
		return
	}
	// Partitions each member may keep: its own that it still subscribes to.
	keep := make([][]int, M)
	n := make([]int, M+1)
	for p, m := range e.prevOwner {
		if m >= 0 && e.subscribed[m][e.topicOf[p]] {
			n[m+1]++
		}
	}
	for m := range M {
		n[m+1] += n[m]
	}
	backing := make([]int, n[M])
	for m := range M {
		keep[m] = backing[n[m]:n[m]:n[m+1]]
	}
	for p, m := range e.prevOwner {
		if m >= 0 && e.subscribed[m][e.topicOf[p]] {
			keep[m] = append(keep[m], p)
		}
	}
	if e.allSubscriptionsEqual() {
		e.assignEqual(keep)
	} else {
		e.assignGeneral(keep)
	}
}

func (e *engine) allSubscriptionsEqual() bool {
	for m := 1; m < len(e.members); m++ {
		if !slices.Equal(e.subscribed[m], e.subscribed[0]) {
			return false
		}
	}
	return true
}

// assignEqual handles members that all subscribe to the same topics: each
// gets floor(P/M) or ceil(P/M) partitions, the larger quotas going to the
// members that can keep the most. When rack-aware, a member keeps only
// partitions with a replica on its rack at first; the others are offered
// to members on a matching rack and return to their owner if none takes
// them, so a stable group is left alone.
func (e *engine) assignEqual(keep [][]int) {
	M := len(e.members)
	minQ, extra := e.total/M, e.total%M
	order := make([]int, M)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return len(keep[order[a]]) > len(keep[order[b]]) })
	deficit := make([]int, M)
	for rank, m := range order {
		quota := minQ
		if rank < extra {
			quota++
		}
		deficit[m] = quota
		for _, p := range keep[m] {
			if deficit[m] == 0 {
				break
			}
			if !e.mismatch(m, p) {
				e.give(p, m)
				deficit[m]--
			}
		}
	}
	pool := e.unassigned()
	pool = e.rackFill(pool, deficit)
	if e.rackAware {
		rest := pool[:0]
		for _, p := range pool {
			if m := e.prevOwner[p]; m >= 0 && deficit[m] > 0 && e.subscribed[m][e.topicOf[p]] {
				e.give(p, int(m))
				deficit[m]--
			} else {
				rest = append(rest, p)
			}
		}
		pool = rest
	}
	// Deal the rest in turn to the members still below quota.
	open := make([]int, 0, M)
	for m := range M {
		if deficit[m] > 0 {
			open = append(open, m)
		}
	}
	i := 0
	for _, p := range pool {
		i %= len(open)
		m := open[i]
		e.give(p, m)
		deficit[m]--
		if deficit[m] == 0 {
			open = slices.Delete(open, i, i+1)
		} else {
			i++
		}
	}
}

// unassigned lists the partitions without a new owner, in order.
func (e *engine) unassigned() []int {
	var pool []int
	for p, m := range e.owner {
		if m < 0 {
			pool = append(pool, p)
		}
	}
	return pool
}

// rackFill gives pool partitions to members below quota on a rack holding
// a replica, scarcest partitions first, and returns what is left in order.
func (e *engine) rackFill(pool []int, deficit []int) []int {
	if !e.rackAware {
		return pool
	}
	byRack := map[string][]int{}
	for m, r := range e.rack {
		if r != "" && deficit[m] > 0 {
			byRack[r] = append(byRack[r], m)
		}
	}
	scarcity := func(p int) int {
		n := 0
		for _, r := range e.pracks[p] {
			n += len(byRack[r])
		}
		return n
	}
	sorted := slices.Clone(pool)
	sort.SliceStable(sorted, func(a, b int) bool { return scarcity(sorted[a]) < scarcity(sorted[b]) })
	next := map[string]int{}
	var rest []int
	for _, p := range sorted {
		placed := false
		for _, r := range e.pracks[p] {
			list := byRack[r]
			for len(list) > 0 && !placed {
				i := next[r] % len(list)
				m := list[i]
				if deficit[m] == 0 {
					list = slices.Delete(list, i, i+1)
					continue
				}
				e.give(p, m)
				deficit[m]--
				next[r] = i + 1
				placed = true
			}
			byRack[r] = list
			if placed {
				break
			}
		}
		if !placed {
			rest = append(rest, p)
		}
	}
	slices.Sort(rest)
	return rest
}

// assignGeneral handles members with different subscriptions: members
// keep what they owned, free partitions go to the least loaded eligible
// member (most constrained partitions first), and then partitions move
// from a member to an eligible one with at least two fewer until no such
// move exists.
func (e *engine) assignGeneral(keep [][]int) {
	for m, ps := range keep {
		for _, p := range ps {
			e.give(p, m)
		}
	}
	pool := e.unassigned()
	sort.SliceStable(pool, func(a, b int) bool {
		return len(e.eligible[e.topicOf[pool[a]]]) < len(e.eligible[e.topicOf[pool[b]]])
	})
	for _, p := range pool {
		best := -1
		for _, m := range e.eligible[e.topicOf[p]] {
			if best < 0 || e.count[m] < e.count[best] ||
				(e.count[m] == e.count[best] && e.mismatch(best, p) && !e.mismatch(m, p)) {
				best = m
			}
		}
		e.give(p, best)
	}
	e.balance()
}

// balance moves partitions from heavier to lighter eligible members until
// no member has two or more partitions more than a member that could take
// one of them. Every move lowers the sum of squared counts, so it ends.
// Each move prefers a partition the giver did not own before the
// rebalance, then the lightest receiver, then one on the receiver's rack.
func (e *engine) balance() {
	M := len(e.members)
	order := make([]int, M)
	heaps := newTopicHeaps(e)
	// A giver's partitions, per topic, split into those it received in
	// this rebalance (fresh) and those it owned before (old).
	type segment struct {
		t          int32
		fresh, old []int
	}
	var segs []segment
	var freshBuf, oldBuf []int
	for {
		for m := range M {
			order[m] = m
		}
		sort.SliceStable(order, func(a, b int) bool { return e.count[order[a]] > e.count[order[b]] })
		moved := false
		for _, a := range order {
			parts := e.assigned[a]
			slices.Sort(parts)
			if cap(freshBuf) < len(parts) {
				freshBuf, oldBuf = make([]int, len(parts)), make([]int, len(parts))
			}
			segs = segs[:0]
			for s := 0; s < len(parts); {
				t := e.topicOf[parts[s]]
				end := s
				for end < len(parts) && e.topicOf[parts[end]] == t {
					end++
				}
				sg := segment{t: t, fresh: freshBuf[s:s:end], old: oldBuf[s:s:end]}
				for _, p := range parts[s:end] {
					if int(e.prevOwner[p]) == a {
						sg.old = append(sg.old, p)
					} else {
						sg.fresh = append(sg.fresh, p)
					}
				}
				segs = append(segs, sg)
				s = end
			}
			gave := false
			for {
				best, bestB := -1, -1
				for i := range segs {
					sg := &segs[i]
					if len(sg.fresh)+len(sg.old) == 0 {
						continue
					}
					b := heaps.top(sg.t)
					if b == a || e.count[b]+2 > e.count[a] {
						continue
					}
					if best < 0 {
						best, bestB = i, b
						continue
					}
					hasFresh, bestFresh := len(sg.fresh) > 0, len(segs[best].fresh) > 0
					if hasFresh != bestFresh {
						if hasFresh {
							best, bestB = i, b
						}
					} else if e.count[b] < e.count[bestB] {
						best, bestB = i, b
					}
				}
				if best < 0 {
					break
				}
				sg := &segs[best]
				list := &sg.old
				if len(sg.fresh) > 0 {
					list = &sg.fresh
				}
				idx := len(*list) - 1
				if e.rackAware {
					for j := idx; j >= 0; j-- {
						if !e.mismatch(bestB, (*list)[j]) {
							idx = j
							break
						}
					}
				}
				p := (*list)[idx]
				*list = slices.Delete(*list, idx, idx+1)
				// Repair the heaps after each count change, one at a time.
				e.count[a]--
				heaps.update(a)
				e.give(p, bestB)
				heaps.update(bestB)
				gave, moved = true, true
			}
			if gave {
				kept := e.assigned[a][:0]
				for _, sg := range segs {
					kept = append(kept, sg.fresh...)
					kept = append(kept, sg.old...)
				}
				e.assigned[a] = kept
			}
		}
		if !moved {
			return
		}
	}
}

// withholdTransfers removes from each member's assignment every partition
// the member does not claim but another member does: that claimant must
// revoke it first (cooperative rebalancing), and a follow-up rebalance
// delivers it. A partition stays with a member that claims it, even when
// other members (stale or duplicate claimants) claim it too, since those
// lose it in this same assignment.
func (e *engine) withholdTransfers() {
	claimed := make([]bool, e.total)
	self := make([]bool, e.total)
	for m := range e.members {
		for _, tp := range e.data[m].owned {
			base, n, ok := e.partitionRange(tp.Topic)
			if !ok {
				continue
			}
			for _, p := range tp.Partitions {
				if p < 0 || int(p) >= n {
					continue
				}
				q := base + int(p)
				if int(e.owner[q]) == m {
					self[q] = true
				} else {
					claimed[q] = true
				}
			}
		}
	}
	for m := range e.assigned {
		kept := e.assigned[m][:0]
		for _, p := range e.assigned[m] {
			if claimed[p] && !self[p] {
				e.owner[p] = -1
				continue
			}
			kept = append(kept, p)
		}
		e.assigned[m] = kept
		e.count[m] = len(kept)
	}
}

// result converts the engine's assignment to the Assign result, carving
// every member's lists out of two shared arrays.
func (e *engine) result() map[string]Assignment {
	out := make(map[string]Assignment, len(e.members))
	nTopics := 0
	for m := range e.members {
		slices.Sort(e.assigned[m])
		last := int32(-1)
		for _, p := range e.assigned[m] {
			if t := e.topicOf[p]; t != last {
				nTopics++
				last = t
			}
		}
	}
	parts := make([]TopicPartitions, nTopics)
	nums := make([]int32, e.total)
	tpi, ni := 0, 0
	for m, mem := range e.members {
		first := tpi
		last := int32(-1)
		for _, p := range e.assigned[m] {
			t := e.topicOf[p]
			if t != last {
				if last >= 0 {
					tp := &parts[tpi-1]
					tp.Partitions = tp.Partitions[:len(tp.Partitions):len(tp.Partitions)]
				}
				parts[tpi] = TopicPartitions{Topic: e.topics[t], Partitions: nums[ni:ni]}
				tpi++
				last = t
			}
			tp := &parts[tpi-1]
			nums[ni] = int32(p - e.base[t])
			ni++
			tp.Partitions = tp.Partitions[:len(tp.Partitions)+1]
		}
		if last >= 0 {
			tp := &parts[tpi-1]
			tp.Partitions = tp.Partitions[:len(tp.Partitions):len(tp.Partitions)]
		}
		out[mem.MemberID] = Assignment{Partitions: parts[first:tpi:tpi]}
	}
	return out
}
