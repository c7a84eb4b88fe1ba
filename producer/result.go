package producer

import (
	"errors"
	"strconv"
	"time"
)

// Errors of the producer. Broker errors come as *protocol.Error values
// (errors.Is(err, protocol.ErrMessageTooLarge) and so on), connection
// failures as *gregor.NetworkError.
var (
	// ErrOutcomeUnknown marks a result whose record may or may not have been
	// written: its request reached the network but no answer came before
	// the record's context ended, its delivery timeout passed, or the
	// producer was closed. Reading the partition is the only way to know.
	ErrOutcomeUnknown = errors.New("gregor/producer: outcome unknown, the record may have been written")
	// ErrBufferFull is returned by TryProduce when the buffer caps are
	// reached.
	ErrBufferFull = errors.New("gregor/producer: buffer full")
	// ErrDeliveryTimeout means a record was not sent within
	// Config.DeliveryTimeout; it was not written.
	ErrDeliveryTimeout = errors.New("gregor/producer: delivery timeout")
	// ErrFenced means another producer with the same transactional id (or
	// a newer epoch of this one) took over; this producer can only be
	// closed. Matches protocol.ErrProducerFenced or
	// protocol.ErrInvalidProducerEpoch as well.
	ErrFenced = errors.New("gregor/producer: producer fenced")
	// ErrRecordTooLarge is matched by every *RecordTooLargeError.
	ErrRecordTooLarge = errors.New("gregor/producer: record too large")
	// ErrTransactionState means a transactional call came in the wrong
	// state, such as CommitTransaction without BeginTransaction, or Produce
	// outside a transaction on a transactional producer.
	ErrTransactionState = errors.New("gregor/producer: invalid transaction state")
	// ErrTransactionAbortable means the open transaction hit an error that
	// only an abort recovers from, such as the broker's
	// TRANSACTION_ABORTABLE (KIP-890) or a partition that could not join
	// it: Produce, SendOffsetsToTransaction and CommitTransaction refuse
	// with it until AbortTransaction, after which the producer is usable
	// again. Errors carrying it also match the cause.
	ErrTransactionAbortable = errors.New("gregor/producer: the transaction must be aborted")
)

// RecordTooLargeError reports a record that cannot fit in one request.
type RecordTooLargeError struct {
	// Size is the record's encoded size estimate in bytes.
	Size int
	// Max is the limit, Config.MaxRequestBytes less request overhead.
	Max int
}

// Error states both sizes.
func (e *RecordTooLargeError) Error() string {
	return "gregor/producer: record of " + strconv.Itoa(e.Size) + " bytes is larger than the limit of " + strconv.Itoa(e.Max) + " bytes (Config.MaxRequestBytes)"
}

// Is makes errors.Is(err, ErrRecordTooLarge) true.
func (e *RecordTooLargeError) Is(target error) bool { return target == ErrRecordTooLarge }

// Outcome is the three-way answer a Result gives.
type Outcome uint8

const (
	// Written: the broker acknowledged the record at Result.Offset (with
	// AcksNone: the request was sent, and the offset is -1).
	Written Outcome = iota
	// Failed: the record was definitely not written; Result.Err says why.
	Failed
	// Unknown: the record may have been written; Result.Err wraps
	// ErrOutcomeUnknown and the reason the producer stopped waiting.
	Unknown
)

// String names the outcome.
func (o Outcome) String() string {
	switch o {
	case Written:
		return "written"
	case Failed:
		return "failed"
	case Unknown:
		return "unknown"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// Result is the final word on one produced record. Every record passed to
// Produce gets exactly one Result.
type Result struct {
	// Outcome says whether the record was written, failed, or may have
	// been written.
	Outcome Outcome
	// Err is nil when written; for Failed the reason; for Unknown an error
	// matching ErrOutcomeUnknown.
	Err error
	// Topic and Partition locate the record (Partition is -1 when it
	// failed before one was chosen).
	Topic     string
	Partition int32
	// Offset is the record's offset when written (-1 when the broker did
	// not say, as with AcksNone).
	Offset int64
	// Timestamp is the record's timestamp: the broker's append time when the
	// topic uses log-append time, else the record's own.
	Timestamp time.Time
}

// unknownErr wraps cause with ErrOutcomeUnknown.
func unknownErr(cause error) error {
	if cause == nil {
		return ErrOutcomeUnknown
	}
	return &unknownError{cause: cause}
}

type unknownError struct{ cause error }

// Error says the outcome is unknown and why.
func (e *unknownError) Error() string { return ErrOutcomeUnknown.Error() + ": " + e.cause.Error() }

// Unwrap matches ErrOutcomeUnknown and the cause.
func (e *unknownError) Unwrap() []error {
	return []error{ErrOutcomeUnknown, e.cause}
}

// abortableError wraps the cause of an abortable state with
// ErrTransactionAbortable.
type abortableError struct{ cause error }

// Error says the transaction must be aborted and why.
func (e *abortableError) Error() string {
	return ErrTransactionAbortable.Error() + ": " + e.cause.Error()
}

// Unwrap matches ErrTransactionAbortable and the cause.
func (e *abortableError) Unwrap() []error {
	return []error{ErrTransactionAbortable, e.cause}
}

// fencedError wraps a broker's fencing error with ErrFenced.
type fencedError struct{ cause error }

// Error says the producer was fenced and by which broker error.
func (e *fencedError) Error() string { return ErrFenced.Error() + ": " + e.cause.Error() }

// Unwrap matches ErrFenced and the broker error.
func (e *fencedError) Unwrap() []error {
	return []error{ErrFenced, e.cause}
}
