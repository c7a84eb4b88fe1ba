package protocol

import (
	"reflect"
	"testing"
)

// TestDecodeReuse decodes random values of every message at every version
// into a value that already holds an earlier decode (of another random
// value, so with lists both longer and shorter), reusing its arrays: the
// result must equal the value encoded, exactly as a decode into a fresh
// value does.
func TestDecodeReuse(t *testing.T) {
	iters := 6
	if testing.Short() {
		iters = 2
	}
	g := newRNG(7)
	total := 0
	for _, tm := range allMessages {
		if tm.min < 0 {
			continue
		}
		for v := tm.min; v <= tm.max; v++ {
			into := tm.new()
			into.SetVersion(v)
			for i := 0; i < iters; i++ {
				in := tm.new()
				in.randomize(g, v, 0)
				b, err := in.AppendTo(nil)
				if err != nil {
					t.Fatalf("%s v%d: encode: %v", tm.name, v, err)
				}
				if err := into.DecodeWith(b, DecodeOptions{Reuse: true}); err != nil {
					t.Fatalf("%s v%d: decode with reuse: %v", tm.name, v, err)
				}
				if !reflect.DeepEqual(in, into) {
					t.Fatalf("%s v%d: decode #%d with reuse differs\nin:  %+v\nout: %+v", tm.name, v, i, in, into)
				}
				total++
			}
		}
	}
	t.Logf("%d decodes into reused values", total)
}
