package compression

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"testing"

	"github.com/klauspost/compress/snappy"
)

var allCodecs = []Codec{None, Gzip, Snappy, LZ4, Zstd}

func sample(n int) []byte {
	r := rand.New(rand.NewSource(int64(n)))
	b := make([]byte, n)
	for i := range b {
		if i%7 == 0 {
			b[i] = byte(r.Intn(256))
		} else {
			b[i] = "kafka record batch "[i%19]
		}
	}
	return b
}

func TestRoundTrip(t *testing.T) {
	sizes := []int{0, 1, 100, 32 << 10, 32<<10 + 1, 100 << 10}
	for _, c := range allCodecs {
		levels := []Level{LevelDefault}
		switch c {
		case Gzip:
			levels = append(levels, GzipBestSpeed, GzipBestCompression)
		case LZ4:
			levels = append(levels, LZ4Fast, 5, LZ4Best)
		case Zstd:
			levels = append(levels, ZstdFastest, ZstdBetter, ZstdBest, ZstdMax)
		}
		for _, lv := range levels {
			for _, n := range sizes {
				t.Run(fmt.Sprintf("%v/%d/%d", c, lv, n), func(t *testing.T) {
					src := sample(n)
					prefix := []byte("prefix")
					enc, err := c.CompressLevel(append([]byte(nil), prefix...), src, lv)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.HasPrefix(enc, prefix) {
						t.Fatal("prefix clobbered")
					}
					dec, err := c.Decompress([]byte("x"), enc[len(prefix):], 0)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(dec[1:], src) || dec[0] != 'x' {
						t.Fatalf("mismatch: got %d bytes want %d", len(dec)-1, len(src))
					}
					// Exactly at the limit succeeds, one below fails.
					if _, err := c.Decompress(nil, enc[len(prefix):], max(n, 1)); err != nil {
						t.Fatalf("at limit: %v", err)
					}
					if n > 1 {
						_, err := c.Decompress(nil, enc[len(prefix):], n-1)
						if !errors.Is(err, ErrTooLarge) {
							t.Fatalf("below limit: got %v, want ErrTooLarge", err)
						}
						var ce *Error
						if !errors.As(err, &ce) || ce.Codec != c {
							t.Fatalf("error type: %#v", err)
						}
					}
				})
			}
		}
	}
}

func TestSnappyForms(t *testing.T) {
	src := sample(100 << 10)
	enc, _ := Snappy.Compress(nil, src)
	if !bytes.HasPrefix(enc, xerialMagic) {
		t.Fatal("encoder must write xerial framing")
	}
	// Raw snappy (librdkafka, franz-go) decodes too.
	raw := snappy.Encode(nil, src)
	dec, err := Snappy.Decompress(nil, raw, 0)
	if err != nil || !bytes.Equal(dec, src) {
		t.Fatalf("raw: %v", err)
	}
	// Concatenated xerial streams decode to the concatenation.
	two := append(append([]byte(nil), enc...), enc...)
	dec, err = Snappy.Decompress(nil, two, 0)
	if err != nil || !bytes.Equal(dec, append(append([]byte(nil), src...), src...)) {
		t.Fatalf("concatenated: %v", err)
	}
	// Empty input still gets one chunk after the header.
	empty, _ := Snappy.Compress(nil, nil)
	if len(empty) <= 16 {
		t.Fatalf("empty input encoded as %x", empty)
	}
	if dec, err := Snappy.Decompress(nil, empty, 0); err != nil || len(dec) != 0 {
		t.Fatalf("empty: %v %d", err, len(dec))
	}
	// Header only = empty.
	dec, err = Snappy.Decompress(nil, enc[:16], 0)
	if err != nil || len(dec) != 0 {
		t.Fatalf("empty: %v %d", err, len(dec))
	}
}

