package record

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/gregorkafka/gregor/compression"
)

// Minimum sizes, counted from the start of the entry (offset and length
// fields included).
const (
	logOverhead   = 12 // base offset + length, common to every format
	minLegacyV0   = logOverhead + 4 + 1 + 1 + 4 + 4
	minLegacyV1   = minLegacyV0 + 8
	minRecordSize = 7 // length, attributes, ts delta, offset delta, key len, value len, header count

	// maxPreallocRecords bounds how many records are allocated up front
	// from a batch's declared count.
	maxPreallocRecords = 1 << 14
)

// Scanner splits a buffer holding consecutive batches (magic 2 batches or
// legacy messages, possibly mixed) into one batch at a time without copying
// or decoding records. The zero value scans nothing; use [NewScanner] or
// [Scanner.Reset].
//
//	s := record.NewScanner(buf)
//	for s.Next() {
//		err := dec.Decode(&batch, s.Batch())
//		...
//	}
//	if s.Err() != nil { ... }      // malformed framing
//	tail := s.Partial()              // truncated last batch, if any
type Scanner struct {
	buf     []byte
	cur     []byte
	partial []byte
	err     error
}

// NewScanner returns a Scanner over buf.
func NewScanner(buf []byte) Scanner { return Scanner{buf: buf} }

// Reset makes s scan buf from its start.
func (s *Scanner) Reset(buf []byte) { *s = Scanner{buf: buf} }

// Next advances to the next complete batch and reports whether there is
// one. It returns false at the end of the buffer, when the rest of the
// buffer is a partial batch (see Partial), or on malformed framing (see Err).
func (s *Scanner) Next() bool {
	s.cur = nil
	if s.err != nil || len(s.buf) == 0 {
		return false
	}
	b := s.buf
	if len(b) < logOverhead {
		s.partial, s.buf = b, nil
		return false
	}
	base := int64(binary.BigEndian.Uint64(b))
	length := int64(int32(binary.BigEndian.Uint32(b[offBatchLength:])))
	size := logOverhead + length
	magic := int8(-1)
	if len(b) > offMagic {
		magic = int8(b[offMagic])
	}
	if magic > MagicV2 || (len(b) > offMagic && magic < 0) {
		s.err = batchErr(base, magic, ErrUnsupportedMagic, fmt.Sprintf("magic %d", magic))
		return false
	}
	if length < 0 {
		s.err = batchErr(base, magic, ErrCorruptBatch, fmt.Sprintf("negative batch length %d", length))
		return false
	}
	if size > int64(len(b)) {
		s.partial, s.buf = b, nil
		return false
	}
	if size < int64(minSize(magic)) {
		s.err = batchErr(base, magic, ErrCorruptBatch, fmt.Sprintf("batch length %d below minimum", length))
		return false
	}
	s.cur, s.buf = b[:size], b[size:]
	return true
}

func minSize(magic int8) int {
	switch magic {
	case MagicV0:
		return minLegacyV0
	case MagicV1:
		return minLegacyV1
	}
	return HeaderSize
}

// Batch returns the bytes of the current batch, from its base offset
// through its end. It aliases the scanned buffer.
func (s *Scanner) Batch() []byte { return s.cur }

// Magic returns the current batch's magic byte, or -1 if Next has not
// returned true.
func (s *Scanner) Magic() int8 {
	if len(s.cur) <= offMagic {
		return -1
	}
	return int8(s.cur[offMagic])
}

// BaseOffset returns the current batch's first offset field (for legacy
// compressed wrappers, Kafka stores the last inner offset there), or -1 if
// Next has not returned true.
func (s *Scanner) BaseOffset() int64 {
	if len(s.cur) < 8 {
		return -1
	}
	return int64(binary.BigEndian.Uint64(s.cur))
}

// Err returns the framing error that stopped the scan, or nil.
func (s *Scanner) Err() error { return s.err }

// Partial returns the bytes of a trailing batch cut short by the end of the
// buffer, or nil. Brokers truncate fetch responses at the size limit, so
// this is normal; the consumer should fetch again from the batch's offset
// (or with a larger limit if it is the only batch).
func (s *Scanner) Partial() []byte { return s.partial }

// DefaultMaxDecompressedSize is the decompressed-size cap a zero Decoder
// applies to one batch. Brokers accept batches of about 1 MiB compressed by
// default, so 64 MiB leaves room for very compressible data while bounding
// what a hostile batch costs: parsed records take roughly 14 times the bytes
// they occupy on the wire in the worst case (a 96-byte Record per 7-byte
// record), so the cap bounds memory at about 1 GiB per batch.
const DefaultMaxDecompressedSize = 64 << 20

// Decoder verifies and decodes single batches. The zero value is ready to
// use: it checks CRCs and caps decompressed batches at
// DefaultMaxDecompressedSize.
type Decoder struct {
	// MaxDecompressedSize caps the decompressed size of one batch's records
	// (legacy: of one wrapper message's inner set). Zero or less means
	// DefaultMaxDecompressedSize. A consumer should set it near its fetch
	// size limit.
	MaxDecompressedSize int
	// SkipCRC disables CRC verification.
	SkipCRC bool
}

