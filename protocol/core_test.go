package protocol

import (
	"errors"
	"math"
	"testing"
)

func TestPrimitives(t *testing.T) {
	var b []byte
	b = appendInt8(b, -3)
	b = appendBool(b, true)
	b = appendInt16(b, -2)
	b = appendUint16(b, 65000)
	b = appendInt32(b, -7)
	b = appendUint32(b, math.MaxUint32)
	b = appendInt64(b, math.MinInt64)
	b = appendFloat64(b, 2.5)
	b = appendUUID(b, UUID{1, 2, 3})
	for _, v := range []uint32{0, 127, 128, 16383, 16384, math.MaxUint32} {
		b = appendUvarint(b, v)
	}
	r := newReader(b, false)
	if r.i8() != -3 || !r.boolean() || r.i16() != -2 || r.u16() != 65000 || r.i32() != -7 ||
		r.u32() != math.MaxUint32 || r.i64() != math.MinInt64 || r.f64() != 2.5 || r.uuid() != (UUID{1, 2, 3}) {
		t.Fatal("fixed-width round trip failed")
	}
	for _, v := range []uint32{0, 127, 128, 16383, 16384, math.MaxUint32} {
		if got := r.uvarint(); got != v {
			t.Fatalf("uvarint: got %d want %d", got, v)
		}
	}
	if r.bad != 0 || r.left() != 0 {
		t.Fatalf("leftover state: %v %d", r.bad, r.left())
	}
}

func TestReaderErrors(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		read func(r *reader)
		want error
	}{
		{"short int32", []byte{1, 2}, func(r *reader) { r.i32() }, ErrTruncated},
		{"varint overflow", []byte{0xff, 0xff, 0xff, 0xff, 0x7f}, func(r *reader) { r.uvarint() }, ErrMalformed},
		{"negative string", []byte{0xff, 0xfe}, func(r *reader) { r.str(false) }, ErrMalformed},
		{"null non-nullable", []byte{0xff, 0xff}, func(r *reader) { r.str(false) }, ErrMalformed},
		{"long string", []byte{0, 5, 'a'}, func(r *reader) { r.str(false) }, ErrTruncated},
		{"huge array", []byte{0x7f, 0xff, 0xff, 0xff, 0}, func(r *reader) { r.arrayLen(false, false, 4) }, ErrMalformed},
		{"huge compact array", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, func(r *reader) { r.arrayLen(true, true, 1) }, ErrMalformed},
		{"huge bytes", []byte{0x7f, 0xff, 0xff, 0xff}, func(r *reader) { r.bytes(false, true) }, ErrTruncated},
	}
	for _, c := range cases {
		r := newReader(c.in, false)
		c.read(&r)
		if r.bad == 0 {
			t.Errorf("%s: no error, want %v", c.name, c.want)
		} else if err := r.fail("T", "F"); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
}

func TestSized(t *testing.T) {
	for _, n := range []int{0, 1, 127, 128, 20000} {
		b := []byte{9}
		start := len(b)
		for i := 0; i < n; i++ {
			b = append(b, byte(i))
		}
		b = insertSize(b, start)
		r := newReader(b[1:], false)
		if got := int(r.uvarint()); got != n || r.left() != n {
			t.Fatalf("sized %d: got prefix %d and %d bytes", n, got, r.left())
		}
		for i := 0; i < n; i++ {
			if r.rest()[i] != byte(i) {
				t.Fatalf("sized %d: payload moved wrongly", n)
			}
		}
	}
}
