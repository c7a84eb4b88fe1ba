package consumer

import (
	"unsafe"

	"github.com/gregorkafka/gregor"
)

// recordOverhead is what each record handed out costs beyond its bytes:
// the gregor.Record in Poll's slab. It counts against MaxBufferedBytes, as
// for small records it is as large as the data.
const recordOverhead = int64(unsafe.Sizeof(gregor.Record{}))

// reserveLocked decides whether a fetch of n partitions may start and how
// many bytes it reserves: what it may return, at most the room left in
// the budget, and at most FetchMaxBytes and n*PartitionMaxBytes. A fetch
// needs room for at least one partition's worth, except when nothing is
// buffered or in flight, so that a consumer always makes progress.
func (c *Consumer) reserveLocked(n int) (int64, bool) {
	want := min(int64(c.cfg.FetchMaxBytes), int64(n)*int64(c.cfg.PartitionMaxBytes))
	used := c.buffered + c.reserved
	if used == 0 {
		return want, true
	}
	room := c.cfg.MaxBufferedBytes - used
	if room < min(want, int64(c.cfg.PartitionMaxBytes)) {
		return 0, false
	}
	return min(want, room), true
}

// fetchCapLocked is the MaxBytes to ask the broker for, so that what the
// response adds to the budget (its bytes, decompressed data and record
// overhead, by the expansion seen in recent responses) fits the reserve.
// Until a response showed the expansion, fetches ask for at most
// PartitionMaxBytes, so that a first response of small compressed records
// cannot overshoot the budget many times over. A broker still returns a
// first batch larger than the cap whole.
func (c *Consumer) fetchCapLocked(reserve int64) int64 {
	if c.expansion == 0 {
		return min(reserve, int64(c.cfg.PartitionMaxBytes))
	}
	return max(int64(float64(reserve)/max(c.expansion, 1)), 1)
}

// learnExpansionLocked updates the expansion estimate from a response of
// which counted bytes were charged to the budget.
func (c *Consumer) learnExpansionLocked(counted int64, respLen int) {
	c.peakFetch = max(c.peakFetch, counted)
	if respLen < 1<<10 || counted <= 0 {
		return // too small to say much (long-poll answers, errors)
	}
	ratio := float64(counted) / float64(respLen)
	if c.expansion == 0 {
		c.expansion = ratio
		return
	}
	c.expansion = 0.7*c.expansion + 0.3*ratio
}
