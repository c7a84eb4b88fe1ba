package producer

import (
	"sync"
	"time"
)

// Per-record bookkeeping lives in slabs owned by a batch, and batches are
// recycled once every record in them is written, so that a producer in
// steady state allocates nothing per record.
//
// A batch may only be recycled when nothing else can still reach its
// records: no context watcher may be running or about to run for any of
// them. The success path in handle checks this (see reusable); every other
// path simply leaves the batch to the garbage collector.

// recSlab hands out rec values from chunks that are kept when the batch is
// reused. Pointers into a chunk stay valid because a chunk never grows past
// its capacity.
type recSlab struct {
	chunks [][]rec
	cur    int // index of the chunk being filled
}

// minSlabChunk and maxSlabChunk bound the size of a slab's chunks: the
// first one is small (batches at low rates hold few records), later ones
// double up to the maximum.
const (
	minSlabChunk = 16
	maxSlabChunk = 512
	// maxPooledRecs is the most records a recycled batch keeps room for
	// (about 1 MiB of slab). Flat-out batches of small records hold
	// thousands; dropping their slabs made each new batch allocate again.
	maxPooledRecs = 1 << 14
)

// next returns a zeroed rec from the slab.
func (s *recSlab) next() *rec {
	for ; s.cur < len(s.chunks); s.cur++ {
		c := s.chunks[s.cur]
		if len(c) < cap(c) {
			c = c[:len(c)+1]
			s.chunks[s.cur] = c
			return &c[len(c)-1]
		}
	}
	n := minSlabChunk
	if k := len(s.chunks); k > 0 {
		n = min(2*cap(s.chunks[k-1]), maxSlabChunk)
	}
	c := make([]rec, 1, n)
	s.chunks = append(s.chunks, c)
	return &c[0]
}

// reset zeroes every rec handed out and makes the slab empty again.
func (s *recSlab) reset() {
	for i, c := range s.chunks {
		if len(c) == 0 {
			break
		}
		clear(c)
		s.chunks[i] = c[:0]
	}
	s.cur = 0
}

// batchPool holds batches whose records were all written.
var batchPool = sync.Pool{New: func() any { return new(batch) }}

// newBatch returns an empty batch for part, started now.
func newBatch(part *partition, now time.Time) *batch {
	b := batchPool.Get().(*batch)
	b.p, b.first = part, now
	if b.recs == nil {
		b.recs = make([]*rec, 0, minSlabChunk*4) // fewer steps of growth
	}
	return b
}

// recycle returns b to the pool. The caller guarantees that b is on no
// partition list or request any more and that no goroutine can still reach
// its records.
func recycle(b *batch) {
	recs, slab, watches := b.recs, b.slab, b.watches
	clear(recs)
	clear(watches)
	slab.reset()
	if cap(recs) > maxPooledRecs {
		recs, slab = nil, recSlab{} // do not keep unusually large batches
	}
	*b = batch{recs: recs[:0], slab: slab, watches: watches[:0]}
	batchPool.Put(b)
}

// written takes b off its partition's in-flight list and settles its
// records as written at offsets from base (-1 when unknown) with broker
// timestamp ts (zero for CreateTime), then recycles b when it can. The
// buffer room of the whole batch is returned before the first callback
// runs, so a callback may produce again; Flush also waits for the
// callbacks (see Producer.delivering).
func (p *Producer) written(b *batch, base int64, ts time.Time) {
	part := b.p
	reuse := true
	var bytes, n int
	part.mu.Lock()
	evicted := b.park()
	part.removeInflight(b)
	part.attempts = 0
	for _, rc := range b.recs {
		if rc.state == recDone {
			reuse = false // its watcher settled it and may still run
			continue
		}
		rc.state = recDone
		rc.won = true
		bytes += rc.size
		n++
	}
	part.mu.Unlock()
	if evicted != nil {
		evicted.retire()
	}
	reuse = reuse && !b.pinned && b.stopWatches()
	p.delivering.Add(1)
	part.queued.Add(-int64(bytes))
	p.release(bytes, n)
	for i, rc := range b.recs {
		if !rc.won {
			continue
		}
		off := base
		if base >= 0 {
			off = base + int64(i)
		}
		p.report(part, rc, Result{Outcome: Written, Offset: off, Timestamp: ts})
	}
	if p.delivering.Add(-1) == 0 && p.flushing.Load() > 0 {
		p.wakeFlush()
	}
	p.tel.batchDone(b)
	if b.enc != nil {
		if !b.encShared {
			putBuf(b.enc)
		}
		b.enc = nil
	}
	if reuse {
		recycle(b)
	}
}
