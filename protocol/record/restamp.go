package record

import "encoding/binary"

// Restamp rewrites the producer id, epoch and base sequence of batch, one
// whole magic 2 batch as Builder.Finish returns it, and its CRC, leaving
// the records untouched. A producer renumbering a batch it must send again
// uses it rather than encoding the records once more: the records'
// memory may belong to their callers again by then, and the batch must
// carry the same records, byte for byte, as its earlier attempts.
func Restamp(batch []byte, producerID int64, producerEpoch int16, baseSequence int32) error {
	if len(batch) < HeaderSize || int8(batch[offMagic]) != MagicV2 {
		return batchErr(-1, -1, ErrInvalidRecord, "not a whole magic 2 batch")
	}
	base := int64(binary.BigEndian.Uint64(batch))
	if n := int(binary.BigEndian.Uint32(batch[offBatchLength:])); n != len(batch)-logOverhead {
		return batchErr(base, MagicV2, ErrInvalidRecord, "batch length does not match the buffer")
	}
	be := binary.BigEndian
	be.PutUint64(batch[offProducerID:], uint64(producerID))
	be.PutUint16(batch[offProducerEpoch:], uint16(producerEpoch))
	be.PutUint32(batch[offBaseSequence:], uint32(baseSequence))
	be.PutUint32(batch[offCRC:], castagnoliChecksum(batch[offAttributes:]))
	return nil
}
