package producer

import (
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
)

// Encoded batches live in buffers that are reused once the batch is
// settled. A buffer is handed out by size class, four classes per doubling
// from 4 KiB to 2 MiB, so that a recycled buffer fits any later batch of
// its class (at most a quarter larger than asked for) instead of being
// dropped whenever the next batch is a little bigger. Dropped buffers are
// what a flat-out producer of large records paid for: every batch a fresh
// allocation of up to a megabyte, zeroed by the runtime and faulted in by
// the kernel before the records were copied into it.
const (
	minBufShift = 12 // the smallest class: 4 KiB
	maxBufShift = 21 // the largest: 2 MiB, above maxGrownBatch plus a header
	bufClasses  = (maxBufShift-minBufShift)*4 + 1
)

// bufPools holds the producer's batch buffers.
var bufPools batchBufs

// batchBufs is a pool of buffers by size class: class c holds buffers
// with a capacity of at least bufClassSize(c). Each class is a stack, so
// that the buffer put back last is handed out first. A batch's buffer goes
// back as soon as its request is written (see produceRequest.Written), and
// the next request is encoded into it while the processor's caches still
// hold it; a sync.Pool handed out the oldest buffer instead whenever the
// goroutine asking ran on another processor than the one that put the
// buffer back (it takes from the far end of another processor's list),
// and every flat-out batch was then copied into memory that had left the
// caches. As with a sync.Pool, the garbage collector trims the pool: a
// buffer not taken again within a whole collection cycle is dropped.
type batchBufs [bufClasses]bufStack

// bufStack is one class of a batchBufs.
type bufStack struct {
	mu   sync.Mutex
	bufs []pooledBuf
}

// pooledBuf is a buffer in the pool, with the pool's generation (the
// number of collections seen, see armBufTrim) when it was put back.
type pooledBuf struct {
	b   []byte
	gen uint32
}

// bufGen counts the collections since the pool first got a buffer;
// bufTrimArmed starts that count.
var (
	bufGen       atomic.Uint32
	bufTrimArmed sync.Once
)

// armBufTrim has the next garbage collection trim bufPools and arm the
// one after: an unreachable object's cleanup runs once the collector has
// found it unreachable, each time a new one.
func armBufTrim() {
	runtime.AddCleanup(new(gcTick), func(struct{}) {
		bufPools.trim(bufGen.Add(1))
		armBufTrim()
	}, struct{}{})
}

// gcTick is the object whose collection marks a cycle; it holds a pointer
// so that the allocator never packs it with other small objects, which
// would delay its collection.
type gcTick struct{ _ *byte }

// trim drops the buffers put back two or more generations before gen, that
// is before the previous collection and not taken since. A stack's oldest
// buffers are at its bottom.
func (bp *batchBufs) trim(gen uint32) {
	for c := range bp {
		s := &bp[c]
		s.mu.Lock()
		old := 0
		for old < len(s.bufs) && gen-s.bufs[old].gen >= 2 {
			old++
		}
		if old > 0 {
			n := copy(s.bufs, s.bufs[old:])
			clear(s.bufs[n:])
			s.bufs = s.bufs[:n]
		}
		s.mu.Unlock()
	}
}

// bufClassSize is the capacity of class c's buffers.
func bufClassSize(c int) int {
	if c == bufClasses-1 {
		return 1 << maxBufShift
	}
	s := minBufShift + c/4
	return (4 + c%4) << (s - 2)
}

// bufClassFor returns the smallest class whose buffers hold n bytes, or -1
// when n is above the largest class.
func bufClassFor(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	if n > 1<<maxBufShift {
		return -1
	}
	s := bits.Len(uint(n-1)) - 1 // 1<<s < n <= 1<<(s+1)
	q := 1 << (s - 2)
	steps := (n - 1<<s + q - 1) / q // 1..4 quarters above 1<<s
	return (s-minBufShift)*4 + steps
}

// bufClassOf returns the largest class a buffer of capacity c can serve,
// or -1 when it is outside the classes.
func bufClassOf(c int) int {
	if c < 1<<minBufShift || c > 1<<maxBufShift {
		return -1
	}
	s := bits.Len(uint(c)) - 1 // 1<<s <= c < 1<<(s+1)
	if s == maxBufShift {
		return bufClasses - 1
	}
	return (s-minBufShift)*4 + (c-1<<s)/(1<<(s-2))
}

// getBuf returns an empty batch buffer with room for at least n bytes.
func getBuf(n int) []byte { return bufPools.get(n) }

// putBuf returns a settled batch's buffer; nothing may use it afterwards.
func putBuf(b []byte) { bufPools.put(b) }

func (bp *batchBufs) get(n int) []byte {
	c := bufClassFor(n)
	if c < 0 {
		return make([]byte, 0, n)
	}
	s := &bp[c]
	s.mu.Lock()
	if k := len(s.bufs); k > 0 {
		b := s.bufs[k-1].b
		s.bufs[k-1] = pooledBuf{}
		s.bufs = s.bufs[:k-1]
		s.mu.Unlock()
		return b[:0]
	}
	s.mu.Unlock()
	return make([]byte, 0, bufClassSize(c))
}

func (bp *batchBufs) put(b []byte) {
	c := bufClassOf(cap(b))
	if c < 0 {
		return
	}
	bufTrimArmed.Do(armBufTrim)
	s := &bp[c]
	s.mu.Lock()
	s.bufs = append(s.bufs, pooledBuf{b, bufGen.Load()})
	s.mu.Unlock()
}
