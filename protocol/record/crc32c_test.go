package record

import (
	"hash/crc32"
	"math/rand"
	"testing"
)

// TestCastagnoliUpdate compares the folded CRC-32C with the standard
// library's over lengths on both sides of every threshold of the folding
// code (the short path, the 256-byte accumulators, the 16-byte blocks, the
// bytes after them), at every alignment and from random registers.
func TestCastagnoliUpdate(t *testing.T) {
	if !haveFold {
		t.Log("no folding code on this CPU: checks the fallback only")
	}
	rnd := rand.New(rand.NewSource(7))
	buf := make([]byte, 1<<17+128)
	rnd.Read(buf)
	lengths := []int{0, 1, 15, 16, 255, 256, 257}
	for _, base := range []int{foldMin, 768, 1024, 4096, 16 << 10, 1<<17 - 64} {
		for d := -17; d <= 17; d++ {
			lengths = append(lengths, base+d)
		}
	}
	for i := 0; i < 200; i++ {
		lengths = append(lengths, rnd.Intn(len(buf)-64))
	}
	for _, n := range lengths {
		for off := 0; off < 64; off += 1 + rnd.Intn(9) {
			p := buf[off : off+n]
			crc := rnd.Uint32()
			if got, want := castagnoliUpdate(crc, p), crc32.Update(crc, castagnoli, p); got != want {
				t.Fatalf("length %d at offset %d from %#08x: %#08x, want %#08x", n, off, crc, got, want)
			}
		}
	}
}

// TestCastagnoliPieces checks that a CRC continued piece by piece, as the
// Builder does, matches the CRC of the whole.
func TestCastagnoliPieces(t *testing.T) {
	rnd := rand.New(rand.NewSource(8))
	buf := make([]byte, 200<<10)
	rnd.Read(buf)
	want := crc32.Checksum(buf, castagnoli)
	var crc uint32
	for p := buf; len(p) > 0; {
		n := min(len(p), rnd.Intn(40<<10))
		crc, p = castagnoliUpdate(crc, p[:n]), p[n:]
	}
	if crc != want {
		t.Fatalf("pieces: %#08x, whole %#08x", crc, want)
	}
}

// FuzzCastagnoli compares the folded CRC-32C with the standard library's
// on any input and register.
func FuzzCastagnoli(f *testing.F) {
	f.Add(uint32(0), make([]byte, 600))
	f.Add(uint32(0xffffffff), make([]byte, 4099))
	f.Fuzz(func(t *testing.T, crc uint32, p []byte) {
		if got, want := castagnoliUpdate(crc, p), crc32.Update(crc, castagnoli, p); got != want {
			t.Fatalf("length %d from %#08x: %#08x, want %#08x", len(p), crc, got, want)
		}
	})
}

// BenchmarkCastagnoli compares the folded CRC-32C with the standard
// library's at the Builder's chunk size and at a consumer-sized batch.
func BenchmarkCastagnoli(b *testing.B) {
	for _, n := range []int{256, 1 << 10, crcChunk, 1 << 20} {
		p := make([]byte, n)
		b.Run("folded/"+byteSize(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			var crc uint32
			for b.Loop() {
				crc = castagnoliUpdate(crc, p)
			}
		})
		b.Run("hash-crc32/"+byteSize(n), func(b *testing.B) {
			b.SetBytes(int64(n))
			var crc uint32
			for b.Loop() {
				crc = crc32.Update(crc, castagnoli, p)
			}
		})
	}
}

func byteSize(n int) string {
	switch {
	case n >= 1<<20:
		return itoa(n>>20) + "MiB"
	case n >= 1<<10:
		return itoa(n>>10) + "KiB"
	}
	return itoa(n) + "B"
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
