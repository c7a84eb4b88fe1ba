package producer

import "testing"

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
// same buffer back more than once cannot hand it to two batches elsewhere.
func TestBufReuse(t *testing.T) {
	var pool batchBufs
	b := pool.get(600 << 10)
	if cap(b) < 600<<10 {
		t.Fatalf("cap %d", cap(b))
	}
	b = append(b, 1, 2, 3)
	// sync.Pool may drop what is put (the race detector makes it drop a
	// quarter on purpose), so put b back until it comes out again.
	for range 100 {
		pool.put(b)
		got := pool.get(610 << 10)
		if len(got) != 0 || cap(got) < 610<<10 {
			t.Fatalf("len %d cap %d", len(got), cap(got))
		}
		if cap(got) == cap(b) && &got[:1][0] == &b[0] {
			return
		}
	}
	t.Fatal("a buffer put back never came out of the pool for a request of its class")
}
