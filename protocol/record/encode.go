package record

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"sync"

	"github.com/gregorkafka/gregor/compression"
)

// Builder writes one magic 2 batch into a caller's buffer. Typical use by a
// producer:
//
//	var bb record.Builder
//	bb.Reset(buf[:0], record.BatchHeader{ProducerID: -1, ProducerEpoch: -1,
//		BaseSequence: -1, Attributes: record.Attributes(compression.LZ4)}, 0)
//	for ... { bb.Add(ts, key, value, headers) }
//	buf, err = bb.Finish()
//
// Uncompressed records are written straight into the destination after a
// reserved header; with a codec they go to a scratch buffer the Builder
// keeps, and Finish compresses them into the destination. A Builder can be
// reused after Finish by calling Reset again; its scratch buffer is kept.
type Builder struct {
	hdr       BatchHeader
	level     compression.Level
	out       []byte // destination; header reserved at out[start:start+HeaderSize]
	start     int
	raw       []byte // uncompressed records when the codec is not None
	compress  bool
	n         int32
	lastDelta int32
	maxTS     int64
	err       error
	sizes     []int32 // AppendBatch's precomputed record sizes, kept for reuse
	// Uncompressed records are checksummed as they are written: crc
	// covers out[start+HeaderSize:crcAt].
	crc   uint32
	crcAt int
}

// Reset starts a new batch appended to dst. From h the Builder takes
// BaseOffset, PartitionLeaderEpoch, Attributes (codec and flags),
// ProducerID, ProducerEpoch and BaseSequence; it computes the rest.
// BaseTimestamp becomes the first record's timestamp and MaxTimestamp the
// largest one, except that for an empty batch h's values are kept, and for a
// LogAppendTime batch h.MaxTimestamp is kept. level selects the compression
// level for the batch's codec (compression.LevelDefault for the default).
func (bb *Builder) Reset(dst []byte, h BatchHeader, level compression.Level) {
	*bb = Builder{hdr: h, level: level, out: dst, start: len(dst), raw: bb.raw[:0], sizes: bb.sizes[:0], crcAt: len(dst) + HeaderSize}
	bb.hdr.Magic = MagicV2
	bb.compress = h.Attributes.Codec() != compression.None
	bb.out = append(bb.out, make([]byte, HeaderSize)...)
	if !h.Attributes.Codec().ValidLevel(level) {
		bb.err = batchErr(h.BaseOffset, MagicV2, ErrInvalidRecord, fmt.Sprintf("codec %v level %d", h.Attributes.Codec(), level))
	}
}

// NumRecords returns the number of records appended since Reset.
func (bb *Builder) NumRecords() int { return int(bb.n) }

// UncompressedSize returns the size the batch would have without
// compression; a producer can compare it with its batch size limit.
func (bb *Builder) UncompressedSize() int {
	if bb.compress {
		return HeaderSize + len(bb.raw)
	}
	return len(bb.out) - bb.start
}

// Add appends a record with the next offset (BaseOffset plus the number of
// records so far). key or value nil writes null; a header with a nil Value
// writes a null header value.
func (bb *Builder) Add(timestamp int64, key, value []byte, headers []Header) {
	bb.add(bb.n, timestamp, 0, &recordData{key, value, headers}, -1)
}

// recordData is what a record carries besides its numbers, passed by
// reference: the encoding functions' arguments then fit in registers
// (by value the three slices took nine words, and the rest went through
// the stack at every call, a quarter of adding a small record).
type recordData struct {
	key, value []byte
	headers    []Header
}

// Append appends r with offset delta r.Offset-BaseOffset and r's timestamp
// and attributes, which lets a decoded batch be written back unchanged.
// Offsets must increase.
func (bb *Builder) Append(r *Record) { bb.appendSized(r, -1) }

// appendSized is Append with the record's body size already known (or -1).
func (bb *Builder) appendSized(r *Record, size int) {
	d := r.Offset - bb.hdr.BaseOffset
	if d < 0 || d > math.MaxInt32 || (bb.n > 0 && int32(d) <= bb.lastDelta) {
		bb.setErr(fmt.Sprintf("offset %d out of order or out of range", r.Offset))
		return
	}
	bb.add(int32(d), r.Timestamp, r.Attributes, &recordData{r.Key, r.Value, r.Headers}, size)
}

func (bb *Builder) setErr(detail string) {
	if bb.err == nil {
		bb.err = batchErr(bb.hdr.BaseOffset, MagicV2, ErrInvalidRecord, detail)
	}
}

