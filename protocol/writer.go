package protocol

import (
	"encoding/binary"
	"encoding/hex"
	"math"
)

// UUID is Kafka's 16-byte uuid type. The zero value is the null uuid.
type UUID [16]byte

// String formats u as 32 lowercase hex digits.
func (u UUID) String() string { return hex.EncodeToString(u[:]) }

// TaggedField is a tagged field this codec does not know, kept as its tag
// number and raw payload so that a decode and re-encode loses nothing.
type TaggedField struct {
	Tag  uint32
	Data []byte
}

// UnknownTags holds the tagged fields of one struct that this codec does
// not know, in the order they were read. It is a single pointer wide, so
// that structs which almost never carry unknown tags stay small; the zero
// value is empty.
type UnknownTags struct{ list *[]TaggedField }

// Fields returns the preserved fields; the caller must not modify them.
func (u UnknownTags) Fields() []TaggedField {
	if u.list == nil {
		return nil
	}
	return *u.list
}

// Len returns the number of preserved fields.
func (u UnknownTags) Len() int {
	if u.list == nil {
		return 0
	}
	return len(*u.list)
}

// Add records a field, keeping the fields ordered by tag number (fields
// with equal numbers keep the order they were added in), since tagged
// fields go on the wire in ascending order.
func (u *UnknownTags) Add(tag uint32, data []byte) {
	if u.list == nil {
		u.list = new([]TaggedField)
	}
	l := append(*u.list, TaggedField{Tag: tag, Data: data})
	for i := len(l) - 1; i > 0 && l[i-1].Tag > tag; i-- {
		l[i-1], l[i] = l[i], l[i-1]
	}
	*u.list = l
}

// push appends a decoded field as is: the decoder keeps the input's order
// rather than sorting, so hostile input cannot make it quadratic.
func (u *UnknownTags) push(tag uint32, data []byte) {
	if u.list == nil {
		u.list = new([]TaggedField)
	}
	*u.list = append(*u.list, TaggedField{Tag: tag, Data: data})
}

// Reset removes all fields.
func (u *UnknownTags) Reset() {
	if u.list != nil {
		u.list = nil
	}
}

// writer appends to a caller's buffer. It writes into the buffer's spare
// capacity and tracks the length as an integer, so that a field costs no
// slice-header store (and no GC write barrier); the slice is replaced only
// when it must grow. The first error sticks; generated code returns as
// soon as it sees one.
type writer struct {
	b   []byte // b[:n] is the output so far; len(b) is the usable capacity
	n   int
	err error
}

func newWriter(dst []byte) writer { return writer{b: dst[:cap(dst)], n: len(dst)} }

// out returns everything written, including the caller's prefix.
func (w *writer) out() []byte { return w.b[:w.n] }

// grow makes room for k more bytes.
func (w *writer) grow(k int) {
	c := max(2*len(w.b), w.n+k, 256)
	nb := make([]byte, c)
	copy(nb, w.b[:w.n])
	w.b = nb
}

func (w *writer) fail(typ, field string, version int16, kind error) {
	if w.err == nil {
		w.err = &EncodeError{Type: typ, Field: field, Version: version, Err: kind}
	}
}

func (w *writer) i8(v int8) {
	if w.n >= len(w.b) {
		w.grow(1)
	}
	w.b[w.n] = byte(v)
	w.n++
}

func (w *writer) boolean(v bool) {
	var b int8
	if v {
		b = 1
	}
	w.i8(b)
}

func (w *writer) u16(v uint16) {
	if len(w.b)-w.n < 2 {
		w.grow(2)
	}
	binary.BigEndian.PutUint16(w.b[w.n:], v)
	w.n += 2
}

func (w *writer) i16(v int16) { w.u16(uint16(v)) }

func (w *writer) u32(v uint32) {
	if len(w.b)-w.n < 4 {
		w.grow(4)
	}
	binary.BigEndian.PutUint32(w.b[w.n:], v)
	w.n += 4
}

func (w *writer) i32(v int32) { w.u32(uint32(v)) }

func (w *writer) i64(v int64) {
	if len(w.b)-w.n < 8 {
		w.grow(8)
	}
	binary.BigEndian.PutUint64(w.b[w.n:], uint64(v))
	w.n += 8
}

func (w *writer) f64(v float64) { w.i64(int64(math.Float64bits(v))) }

func (w *writer) uuid(v UUID) { w.raw(v[:]) }

// raw appends p as is.
func (w *writer) raw(p []byte) {
	if len(w.b)-w.n < len(p) {
		w.grow(len(p))
	}
	w.n += copy(w.b[w.n:], p)
}

func (w *writer) rawString(s string) {
	if len(w.b)-w.n < len(s) {
		w.grow(len(s))
	}
	w.n += copy(w.b[w.n:], s)
}

func (w *writer) uvarint(v uint32) {
	if v < 0x80 {
		w.i8(int8(v))
		return
	}
	w.uvarintSlow(v)
}

func (w *writer) uvarintSlow(v uint32) {
	if len(w.b)-w.n < 5 {
		w.grow(5)
	}
	for v >= 0x80 {
		w.b[w.n] = byte(v) | 0x80
		w.n++
		v >>= 7
	}
	w.b[w.n] = byte(v)
	w.n++
}

func uvarintLen(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// length writes a length or count; n == -1 is null.
func (w *writer) length(n int, compact, wide bool) {
	switch {
	case compact:
		w.uvarint(uint32(n + 1))
	case wide:
		w.i32(int32(n))
	default:
		w.i16(int16(n))
	}
}

// str writes a non-null string. It reports false when the string is too
// long for the non-compact form.
func (w *writer) str(s string, compact bool) bool {
	if !compact && len(s) > math.MaxInt16 {
		return false
	}
	w.length(len(s), compact, false)
	w.rawString(s)
	return true
}

// nstr writes a nullable string.
func (w *writer) nstr(s *string, compact bool) bool {
	if s == nil {
		w.length(-1, compact, false)
		return true
	}
	return w.str(*s, compact)
}

// bytes writes a bytes or records value; nil is written as null when
// nullable and as empty otherwise.
func (w *writer) bytes(b []byte, compact, nullable bool) {
	if b == nil && nullable {
		w.length(-1, compact, true)
		return
	}
	w.length(len(b), compact, true)
	w.raw(b)
}

// mark returns the current length, for sized.
func (w *writer) mark() int { return w.n }

// sized finishes a tagged field whose payload was written from start: it
// inserts the payload's uvarint size in front of it.
func (w *writer) sized(start int) {
	n := w.n - start
	k := uvarintLen(uint32(n))
	if len(w.b)-w.n < k {
		w.grow(k)
	}
	copy(w.b[start+k:], w.b[start:w.n])
	w.n += k
	v := uint32(n)
	for i := 0; i < k; i++ {
		c := byte(v & 0x7f)
		v >>= 7
		if i < k-1 {
			c |= 0x80
		}
		w.b[start+i] = c
	}
}

// unknownTags writes the preserved tagged fields whose tag is in [lo, hi).
func (w *writer) unknownTags(tags []TaggedField, lo, hi uint64) {
	for _, t := range tags {
		if uint64(t.Tag) >= lo && uint64(t.Tag) < hi {
			w.uvarint(t.Tag)
			w.uvarint(uint32(len(t.Data)))
			w.raw(t.Data)
		}
	}
}
