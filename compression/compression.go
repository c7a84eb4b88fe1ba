// Package compression implements the compression codecs Kafka uses for
// record batches: gzip, snappy, lz4 and zstd.
//
// The API is append-style: [Codec.Compress] and [Codec.Decompress] append
// their output to a caller-supplied slice and return the extended slice, so a
// caller that reuses buffers pays no allocation for the output. Encoders and
// decoders are kept in sync.Pools, so steady-state use allocates nothing for
// snappy and, for the stream codecs, only what the underlying libraries
// allocate internally.
//
// Decompression is always bounded: a call never appends more than the given
// limit, and reports [ErrTooLarge] instead, so a hostile or corrupt batch
// cannot make the client exhaust memory.
package compression

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// Codec identifies a compression codec by the value Kafka stores in the low
// three bits of a record batch's attributes.
type Codec int8

// The codecs Kafka defines, with their attribute values.
const (
	None   Codec = 0 // no compression
	Gzip   Codec = 1 // gzip (RFC 1952)
	Snappy Codec = 2 // snappy, in the xerial framing the Java client writes
	LZ4    Codec = 3 // LZ4 frame format
	Zstd   Codec = 4 // Zstandard frames
)

// String returns the codec's name as Kafka's configuration spells it
// (compression.type), or "codec(N)" for unknown values.
func (c Codec) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Snappy:
		return "snappy"
	case LZ4:
		return "lz4"
	case Zstd:
		return "zstd"
	}
	return "codec(" + strconv.Itoa(int(c)) + ")"
}

// Valid reports whether c is one of the five codecs Kafka defines.
func (c Codec) Valid() bool { return c >= None && c <= Zstd }

// ParseCodec returns the codec named by s ("none", "gzip", "snappy", "lz4",
// "zstd"), the spelling of Kafka's compression.type setting.
func ParseCodec(s string) (Codec, error) {
	for c := None; c <= Zstd; c++ {
		if c.String() == s {
			return c, nil
		}
	}
	return None, &Error{Codec: -1, Op: "parse", Err: ErrUnknownCodec, Cause: fmt.Errorf("%q", s)}
}

// DefaultLimit is the decompressed-size cap used when a caller passes a
// limit of zero or less to [Codec.Decompress]. It is far above anything a
// broker accepts by default (message.max.bytes is about 1 MiB compressed)
// while still bounding what a single batch can cost.
const DefaultLimit = 256 << 20

// Sentinel errors. Errors returned by this package wrap one of them in an
// [*Error]; test with errors.Is.
var (
	// ErrUnknownCodec reports a codec value outside 0-4.
	ErrUnknownCodec = errors.New("compression: unknown codec")
	// ErrInvalidLevel reports a level the codec does not support.
	ErrInvalidLevel = errors.New("compression: invalid level")
	// ErrCorrupt reports compressed input that cannot be decoded.
	ErrCorrupt = errors.New("compression: corrupt compressed data")
	// ErrTooLarge reports that decompressed output would exceed the limit.
	ErrTooLarge = errors.New("compression: decompressed size exceeds limit")
)

// Error describes a failed compression operation. Err is one of the package's
// sentinel errors; Cause, if set, is the underlying library's error.
type Error struct {
	Codec Codec  // the codec in use
	Op    string // "compress", "decompress" or "parse"
	Err   error  // sentinel: ErrCorrupt, ErrTooLarge, ErrUnknownCodec or ErrInvalidLevel
	Cause error  // underlying error, may be nil
}

