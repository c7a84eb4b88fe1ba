package producer

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
)

// murmur2 is the 32-bit MurmurHash2 variant the Java client uses to hash
// record keys (seed 0x9747b28c), so that a key lands on the same partition
// whichever client produced it.
func murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	length := len(data)
	h := seed ^ uint32(length)
	i := 0
	for ; i+4 <= length; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch length - i {
	case 3:
		h ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// KeyPartition returns the partition the Java client's default partitioner
// picks for key among numPartitions partitions: the positive part of the
// key's murmur2 hash, modulo the partition count. numPartitions must be
// positive.
func KeyPartition(key []byte, numPartitions int) int32 {
	return int32(int(murmur2(key)&0x7fffffff) % numPartitions)
}

// stickyChooser spreads records without a key over a topic's partitions the
// way KIP-794's uniform sticky partitioner does: it keeps sending to one
// partition until about one batch worth of bytes went there, then moves on,
// preferring partitions whose queues are shorter so that a slow broker gets
// less new data.
type stickyChooser struct {
	batchBytes int

	// current is the chosen partition, -1 when none is; written counts the
	// bytes sent to it since it was chosen. The common case (staying on the
	// current partition) only reads and adds atomically; choosing takes mu.
	current atomic.Int32
	written atomic.Int64
	mu      sync.Mutex
}

func newStickyChooser(batchBytes int) *stickyChooser {
	s := &stickyChooser{batchBytes: batchBytes}
	s.current.Store(-1)
	return s
}

// partition returns the partition for the next unkeyed record. available
// lists the partitions with a leader (all partitions when empty), and
// queued, when not nil, reports the bytes waiting for each partition.
func (s *stickyChooser) partition(numPartitions int, available []int32, queued func(int32) int) int32 {
	if c := s.current.Load(); c >= 0 && int(c) < numPartitions {
		return c
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.current.Load()
	if c < 0 || int(c) >= numPartitions {
		c = pickPartition(numPartitions, available, queued)
		s.written.Store(0)
		s.current.Store(c)
	}
	return c
}

// appended records that n bytes were added for partition p. batchClosed
// says whether that append filled or started a batch: the switch to another
// partition happens at a batch boundary once a batch's worth was sent, or
// regardless once twice that was sent. With several goroutines producing,
// the count is approximate around a switch, which only shifts the switch
// by a few records.
func (s *stickyChooser) appended(p int32, n int, batchClosed bool) {
	if p != s.current.Load() {
		return
	}
	w := s.written.Add(int64(n))
	if (batchClosed && w >= int64(s.batchBytes)) || w >= 2*int64(s.batchBytes) {
		s.current.CompareAndSwap(p, -1)
	}
}

// pickPartition chooses a partition at random, weighting each available
// partition by how much shorter its queue is than the longest one.
func pickPartition(numPartitions int, available []int32, queued func(int32) int) int32 {
	if len(available) == 0 {
		return int32(rand.IntN(numPartitions))
	}
	if queued == nil || len(available) == 1 {
		return available[rand.IntN(len(available))]
	}
	var buf [64]int // enough for most topics without allocating
	weights := buf[:0]
	if len(available) > len(buf) {
		weights = make([]int, 0, len(available))
	}
	weights = weights[:len(available)]
	longest := 0
	for i, p := range available {
		weights[i] = queued(p)
		longest = max(longest, weights[i])
	}
	total := 0
	for i := range weights {
		weights[i] = longest + 1 - weights[i]
		total += weights[i]
	}
	pick := rand.IntN(total)
	for i, w := range weights {
		pick -= w
		if pick < 0 {
			return available[i]
		}
	}
	return available[len(available)-1]
}
