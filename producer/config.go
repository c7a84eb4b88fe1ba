package producer

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/compression"
)

// Defaults used for zero fields of Config. They follow the Java client of
// Kafka 4.x where it has an equivalent setting.
const (
	DefaultLinger                  = 5 * time.Millisecond // linger.ms is 5 since Kafka 4.0 (KIP-1030)
	DefaultBatchBytes              = 16 << 10             // batch.size
	DefaultMaxBufferedBytes        = 32 << 20             // buffer.memory
	DefaultMaxBufferedRecords      = 10_000               // see Config.MaxBufferedRecords
	DefaultMaxRequestBytes         = 1 << 20              // max.request.size
	DefaultMaxInFlightPerPartition = 5                    // max.in.flight.requests.per.connection
	DefaultDeliveryTimeout         = 120 * time.Second
	DefaultProduceTimeout          = 30 * time.Second // the broker-side timeout of acks=all
	DefaultMetadataWait            = 60 * time.Second // max.block.ms
	DefaultTransactionTimeout      = time.Minute
)

// Acks is how many replicas must have a record before the broker answers.
type Acks int8

const (
	// AcksAll, the default, waits for every in-sync replica: a written
	// record survives the loss of the leader.
	AcksAll Acks = iota
	// AcksLeader waits for the leader only.
	AcksLeader
	// AcksNone waits for nothing: the broker sends no response, so a
	// record's result is written as soon as its request was sent, with
	// offset -1. Requires DisableIdempotence.
	AcksNone
)

// wire returns the acks value sent in Produce requests.
func (a Acks) wire() int16 {
	switch a {
	case AcksLeader:
		return 1
	case AcksNone:
		return 0
	}
	return -1
}

// String names the setting as Kafka's acks does.
func (a Acks) String() string {
	switch a {
	case AcksAll:
		return "all"
	case AcksLeader:
		return "1"
	case AcksNone:
		return "0"
	}
	return "Acks(" + strconv.Itoa(int(a)) + ")"
}

// Partitioner is how a record's partition is chosen.
type Partitioner uint8

const (
	// PartitionDefault hashes keyed records with the Java client's murmur2
	// (so a key lands where a Java producer would put it) and spreads
	// unkeyed records with KIP-794's uniform sticky partitioning.
	PartitionDefault Partitioner = iota
	// PartitionRoundRobin sends each record to the next partition in turn,
	// keyed or not.
	PartitionRoundRobin
	// PartitionManual uses Record.Partition as it is.
	PartitionManual
	// PartitionFunc calls Config.PartitionFunc.
	PartitionFunc
)

// TransactionProtocol is how a transactional producer talks to the
// transaction coordinator.
type TransactionProtocol uint8

const (
	// TransactionProtocolAuto, the default, uses transactions v2 (KIP-890
	// part 2) when the cluster has finalized the transaction.version
	// feature at level 2 or above and the coordinator speaks EndTxn v5 and
	// TxnOffsetCommit v5, and v1 otherwise. Under v2 partitions join a
	// transaction through the Produce request itself, offsets through
	// TxnOffsetCommit, and every commit or abort bumps the producer epoch,
	// which fences a zombie's late writes to the previous transaction.
	TransactionProtocolAuto TransactionProtocol = iota
	// TransactionProtocolV1 always uses the original protocol:
	// AddPartitionsToTxn before the first record of each partition,
	// AddOffsetsToTxn before offsets, Produce at most v11 and EndTxn at
	// most v4. Meant for tests and for clusters where v2 misbehaves.
	TransactionProtocolV1
)

// String names the setting.
func (t TransactionProtocol) String() string {
	switch t {
	case TransactionProtocolAuto:
		return "auto"
	case TransactionProtocolV1:
		return "v1"
	}
	return "TransactionProtocol(" + strconv.Itoa(int(t)) + ")"
}

