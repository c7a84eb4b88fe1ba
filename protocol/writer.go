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

// writer carries the first encoding error through the generated encoders.
// The output itself travels as the dst slice that every encode function
// takes and returns: a local slice stays in registers, where a slice kept
// behind a pointer would be reloaded and stored (with a GC write barrier)
// on every field.
type writer struct {
	err error
	// segs, when set, receives the record batches that appendRecords leaves
	// out of the output; nil copies every batch (see Segments).
	segs *Segments
}

func (w *writer) fail(typ, field string, version int16, kind error) {
	if w.err == nil {
		w.err = &EncodeError{Type: typ, Field: field, Version: version, Err: kind}
	}
}

func appendInt8(b []byte, v int8) []byte { return append(b, byte(v)) }

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendUint16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func appendInt16(b []byte, v int16) []byte   { return binary.BigEndian.AppendUint16(b, uint16(v)) }
func appendUint32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func appendInt32(b []byte, v int32) []byte   { return binary.BigEndian.AppendUint32(b, uint32(v)) }
func appendInt64(b []byte, v int64) []byte   { return binary.BigEndian.AppendUint64(b, uint64(v)) }
func appendFloat64(b []byte, v float64) []byte {
	return binary.BigEndian.AppendUint64(b, math.Float64bits(v))
}
func appendUUID(b []byte, v UUID) []byte { return append(b, v[:]...) }

func appendUvarint(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func uvarintLen(v uint32) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// appendLength writes a length or count; n == -1 is null.
func appendLength(b []byte, n int, compact, wide bool) []byte {
	switch {
	case compact:
		return appendUvarint(b, uint32(n+1))
	case wide:
		return appendInt32(b, int32(n))
	}
	return appendInt16(b, int16(n))
}

// appendString writes a non-null string. It reports false when the string
// is too long for the non-compact form.
func appendString(b []byte, s string, compact bool) ([]byte, bool) {
	if !compact && len(s) > math.MaxInt16 {
		return b, false
	}
	return append(appendLength(b, len(s), compact, false), s...), true
}

// appendNullableString writes a nullable string.
func appendNullableString(b []byte, s *string, compact bool) ([]byte, bool) {
	if s == nil {
		return appendLength(b, -1, compact, false), true
	}
	return appendString(b, *s, compact)
}

// appendBytes writes a bytes or records value; nil is written as null when
// nullable and as empty otherwise.
func appendBytes(b, p []byte, compact, nullable bool) []byte {
	if p == nil && nullable {
		return appendLength(b, -1, compact, true)
	}
	return append(appendLength(b, len(p), compact, true), p...)
}

// appendRecords writes a records value. Without segments it is
// appendBytes; with them, a payload of at least the segments' minimum gets
// only its length prefix written, and is listed as a segment belonging right
// after it.
func (w *writer) appendRecords(b, p []byte, compact, nullable bool) []byte {
	s := w.segs
	if s == nil || len(p) < s.min() {
		return appendBytes(b, p, compact, nullable)
	}
	b = appendLength(b, len(p), compact, true)
	s.add(len(b), p)
	return b
}

// insertSize finishes a tagged field whose payload was appended from start:
// it inserts the payload's uvarint size in front of it.
func insertSize(b []byte, start int) []byte {
	n := len(b) - start
	k := uvarintLen(uint32(n))
	for i := 0; i < k; i++ {
		b = append(b, 0)
	}
	copy(b[start+k:], b[start:start+n])
	v := uint32(n)
	for i := 0; i < k; i++ {
		c := byte(v & 0x7f)
		v >>= 7
		if i < k-1 {
			c |= 0x80
		}
		b[start+i] = c
	}
	return b
}

// appendUnknownTags writes the preserved tagged fields whose tag is in
// [lo, hi).
func appendUnknownTags(b []byte, tags []TaggedField, lo, hi uint64) []byte {
	for _, t := range tags {
		if uint64(t.Tag) >= lo && uint64(t.Tag) < hi {
			b = appendUvarint(b, t.Tag)
			b = appendUvarint(b, uint32(len(t.Data)))
			b = append(b, t.Data...)
		}
	}
	return b
}
