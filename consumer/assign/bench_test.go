package assign

import (
	"fmt"
	"testing"
)

// BenchmarkCooperativeSticky assigns 2000 partitions (10 topics of 200) to
// 200 members: from scratch, after 10 members join a balanced group of
// 190, and with members subscribed to different topics.
func BenchmarkCooperativeSticky(b *testing.B) {
	mixedTopics, mixed := benchGroup(true)
	for i := range mixed {
		mixed[i].Topics = mixed[i].Topics[:1+i%10]
	}
	cases := []struct {
		name    string
		topics  map[string]Topic
		members []Member
	}{
		{"fresh-200x2000", nil, nil},
		{"rejoin-200x2000", nil, nil},
		{"mixed-200x2000", mixedTopics, mixed},
	}
	skewTopics, skew := skewedGroup()
	cases = append(cases, struct {
		name    string
		topics  map[string]Topic
		members []Member
	}{"skewed-mixed-1000x10000", skewTopics, skew})
	cases[0].topics, cases[0].members = benchGroup(false)
	cases[1].topics, cases[1].members = benchGroup(true)
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := CooperativeSticky.Assign(c.members, c.topics); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRange measures range and roundrobin on the same 200x2000 group.
func BenchmarkRange(b *testing.B) {
	topics, members := benchGroup(false)
	for _, a := range []Assignor{Range, RoundRobin} {
		b.Run(fmt.Sprintf("%s-200x2000", a.Name()), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Assign(members, topics); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// skewedGroup is a hard case for balancing: 1000 members with different
// subscriptions over 50 topics of 200 partitions, where one member owns
// every partition.
func skewedGroup() (map[string]Topic, []Member) {
	counts := map[string]int{}
	var names []string
	var all []TopicPartitions
	for i := range 50 {
		names = append(names, fmt.Sprintf("topic-%02d", i))
		counts[names[i]] = 200
		tp := TopicPartitions{Topic: names[i]}
		for p := range 200 {
			tp.Partitions = append(tp.Partitions, int32(p))
		}
		all = append(all, tp)
	}
	members := make([]Member, 1000)
	for i := range members {
		members[i] = Member{MemberID: fmt.Sprintf("m%04d", i), Topics: names[:1+i%50], Generation: 1}
	}
	members[0].Topics = names
	members[0].OwnedPartitions = all
	return Topics(counts), members
}
