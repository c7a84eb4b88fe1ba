package record

import (
	"encoding/binary"
	"fmt"
	"strconv"

	"github.com/gregorkafka/gregor/compression"
)

// ControlType is the type stored in a control record's key. A control
// record's key is an int16 version (0) followed by the int16 type.
type ControlType int16

// Control record types defined by Kafka. Only Abort and Commit (transaction
// markers) appear in ordinary partitions; the others are used by KRaft's
// metadata log.
const (
	ControlAbort          ControlType = 0 // transaction aborted
	ControlCommit         ControlType = 1 // transaction committed
	ControlLeaderChange   ControlType = 2 // KRaft leader change
	ControlSnapshotHeader ControlType = 3 // KRaft snapshot header
	ControlSnapshotFooter ControlType = 4 // KRaft snapshot footer
	ControlKRaftVersion   ControlType = 5 // KRaft version record
	ControlKRaftVoters    ControlType = 6 // KRaft voters record
)

// String names the type.
func (t ControlType) String() string {
	switch t {
	case ControlAbort:
		return "ABORT"
	case ControlCommit:
		return "COMMIT"
	case ControlLeaderChange:
		return "LEADER_CHANGE"
	case ControlSnapshotHeader:
		return "SNAPSHOT_HEADER"
	case ControlSnapshotFooter:
		return "SNAPSHOT_FOOTER"
	case ControlKRaftVersion:
		return "KRAFT_VERSION"
	case ControlKRaftVoters:
		return "KRAFT_VOTERS"
	}
	return "UNKNOWN(" + strconv.Itoa(int(t)) + ")"
}

// controlKeyVersion is the only control key version Kafka has defined.
const controlKeyVersion = 0

// endTxnMarkerVersion is the transaction marker value version written.
const endTxnMarkerVersion = 0

// ParseControlKey returns the type stored in a control record's key. Keys
// with a newer version are accepted as long as they start with the version
// and type, which is how Kafka reads them.
func ParseControlKey(key []byte) (ControlType, error) {
	if len(key) < 4 {
		return 0, batchErr(-1, MagicV2, ErrCorruptBatch, fmt.Sprintf("control key of %d bytes", len(key)))
	}
	if v := int16(binary.BigEndian.Uint16(key)); v < 0 {
		return 0, batchErr(-1, MagicV2, ErrCorruptBatch, fmt.Sprintf("control key version %d", v))
	}
	return ControlType(binary.BigEndian.Uint16(key[2:])), nil
}

// AppendControlKey appends a version 0 control key of type t.
func AppendControlKey(dst []byte, t ControlType) []byte {
	dst = binary.BigEndian.AppendUint16(dst, controlKeyVersion)
	return binary.BigEndian.AppendUint16(dst, uint16(t))
}

// ParseEndTxnMarker returns the coordinator epoch from the value of a commit
// or abort control record (int16 version, int32 coordinator epoch).
func ParseEndTxnMarker(value []byte) (coordinatorEpoch int32, err error) {
	if len(value) < 6 {
		return 0, batchErr(-1, MagicV2, ErrCorruptBatch, fmt.Sprintf("transaction marker value of %d bytes", len(value)))
	}
	if v := int16(binary.BigEndian.Uint16(value)); v < 0 {
		return 0, batchErr(-1, MagicV2, ErrCorruptBatch, fmt.Sprintf("transaction marker version %d", v))
	}
	return int32(binary.BigEndian.Uint32(value[2:])), nil
}

// AppendEndTxnMarker appends a version 0 transaction marker value.
func AppendEndTxnMarker(dst []byte, coordinatorEpoch int32) []byte {
	dst = binary.BigEndian.AppendUint16(dst, endTxnMarkerVersion)
	return binary.BigEndian.AppendUint32(dst, uint32(coordinatorEpoch))
}

// ControlType returns the control type of the batch's records if the batch
// is a control batch with at least one record whose key parses.
func (b *Batch) ControlType() (ControlType, bool) {
	if !b.Attributes.Control() || len(b.Records) == 0 {
		return 0, false
	}
	t, err := ParseControlKey(b.Records[0].Key)
	return t, err == nil
}

// TxnMarker reports whether the batch is a transaction marker and, if so,
// whether it commits and the coordinator epoch it carries. A consumer
// reading with read_committed uses this to end a producer's transaction.
func (b *Batch) TxnMarker() (commit bool, coordinatorEpoch int32, ok bool) {
	t, ok := b.ControlType()
	if !ok || (t != ControlCommit && t != ControlAbort) {
		return false, 0, false
	}
	epoch, err := ParseEndTxnMarker(b.Records[0].Value)
	if err != nil {
		return false, 0, false
	}
	return t == ControlCommit, epoch, true
}

// AppendEndTxnBatch appends a control batch holding one commit or abort
// marker, as a transaction coordinator writes it: h supplies BaseOffset,
// PartitionLeaderEpoch, ProducerID and ProducerEpoch; the batch is marked
// transactional and control, with no compression and no sequence.
func AppendEndTxnBatch(dst []byte, h BatchHeader, commit bool, coordinatorEpoch int32, timestamp int64) ([]byte, error) {
	t := ControlAbort
	if commit {
		t = ControlCommit
	}
	var key [4]byte
	var val [6]byte
	h.Attributes = (h.Attributes &^ AttrCodecMask) | AttrTransactional | AttrControl
	h.BaseSequence = NoSequence
	var bb Builder
	bb.Reset(dst, h, compression.LevelDefault)
	bb.Add(timestamp, AppendControlKey(key[:0], t), AppendEndTxnMarker(val[:0], coordinatorEpoch), nil)
	return bb.Finish()
}