func (d Decoder) limit() int {
	if d.MaxDecompressedSize <= 0 {
		return DefaultMaxDecompressedSize
	}
	return d.MaxDecompressedSize
}

// Decode decodes the single batch (or legacy message) at the start of raw,
// as returned by [Scanner.Batch], into b, replacing b's previous contents.
// Keys, values and headers alias raw or b's internal decompression buffer.
// It returns a [*BatchError]: ErrTruncated if raw is shorter than the batch
// declares, ErrCRCMismatch, ErrDecompress, ErrCorruptBatch or
// ErrUnsupportedMagic.
func (d Decoder) Decode(b *Batch, raw []byte) error {
	b.BatchHeader = BatchHeader{}
	b.Records = b.Records[:0]
	if len(raw) < logOverhead+5 {
		return batchErr(-1, -1, ErrTruncated, fmt.Sprintf("%d bytes", len(raw)))
	}
	base := int64(binary.BigEndian.Uint64(raw))
	length := int64(int32(binary.BigEndian.Uint32(raw[offBatchLength:])))
	magic := int8(raw[offMagic])
	if magic < 0 || magic > MagicV2 {
		return batchErr(base, magic, ErrUnsupportedMagic, fmt.Sprintf("magic %d", magic))
	}
	if length < 0 || length+logOverhead < int64(minSize(magic)) {
		return batchErr(base, magic, ErrCorruptBatch, fmt.Sprintf("batch length %d", length))
	}
	if length+logOverhead > int64(len(raw)) {
		return batchErr(base, magic, ErrTruncated, fmt.Sprintf("need %d bytes, have %d", length+logOverhead, len(raw)))
	}
	raw = raw[:length+logOverhead]
	if magic < MagicV2 {
		return d.decodeLegacy(b, raw)
	}
	return d.decodeV2(b, raw)
}

// ParseHeader reads the magic 2 batch header at the start of raw without
// verifying the CRC or touching the records.
func ParseHeader(raw []byte) (BatchHeader, error) {
	var h BatchHeader
	if len(raw) < HeaderSize {
		return h, batchErr(-1, -1, ErrTruncated, fmt.Sprintf("%d bytes, header needs %d", len(raw), HeaderSize))
	}
	be := binary.BigEndian
	h = BatchHeader{
		BaseOffset:           int64(be.Uint64(raw)),
		BatchLength:          int32(be.Uint32(raw[offBatchLength:])),
		PartitionLeaderEpoch: int32(be.Uint32(raw[offLeaderEpoch:])),
		Magic:                int8(raw[offMagic]),
		CRC:                  be.Uint32(raw[offCRC:]),
		Attributes:           Attributes(be.Uint16(raw[offAttributes:])),
		LastOffsetDelta:      int32(be.Uint32(raw[offLastDelta:])),
		BaseTimestamp:        int64(be.Uint64(raw[offBaseTimestamp:])),
		MaxTimestamp:         int64(be.Uint64(raw[offMaxTimestamp:])),
		ProducerID:           int64(be.Uint64(raw[offProducerID:])),
		ProducerEpoch:        int16(be.Uint16(raw[offProducerEpoch:])),
		BaseSequence:         int32(be.Uint32(raw[offBaseSequence:])),
		NumRecords:           int32(be.Uint32(raw[offNumRecords:])),
	}
	if h.Magic != MagicV2 {
		return h, batchErr(h.BaseOffset, h.Magic, ErrUnsupportedMagic, fmt.Sprintf("magic %d", h.Magic))
	}
	return h, nil
}

func (d Decoder) decodeV2(b *Batch, raw []byte) error {
	h, err := ParseHeader(raw)
	if err != nil {
		return err
	}
	b.BatchHeader = h
	fail := func(sentinel error, format string, args ...any) error {
		return batchErr(h.BaseOffset, MagicV2, sentinel, fmt.Sprintf(format, args...))
	}
	if !d.SkipCRC {
		if got := castagnoliChecksum(raw[offAttributes:]); got != h.CRC {
			return fail(ErrCRCMismatch, "stored %#08x, computed %#08x", h.CRC, got)
		}
	}
	if h.NumRecords < 0 {
		return fail(ErrCorruptBatch, "negative record count %d", h.NumRecords)
	}
	data := raw[HeaderSize:]
	// An empty batch (as log compaction can leave) may keep its codec bits
	// with no compressed payload at all; there is nothing to decompress.
	if c := h.Attributes.Codec(); c != compression.None && !(h.NumRecords == 0 && len(data) == 0) {
		if !c.Valid() {
			return fail(ErrCorruptBatch, "unknown codec %d", c)
		}
		b.buf, err = c.Decompress(b.buf[:0], data, d.limit())
		if err != nil {
			e := fail(ErrDecompress, "%v", c).(*BatchError)
			e.Cause = err
			return e
		}
		data = b.buf
	}
	if int64(h.NumRecords) > int64(len(data)/minRecordSize) {
		return fail(ErrCorruptBatch, "%d records cannot fit in %d bytes", h.NumRecords, len(data))
	}
	return b.parseRecords(data)
}

