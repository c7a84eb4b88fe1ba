package main

import (
	"slices"
	"testing"
)

// TestMedian checks the medians the tables print.
func TestMedian(t *testing.T) {
	get := func(r result) float64 { return r.RecPerSec }
	rs := func(v ...float64) []result {
		out := make([]result, len(v))
		for i, x := range v {
			out[i].RecPerSec = x
		}
		return out
	}
	for _, tc := range []struct {
		in   []result
		want float64
		ok   bool
	}{
		{nil, 0, false},
		{rs(5), 5, true},
		{rs(9, 1, 5), 5, true},
		{rs(4, 1, 3, 2), 2.5, true},
	} {
		if got, ok := median(tc.in, get); got != tc.want || ok != tc.ok {
			t.Errorf("median(%v) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestScenarios checks that every scenario passes kafkabench a known mode
// and sane sizes, and that names are unique (they label table rows).
func TestScenarios(t *testing.T) {
	all := append(produceScenarios(1), consumeScenarios(1)...)
	var names []string
	for _, s := range all {
		if !slices.Contains([]string{"produce", "consume-direct", "consume-group"}, s.mode) {
			t.Errorf("%s: mode %q", s.name(), s.mode)
		}
		if s.records <= 0 || s.size <= 0 || s.partitions <= 0 {
			t.Errorf("%s: records %d size %d partitions %d", s.name(), s.records, s.size, s.partitions)
		}
		if len(s.args())%2 != 0 {
			t.Errorf("%s: odd flag list %v", s.name(), s.args())
		}
		names = append(names, s.name())
	}
	slices.Sort(names)
	if len(slices.Compact(names)) != len(all) {
		t.Error("two scenarios share a name")
	}
	if got := consumeScenarios(0.001)[0].records; got != 2000 {
		t.Errorf("scaled records %d, want 2000", got)
	}
}
