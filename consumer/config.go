package consumer

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gregorkafka/gregor"
)

// IsolationLevel says which records of transactional producers a consumer
// sees.
type IsolationLevel int8

const (
	// ReadUncommitted returns every record, including those of open and
	// aborted transactions. It is the default.
	ReadUncommitted IsolationLevel = 0
	// ReadCommitted returns only records of committed transactions (and
	// non-transactional records), up to the last stable offset.
	ReadCommitted IsolationLevel = 1
)

// String names the level as Kafka's isolation.level setting does.
func (l IsolationLevel) String() string {
	switch l {
	case ReadUncommitted:
		return "read_uncommitted"
	case ReadCommitted:
		return "read_committed"
	}
	return "IsolationLevel(" + strconv.Itoa(int(l)) + ")"
}

// ResetPolicy says where a partition continues when its position is not
// on the broker any more (OFFSET_OUT_OF_RANGE) or a log truncation was
// detected.
type ResetPolicy int8

const (
	// ResetEarliest moves to the log start offset. It is the default.
	ResetEarliest ResetPolicy = iota
	// ResetLatest moves to the high watermark, skipping to new records.
	ResetLatest
	// ResetNone stops the partition and reports an *OffsetOutOfRangeError
	// (or a *TruncationError) until the caller seeks. A group member that
	// finds no committed offset for a partition (or Assign given
	// AtOffset(-1)) reports a *NoOffsetError instead of picking a start.
	ResetNone
)

// String names the policy as Kafka's auto.offset.reset setting does.
func (p ResetPolicy) String() string {
	switch p {
	case ResetEarliest:
		return "earliest"
	case ResetLatest:
		return "latest"
	case ResetNone:
		return "none"
	}
	return "ResetPolicy(" + strconv.Itoa(int(p)) + ")"
}

// Defaults applied to zero Config fields.
const (
	// DefaultFetchMinBytes is the default Config.FetchMinBytes.
	DefaultFetchMinBytes = 1
	// DefaultFetchMaxWait is the default Config.FetchMaxWait.
	DefaultFetchMaxWait = 500 * time.Millisecond
	// DefaultFetchMaxBytes is the default Config.FetchMaxBytes (as Java's
	// fetch.max.bytes).
	DefaultFetchMaxBytes = 50 << 20
	// DefaultPartitionMaxBytes is the default Config.PartitionMaxBytes (as
	// Java's max.partition.fetch.bytes).
	DefaultPartitionMaxBytes = 1 << 20
	// DefaultMaxBufferedBytes is the default Config.MaxBufferedBytes.
	DefaultMaxBufferedBytes = 64 << 20
)

// Config configures a Consumer. The zero value, with Conn.SeedBrokers
// set, is a working configuration; every zero field takes the default
// named in its comment.
type Config struct {
	// Conn holds the connection settings shared by every Gregor client:
	// seed brokers, TLS, SASL, timeouts, logger and telemetry providers.
	Conn gregor.ConnConfig

	// IsolationLevel picks read_uncommitted (default) or read_committed.
	IsolationLevel IsolationLevel

	// ResetPolicy applies when a position is out of range or a log
	// truncation is detected. Default ResetEarliest.
	ResetPolicy ResetPolicy

	// FetchMinBytes is how many bytes a broker waits for before answering
	// a fetch, up to FetchMaxWait. Default 1.
	FetchMinBytes int32

	// FetchMaxWait is how long a broker may hold a fetch waiting for
	// FetchMinBytes. Default 500ms.
	FetchMaxWait time.Duration

	// FetchMaxBytes caps one fetch response (the broker may exceed it to
	// return one batch larger than the cap). Default 50 MiB.
	FetchMaxBytes int32

	// PartitionMaxBytes caps the data of one partition in one fetch
	// response. Default 1 MiB.
	PartitionMaxBytes int32

	// MaxBufferedBytes is the memory budget for fetched data not yet
	// released by Poll: the record bytes of each partition in the fetch
	// responses, plus the decompressed keys and values of compressed
	// batches, plus the Record each handed-out record takes (about 120
	// bytes). A fetch reserves what it may add and asks the broker for no
	// more than the room left, scaled down by the decompression seen in
	// recent responses; fetching pauses when less than PartitionMaxBytes
	// is left. At least one fetch is always allowed, so memory stays
	// below the budget plus one fetch response (or one batch larger than
	// that). Default 64 MiB.
	MaxBufferedBytes int64

	// MaxPollRecords caps the records one Poll returns (Java's
	// max.poll.records); records past the cap stay buffered for the next
	// Poll. Zero (the default) means no cap: Poll returns everything
	// buffered. A cap bounds the work between Polls, so that marking
	// records processed keeps pace with rebalances.
	MaxPollRecords int

	// Rack is the consumer's rack. When set, it is sent with fetches and a
	// broker may direct the consumer to a replica in the same rack
	// (KIP-392).
	Rack string

	// Group holds the consumer-group settings. With Group.GroupID empty
	// the consumer reads only what Assign gives it.
	Group GroupConfig
}

