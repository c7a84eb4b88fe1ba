package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"github.com/gregorkafka/gregor/compression"
)

// Legacy message layout (magic 0 and 1), after the 8-byte offset and 4-byte
// size that every log entry starts with:
//
//	crc uint32 (CRC-32/IEEE of everything after it), magic int8,
//	attributes int8, timestamp int64 (magic 1 only),
//	key int32-length bytes (-1 = null), value int32-length bytes (-1 = null)
//
// A compressed message carries a whole inner message set, compressed, as its
// value. In magic 1 the inner offsets are relative (0, 1, ...) and the
// wrapper's offset is the absolute offset of the last inner message; in
// magic 0 inner offsets are absolute.
type legacyMsg struct {
	offset    int64
	crc       uint32
	magic     int8
	attrs     Attributes
	timestamp int64
	key       []byte
	value     []byte
}

// parseLegacy parses one complete legacy entry (offset, size and message).
func parseLegacy(raw []byte, verifyCRC bool) (legacyMsg, error) {
	var m legacyMsg
	be := binary.BigEndian
	m.offset = int64(be.Uint64(raw))
	m.magic = int8(raw[offMagic])
	fail := func(sentinel error, format string, args ...any) (legacyMsg, error) {
		return m, batchErr(m.offset, m.magic, sentinel, fmt.Sprintf(format, args...))
	}
	if len(raw) < minSize(m.magic) {
		return fail(ErrCorruptBatch, "message of %d bytes too short", len(raw))
	}
	m.crc = be.Uint32(raw[12:])
	if verifyCRC {
		if got := crc32.ChecksumIEEE(raw[offMagic:]); got != m.crc {
			return fail(ErrCRCMismatch, "stored %#08x, computed %#08x", m.crc, got)
		}
	}
	m.attrs = Attributes(raw[17])
	p := 18
	m.timestamp = NoTimestamp
	if m.magic == MagicV1 {
		m.timestamp = int64(be.Uint64(raw[p:]))
		p += 8
	}
	var ok bool
	if m.key, ok = int32Bytes(raw, &p); !ok {
		return fail(ErrCorruptBatch, "bad key length")
	}
	if m.value, ok = int32Bytes(raw, &p); !ok {
		return fail(ErrCorruptBatch, "bad value length")
	}
	if p != len(raw) {
		return fail(ErrCorruptBatch, "%d bytes after the value", len(raw)-p)
	}
	return m, nil
}

func int32Bytes(b []byte, p *int) ([]byte, bool) {
	if len(b)-*p < 4 {
		return nil, false
	}
	n := int32(binary.BigEndian.Uint32(b[*p:]))
	*p += 4
	if n == -1 {
		return nil, true
	}
	if n < -1 || int(n) > len(b)-*p {
		return nil, false
	}
	s := b[*p : *p+int(n) : *p+int(n)]
	*p += int(n)
	return s, true
}

