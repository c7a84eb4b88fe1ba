package consumer

import (
	"sync"
	"sync/atomic"
)

// Fetch responses are read into buffers the consumer recycles: the records
// Poll hands out alias them, so a buffer goes back to the pool only when
// every partition taken from its response was released by Poll. Reusing
// them keeps the garbage collector idle, so that the process's memory stays
// near the data actually buffered instead of twice that.

const (
	// minPooledResp is the smallest response worth recycling; smaller
	// ones (empty long-poll answers) are left to the garbage collector.
	minPooledResp = 64 << 10
	// respRound is what pooled buffers' capacities are rounded up to, so
	// that a buffer fits the next response of about the same size.
	respRound = 1 << 20
	// maxFreeResp is how many idle buffers the pool keeps.
	maxFreeResp = 2
)

// respPool holds idle response buffers.
type respPool struct {
	mu   sync.Mutex
	free [][]byte
}

// get returns a buffer of length size, reusing the smallest idle one that
// is large enough.
func (p *respPool) get(size int) []byte {
	if size < minPooledResp {
		return make([]byte, size)
	}
	p.mu.Lock()
	best := -1
	for i, b := range p.free {
		if cap(b) >= size && (best < 0 || cap(b) < cap(p.free[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := p.free[best]
		last := len(p.free) - 1
		p.free[best], p.free[last] = p.free[last], nil
		p.free = p.free[:last]
		p.mu.Unlock()
		return b[:size]
	}
	p.mu.Unlock()
	return make([]byte, size, (size+respRound-1)/respRound*respRound)
}

// put makes b idle; when the pool is full the smallest buffer is dropped.
func (p *respPool) put(b []byte) {
	if cap(b) < minPooledResp {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) < maxFreeResp {
		p.free = append(p.free, b)
		return
	}
	small := 0
	for i := range p.free {
		if cap(p.free[i]) < cap(p.free[small]) {
			small = i
		}
	}
	if cap(p.free[small]) < cap(b) {
		p.free[small] = b
	}
}

// respBuf is one fetch's response buffer and the count of partition
// results still using it.
type respBuf struct {
	pool *respPool
	buf  []byte
	refs atomic.Int32
}

// AllocResponse implements broker.ResponseAllocator.
func (r *respBuf) AllocResponse(size int) []byte {
	r.buf = r.pool.get(size)
	return r.buf
}

// share hands one reference to each of pfs; without any, the buffer is
// idle at once.
func (r *respBuf) share(pfs []*partFetch) {
	if r.buf == nil {
		return
	}
	if len(pfs) == 0 {
		r.pool.put(r.buf)
		return
	}
	r.refs.Store(int32(len(pfs)))
	for _, pf := range pfs {
		pf.resp = r
	}
}

// release drops one reference; the last returns the buffer to the pool.
func (r *respBuf) release() {
	if r.refs.Add(-1) == 0 {
		r.pool.put(r.buf)
		r.buf = nil
	}
}
