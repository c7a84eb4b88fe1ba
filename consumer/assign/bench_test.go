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
