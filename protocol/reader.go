package protocol

import (
	"encoding/binary"
	"math"
	"strconv"
)

// DecodeOptions tunes DecodeWith.
type DecodeOptions struct {
	// Alias makes bytes and records fields (and preserved unknown tagged
	// fields) point into the input buffer instead of holding copies. The
	// caller must then keep the input unchanged for as long as the decoded
	// value is used. Strings are always copied.
	Alias bool
	// AllowTrailing accepts input that continues after the message ends.
	// By default leftover bytes are reported as ErrMalformed.
	AllowTrailing bool
	// Reuse decodes lists into the arrays the value already holds when
	// they are large enough, instead of new ones, so that a caller
	// decoding one response after another into the same value allocates
	// for the lists only while they grow. Whatever the caller kept of an
	// earlier decode into the value (an element, or a list) may then be
	// overwritten.
	Reuse bool
}

// reader walks an input buffer. Every read checks bounds; on failure it
// records the first problem, returns a zero value, and later reads keep
// failing, so generated code only has to test r.bad once per field. The
// *DecodeError itself is built only when the generated code asks for it,
// which keeps the primitive reads small enough to inline.
//
// The buffer never changes while reading; only the integer offset moves.
// Storing a new slice header on every read would cost a GC write barrier
// per field whenever the collector runs, since the generated decoders get
// the reader through a pointer.
type reader struct {
	buf   []byte // input; a tagged-field reader shares it, cut at its end
	off   int    // absolute offset of the next unread byte
	alias bool
	reuse bool  // see DecodeOptions.Reuse
	bad   uint8 // 0 while fine, else badTruncated or badMalformed
	at    int   // offset of the first problem
	msg   string
	err   *DecodeError
}

const (
	badTruncated = 1
	badMalformed = 2
)

func newReader(b []byte, alias bool) reader {
	return reader{buf: b, alias: alias}
}

// left returns the number of unread bytes.
func (r *reader) left() int { return len(r.buf) - r.off }

// rest returns the unread bytes.
func (r *reader) rest() []byte { return r.buf[r.off:] }

// truncated records that the input ended early.
func (r *reader) truncated() {
	if r.bad == 0 {
		r.bad, r.at = badTruncated, r.off
	}
	r.off = len(r.buf)
}

func (r *reader) malformed(msg string) {
	if r.bad == 0 {
		r.bad, r.at, r.msg = badMalformed, r.off, msg
	}
	r.off = len(r.buf)
}

// fail returns the pending problem as a *DecodeError naming the type and
// field being read.
func (r *reader) fail(typ, field string) error {
	if r.err == nil {
		kind := ErrTruncated
		if r.bad == badMalformed {
			kind = ErrMalformed
		}
		r.err = &DecodeError{Type: typ, Field: field, Offset: r.at, Msg: r.msg, Err: kind}
	}
	return r.err
}

func (r *reader) i8() int8 {
	if r.off >= len(r.buf) {
		r.truncated()
		return 0
	}
	v := r.buf[r.off]
	r.off++
	return int8(v)
}

func (r *reader) boolean() bool { return r.i8() != 0 }

func (r *reader) u16() uint16 {
	if len(r.buf)-r.off < 2 {
		r.truncated()
		return 0
	}
	v := binary.BigEndian.Uint16(r.buf[r.off:])
	r.off += 2
	return v
}

func (r *reader) i16() int16 { return int16(r.u16()) }

func (r *reader) u32() uint32 {
	if len(r.buf)-r.off < 4 {
		r.truncated()
		return 0
	}
	v := binary.BigEndian.Uint32(r.buf[r.off:])
	r.off += 4
	return v
}

func (r *reader) i32() int32 { return int32(r.u32()) }

func (r *reader) i64() int64 {
	if len(r.buf)-r.off < 8 {
		r.truncated()
		return 0
	}
	v := binary.BigEndian.Uint64(r.buf[r.off:])
	r.off += 8
	return int64(v)
}

func (r *reader) f64() float64 { return math.Float64frombits(uint64(r.i64())) }

func (r *reader) uuid() (u UUID) {
	if len(r.buf)-r.off < 16 {
		r.truncated()
		return u
	}
	copy(u[:], r.buf[r.off:])
	r.off += 16
	return u
}

// uvarint reads an unsigned varint of at most 32 bits. The one-byte case,
// by far the most common for lengths and counts, is handled first.
func (r *reader) uvarint() uint32 {
	if r.off < len(r.buf) && r.buf[r.off] < 0x80 {
		v := r.buf[r.off]
		r.off++
		return uint32(v)
	}
	return r.uvarintSlow()
}

