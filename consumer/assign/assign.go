package assign

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// RebalanceProtocol is the way a group moves partitions between members
// during a rebalance. The numeric values are the ids the Java client uses.
type RebalanceProtocol int8

const (
	// Eager means every member gives up all of its partitions before it
	// joins the group again, and receives a complete new assignment.
	Eager RebalanceProtocol = 0
	// Cooperative means members keep the partitions they are allowed to
	// keep across a rebalance; only partitions that really move are revoked,
	// and they reach their new owner in a follow-up rebalance (KIP-429).
	Cooperative RebalanceProtocol = 1
)

// String returns the protocol's lower-case name.
func (p RebalanceProtocol) String() string {
	switch p {
	case Eager:
		return "eager"
	case Cooperative:
		return "cooperative"
	}
	return fmt.Sprintf("RebalanceProtocol(%d)", int8(p))
}

// DefaultGeneration is the generation a member reports before it has ever
// received an assignment, matching the Java client's value.
const DefaultGeneration int32 = -1

// TopicPartitions names some partitions of one topic.
type TopicPartitions struct {
	// Topic is the topic name.
	Topic string
	// Partitions are partition numbers within Topic.
	Partitions []int32
}

// Member is one group member's subscription as seen by the group leader:
// the decoded ConsumerProtocolSubscription plus the ids from JoinGroup.
type Member struct {
	// MemberID is the id the coordinator gave the member.
	MemberID string
	// GroupInstanceID is the static membership id, or "" for a dynamic member.
	GroupInstanceID string
	// RackID is the member's client.rack, or "" when it has none.
	RackID string
	// Topics are the topics the member subscribes to.
	Topics []string
	// OwnedPartitions are the partitions the member says it owns
	// (subscription version 1 and later).
	OwnedPartitions []TopicPartitions
	// Generation is the generation of the member's last assignment
	// (subscription version 2 and later), or DefaultGeneration when unknown.
	Generation int32
	// UserData is the assignor-specific data the member put in its subscription.
	UserData []byte
}

// Topic is what the leader knows about one subscribed topic from cluster metadata.
type Topic struct {
	// Partitions is the number of partitions; they are numbered 0..Partitions-1.
	Partitions int
	// Racks optionally lists, for each partition number, the racks of the
	// brokers holding its replicas. It is either nil or Partitions long;
	// empty strings are ignored. Racks only matter for rack-aware assignment
	// (KIP-881), which needs both member and partition racks.
	Racks [][]string
}

// Topics builds topic metadata without rack information from partition counts.
func Topics(partitionCounts map[string]int) map[string]Topic {
	out := make(map[string]Topic, len(partitionCounts))
	for name, n := range partitionCounts {
		out[name] = Topic{Partitions: n}
	}
	return out
}

// Assignment is what the leader sends one member: the decoded form of a
// ConsumerProtocolAssignment.
type Assignment struct {
	// Partitions are the partitions the member is to own, sorted by topic
	// and then partition.
	Partitions []TopicPartitions
	// UserData is optional assignor-specific data for the member. The
	// built-in assignors leave it nil.
	UserData []byte
}

// Assignor is a consumer-group partition assignment strategy run by the
// group leader. Implementations must be safe to call from one goroutine at
// a time; the built-in ones keep no state and are safe for concurrent use.
type Assignor interface {
	// Name is the protocol name members advertise in JoinGroup, such as "range".
	Name() string
	// SupportedProtocols lists the rebalance protocols the assignor can
	// serve. A group uses cooperative rebalancing only when every member's
	// chosen assignor supports it.
	SupportedProtocols() []RebalanceProtocol
	// SubscriptionUserData returns the user data a member puts in its
	// subscription, given the partitions it was last assigned and the
	// generation of that assignment (DefaultGeneration and nil before its
	// first assignment). It may return nil.
	SubscriptionUserData(owned []TopicPartitions, generation int32) []byte
	// Assign computes every member's assignment. topics holds metadata for
	// the subscribed topics the leader could resolve; subscribed topics
	// missing from it receive no assignment. The result has an entry for
	// every member, keyed by member id.
	Assign(members []Member, topics map[string]Topic) (map[string]Assignment, error)
}

// Built-in assignors, ready to use.
var (
	// Range assigns each topic's partitions in contiguous ranges.
	Range Assignor = RangeAssignor{}
	// RoundRobin deals all partitions to members one at a time.
	RoundRobin Assignor = RoundRobinAssignor{}
	// Sticky is the eager sticky assignor ("sticky").
	Sticky Assignor = StickyAssignor{}
	// CooperativeSticky is the cooperative sticky assignor ("cooperative-sticky").
	CooperativeSticky Assignor = CooperativeStickyAssignor{}
)

// ErrInvalidInput is wrapped by the errors Assign returns for malformed input.
var ErrInvalidInput = errors.New("assign: invalid input")

