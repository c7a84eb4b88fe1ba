package producer

import (
	"sync"
	"time"
	"unsafe"

	"github.com/gregorkafka/gregor"
)

// Per-record bookkeeping lives in slabs owned by a batch, and batches are
// recycled once every record in them is written, so that a producer in
// steady state allocates nothing per record.
//
// A batch may only be recycled when nothing else can still reach its
// records. Context watchers reach a batch only through their lists, which
// drop it under the partition's mutex once its records are settled; a
// record a watcher settled may still be in that watcher's hands, so a
// batch with one is never recycled (see written). Every path but the
// success path simply leaves the batch to the garbage collector.

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

// reset makes the slab empty again. The recs handed out must have been
// zeroed already: next hands them out again as they are.
func (s *recSlab) reset() {
	for i, c := range s.chunks {
		if len(c) == 0 {
			break
		}
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
// its records, and has zeroed every record. The record list keeps its
// stale pointers past its length: they point into the batch's own slab.
func recycle(b *batch) {
	recs, slab, watches, cbs, spans := b.recs, b.slab, b.watches, b.cbs, b.spans
	clear(watches)
	clear(cbs)
	clear(spans)
	slab.reset()
	if cap(recs) > maxPooledRecs {
		recs, slab = nil, recSlab{} // do not keep unusually large batches
	}
	if cap(cbs) > maxPooledRecs {
		cbs = nil
	}
	if cap(spans) > maxPooledRecs {
		spans = nil
	}
	*b = batch{recs: recs[:0], slab: slab, watches: watches[:0], cbs: cbs[:0], spans: spans[:0]}
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
	part.mu.Lock()
	b.unwatch() // from now on no watcher can reach b
	part.removeInflight(b)
	part.attempts = 0
	// Without early settlements every record is pending and this settles
	// them all; otherwise the ones still pending, and the batch is not
	// reused: a watcher may still be delivering the others.
	all := b.early == 0
	bytes, n := b.bytes, len(b.recs)
	if !all {
		bytes, n = 0, 0
		for _, rc := range b.recs {
			if rc.state != recDone {
				rc.state, rc.won = recDone, true
				bytes += int(rc.size)
				n++
			}
		}
	}
	h := b.hooks()
	part.mu.Unlock()
	reuse := all && !b.pinned
	p.delivering.Add(1)
	part.queued.Add(-int64(bytes))
	p.release(bytes, n)
	var res Result
	for i, rc := range b.recs {
		if !all && !rc.won {
			continue
		}
		off := base
		if base >= 0 {
			off = base + int64(i)
		}
		res = Result{Outcome: Written, Offset: off, Timestamp: ts}
		p.report(part, rc, rc.r, &h, &res)
		if reuse {
			*rc = rec{} // cleared while in cache, so recycle need not clear the slab
		}
	}
	if p.delivering.Add(-1) == 0 && p.flushing.Load() > 0 {
		p.wakeFlush()
	}
	p.tel.batchDone(b)
	if b.enc != nil {
		putBuf(b.enc)
		b.enc = nil
	}
	if reuse {
		recycle(b)
	}
}

// addCallback lists cb for a new record of b and returns the record's
// reference to it (its index plus one). Producers mostly pass the same
// callback for record after record, which then takes one entry.
func (b *batch) addCallback(cb func(*gregor.Record, Result)) uint32 {
	if n := len(b.cbs); n > 0 && sameFunc(b.cbs[n-1], cb) {
		return uint32(n)
	}
	b.cbs = append(b.cbs, cb)
	return uint32(len(b.cbs))
}

// sameFunc reports whether a and b are the same function value: the same
// closure, or the same function without captured variables. Go cannot
// compare func values, but each is a pointer to its closure, and equal
// pointers call the same code on the same variables.
func sameFunc(a, b func(*gregor.Record, Result)) bool {
	return *(*unsafe.Pointer)(unsafe.Pointer(&a)) == *(*unsafe.Pointer)(unsafe.Pointer(&b))
}
