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