func (r *reader) uvarintSlow() uint32 {
	var v uint32
	for i := 0; i < 5; i++ {
		if r.off >= len(r.buf) {
			r.truncated()
			return 0
		}
		c := r.buf[r.off]
		r.off++
		if i == 4 && c > 0x0f {
			r.off--
			r.malformed("varint overflows 32 bits")
			return 0
		}
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v
		}
	}
	return v
}

// length reads a string, bytes or array length. It returns -1 for null and
// -2 after an error. Compact lengths are uvarints holding length+1; classic
// ones are int16 (strings) or int32 (bytes, arrays).
func (r *reader) length(compact, wide, nullable bool) int {
	var n int
	switch {
	case compact:
		n = int(r.uvarint()) - 1
	case wide:
		n = int(r.i32())
	default:
		n = int(r.i16())
	}
	if r.bad != 0 {
		return -2
	}
	if n < -1 {
		r.malformed("negative length " + strconv.Itoa(n))
		return -2
	}
	if n == -1 && !nullable {
		r.malformed("null in a non-nullable field")
		return -2
	}
	return n
}

// take returns the next n bytes, capacity-limited so that appending to them
// cannot overwrite the input.
func (r *reader) take(n int) []byte {
	if n > len(r.buf)-r.off {
		r.truncated()
		return nil
	}
	b := r.buf[r.off : r.off+n : r.off+n]
	r.off += n
	return b
}

func (r *reader) str(compact bool) string {
	n := r.length(compact, false, false)
	if n < 0 {
		return ""
	}
	return string(r.take(n))
}

func (r *reader) nstr(compact bool) *string {
	n := r.length(compact, false, true)
	if n < 0 {
		return nil
	}
	b := r.take(n)
	if r.bad != 0 {
		return nil
	}
	s := string(b)
	return &s
}

// bytes reads a bytes or records field; null yields nil and a present but
// empty value a non-nil empty slice.
func (r *reader) bytes(compact, nullable bool) []byte {
	n := r.length(compact, true, nullable)
	if n < 0 {
		return nil
	}
	return r.raw(n)
}

// raw takes n bytes, copying them unless aliasing was requested.
func (r *reader) raw(n int) []byte {
	b := r.take(n)
	if r.bad != 0 {
		return nil
	}
	if r.alias {
		return b
	}
	return append(make([]byte, 0, n), b...)
}

// arrayLen reads an array count and rejects counts that the remaining input
// cannot hold given each element's minimum encoded size, so that hostile
// input cannot force a large allocation.
func (r *reader) arrayLen(compact, nullable bool, minElem int) int {
	n := r.length(compact, true, nullable)
	if n <= 0 {
		return n
	}
	if minElem < 1 {
		minElem = 1
	}
	if left := r.left(); n > left/minElem {
		r.malformed("array of " + strconv.Itoa(n) + " elements cannot fit in " + strconv.Itoa(left) + " bytes")
		return -2
	}
	return n
}

// tagged returns a reader over the next size bytes, for a tagged field, and
// moves r past them.
func (r *reader) tagged(size int) reader {
	sub := reader{alias: r.alias, reuse: r.reuse}
	if size > r.left() {
		r.truncated()
		sub.bad, sub.at = r.bad, r.at
		return sub
	}
	sub.buf, sub.off = r.buf[:r.off+size], r.off
	r.off += size
	return sub
}

// endTagged checks that a tagged field consumed its whole payload and moves
// any problem back to the parent reader.
func (r *reader) endTagged(sub *reader) {
	if sub.bad == 0 && sub.left() != 0 {
		sub.malformed("tagged field has " + strconv.Itoa(sub.left()) + " unread bytes")
	}
	if sub.bad != 0 && r.bad == 0 {
		r.bad, r.at, r.msg, r.err = sub.bad, sub.at, sub.msg, sub.err
		r.off = len(r.buf)
	}
}

// finish applies the trailing-bytes rule of a top-level decode.
func (r *reader) finish(typ string, o DecodeOptions) error {
	if r.bad == 0 && !o.AllowTrailing && r.left() != 0 {
		r.malformed(strconv.Itoa(r.left()) + " trailing bytes")
	}
	if r.bad != 0 {
		return r.fail(typ, "")
	}
	return nil
}

// sliceFor returns n elements to decode a list into: s itself when the
// decode reuses arrays and s has room, else a new array. Every decoder
// assigns each field of an element, so a reused element keeps nothing of
// what it held.
func sliceFor[T any](r *reader, s []T, n int) []T {
	if r.reuse && s != nil && cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}