// Config configures a Producer. The zero value of every field except
// Conn.SeedBrokers is usable; each field's comment gives its default.
type Config struct {
	// Conn is where the cluster is and how to connect to it.
	Conn gregor.ConnConfig

	// Acks is the durability each request waits for. Default AcksAll.
	Acks Acks
	// DisableIdempotence turns off idempotent production. Idempotence (the
	// default) gives each batch a producer id and sequence number, so that
	// retries never duplicate or reorder records; it requires AcksAll and at
	// most 5 requests in flight per partition.
	DisableIdempotence bool
	// TransactionalID, when set, makes the producer transactional (which
	// implies idempotence): records are only visible to read_committed
	// consumers once their transaction commits.
	TransactionalID string
	// TransactionProtocol picks the transaction protocol. Default
	// TransactionProtocolAuto (v2 where the cluster supports it).
	TransactionProtocol TransactionProtocol
	// TransactionTimeout is how long the coordinator lets a transaction stay
	// open before aborting it. Default 1m.
	TransactionTimeout time.Duration

	// Compression is the codec batches are compressed with. Default none.
	Compression compression.Codec
	// CompressionLevel is the codec's level; compression.LevelDefault (0)
	// picks the codec's default.
	CompressionLevel compression.Level

	// Partitioner picks partitions. Default PartitionDefault.
	Partitioner Partitioner
	// PartitionFunc returns a record's partition in [0, numPartitions) when
	// Partitioner is PartitionFunc.
	PartitionFunc func(r *gregor.Record, numPartitions int) int32

	// Linger is how long a partition's batch may wait for more records
	// before it is sent, unless it is full first, or the buffer is (a
	// Produce waits for room, or a TryProduce was refused since room was
	// last returned): then every batch leaves as soon as it can, as the
	// Java producer does. Default 5ms; negative means no wait.
	Linger time.Duration
	// BatchBytes is the size at which a partition's batch is sent without
	// waiting for Linger. Default 16 KiB. A record larger than this still
	// goes out, alone in its batch. While all of a partition's in-flight
	// requests are taken, its open batch keeps taking records past
	// BatchBytes, since they could not be sent sooner anyway, up to what
	// one request can carry (MaxRequestBytes) and at most 1 MiB, the
	// broker's default message.max.bytes.
	BatchBytes int
	// MaxRequestBytes bounds one Produce request, which carries one batch
	// for each of several partitions, and therefore one record. Default
	// 1 MiB. A record larger than the topic's max.message.bytes is refused
	// by the broker whatever this allows.
	MaxRequestBytes int
	// MaxBufferedBytes and MaxBufferedRecords bound the records accepted
	// but not yet resolved. Produce waits for room, TryProduce fails with
	// ErrBufferFull. Defaults 32 MiB and 10,000 records (franz-go's record
	// limit): a producer faster than its brokers then waits in Produce
	// rather than queueing records for tens of milliseconds. Raise
	// MaxBufferedRecords for throughput over many partitions of small
	// records, where 10,000 records fill fewer than 5 batches each.
	MaxBufferedBytes int64
	// MaxBufferedRecords: see MaxBufferedBytes.
	MaxBufferedRecords int64
	// MaxInFlightPerPartition is how many requests carrying one partition's
	// batches may await responses at once. Default 5; at most 5 with
	// idempotence, and 1 keeps order without idempotence.
	MaxInFlightPerPartition int

	// DeliveryTimeout bounds the time from Produce to a record's result,
	// retries included. Default 120s.
	DeliveryTimeout time.Duration
	// ProduceTimeout is the time the broker may take to replicate a batch
	// with AcksAll before it answers with a timeout. Default 30s.
	ProduceTimeout time.Duration
	// MetadataWait is how long Produce waits for an unknown topic to appear
	// before the record fails with gregor.ErrUnknownTopic. Default 60s.
	MetadataWait time.Duration
}

// ConfigError reports an invalid Config field; it is gregor.ConfigError
// with Config set to "producer.Config".
type ConfigError = gregor.ConfigError

// idempotent reports whether batches carry producer ids and sequences.
func (c *Config) idempotent() bool { return !c.DisableIdempotence || c.TransactionalID != "" }