// decodeLegacy decodes one legacy message into b. An uncompressed message
// becomes a one-record batch; a compressed wrapper becomes a batch of its
// inner messages.
func (d Decoder) decodeLegacy(b *Batch, raw []byte) error {
	outer, err := parseLegacy(raw, !d.SkipCRC)
	if err != nil {
		return err
	}
	codec := outer.attrs.Codec()
	b.BatchHeader = BatchHeader{
		BaseOffset:           outer.offset,
		BatchLength:          int32(len(raw) - logOverhead),
		PartitionLeaderEpoch: NoLeaderEpoch,
		Magic:                outer.magic,
		CRC:                  outer.crc,
		Attributes:           outer.attrs & (AttrCodecMask | AttrLogAppendTime),
		BaseTimestamp:        outer.timestamp,
		MaxTimestamp:         outer.timestamp,
		ProducerID:           NoProducerID,
		ProducerEpoch:        NoProducerEpoch,
		BaseSequence:         NoSequence,
	}
	if outer.magic == MagicV0 {
		b.Attributes &= AttrCodecMask
	}
	b.headers = b.headers[:0]
	if codec == compression.None {
		b.NumRecords = 1
		b.Records = append(b.Records[:0], Record{
			Offset: outer.offset, Timestamp: outer.timestamp, Key: outer.key, Value: outer.value,
		})
		return nil
	}
	fail := func(sentinel error, format string, args ...any) *BatchError {
		return batchErr(outer.offset, outer.magic, sentinel, fmt.Sprintf(format, args...))
	}
	if !codec.Valid() {
		return fail(ErrCorruptBatch, "unknown codec %d", codec)
	}
	if outer.value == nil {
		return fail(ErrCorruptBatch, "compressed wrapper with null value")
	}
	b.buf = b.buf[:0]
	inner := outer.value
	if codec == compression.LZ4 && outer.magic == MagicV0 {
		inner = fixLegacyLZ4(append(b.buf[:0], inner...))
		b.buf = inner
	}
	out, err := codec.Decompress(b.buf[len(b.buf):], inner, d.MaxDecompressedSize)
	if err != nil {
		e := fail(ErrDecompress, "%v", codec)
		e.Cause = err
		return e
	}
	b.buf = out
	recs := b.Records[:0]
	s := NewScanner(out)
	maxTS := NoTimestamp
	for s.Next() {
		m, err := parseLegacy(s.Batch(), !d.SkipCRC)
		if err != nil {
			return err
		}
		if m.magic > MagicV1 || m.attrs.Codec() != compression.None {
			return fail(ErrCorruptBatch, "inner message with magic %d, codec %d", m.magic, m.attrs.Codec())
		}
		ts := m.timestamp
		if outer.magic == MagicV1 && outer.attrs&AttrLogAppendTime != 0 {
			ts = outer.timestamp
		}
		maxTS = max(maxTS, ts)
		recs = append(recs, Record{Offset: m.offset, Timestamp: ts, Key: m.key, Value: m.value})
	}
	b.Records = recs
	if s.Err() != nil || s.Partial() != nil {
		return fail(ErrCorruptBatch, "malformed inner message set")
	}
	if len(recs) == 0 {
		return fail(ErrCorruptBatch, "compressed wrapper without messages")
	}
	if outer.magic == MagicV1 { // relative inner offsets
		base := outer.offset - recs[len(recs)-1].Offset
		for i := range recs {
			recs[i].Offset += base
		}
	}
	b.BaseOffset = recs[0].Offset
	b.LastOffsetDelta = int32(recs[len(recs)-1].Offset - recs[0].Offset)
	b.NumRecords = int32(len(recs))
	b.BaseTimestamp = recs[0].Timestamp
	if outer.magic == MagicV1 {
		b.MaxTimestamp = maxTS
	}
	return nil
}

// fixLegacyLZ4 rewrites the frame descriptor checksum of an LZ4 frame
// written for magic 0. Kafka's Java client computed that checksum over the
// frame's magic number as well as the descriptor (KAFKA-3160) and kept doing
// so for magic 0 for compatibility, so a standard decoder rejects it. The
// descriptor is FLG, BD and an optional 8-byte content size; the checksum is
// the second byte of the XXH32 (seed 0) of those bytes.
func fixLegacyLZ4(frame []byte) []byte {
	if len(frame) < 7 || binary.LittleEndian.Uint32(frame) != 0x184D2204 {
		return frame
	}
	n := 2
	if frame[4]&0x08 != 0 { // content size
		n += 8
	}
	if frame[4]&0x01 != 0 { // dictionary id
		n += 4
	}
	if len(frame) < 4+n+1 {
		return frame
	}
	frame[4+n] = byte(xxh32(frame[4:4+n]) >> 8)
	return frame
}

// xxh32 is XXH32 with seed 0, for the short inputs fixLegacyLZ4 needs.
func xxh32(b []byte) uint32 {
	const (
		p1 uint32 = 2654435761
		p2 uint32 = 2246822519
		p3 uint32 = 3266489917
		p4 uint32 = 668265263
		p5 uint32 = 374761393
	)
	rotl := func(x uint32, r uint) uint32 { return x<<r | x>>(32-r) }
	n := len(b)
	var h uint32
	if n >= 16 {
		v1, v2, v3, v4 := p1, p2, uint32(0), uint32(0)
		v1 += p2
		v4 -= p1
		for len(b) >= 16 {
			v1 = rotl(v1+binary.LittleEndian.Uint32(b)*p2, 13) * p1
			v2 = rotl(v2+binary.LittleEndian.Uint32(b[4:])*p2, 13) * p1
			v3 = rotl(v3+binary.LittleEndian.Uint32(b[8:])*p2, 13) * p1
			v4 = rotl(v4+binary.LittleEndian.Uint32(b[12:])*p2, 13) * p1
			b = b[16:]
		}
		h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)
	} else {
		h = p5
	}
	h += uint32(n)
	for ; len(b) >= 4; b = b[4:] {
		h = rotl(h+binary.LittleEndian.Uint32(b)*p3, 17) * p4
	}
	for ; len(b) > 0; b = b[1:] {
		h = rotl(h+uint32(b[0])*p5, 11) * p1
	}
	h ^= h >> 15
	h *= p2
	h ^= h >> 13
	h *= p3
	h ^= h >> 16
	return h
}
