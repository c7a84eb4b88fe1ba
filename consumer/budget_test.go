package consumer

import "testing"

// TestBudgetReserve checks how fetches are sized against the budget: the
// first one always goes, later ones only with a partition's worth of room,
// and the broker is asked for the room scaled down by the expansion seen.
func TestBudgetReserve(t *testing.T) {
	c := &Consumer{cfg: Config{MaxBufferedBytes: 10 << 20, FetchMaxBytes: 4 << 20, PartitionMaxBytes: 1 << 20}}
	if r, ok := c.reserveLocked(16); !ok || r != 4<<20 {
		t.Fatalf("idle consumer: reserve %d, %v; want FetchMaxBytes", r, ok)
	}
	if got := c.fetchCapLocked(4 << 20); got != 1<<20 {
		t.Errorf("cap before any response %d, want PartitionMaxBytes", got)
	}
	c.buffered = 8 << 20
	if r, ok := c.reserveLocked(16); !ok || r != 2<<20 {
		t.Errorf("2 MiB left: reserve %d, %v; want 2 MiB", r, ok)
	}
	c.reserved = 1<<20 + 1
	if _, ok := c.reserveLocked(16); ok {
		t.Error("a fetch started with less than a partition's worth of room")
	}
	c.learnExpansionLocked(4<<20, 1<<20)
	if got := c.fetchCapLocked(4 << 20); got != 1<<20 {
		t.Errorf("cap with expansion 4: %d, want 1 MiB", got)
	}
	c.learnExpansionLocked(100, 10) // too small a response to learn from
	if c.expansion != 4 || c.peakFetch != 4<<20 {
		t.Errorf("expansion %v peak %d after a tiny response", c.expansion, c.peakFetch)
	}
}