// Validate reports the first invalid field as a *ConfigError naming it,
// such as "producer.Config.Acks" or "producer.Config.Conn.SeedBrokers".
func (c *Config) Validate() error {
	if err := c.Conn.ValidateWithin("producer.Config", "Conn"); err != nil {
		return err
	}
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Config: "producer.Config", Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if c.Acks > AcksNone {
		return bad("Acks", "unknown value %d", c.Acks)
	}
	if c.idempotent() && c.Acks != AcksAll {
		return bad("Acks", "idempotence (on by default, and required by transactions) needs AcksAll, got acks=%s; set DisableIdempotence", c.Acks)
	}
	if c.idempotent() && c.MaxInFlightPerPartition > 5 {
		return bad("MaxInFlightPerPartition", "at most 5 with idempotence, got %d", c.MaxInFlightPerPartition)
	}
	if c.MaxInFlightPerPartition < 0 {
		return bad("MaxInFlightPerPartition", "must not be negative (got %d)", c.MaxInFlightPerPartition)
	}
	if c.TransactionProtocol > TransactionProtocolV1 {
		return bad("TransactionProtocol", "unknown value %d", c.TransactionProtocol)
	}
	if !c.Compression.Valid() {
		return bad("Compression", "unknown codec %d", c.Compression)
	}
	if c.Partitioner > PartitionFunc {
		return bad("Partitioner", "unknown value %d", c.Partitioner)
	}
	if c.Partitioner == PartitionFunc && c.PartitionFunc == nil {
		return bad("PartitionFunc", "required when Partitioner is PartitionFunc")
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"BatchBytes", int64(c.BatchBytes)}, {"MaxRequestBytes", int64(c.MaxRequestBytes)},
		{"MaxBufferedBytes", c.MaxBufferedBytes}, {"MaxBufferedRecords", c.MaxBufferedRecords},
		{"DeliveryTimeout", int64(c.DeliveryTimeout)}, {"ProduceTimeout", int64(c.ProduceTimeout)},
		{"MetadataWait", int64(c.MetadataWait)}, {"TransactionTimeout", int64(c.TransactionTimeout)},
	} {
		if f.v < 0 {
			return bad(f.name, "must not be negative (got %d)", f.v)
		}
	}
	if int64(c.MaxRequestBytes) > math.MaxInt32 {
		return bad("MaxRequestBytes", "%d is above what a request's size field holds (%d)", c.MaxRequestBytes, math.MaxInt32)
	}
	d := c.withDefaults()
	if d.BatchBytes > d.MaxRequestBytes {
		return bad("BatchBytes", "%d is above MaxRequestBytes (%d)", d.BatchBytes, d.MaxRequestBytes)
	}
	if int64(d.MaxRequestBytes) > d.MaxBufferedBytes {
		return bad("MaxBufferedBytes", "%d is below MaxRequestBytes (%d)", d.MaxBufferedBytes, d.MaxRequestBytes)
	}
	if d.TransactionTimeout > 0 && d.TransactionTimeout/time.Millisecond > 1<<31-1 {
		return bad("TransactionTimeout", "too large")
	}
	return nil
}

// withDefaults returns a copy of c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	c.Conn = c.Conn.WithDefaults()
	if c.Linger == 0 {
		c.Linger = DefaultLinger
	} else if c.Linger < 0 {
		c.Linger = 0
	}
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setDur := func(p *time.Duration, v time.Duration) {
		if *p == 0 {
			*p = v
		}
	}
	setInt(&c.BatchBytes, DefaultBatchBytes)
	setInt(&c.MaxRequestBytes, DefaultMaxRequestBytes)
	setInt(&c.MaxInFlightPerPartition, DefaultMaxInFlightPerPartition)
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if c.MaxBufferedRecords == 0 {
		c.MaxBufferedRecords = DefaultMaxBufferedRecords
	}
	setDur(&c.DeliveryTimeout, DefaultDeliveryTimeout)
	setDur(&c.ProduceTimeout, DefaultProduceTimeout)
	setDur(&c.MetadataWait, DefaultMetadataWait)
	setDur(&c.TransactionTimeout, DefaultTransactionTimeout)
	return c
}
