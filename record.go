package gregor

import "time"

// Header is one key/value pair attached to a record. Keys need not be
// unique; order is kept.
type Header struct {
	Key   string
	Value []byte
}

// Record is one Kafka record, as produced or as consumed.
//
// A nil Key or Value is sent as null, which differs from an empty one: a
// null value is a tombstone for compacted topics, and a record with a null
// key is spread over partitions instead of hashed.
type Record struct {
	// Topic is the record's topic. Required when producing.
	Topic string
	// Partition is the record's partition. When producing it is only read
	// by the manual partitioner; after a successful produce, and when
	// consuming, it holds the partition the record is in.
	Partition int32
	// Key decides the partition when producing with the default partitioner.
	Key []byte
	// Value is the payload.
	Value []byte
	// Headers are application metadata carried with the record.
	Headers []Header
	// Timestamp is the record's time. A producer sets a zero Timestamp to
	// the time of the produce call, to the millisecond Kafka keeps: while
	// records arrive faster than one every few microseconds it takes the
	// time from a clock it refreshes every millisecond, so a stamp can then
	// lag the call by a millisecond or two. When consuming it is the
	// creation time, or the time the broker appended the record when the
	// topic uses log-append time.
	Timestamp time.Time
	// Offset is the record's position in its partition, known after a
	// successful produce and when consuming.
	Offset int64
	// LeaderEpoch is the partition leader's epoch when the record was
	// written, when known (consuming); -1 otherwise.
	LeaderEpoch int32
}