func (bb *Builder) add(delta int32, ts int64, attrs int8, rd *recordData, size int) {
	if bb.err != nil {
		return
	}
	if bb.n == math.MaxInt32 {
		bb.setErr("too many records")
		return
	}
	if bb.n == 0 {
		bb.hdr.BaseTimestamp = ts
		bb.maxTS = ts
	}
	bb.maxTS = max(bb.maxTS, ts)
	if size < 0 {
		var ok bool
		if size, ok = recordBodySize(delta, ts-bb.hdr.BaseTimestamp, rd); !ok {
			bb.setErr("record or header too large")
			return
		}
	}
	if bb.compress {
		bb.raw = appendRecord(bb.raw, size, attrs, delta, ts-bb.hdr.BaseTimestamp, rd)
	} else {
		bb.out = appendRecord(bb.out, size, attrs, delta, ts-bb.hdr.BaseTimestamp, rd)
		if len(bb.out)-bb.crcAt >= crcChunk {
			bb.crc = crcUpdate(bb.crc, bb.out[bb.crcAt:])
			bb.crcAt = len(bb.out)
		}
	}
	bb.n++
	bb.lastDelta = delta
}

// Finish completes the batch (compressing it if its codec asks for it,
// filling in lengths, counts and the CRC) and returns dst extended by the
// batch. On error it returns dst as it was before Reset.
func (bb *Builder) Finish() ([]byte, error) {
	if bb.err != nil {
		return bb.out[:bb.start], bb.err
	}
	if bb.compress {
		var err error
		c := bb.hdr.Attributes.Codec()
		bb.out, err = c.CompressLevel(bb.out, bb.raw, bb.level)
		if err != nil {
			e := batchErr(bb.hdr.BaseOffset, MagicV2, ErrInvalidRecord, "compression failed")
			e.Cause = err
			return bb.out[:bb.start], e
		}
	}
	batch := bb.out[bb.start:]
	if int64(len(batch)-logOverhead) > math.MaxInt32 {
		return bb.out[:bb.start], batchErr(bb.hdr.BaseOffset, MagicV2, ErrInvalidRecord, "batch too large")
	}
	h := &bb.hdr
	h.BatchLength = int32(len(batch) - logOverhead)
	h.NumRecords = bb.n
	if bb.n > 0 {
		h.LastOffsetDelta = bb.lastDelta
		if h.Attributes&AttrLogAppendTime == 0 {
			h.MaxTimestamp = bb.maxTS
		}
	}
	putHeader(batch, h)
	if recs := bb.start + HeaderSize; !bb.compress && bb.crcAt > recs {
		// Most of the records were checksummed while they were written.
		crcRecs := crcUpdate(bb.crc, bb.out[bb.crcAt:])
		h.CRC = crcJoin(castagnoliChecksum(batch[offAttributes:HeaderSize]), crcRecs, len(bb.out)-recs)
	} else {
		h.CRC = castagnoliChecksum(batch[offAttributes:])
	}
	binary.BigEndian.PutUint32(batch[offCRC:], h.CRC)
	return bb.out, nil
}

// Header returns the header as Finish wrote it (valid after Finish).
func (bb *Builder) Header() BatchHeader { return bb.hdr }

// putHeader writes h into b[:HeaderSize], CRC included as stored in h.
func putHeader(b []byte, h *BatchHeader) {
	be := binary.BigEndian
	_ = b[HeaderSize-1]
	be.PutUint64(b, uint64(h.BaseOffset))
	be.PutUint32(b[offBatchLength:], uint32(h.BatchLength))
	be.PutUint32(b[offLeaderEpoch:], uint32(h.PartitionLeaderEpoch))
	b[offMagic] = byte(h.Magic)
	be.PutUint32(b[offCRC:], h.CRC)
	be.PutUint16(b[offAttributes:], uint16(h.Attributes))
	be.PutUint32(b[offLastDelta:], uint32(h.LastOffsetDelta))
	be.PutUint64(b[offBaseTimestamp:], uint64(h.BaseTimestamp))
	be.PutUint64(b[offMaxTimestamp:], uint64(h.MaxTimestamp))
	be.PutUint64(b[offProducerID:], uint64(h.ProducerID))
	be.PutUint16(b[offProducerEpoch:], uint16(h.ProducerEpoch))
	be.PutUint32(b[offBaseSequence:], uint32(h.BaseSequence))
	be.PutUint32(b[offNumRecords:], uint32(h.NumRecords))
}