// validate checks the input shared by every assignor.
func validate(members []Member, topics map[string]Topic) error {
	seen := make(map[string]struct{}, len(members))
	for i := range members {
		id := members[i].MemberID
		if _, dup := seen[id]; dup {
			return fmt.Errorf("%w: duplicate member id %q", ErrInvalidInput, id)
		}
		seen[id] = struct{}{}
	}
	for name, t := range topics {
		if t.Partitions < 0 {
			return fmt.Errorf("%w: topic %q has %d partitions", ErrInvalidInput, name, t.Partitions)
		}
		if t.Racks != nil && len(t.Racks) != t.Partitions {
			return fmt.Errorf("%w: topic %q has %d partitions but racks for %d", ErrInvalidInput, name, t.Partitions, len(t.Racks))
		}
	}
	return nil
}

// javaCompare orders strings the way Java's String.compareTo does (by UTF-16
// code units), so member and topic orderings match the Java client even for
// characters outside the Basic Multilingual Plane.
func javaCompare(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	if i == n {
		return len(a) - len(b)
	}
	for i > 0 && !utf8.RuneStart(a[i]) {
		i--
	}
	ra, _ := utf8.DecodeRuneInString(a[i:])
	rb, _ := utf8.DecodeRuneInString(b[i:])
	ka, kb := utf16Lead(ra), utf16Lead(rb)
	if ka != kb {
		return int(ka) - int(kb)
	}
	return int(ra) - int(rb)
}

// utf16Lead is the first UTF-16 code unit of r.
func utf16Lead(r rune) rune {
	if r < 0x10000 {
		return r
	}
	return 0xD800 + (r-0x10000)>>10
}

// compareMembers is Java's member ordering for range and roundrobin: static
// members first, by group instance id, then dynamic members by member id.
func compareMembers(a, b *Member) int {
	switch {
	case a.GroupInstanceID != "" && b.GroupInstanceID != "":
		if c := javaCompare(a.GroupInstanceID, b.GroupInstanceID); c != 0 {
			return c
		}
	case a.GroupInstanceID != "":
		return -1
	case b.GroupInstanceID != "":
		return 1
	}
	return javaCompare(a.MemberID, b.MemberID)
}

// sortedTopicNames returns the names of topics with at least one partition
// that some member subscribes to, in Java string order.
func sortedTopicNames(members []Member, topics map[string]Topic) []string {
	set := make(map[string]struct{})
	for i := range members {
		for _, t := range members[i].Topics {
			if md, ok := topics[t]; ok && md.Partitions > 0 {
				set[t] = struct{}{}
			}
		}
	}
	names := make([]string, 0, len(set))
	for t := range set {
		names = append(names, t)
	}
	slices.SortFunc(names, javaCompare)
	return names
}

// grid records which member gets each partition of the assigned topics:
// topics in Java string order, each topic's partitions numbered globally
// from base[t], so that global order is topic then partition order.
type grid struct {
	topics  []string
	base    []int
	topicOf []int32
	owner   []int32 // member index per global partition, or -1
}

func newGrid(names []string, topics map[string]Topic) *grid {
	g := &grid{topics: names, base: make([]int, len(names))}
	for t, name := range names {
		g.base[t] = len(g.topicOf)
		for range topics[name].Partitions {
			g.topicOf = append(g.topicOf, int32(t))
		}
	}
	g.owner = make([]int32, len(g.topicOf))
	for i := range g.owner {
		g.owner[i] = -1
	}
	return g
}

// result renders the grid as the Assign result, giving members without
// partitions an empty assignment. All lists share two backing arrays.
func (g *grid) result(members []Member) map[string]Assignment {
	M := len(members)
	off := make([]int, M+1)
	for _, m := range g.owner {
		if m >= 0 {
			off[m+1]++
		}
	}
	for m := range M {
		off[m+1] += off[m]
	}
	pids := make([]int, off[M])
	next := slices.Clone(off[:M])
	nTopics := 0
	last := make([]int32, M)
	for m := range last {
		last[m] = -1
	}
	for p, m := range g.owner {
		if m < 0 {
			continue
		}
		pids[next[m]] = p
		next[m]++
		if t := g.topicOf[p]; t != last[m] {
			nTopics++
			last[m] = t
		}
	}
	parts := make([]TopicPartitions, 0, nTopics)
	nums := make([]int32, len(pids))
	out := make(map[string]Assignment, M)
	for m := range M {
		first := len(parts)
		for i := off[m]; i < off[m+1]; i++ {
			p := pids[i]
			t := g.topicOf[p]
			nums[i] = int32(p - g.base[t])
			if len(parts) == first || parts[len(parts)-1].Topic != g.topics[t] {
				parts = append(parts, TopicPartitions{Topic: g.topics[t], Partitions: nums[i:i:off[m+1]]})
			}
			tp := &parts[len(parts)-1]
			tp.Partitions = tp.Partitions[:len(tp.Partitions)+1]
		}
		for k := first; k < len(parts); k++ {
			ps := parts[k].Partitions
			parts[k].Partitions = ps[:len(ps):len(ps)] // appends by callers must not spill over
		}
		out[members[m].MemberID] = Assignment{Partitions: parts[first:len(parts):len(parts)]}
	}
	return out
}

// FormatAssignment renders an assignment compactly, for logs and tests:
// "a:0,1 b:3" lists topics in order with their partitions.
func FormatAssignment(parts []TopicPartitions) string {
	var sb strings.Builder
	for i, tp := range parts {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(tp.Topic)
		sb.WriteByte(':')
		for j, p := range tp.Partitions {
			if j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprint(&sb, p)
		}
	}
	return sb.String()
}
