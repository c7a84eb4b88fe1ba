package producer

import (
	"math/bits"
	"sync"
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

// bufPools holds the producer's batch buffers; boxPool keeps the empty
// boxes so that putting a buffer back allocates nothing.
var (
	bufPools batchBufs
	boxPool  sync.Pool
)

// batchBufs is a pool of buffers by size class: class c holds buffers
// with a capacity of at least bufClassSize(c), each in a box (a *[]byte).
type batchBufs [bufClasses]sync.Pool

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
	if v := bp[c].Get(); v != nil {
		box := v.(*[]byte)
		b := *box
		*box = nil
		boxPool.Put(box)
		return b[:0]
	}
	return make([]byte, 0, bufClassSize(c))
}

func (bp *batchBufs) put(b []byte) {
	c := bufClassOf(cap(b))
	if c < 0 {
		return
	}
	box, _ := boxPool.Get().(*[]byte)
	if box == nil {
		box = new([]byte)
	}
	*box = b
	bp[c].Put(box)
}