func TestCorrupt(t *testing.T) {
	src := sample(10000)
	for _, c := range allCodecs[1:] {
		enc, _ := c.Compress(nil, src)
		cases := map[string][]byte{
			"garbage":   []byte("this is not compressed at all, not even a little"),
			"truncated": enc[:len(enc)/2],
			"empty":     nil,
		}
		for name, in := range cases {
			if c == Zstd && name == "empty" {
				continue // zero frames is a valid empty zstd stream
			}
			if c == LZ4 && name == "empty" {
				continue // an empty lz4 stream has zero frames
			}
			dst := []byte("keep")
			out, err := c.Decompress(dst, in, 0)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%v/%s: got %v, want ErrCorrupt", c, name, err)
			}
			if string(out) != "keep" {
				t.Errorf("%v/%s: dst not restored: %q", c, name, out)
			}
		}
	}
	if _, err := Codec(5).Compress(nil, src); !errors.Is(err, ErrUnknownCodec) {
		t.Fatalf("unknown codec: %v", err)
	}
	if _, err := Codec(7).Decompress(nil, src, 0); !errors.Is(err, ErrUnknownCodec) {
		t.Fatalf("unknown codec: %v", err)
	}
	if _, err := Gzip.CompressLevel(nil, src, 12); !errors.Is(err, ErrInvalidLevel) {
		t.Fatalf("bad level: %v", err)
	}
}

// A small input expanding to far more than the limit must stop at the limit
// rather than allocate the full expansion.
func TestBombCapped(t *testing.T) {
	big := make([]byte, 16<<20)
	for _, c := range allCodecs[1:] {
		enc, _ := c.Compress(nil, big)
		_, err := c.Decompress(nil, enc, 1<<20)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("%v: %v", c, err)
		}
	}
}

func TestParseCodec(t *testing.T) {
	for _, c := range allCodecs {
		got, err := ParseCodec(c.String())
		if err != nil || got != c {
			t.Fatalf("%v: %v %v", c, got, err)
		}
	}
	if _, err := ParseCodec("brotli"); !errors.Is(err, ErrUnknownCodec) {
		t.Fatal(err)
	}
}

func TestAllocs(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	src := sample(64 << 10)
	for _, c := range allCodecs {
		enc, _ := c.Compress(nil, src)
		cbuf := make([]byte, 0, 2*len(src))
		dbuf := make([]byte, 0, 2*len(src))
		ca := testing.AllocsPerRun(20, func() { _, _ = c.Compress(cbuf[:0], src) })
		da := testing.AllocsPerRun(20, func() { _, _ = c.Decompress(dbuf[:0], enc, 0) })
		t.Logf("%v: compress %.1f allocs, decompress %.1f allocs", c, ca, da)
		if (c == None || c == Snappy) && (ca != 0 || da != 0) {
			t.Errorf("%v should not allocate: %v %v", c, ca, da)
		}
		if ca > 4 || da > 4 {
			t.Errorf("%v: too many allocations: %v %v", c, ca, da)
		}
	}
}

func BenchmarkCodecs(b *testing.B) {
	src := sample(128 << 10)
	for _, c := range allCodecs[1:] {
		enc, _ := c.Compress(nil, src)
		buf := make([]byte, 0, 2*len(src))
		b.Run(c.String()+"/compress", func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = c.Compress(buf[:0], src)
			}
		})
		b.Run(c.String()+"/decompress", func(b *testing.B) {
			b.SetBytes(int64(len(src)))
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = c.Decompress(buf[:0], enc, 0)
			}
		})
	}
}

// With an exact size hint (gzip trailer, zstd frame content size) the output
// buffer must not be doubled just to discover the end of the stream.
func TestExactHintNoDoubling(t *testing.T) {
	src := sample(100 << 10)
	for _, c := range []Codec{Gzip, Zstd, Snappy} {
		enc, _ := c.Compress(nil, src)
		out, err := c.Decompress(nil, enc, 0)
		if err != nil || !bytes.Equal(out, src) {
			t.Fatalf("%v: %v", c, err)
		}
		if cap(out) > len(out)+len(out)/4 {
			t.Errorf("%v: cap %d for %d bytes", c, cap(out), len(out))
		}
	}
}