// ConfigError reports an invalid Config field; it is gregor.ConfigError
// with Config set to "consumer.Config".
type ConfigError = gregor.ConfigError

// Validate reports the first invalid field as a *ConfigError naming it,
// such as "consumer.Config.FetchMaxBytes" or "consumer.Config.Conn.SeedBrokers".
func (c *Config) Validate() error {
	if err := c.Conn.ValidateWithin("consumer.Config", "Conn"); err != nil {
		return err
	}
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Config: "consumer.Config", Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case c.IsolationLevel != ReadUncommitted && c.IsolationLevel != ReadCommitted:
		return bad("IsolationLevel", "unknown level %d", c.IsolationLevel)
	case c.ResetPolicy < ResetEarliest || c.ResetPolicy > ResetNone:
		return bad("ResetPolicy", "unknown policy %d", c.ResetPolicy)
	case c.FetchMinBytes < 0:
		return bad("FetchMinBytes", "negative (%d)", c.FetchMinBytes)
	case c.FetchMaxWait < 0:
		return bad("FetchMaxWait", "negative (%v)", c.FetchMaxWait)
	case c.FetchMaxWait > time.Duration(1<<31-1)*time.Millisecond:
		return bad("FetchMaxWait", "above the protocol's int32 milliseconds (%v)", c.FetchMaxWait)
	case c.FetchMaxBytes < 0:
		return bad("FetchMaxBytes", "negative (%d)", c.FetchMaxBytes)
	case c.PartitionMaxBytes < 0:
		return bad("PartitionMaxBytes", "negative (%d)", c.PartitionMaxBytes)
	case c.MaxBufferedBytes < 0:
		return bad("MaxBufferedBytes", "negative (%d)", c.MaxBufferedBytes)
	case c.MaxPollRecords < 0:
		return bad("MaxPollRecords", "negative (%d)", c.MaxPollRecords)
	}
	if err := c.Group.validate(); err != nil {
		return err
	}
	d := c.WithDefaults()
	if d.PartitionMaxBytes > d.FetchMaxBytes {
		return bad("PartitionMaxBytes", "%d is above FetchMaxBytes (%d)", d.PartitionMaxBytes, d.FetchMaxBytes)
	}
	return nil
}

// WithDefaults returns c with every zero field set to its default,
// including the Conn defaults.
func (c Config) WithDefaults() Config {
	c.Conn = c.Conn.WithDefaults()
	if c.FetchMinBytes == 0 {
		c.FetchMinBytes = DefaultFetchMinBytes
	}
	if c.FetchMaxWait == 0 {
		c.FetchMaxWait = DefaultFetchMaxWait
	}
	if c.FetchMaxBytes == 0 {
		c.FetchMaxBytes = DefaultFetchMaxBytes
	}
	if c.PartitionMaxBytes == 0 {
		c.PartitionMaxBytes = DefaultPartitionMaxBytes
	}
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	c.Group = c.Group.withDefaults()
	return c
}
