package consumer

import "testing"

// TestRespPool checks that response buffers are reused only once every
// partition result holding one is released, and that the pool stays small.
func TestRespPool(t *testing.T) {
	var p respPool
	if b := p.get(100); len(b) != 100 {
		t.Fatalf("small get: len %d", len(b))
	}
	r := &respBuf{pool: &p}
	b := r.AllocResponse(3 << 20)
	if len(b) != 3<<20 || cap(b) != 3<<20 {
		t.Fatalf("len %d cap %d, want 3 MiB rounded to 1 MiB", len(b), cap(b))
	}
	pfs := []*partFetch{{}, {}}
	r.share(pfs)
	pfs[0].resp.release()
	if len(p.free) != 0 {
		t.Fatal("buffer back in the pool while a partition still uses it")
	}
	pfs[1].resp.release()
	if len(p.free) != 1 {
		t.Fatalf("%d idle buffers after the last release, want 1", len(p.free))
	}
	if again := p.get(2 << 20); &again[0] != &b[0] {
		t.Error("a smaller response did not reuse the idle buffer")
	}
	for range 4 {
		p.put(make([]byte, 1<<20))
	}
	if len(p.free) != maxFreeResp {
		t.Errorf("%d idle buffers, want at most %d", len(p.free), maxFreeResp)
	}
	empty := &respBuf{pool: &p}
	empty.AllocResponse(1 << 20)
	empty.share(nil)
	if len(p.free) != maxFreeResp {
		t.Errorf("%d idle buffers, want %d", len(p.free), maxFreeResp)
	}
}
