// Package record encodes and decodes Kafka record batches.
//
// Magic 2 record batches (Kafka 0.11 and later) are read and written; the
// legacy message sets of magic 0 and 1, including compressed wrapper
// messages, are read so that old data stays consumable.
//
// Reading starts with a [Scanner], which splits a buffer holding several
// batches (a Fetch response's records field) into individual batches and
// reports a truncated trailing batch through [Scanner.Partial] rather than as
// an error. [Decoder.Decode] then verifies a batch's CRC, decompresses it
// within a size cap and parses its records into a reusable [Batch]. Keys,
// values and headers are sub-slices of the input (or of the batch's
// decompression buffer), so decoding allocates nothing per record.
//
// Writing uses a [Builder], which appends records to a caller's buffer and
// compresses them when the batch's codec asks for it, or the one-shot
// [AppendBatch].
//
// Nothing in this package panics on malformed input; failures are
// [*BatchError] values wrapping one of the sentinel errors, for use with
// errors.Is and errors.As.
package record

import (
	"errors"
	"fmt"
	"hash/crc32"
	"unsafe"

	"github.com/gregorkafka/gregor/compression"
)

// Magic values of the three on-disk formats.
const (
	MagicV0 int8 = 0 // message set, no timestamps
	MagicV1 int8 = 1 // message set with timestamps, relative inner offsets
	MagicV2 int8 = 2 // record batch
)

// HeaderSize is the size in bytes of a magic 2 batch header, up to and
// including the record count.
const HeaderSize = 61

// Offsets of fields in a magic 2 batch header.
const (
	offBatchLength   = 8
	offLeaderEpoch   = 12
	offMagic         = 16
	offCRC           = 17
	offAttributes    = 21 // the CRC covers from here to the end of the batch
	offLastDelta     = 23
	offBaseTimestamp = 27
	offMaxTimestamp  = 35
	offProducerID    = 43
	offProducerEpoch = 51
	offBaseSequence  = 53
	offNumRecords    = 57
)

