package compression

import (
	"bytes"
	"errors"
	"testing"
)

// TestZstdWholeFrame covers the DecodeAll path taken for frames that
// declare their size under a limit of at least 1 MiB: exact output, the
// limit enforced for the declared size and for a second frame appended.
func TestZstdWholeFrame(t *testing.T) {
	src := sample(3 << 20)
	enc, err := Zstd.Compress(nil, src)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := Zstd.Decompress([]byte("x"), enc, 4<<20)
	if err != nil || dec[0] != 'x' || !bytes.Equal(dec[1:], src) {
		t.Fatalf("round trip: %d bytes, %v", len(dec), err)
	}
	if _, err := Zstd.Decompress(nil, enc, len(src)); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	if _, err := Zstd.Decompress(nil, enc, len(src)-1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("one below the limit: %v, want ErrTooLarge", err)
	}
	two := append(append([]byte(nil), enc...), enc...)
	if _, err := Zstd.Decompress(nil, two, len(src)+1<<20); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("two frames over the limit: %v, want ErrTooLarge", err)
	}
	if _, err := Zstd.Decompress(nil, enc[:len(enc)-3], 4<<20); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated frame: %v, want ErrCorrupt", err)
	}
}

// TestLZ4BlockPath checks that frames of independent blocks (as Gregor and
// franz-go write them) take the block-by-block path, stay within the
// limit, and fall back to the stream reader for anything else.
func TestLZ4BlockPath(t *testing.T) {
	for _, n := range []int{0, 1000, 70 << 10, 5 << 20} {
		src := sample(n)
		enc, err := LZ4.Compress(nil, src)
		if err != nil {
			t.Fatal(err)
		}
		out, ok := decompressLZ4Blocks([]byte("x"), enc, max(n, 1))
		if !ok || out[0] != 'x' || !bytes.Equal(out[1:], src) {
			t.Fatalf("%d bytes: ok %v, got %d bytes", n, ok, len(out)-1)
		}
		if n > 0 {
			if out, ok := decompressLZ4Blocks([]byte("x"), enc, n-1); ok || string(out) != "x" {
				t.Fatalf("%d bytes one over the limit: ok %v, %d bytes left in dst", n, ok, len(out))
			}
		}
		if len(enc) > 12 {
			if _, ok := decompressLZ4Blocks(nil, enc[:len(enc)-5], max(n, 1)); ok {
				t.Fatalf("%d bytes: a truncated frame decoded", n)
			}
			linked := append([]byte(nil), enc...)
			linked[4] &^= 0x20 // clear block independence
			if _, ok := decompressLZ4Blocks(nil, linked, max(n, 1)); ok {
				t.Fatalf("%d bytes: linked blocks took the block path", n)
			}
		}
	}
}