// varintLen returns the length of v as a zigzag varint.
func varintLen(v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	return (bits.Len64(u|1) + 6) / 7
}

func bytesLen(b []byte) int {
	if b == nil {
		return 1
	}
	return varintLen(int64(len(b))) + len(b)
}

// recordBodySize returns the size of a record after its length prefix.
func recordBodySize(delta int32, tsDelta int64, rd *recordData) (int, bool) {
	headers := rd.headers
	n := 1 + varintLen(tsDelta) + varintLen(int64(delta)) + bytesLen(rd.key) + bytesLen(rd.value) + varintLen(int64(len(headers)))
	for i := range headers {
		if headers[i].Key == nil {
			// Kafka's format has no null header keys; write an empty one.
			n += 1
		} else {
			n += bytesLen(headers[i].Key)
		}
		n += bytesLen(headers[i].Value)
	}
	return n, n <= math.MaxInt32
}

// putBytes writes b with a varint length prefix (-1 for nil) at dst[i:],
// which must have room, and returns the index after it.
func putBytes(dst []byte, i int, b []byte) int {
	if b == nil {
		dst[i] = 1 // zigzag(-1)
		return i + 1
	}
	i = putVarint(dst, i, int64(len(b)))
	return i + copy(dst[i:], b)
}

// putVarint writes v as a zigzag varint at dst[i:], which must have room,
// and returns the index after it.
func putVarint(dst []byte, i int, v int64) int {
	u := uint64(v<<1) ^ uint64(v>>63)
	for u >= 0x80 {
		dst[i] = byte(u) | 0x80
		u >>= 7
		i++
	}
	dst[i] = byte(u)
	return i + 1
}

// appendRecord appends a record whose body size is already known: the
// destination is grown once and every field written in place.
func appendRecord(dst []byte, size int, attrs int8, delta int32, tsDelta int64, rd *recordData) []byte {
	at := len(dst)
	need := varintLen(int64(size)) + size
	if free := cap(dst) - at; free < need {
		dst = append(dst[:cap(dst)], make([]byte, need-free)...)
	}
	dst = dst[:at+need]
	b := dst[at:]
	i := putVarint(b, 0, int64(size))
	b[i] = byte(attrs)
	i = putVarint(b, i+1, tsDelta)
	i = putVarint(b, i, int64(delta))
	headers := rd.headers
	i = putBytes(b, i, rd.key)
	i = putBytes(b, i, rd.value)
	i = putVarint(b, i, int64(len(headers)))
	for j := range headers {
		k := headers[j].Key
		if k == nil {
			k = []byte{}
		}
		i = putBytes(b, i, k)
		i = putBytes(b, i, headers[j].Value)
	}
	return dst
}

var builderPool = sync.Pool{New: func() any { return new(Builder) }}

// AppendBatch encodes records as one magic 2 batch appended to dst, as
// [Builder] would with records appended through [Builder.Append] (so each
// record's Offset must be at least h.BaseOffset and increasing). Each
// record's size is computed once; for an uncompressed batch dst is grown
// once to the exact total before writing.
func AppendBatch(dst []byte, h BatchHeader, level compression.Level, records []Record) ([]byte, error) {
	bb := builderPool.Get().(*Builder)
	sizes := bb.sizes[:0]
	total := HeaderSize
	if len(records) > 0 {
		base := records[0].Timestamp
		for i := range records {
			r := &records[i]
			s, ok := recordBodySize(int32(r.Offset-h.BaseOffset), r.Timestamp-base, &recordData{r.Key, r.Value, r.Headers})
			if !ok {
				s = -1 // let add report it
			}
			sizes = append(sizes, int32(s))
			total += varintLen(int64(s)) + s
		}
	}
	if h.Attributes.Codec() == compression.None {
		if free := cap(dst) - len(dst); free < total {
			dst = append(dst[:cap(dst)], make([]byte, total-free)...)[:len(dst)]
		}
	}
	bb.sizes = sizes
	bb.Reset(dst, h, level)
	for i := range records {
		bb.appendSized(&records[i], int(sizes[i]))
	}
	out, err := bb.Finish()
	bb.out = nil
	if cap(bb.raw) > 4<<20 {
		bb.raw = nil // do not pin unusually large scratch buffers
	}
	builderPool.Put(bb)
	return out, err
}