// Values used by Kafka for "none" in producer fields and timestamps.
const (
	NoProducerID    int64 = -1 // not an idempotent or transactional producer
	NoProducerEpoch int16 = -1 // no producer epoch
	NoSequence      int32 = -1 // no sequence number
	NoTimestamp     int64 = -1 // no timestamp (magic 0)
	NoLeaderEpoch   int32 = -1 // leader epoch unknown
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Attributes is the 16-bit attributes field of a magic 2 batch header. For
// legacy messages only the low four bits (codec and timestamp type) are used.
type Attributes int16

// Attribute bits.
const (
	AttrCodecMask     Attributes = 0x07 // compression codec (compression.Codec value)
	AttrLogAppendTime Attributes = 0x08 // timestamps were set by the broker
	AttrTransactional Attributes = 0x10 // batch is part of a transaction
	AttrControl       Attributes = 0x20 // batch holds control records
	AttrDeleteHorizon Attributes = 0x40 // BaseTimestamp is a delete horizon (compacted topics)
)

// Codec returns the compression codec stored in the low three bits.
func (a Attributes) Codec() compression.Codec { return compression.Codec(a & AttrCodecMask) }

// WithCodec returns a with its codec bits replaced by c.
func (a Attributes) WithCodec(c compression.Codec) Attributes {
	return a&^AttrCodecMask | Attributes(c)&AttrCodecMask
}

// TimestampType reports whether record timestamps are create times or log
// append times.
func (a Attributes) TimestampType() TimestampType {
	if a&AttrLogAppendTime != 0 {
		return LogAppendTime
	}
	return CreateTime
}

// Transactional reports whether the transactional bit is set.
func (a Attributes) Transactional() bool { return a&AttrTransactional != 0 }

// Control reports whether the batch holds control records.
func (a Attributes) Control() bool { return a&AttrControl != 0 }

// HasDeleteHorizon reports whether the batch's BaseTimestamp holds the
// delete horizon set by log compaction.
func (a Attributes) HasDeleteHorizon() bool { return a&AttrDeleteHorizon != 0 }

// TimestampType says who assigned a batch's timestamps.
type TimestampType int8

// Timestamp types.
const (
	CreateTime    TimestampType = 0 // set by the producer
	LogAppendTime TimestampType = 1 // set by the broker when appending
)

// String returns "CreateTime" or "LogAppendTime".
func (t TimestampType) String() string {
	if t == LogAppendTime {
		return "LogAppendTime"
	}
	return "CreateTime"
}

// BatchHeader holds the fixed fields at the start of a magic 2 batch. For
// legacy messages the decoder fills the equivalent fields and sets the
// producer fields to their "none" values.
type BatchHeader struct {
	BaseOffset           int64      // offset of the first record
	BatchLength          int32      // bytes after this field to the end of the batch
	PartitionLeaderEpoch int32      // leader epoch stamped by the broker
	Magic                int8       // format version
	CRC                  uint32     // CRC-32C of attributes through the end (CRC-32 for legacy)
	Attributes           Attributes // codec, timestamp type, flags
	LastOffsetDelta      int32      // offset of the last record minus BaseOffset
	BaseTimestamp        int64      // timestamp of the first record (or delete horizon)
	MaxTimestamp         int64      // largest timestamp in the batch
	ProducerID           int64      // idempotent/transactional producer id, or -1
	ProducerEpoch        int16      // producer epoch, or -1
	BaseSequence         int32      // sequence number of the first record, or -1
	NumRecords           int32      // number of records
}

// LastOffset returns the offset of the batch's last record.
func (h *BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// NextOffset returns the offset following the batch, where a consumer
// continues fetching.
func (h *BatchHeader) NextOffset() int64 { return h.LastOffset() + 1 }

// Header is a record header. Value is nil for a null header value; the key
// is never null in Kafka's format.
type Header struct {
	Key   []byte
	Value []byte
}

// Record is one record. When decoded, Key, Value and the headers' bytes alias
// the decoded buffer; nil means null, a non-nil empty slice means empty.
type Record struct {
	Offset     int64    // absolute offset
	Timestamp  int64    // absolute timestamp in ms (the batch's MaxTimestamp under LogAppendTime)
	Attributes int8     // per-record attributes, unused by Kafka so far
	Key        []byte   // nil = null key
	Value      []byte   // nil = null value (a tombstone)
	Headers    []Header // nil if there are none
}

// Batch is a decoded batch: its header and its records. A Batch is meant to
// be reused: decoding into it again reuses its record, header and
// decompression storage, which invalidates slices taken from the previous
// decode. A caller may also hand in storage by setting Records to an empty
// slice with spare capacity before the first Decode.
type Batch struct {
	BatchHeader
	Records []Record

	headers []Header
	buf     []byte // decompressed records
}

// Retained reports the bytes of storage b holds for reuse: the capacity of
// its decompression buffer and of its record and header slices. A caller
// that keeps decoded batches alive can count it against a memory budget.
func (b *Batch) Retained() int64 {
	return int64(cap(b.buf)) + int64(cap(b.Records))*int64(unsafe.Sizeof(Record{})) +
		int64(cap(b.headers))*int64(unsafe.Sizeof(Header{}))
}

// Sentinel errors wrapped by [*BatchError].
var (
	// ErrCorruptBatch reports a batch whose contents do not follow the format.
	ErrCorruptBatch = errors.New("record: corrupt batch")
	// ErrCRCMismatch reports a batch whose stored CRC does not match its bytes.
	ErrCRCMismatch = errors.New("record: CRC mismatch")
	// ErrTruncated reports input shorter than the batch it starts declares.
	ErrTruncated = errors.New("record: truncated batch")
	// ErrUnsupportedMagic reports a magic byte other than 0, 1 or 2.
	ErrUnsupportedMagic = errors.New("record: unsupported magic")
	// ErrDecompress reports a compressed payload that failed to decompress
	// or exceeded the size cap; the compression error is wrapped as well.
	ErrDecompress = errors.New("record: decompression failed")
	// ErrInvalidRecord reports a record or header the encoder cannot write.
	ErrInvalidRecord = errors.New("record: invalid record")
)

// BatchError describes a failure to decode or encode one batch.
type BatchError struct {
	BaseOffset int64  // base offset of the batch (as far as it was read)
	Magic      int8   // magic of the batch, -1 if unknown
	Err        error  // sentinel error
	Detail     string // human-readable detail
	Cause      error  // underlying error, may be nil
}

// Error returns a one-line description including the base offset.
func (e *BatchError) Error() string {
	s := fmt.Sprintf("%v at base offset %d", e.Err, e.BaseOffset)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

// Unwrap returns the sentinel and the cause, so errors.Is matches both (for
// example ErrDecompress and compression.ErrTooLarge).
func (e *BatchError) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

func batchErr(base int64, magic int8, sentinel error, detail string) *BatchError {
	return &BatchError{BaseOffset: base, Magic: magic, Err: sentinel, Detail: detail}
}
