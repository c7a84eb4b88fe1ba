package protocol

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// TestRoundTrip encodes random values of every message at every version,
// decodes them (copying, aliasing, and into a value holding the previous
// decode with DecodeOptions.Reuse), compares the values, re-encodes and
// compares the bytes.
func TestRoundTrip(t *testing.T) {
	iters := 40
	if testing.Short() {
		iters = 3
	}
	g := newRNG(1)
	total := 0
	for _, tm := range allMessages {
		if tm.min < 0 {
			continue
		}
		for v := tm.min; v <= tm.max; v++ {
			// reused holds the previous iteration's decode: decoding into
			// it with Reuse must give the same value as a fresh decode.
			reused := tm.new()
			reused.SetVersion(v)
			for i := 0; i < iters; i++ {
				in := tm.new()
				in.randomize(g, v, 0)
				b, err := in.AppendTo(nil)
				if err != nil {
					t.Fatalf("%s v%d: encode: %v", tm.name, v, err)
				}
				if err := reused.DecodeWith(b, DecodeOptions{Reuse: true}); err != nil {
					t.Fatalf("%s v%d: decode with reuse: %v", tm.name, v, err)
				}
				if !reflect.DeepEqual(in, reused) {
					t.Fatalf("%s v%d: decode #%d into a reused value differs\nin:  %+v\nout: %+v", tm.name, v, i, in, reused)
				}
				for _, alias := range []bool{false, true} {
					out := tm.new()
					out.SetVersion(v)
					if err := out.DecodeWith(b, DecodeOptions{Alias: alias}); err != nil {
						t.Fatalf("%s v%d: decode (alias %v): %v\n% x", tm.name, v, alias, err, b)
					}
					if !reflect.DeepEqual(in, out) {
						t.Fatalf("%s v%d: decoded value differs (alias %v)\nin:  %+v\nout: %+v", tm.name, v, alias, in, out)
					}
					b2, err := out.AppendTo(nil)
					if err != nil {
						t.Fatalf("%s v%d: re-encode: %v", tm.name, v, err)
					}
					if !bytes.Equal(b, b2) {
						t.Fatalf("%s v%d: re-encoding differs\n% x\n% x", tm.name, v, b, b2)
					}
				}
				total++
			}
		}
	}
	t.Logf("%d random round trips", total)
}

// TestTruncated decodes strict prefixes of valid encodings of every message
// at every version: each must fail with a *DecodeError, never panic.
func TestTruncated(t *testing.T) {
	g := newRNG(2)
	for _, tm := range allMessages {
		if tm.min < 0 {
			continue
		}
		for v := tm.min; v <= tm.max; v++ {
			in := tm.new()
			in.randomize(g, v, 0)
			b, err := in.AppendTo(nil)
			if err != nil {
				t.Fatalf("%s v%d: encode: %v", tm.name, v, err)
			}
			cuts := make([]int, 0, 64)
			if len(b) <= 64 {
				for i := 0; i < len(b); i++ {
					cuts = append(cuts, i)
				}
			} else {
				for i := 0; i < 64; i++ {
					cuts = append(cuts, g.intn(len(b)))
				}
			}
			for _, n := range cuts {
				out := tm.new()
				out.SetVersion(v)
				err := out.Decode(b[:n])
				var de *DecodeError
				if !errors.As(err, &de) || !(errors.Is(err, ErrTruncated) || errors.Is(err, ErrMalformed)) {
					t.Fatalf("%s v%d: decoding %d of %d bytes: got %v, want a DecodeError", tm.name, v, n, len(b), err)
				}
			}
			// One extra byte is reported unless explicitly allowed.
			out := tm.new()
			out.SetVersion(v)
			if err := out.Decode(append(b, 0)); !errors.Is(err, ErrMalformed) {
				t.Fatalf("%s v%d: trailing byte: got %v", tm.name, v, err)
			}
			if err := out.DecodeWith(append(b, 0), DecodeOptions{AllowTrailing: true}); err != nil {
				t.Fatalf("%s v%d: trailing byte allowed: %v", tm.name, v, err)
			}
		}
	}
}

// TestUnsupportedVersions checks that versions outside the table fail on
// both sides with ErrVersionNotSupported.
func TestUnsupportedVersions(t *testing.T) {
	for _, tm := range allMessages {
		m := tm.new()
		for _, v := range []int16{tm.min - 1, tm.max + 1, -1} {
			if v >= tm.min && v <= tm.max {
				continue
			}
			m.SetVersion(v)
			if _, err := m.AppendTo(nil); !errors.Is(err, ErrVersionNotSupported) {
				t.Fatalf("%s v%d: encode: %v", tm.name, v, err)
			}
			if err := m.Decode(nil); !errors.Is(err, ErrVersionNotSupported) {
				t.Fatalf("%s v%d: decode: %v", tm.name, v, err)
			}
		}
	}
}
