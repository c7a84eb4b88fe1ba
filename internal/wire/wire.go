// Package wire holds the few Kafka messages the connection core needs before
// and besides the generated codec: ApiVersions, SaslHandshake,
// SaslAuthenticate, Metadata and FindCoordinator, with the primitive
// encoders and a bounds-checked decoder. Every message implements
// broker.Request's method set (Key, MaxVersion, SetVersion, GetVersion,
// IsFlexible, AppendTo) so it travels through the same connection code as
// any other request.
package wire

import (
	"encoding/binary"
	"errors"
)

// ErrTruncated means a response ended before a field it must contain.
var ErrTruncated = errors.New("wire: response truncated")

// ErrMalformed means a response held an impossible length or count.
var ErrMalformed = errors.New("wire: malformed response")

// AppendString appends a non-nullable string, compact (flexible versions) or
// with an int16 length.
func AppendString(b []byte, s string, compact bool) []byte {
	if compact {
		b = binary.AppendUvarint(b, uint64(len(s))+1)
	} else {
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	}
	return append(b, s...)
}

// AppendNullableString appends s, or null when s is nil.
func AppendNullableString(b []byte, s *string, compact bool) []byte {
	if s == nil {
		if compact {
			return append(b, 0)
		}
		return binary.BigEndian.AppendUint16(b, 0xffff)
	}
	return AppendString(b, *s, compact)
}

// AppendBytes appends a byte string, compact or with an int32 length.
func AppendBytes(b, v []byte, compact bool) []byte {
	if compact {
		b = binary.AppendUvarint(b, uint64(len(v))+1)
	} else {
		b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	}
	return append(b, v...)
}

// AppendArrayLen appends an array length; n < 0 is a null array.
func AppendArrayLen(b []byte, n int, compact bool) []byte {
	if compact {
		return binary.AppendUvarint(b, uint64(n+1))
	}
	return binary.BigEndian.AppendUint32(b, uint32(int32(n)))
}

// AppendInt16 appends v big-endian.
func AppendInt16(b []byte, v int16) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }

// AppendInt32 appends v big-endian.
func AppendInt32(b []byte, v int32) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }

// AppendBool appends 1 or 0.
func AppendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

// Reader decodes a response body. The first error sticks and every later
// read returns a zero value, so a decoder checks Err once at the end.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads from b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err is the first error met, or nil.
func (r *Reader) Err() error { return r.err }

// Len is how many bytes are left.
func (r *Reader) Len() int { return len(r.b) }

func (r *Reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if n < 0 || len(r.b) < n {
		r.err = ErrTruncated
		r.b = nil
		return false
	}
	return true
}

// Int8 reads one signed byte.
func (r *Reader) Int8() int8 {
	if !r.need(1) {
		return 0
	}
	v := int8(r.b[0])
	r.b = r.b[1:]
	return v
}

// Bool reads a boolean byte.
func (r *Reader) Bool() bool { return r.Int8() != 0 }

// Int16 reads a big-endian int16.
func (r *Reader) Int16() int16 {
	if !r.need(2) {
		return 0
	}
	v := int16(binary.BigEndian.Uint16(r.b))
	r.b = r.b[2:]
	return v
}

// Int32 reads a big-endian int32.
func (r *Reader) Int32() int32 {
	if !r.need(4) {
		return 0
	}
	v := int32(binary.BigEndian.Uint32(r.b))
	r.b = r.b[4:]
	return v
}

// Int64 reads a big-endian int64.
func (r *Reader) Int64() int64 {
	if !r.need(8) {
		return 0
	}
	v := int64(binary.BigEndian.Uint64(r.b))
	r.b = r.b[8:]
	return v
}

// UUID reads 16 bytes.
func (r *Reader) UUID() (u [16]byte) {
	if !r.need(16) {
		return u
	}
	copy(u[:], r.b)
	r.b = r.b[16:]
	return u
}

// Uvarint reads an unsigned varint of at most 32 bits.
func (r *Reader) Uvarint() uint32 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 || v > 1<<32-1 {
		r.err = ErrMalformed
		r.b = nil
		return 0
	}
	r.b = r.b[n:]
	return uint32(v)
}

// length reads a length prefix: -1 means null.
func (r *Reader) length(compact, wide bool) int {
	switch {
	case compact:
		return int(r.Uvarint()) - 1
	case wide:
		return int(r.Int32())
	default:
		return int(r.Int16())
	}
}

func (r *Reader) take(n int) []byte {
	if n < -1 {
		if r.err == nil {
			r.err = ErrMalformed
		}
		return nil
	}
	if n <= 0 || !r.need(n) {
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// String reads a string; null reads as "".
func (r *Reader) String(compact bool) string { return string(r.take(r.length(compact, false))) }

// NullableString reads a string that may be null.
func (r *Reader) NullableString(compact bool) *string {
	n := r.length(compact, false)
	if n == -1 || r.err != nil {
		return nil
	}
	s := string(r.take(n))
	return &s
}

// Bytes reads a byte string (copied).
func (r *Reader) Bytes(compact bool) []byte {
	n := r.length(compact, true)
	if n == -1 {
		return nil
	}
	return append([]byte(nil), r.take(n)...)
}

// ArrayLen reads an array's element count, rejecting a count that could not
// fit in the bytes left given each element takes at least minSize bytes. A
// null array reads as 0.
func (r *Reader) ArrayLen(compact bool, minSize int) int {
	n := r.length(compact, true)
	if r.err != nil || n <= 0 {
		if n < -1 && r.err == nil {
			r.err = ErrMalformed
		}
		return 0
	}
	if minSize > 0 && n > len(r.b)/minSize {
		r.err = ErrMalformed
		r.b = nil
		return 0
	}
	return n
}

// SkipTags skips a tagged-field section.
func (r *Reader) SkipTags() {
	n := r.Uvarint()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.Uvarint()
		r.take(int(r.Uvarint()))
	}
}

// Int32s reads an array of int32.
func (r *Reader) Int32s(compact bool) []int32 {
	n := r.ArrayLen(compact, 4)
	if n == 0 {
		return nil
	}
	out := make([]int32, n)
	for i := range out {
		out[i] = r.Int32()
	}
	return out
}
