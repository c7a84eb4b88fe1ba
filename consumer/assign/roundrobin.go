package assign

import "slices"

// RoundRobinAssignor is the "roundrobin" strategy. It lists every
// subscribed partition, topics in name order and partitions in number
// order, and deals them out one at a time to the members in turn (static
// members by group instance id first, then dynamic members by member id),
// skipping members not subscribed to the partition's topic. The output is
// identical to the Java client's RoundRobinAssignor.
type RoundRobinAssignor struct{}

// Name returns "roundrobin".
func (RoundRobinAssignor) Name() string { return "roundrobin" }

// SupportedProtocols returns only Eager.
func (RoundRobinAssignor) SupportedProtocols() []RebalanceProtocol {
	return []RebalanceProtocol{Eager}
}

// SubscriptionUserData returns nil: the roundrobin assignor needs no user data.
func (RoundRobinAssignor) SubscriptionUserData([]TopicPartitions, int32) []byte { return nil }

// Assign implements Assignor.
func (RoundRobinAssignor) Assign(members []Member, topics map[string]Topic) (map[string]Assignment, error) {
	if err := validate(members, topics); err != nil {
		return nil, err
	}
	order := make([]int, len(members))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return compareMembers(&members[a], &members[b]) })
	subscribed := make([]map[string]bool, len(members))
	for i := range members {
		subscribed[i] = make(map[string]bool, len(members[i].Topics))
		for _, t := range members[i].Topics {
			subscribed[i][t] = true
		}
	}
	g := newGrid(sortedTopicNames(members, topics), topics)
	next := 0
	for p, t := range g.topicOf {
		topic := g.topics[t]
		for !subscribed[order[next]][topic] {
			next = (next + 1) % len(order)
		}
		g.owner[p] = int32(order[next])
		next = (next + 1) % len(order)
	}
	return g.result(members), nil
}
