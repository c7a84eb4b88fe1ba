package producer

import (
	"runtime"
	"testing"
	"time"
)

// TestBufClasses checks the size classes against their definition: a
// buffer got for n holds n, is at most a quarter (or 4 KiB) larger, and
// goes back to a class whose buffers all hold the class size.
func TestBufClasses(t *testing.T) {
	prev := 0
	for c := range bufClasses {
		size := bufClassSize(c)
		if size <= prev {
			t.Fatalf("class %d size %d not above the previous %d", c, size, prev)
		}
		prev = size
		if got := bufClassOf(size); got != c {
			t.Fatalf("bufClassOf(%d) = %d, want %d", size, got, c)
		}
		if got := bufClassFor(size); got != c {
			t.Fatalf("bufClassFor(%d) = %d, want %d", size, got, c)
		}
	}
	if prev != 1<<maxBufShift || prev < maxGrownBatch+4096 {
		t.Fatalf("largest class %d", prev)
	}
	for n := 1; n <= 1<<maxBufShift; n += 1 + n/97 {
		c := bufClassFor(n)
		size := bufClassSize(c)
		if size < n {
			t.Fatalf("n=%d: class %d holds only %d", n, c, size)
		}
		if size > 1<<minBufShift && size-n > n/4+1 {
			t.Fatalf("n=%d: class %d wastes %d bytes", n, c, size-n)
		}
		// Any capacity between a class's size and the next one's goes back
		// to a class it can serve.
		for _, capacity := range []int{n, n + 1, size} {
			if back := bufClassOf(capacity); back >= 0 && bufClassSize(back) > capacity {
				t.Fatalf("cap %d put in class %d of size %d", capacity, back, bufClassSize(back))
			}
		}
	}
	if bufClassFor(1<<maxBufShift+1) != -1 || bufClassOf(1<<maxBufShift+1) != -1 || bufClassOf(4095) != -1 {
		t.Fatal("sizes outside the classes must not be pooled")
	}
}

// TestBufReuse checks that a buffer put back is handed out again for a
// slightly larger request of the same class, which a pool keyed on exact
// capacity would refuse. It uses a pool of its own, so that putting the
// same buffer back cannot hand it to a batch elsewhere.
func TestBufReuse(t *testing.T) {
	var pool batchBufs
	b := pool.get(600 << 10)
	if cap(b) < 600<<10 {
		t.Fatalf("cap %d", cap(b))
	}
	b = append(b, 1, 2, 3)
	pool.put(b)
	got := pool.get(610 << 10)
	if len(got) != 0 || cap(got) != cap(b) || &got[:1][0] != &b[0] {
		t.Fatalf("got len %d cap %d, not the buffer put back (cap %d)", len(got), cap(got), cap(b))
	}
}

// TestBufPoolLastInFirstOut checks that a class hands out the buffer put
// back last (the one most likely still in the processor's caches), from
// whichever goroutine it was put back.
func TestBufPoolLastInFirstOut(t *testing.T) {
	var pool batchBufs
	bufs := make([][]byte, 4)
	for i := range bufs {
		bufs[i] = pool.get(100 << 10)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, b := range bufs {
			pool.put(b)
		}
	}()
	<-done
	for i := len(bufs) - 1; i >= 0; i-- {
		if got := pool.get(100 << 10); &got[:1][0] != &bufs[i][:1][0] {
			t.Fatalf("get %d: not the buffer put back %d-th", len(bufs)-1-i, i)
		}
	}
	if got := pool.get(100 << 10); &got[:1][0] == &bufs[0][:1][0] {
		t.Fatal("an empty class handed out a buffer already taken")
	}
}

// TestBufPoolTrim checks the trimming rule: a buffer survives the
// collection after it was put back and is dropped at the next one unless
// it was taken (and put back) in between.
func TestBufPoolTrim(t *testing.T) {
	var pool batchBufs
	class := &pool[bufClassFor(8<<10)]
	old, kept := pool.get(8<<10), pool.get(8<<10)
	pool.put(old)
	pool.put(kept)
	put := class.bufs[1].gen // a collection may run any time: read, not assumed
	pool.trim(put + 1)
	if len(class.bufs) != 2 {
		t.Fatalf("%d buffers after one collection, want both", len(class.bufs))
	}
	if got := pool.get(8 << 10); &got[:1][0] != &kept[:1][0] {
		t.Fatal("not the last buffer put back")
	}
	bufGen.Add(1) // as a collection would
	pool.put(kept)
	pool.trim(class.bufs[1].gen + 1)
	if len(class.bufs) != 1 || &class.bufs[0].b[:1][0] != &kept[:1][0] {
		t.Fatalf("%d buffers after two collections, want only the one put back in between", len(class.bufs))
	}
}

// TestBufPoolTrimsAtCollection checks that the collector drives the
// trimming: once the pool has had a buffer, each collection advances its
// generation.
func TestBufPoolTrimsAtCollection(t *testing.T) {
	putBuf(getBuf(4 << 10)) // arms the trimming
	start := bufGen.Load()
	deadline := time.Now().Add(10 * time.Second)
	for bufGen.Load()-start < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("generation %d after collections, started at %d", bufGen.Load(), start)
		}
		runtime.GC()
	}
}