// parseRecords parses b.NumRecords magic 2 records from data.
func (b *Batch) parseRecords(data []byte) error {
	n := int(b.NumRecords)
	recs := b.Records[:0]
	if cap(recs) < n {
		// Trust the count only up to a bound: a hostile batch can declare
		// millions of records. Beyond it, storage grows as records parse.
		recs = make([]Record, 0, min(n, maxPreallocRecords))
	}
	headers := b.headers[:0]
	logAppend := b.Attributes&AttrLogAppendTime != 0
	p := 0
	for i := 0; i < n; i++ {
		bad := func(what string) error {
			return batchErr(b.BaseOffset, MagicV2, ErrCorruptBatch, fmt.Sprintf("record %d: %s", i, what))
		}
		length, ok := varint32(data, &p)
		if !ok || length < 0 || int64(length) > int64(len(data)-p) {
			return bad("bad length")
		}
		end := p + int(length)
		body := data[:end]
		if p >= end {
			return bad("empty record")
		}
		if i < cap(recs) {
			recs = recs[:i+1]
		} else {
			recs = append(recs, Record{})
		}
		r := &recs[i]
		r.Attributes = int8(body[p])
		p++
		tsDelta, ok1 := varint64(body, &p)
		offDelta, ok2 := varint32(body, &p)
		if !ok1 || !ok2 {
			return bad("bad timestamp or offset delta")
		}
		r.Offset = b.BaseOffset + int64(offDelta)
		if logAppend {
			r.Timestamp = b.MaxTimestamp
		} else {
			r.Timestamp = b.BaseTimestamp + tsDelta
		}
		if r.Key, ok = nullableBytes(body, &p); !ok {
			return bad("bad key")
		}
		if r.Value, ok = nullableBytes(body, &p); !ok {
			return bad("bad value")
		}
		nh, ok := varint32(body, &p)
		if !ok || nh < 0 || int64(nh) > int64(end-p)/2 {
			return bad("bad header count")
		}
		if nh == 0 {
			r.Headers = nil
		} else if len(headers)+int(nh) > cap(headers) {
			// Grow once for the rest of the batch, assuming the remaining
			// records carry as many headers as this one. Records already
			// parsed keep pointing at the old array, whose contents stay
			// valid, so nothing needs fixing up afterwards.
			// Every header takes at least two bytes, which bounds the guess.
			want := max(2*cap(headers), len(headers)+int(nh)*(n-i))
			want = min(want, len(headers)+(len(data)-p)/2)
			grown := make([]Header, len(headers), want)
			copy(grown, headers)
			headers = grown
		}
		hstart := len(headers)
		for j := int32(0); j < nh; j++ {
			k, ok := nullableBytes(body, &p)
			if !ok || k == nil {
				return bad("bad header key")
			}
			v, ok := nullableBytes(body, &p)
			if !ok {
				return bad("bad header value")
			}
			headers = append(headers, Header{Key: k, Value: v})
		}
		if nh > 0 {
			r.Headers = headers[hstart:len(headers):len(headers)]
		}
		if p != end {
			return bad(fmt.Sprintf("length %d but fields use %d", length, int(length)-(end-p)))
		}
	}
	if p != len(data) {
		return batchErr(b.BaseOffset, MagicV2, ErrCorruptBatch, fmt.Sprintf("%d bytes after the last record", len(data)-p))
	}
	b.headers, b.Records = headers, recs
	return nil
}

// varint32 reads a zigzag varint that must fit in 32 bits.
func varint32(b []byte, p *int) (int32, bool) {
	if *p < len(b) && b[*p] < 0x80 { // one-byte fast path
		v := b[*p]
		*p++
		return int32(v>>1) ^ -int32(v&1), true
	}
	v, ok := varint64(b, p)
	if !ok || v < math.MinInt32 || v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}

func varint64(b []byte, p *int) (int64, bool) {
	if *p >= len(b) {
		return 0, false
	}
	v, n := binary.Varint(b[*p:])
	if n <= 0 {
		return 0, false
	}
	*p += n
	return v, true
}

// nullableBytes reads a varint length (-1 = null) and that many bytes.
func nullableBytes(b []byte, p *int) ([]byte, bool) {
	n, ok := varint32(b, p)
	if !ok || n < -1 {
		return nil, false
	}
	if n == -1 {
		return nil, true
	}
	if int(n) > len(b)-*p {
		return nil, false
	}
	s := b[*p : *p+int(n) : *p+int(n)]
	*p += int(n)
	return s, true
}
