package compression

import (
	"bytes"
	"errors"
	"testing"
)

// fuzzDecompress checks that c.Decompress never panics, honours the limit and
// fails only with the package's typed errors.
func fuzzDecompress(f *testing.F, c Codec) {
	for _, n := range []int{0, 10, 1000, 40 << 10} {
		enc, _ := c.Compress(nil, sample(n))
		f.Add(enc)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, in []byte) {
		const limit = 1 << 20
		out, err := c.Decompress([]byte("pre"), in, limit)
		if !bytes.HasPrefix(out, []byte("pre")) {
			t.Fatal("dst prefix lost")
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if len(out)-3 > limit {
			t.Fatalf("limit exceeded: %d", len(out)-3)
		}
		// What decoded must survive a round trip.
		re, err := c.Compress(nil, out[3:])
		if err != nil {
			t.Fatal(err)
		}
		back, err := c.Decompress(nil, re, limit)
		if err != nil || !bytes.Equal(back, out[3:]) {
			t.Fatalf("round trip of decoded data failed: %v", err)
		}
	})
}

func FuzzGzip(f *testing.F)   { fuzzDecompress(f, Gzip) }
func FuzzSnappy(f *testing.F) { fuzzDecompress(f, Snappy) }
func FuzzLZ4(f *testing.F)    { fuzzDecompress(f, LZ4) }
func FuzzZstd(f *testing.F)   { fuzzDecompress(f, Zstd) }