// Error returns a one-line description.
func (e *Error) Error() string {
	s := e.Err.Error() + " (" + e.Op + " " + e.Codec.String() + ")"
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the sentinel and the underlying cause, so errors.Is matches
// either.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

func newErr(c Codec, op string, sentinel, cause error) error {
	return &Error{Codec: c, Op: op, Err: sentinel, Cause: cause}
}

// Compress appends src compressed with c at the codec's default level to dst.
// With None it appends src unchanged.
func (c Codec) Compress(dst, src []byte) ([]byte, error) {
	return c.CompressLevel(dst, src, LevelDefault)
}

// CompressLevel appends src compressed with c at the given level to dst.
// LevelDefault selects the codec's default; see [Level] for the ranges.
func (c Codec) CompressLevel(dst, src []byte, level Level) ([]byte, error) {
	if !c.ValidLevel(level) {
		if !c.Valid() {
			return dst, newErr(c, "compress", ErrUnknownCodec, nil)
		}
		return dst, newErr(c, "compress", ErrInvalidLevel, fmt.Errorf("level %d", level))
	}
	switch c {
	case None:
		return append(dst, src...), nil
	case Gzip:
		return compressGzip(dst, src, level)
	case Snappy:
		return compressSnappy(dst, src), nil
	case LZ4:
		return compressLZ4(dst, src, level)
	default: // Zstd
		return compressZstd(dst, src, level), nil
	}
}

// Decompress appends the decompression of src to dst. It appends at most
// limit bytes (DefaultLimit if limit <= 0) and returns an error wrapping
// ErrTooLarge if the data expands further; corrupt input yields an error
// wrapping ErrCorrupt. With None, src is appended unchanged, within limit.
// On error the returned slice is dst truncated to its original length.
func (c Codec) Decompress(dst, src []byte, limit int) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	start := len(dst)
	var err error
	switch c {
	case None:
		if len(src) > limit {
			return dst, newErr(c, "decompress", ErrTooLarge, nil)
		}
		return append(dst, src...), nil
	case Gzip:
		dst, err = decompressGzip(dst, src, limit)
	case Snappy:
		dst, err = decompressSnappy(dst, src, limit)
	case LZ4:
		dst, err = decompressLZ4(dst, src, limit)
	case Zstd:
		dst, err = decompressZstd(dst, src, limit)
	default:
		return dst, newErr(c, "decompress", ErrUnknownCodec, nil)
	}
	if err != nil {
		return dst[:start], err
	}
	return dst, nil
}

// appendWriter is an io.Writer appending to a byte slice; pooled encoders
// write into it so their output lands directly in the caller's buffer.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// readCapped reads r to EOF, appending to dst, and fails with ErrTooLarge
// once more than limit bytes have been produced. It grows dst geometrically
// but never beyond limit+1 bytes past its original length.
func readCapped(c Codec, r io.Reader, dst []byte, limit int, sizeHint int) ([]byte, error) {
	start := len(dst)
	if sizeHint > 0 {
		dst = slices.Grow(dst, min(sizeHint, limit+1))
	}
	stalls := 0
	for {
		got := len(dst) - start
		allow := limit + 1 - got // we read one byte past the limit to detect overflow
		if cap(dst) == len(dst) && got > 0 {
			// Full, often because a size hint was exact: probe for more
			// before growing, so an exact fit does not double the buffer.
			var probe [1]byte
			n, err := r.Read(probe[:])
			if n > 0 {
				dst = append(dst, probe[0])
				if len(dst)-start > limit {
					return dst, newErr(c, "decompress", ErrTooLarge, fmt.Errorf("limit %d bytes", limit))
				}
			}
			if err == io.EOF {
				return dst, nil
			}
			if err != nil {
				return dst, newErr(c, "decompress", ErrCorrupt, err)
			}
			if n == 0 {
				if stalls++; stalls > 100 {
					return dst, newErr(c, "decompress", ErrCorrupt, io.ErrNoProgress)
				}
			}
			continue
		}
		if cap(dst) == len(dst) {
			grow := max(cap(dst)-start, 4096)
			dst = slices.Grow(dst, min(grow, allow))
		}
		room := min(cap(dst)-len(dst), allow)
		n, err := r.Read(dst[len(dst) : len(dst)+room])
		dst = dst[:len(dst)+n]
		if len(dst)-start > limit {
			return dst, newErr(c, "decompress", ErrTooLarge, fmt.Errorf("limit %d bytes", limit))
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, newErr(c, "decompress", ErrCorrupt, err)
		}
		if n == 0 {
			if stalls++; stalls > 100 {
				return dst, newErr(c, "decompress", ErrCorrupt, io.ErrNoProgress)
			}
		} else {
			stalls = 0
		}
	}
}
