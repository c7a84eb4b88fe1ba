// Package consumer reads records from Kafka partitions, either the ones
// the caller chooses (Assign, without a consumer group) or the ones a
// consumer group gives it (Config.Group).
//
// # Consumer groups
//
// With Config.Group.GroupID set, the consumer joins the group and fetches
// the partitions it is assigned, starting at the group's committed
// offsets (under ResetNone a partition with none reports a
// *NoOffsetError). Do not call Assign, Unassign or Seek on such a
// consumer: the group owns the assignment. GroupConfig.Protocol picks
// one of two protocols:
//
//   - GroupClassic (the default): JoinGroup/SyncGroup, where one member
//     runs the assignors of GroupConfig.Assignors (with the replica racks
//     of each partition, for rack-aware assignment), rebalancing eagerly
//     or cooperatively as the chosen assignor allows.
//   - GroupConsumer (KIP-848, Kafka 4.0 and later): the member only sends
//     ConsumerGroupHeartbeat, at the interval the coordinator asks for,
//     and the broker computes the assignment (GroupConfig.ServerAssignor).
//     The member chooses its own member id (KIP-1082) and sends its
//     subscription (topic names, or TopicRegex resolved by the broker) and
//     rack when it joins and after errors, and otherwise only what changed.
//     It reconciles each target assignment the coordinator returns: the
//     partitions it no longer holds are revoked first (through the revoke
//     barrier below), then the new ones are added, then the next heartbeat
//     acknowledges the result. A fenced member (FENCED_MEMBER_EPOCH,
//     UNKNOWN_MEMBER_ID) loses its partitions (OnLost) and joins again at
//     epoch 0. Commits and offset fetches carry the member epoch. Such a
//     group can mix Gregor and Java members with group.protocol=consumer.
//
// Both support static membership (GroupConfig.InstanceID) and report
// errors that end the membership (a fenced or unreleased instance id, a
// full group, a refused authorization) as a *GroupError from Poll.
//
// Commits follow a processed-offset ledger rather than Poll: the caller
// marks each record it has finished with MarkProcessed, in any order, and
// a commit covers per partition only the records before the first one
// handed out and not yet marked. When a rebalance takes partitions away,
// the consumer stops handing out their records, waits (up to
// GroupConfig.RebalanceTimeout) until the records already handed out are
// marked, commits exactly that, and only then lets the partitions go.
// Close does the same for every owned partition before leaving the group.
// Commits happen on GroupConfig.AutoCommitInterval, on CommitSync and
// CommitAsync, on revoke and on Close.
//
// A Consumer keeps one fetch in flight per broker, with a KIP-227 fetch
// session, and decodes responses while the caller processes what Poll
// returned. Keys, values and headers point into the fetched buffers, which
// are recycled at the next Poll: copy anything kept longer. Buffered data
// is bounded by Config.MaxBufferedBytes, and the records one Poll returns
// by Config.MaxPollRecords.
//
// Leader moves, fenced epochs and stale metadata are retried after a
// metadata refresh (using KIP-951 leader hints when the broker sends
// them); log truncation after an unclean leader change is detected from
// the fetch response's diverging epoch and with OffsetForLeaderEpoch
// (KIP-320); with Config.Rack set, a broker may direct fetches to a
// replica in the same rack (KIP-392).
package consumer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol/record"
	"go.opentelemetry.io/otel/trace"
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String formats the partition as topic[partition].
func (tp TopicPartition) String() string { return fmt.Sprintf("%s[%d]", tp.Topic, tp.Partition) }

type offsetKind uint8

const (
	kindEarliest offsetKind = iota
	kindLatest
	kindExact
	kindTime
)

// Offset is a start position: the earliest or latest offset, an exact
// offset, or the first offset at or after a timestamp.
type Offset struct {
	kind offsetKind
	at   int64
}

// AtEarliest starts at the partition's log start offset.
func AtEarliest() Offset { return Offset{kind: kindEarliest} }

// AtLatest starts at the high watermark: only records written from now on.
func AtLatest() Offset { return Offset{kind: kindLatest} }

// AtOffset starts at an exact offset. If the offset is not in the log the
// reset policy applies.
func AtOffset(o int64) Offset { return Offset{kind: kindExact, at: o} }

// AtTimestamp starts at the first record whose timestamp is at or after t
// (found with ListOffsets), or at the high watermark if there is none.
func AtTimestamp(t time.Time) Offset { return Offset{kind: kindTime, at: t.UnixMilli()} }

// String describes the position.
func (o Offset) String() string {
	switch o.kind {
	case kindEarliest:
		return "earliest"
	case kindLatest:
		return "latest"
	case kindExact:
		return fmt.Sprintf("offset %d", o.at)
	}
	return fmt.Sprintf("timestamp %d", o.at)
}

// OffsetOutOfRangeError reports a position the broker does not have, under
// ResetNone. The partition stops until Seek.
type OffsetOutOfRangeError struct {
	TopicPartition
	Offset int64
	Err    error // the broker's error
}

// Error names the partition and the offset.
func (e *OffsetOutOfRangeError) Error() string {
	return fmt.Sprintf("gregor/consumer: %s: offset %d out of range (reset policy none)", e.TopicPartition, e.Offset)
}

// Unwrap returns the broker's error (protocol.ErrOffsetOutOfRange).
func (e *OffsetOutOfRangeError) Unwrap() error { return e.Err }

// TruncationError reports, under ResetNone, that the log was truncated
// below the consumer's position after a leader change (KIP-320). The
// partition stops until Seek.
type TruncationError struct {
	TopicPartition
	// Offset is the position the consumer had.
	Offset int64
	// DivergingOffset is the first offset the new leader does not share.
	DivergingOffset int64
}

// Error names the partition and both offsets.
func (e *TruncationError) Error() string {
	return fmt.Sprintf("gregor/consumer: %s: log truncated at %d below position %d", e.TopicPartition, e.DivergingOffset, e.Offset)
}

// CorruptBatchError reports a batch that failed to decode (bad CRC,
// malformed, failed decompression). The records before it are returned;
// the partition then stops until Seek, while others continue.
type CorruptBatchError struct {
	TopicPartition
	// Offset is the base offset of the bad batch.
	Offset int64
	// Err is the decoder's error, usually a *record.BatchError.
	Err error
}

// Error names the partition and the batch's offset.
func (e *CorruptBatchError) Error() string {
	return fmt.Sprintf("gregor/consumer: %s: corrupt batch at offset %d: %v", e.TopicPartition, e.Offset, e.Err)
}

// Unwrap returns the decoder's error, so errors.Is(err, record.ErrCRCMismatch) works.
func (e *CorruptBatchError) Unwrap() error { return e.Err }

// PartitionError is a failure of one partition that is not retried, such
// as an authorization error or an unknown topic. The partition stops until
// Seek.
type PartitionError struct {
	TopicPartition
	Err error
}

// Error names the partition.
func (e *PartitionError) Error() string {
	return fmt.Sprintf("gregor/consumer: %s: %v", e.TopicPartition, e.Err)
}

// Unwrap returns the cause.
func (e *PartitionError) Unwrap() error { return e.Err }

// PartitionRecords is what one Poll returns for one partition: a run of
// records in offset order, or an error.
type PartitionRecords struct {
	TopicPartition
	// Records are the records; their Key, Value and Headers are valid until
	// the next Poll.
	Records []gregor.Record
	// HighWatermark, LastStableOffset and LogStartOffset are from the
	// fetch response the records came in.
	HighWatermark    int64
	LastStableOffset int64
	LogStartOffset   int64
	// Err is a partition failure (*CorruptBatchError, *OffsetOutOfRangeError,
	// *TruncationError, *PartitionError); the partition stops until Seek.
	Err error
}

// Fetches is the result of one Poll.
type Fetches []PartitionRecords

// NumRecords counts the records in f.
func (f Fetches) NumRecords() int {
	n := 0
	for i := range f {
		n += len(f[i].Records)
	}
	return n
}

// Errors returns the partition errors in f.
func (f Fetches) Errors() []error {
	var errs []error
	for i := range f {
		if f[i].Err != nil {
			errs = append(errs, f[i].Err)
		}
	}
	return errs
}

// EachRecord calls fn for every record in f, partition by partition.
func (f Fetches) EachRecord(fn func(*gregor.Record)) {
	for i := range f {
		for j := range f[i].Records {
			fn(&f[i].Records[j])
		}
	}
}

// partition is one assigned partition's state, guarded by Consumer.mu.
type partition struct {
	tp  TopicPartition
	gen uint64 // bumped whenever buffered and in-flight data become stale

	pos      int64 // next offset Poll hands out
	posEpoch int32
	fetchOff int64 // next offset to fetch (ahead of pos by the buffered data)
	fetchEp  int32 // leader epoch of the last fetched batch, -1 if none

	reset      *Offset // non-nil: position to look up before fetching
	resetting  bool
	validate   bool // leader changed: check for truncation first
	validating bool
	failed     bool
	paused     bool
	inflight   bool
	backoff    time.Time
	retries    int

	leaderEpoch    int32 // leader epoch known from metadata
	preferred      int32 // KIP-392 read replica, -1 for the leader
	preferredUntil time.Time

	hwm, lso, logStart int64
}

// brokerState is one broker's fetch session, guarded by Consumer.mu.
type brokerState struct {
	id       int32
	inflight bool
	session  fetchSession
}

// Consumer reads assigned partitions. It is safe for concurrent use;
// Poll is meant to be called from one goroutine.
type Consumer struct {
	cfg Config
	cl  *cluster.Cluster
	log *slog.Logger
	dec record.Decoder

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{} // wakes the dispatcher
	data   chan struct{} // wakes Poll

	mu       sync.Mutex
	closed   bool
	closing  bool // Close is committing and leaving the group
	parts    map[TopicPartition]*partition
	brokers  map[int32]*brokerState
	queue    []*partFetch // ready for Poll
	handed   []*partFetch // returned by the last Poll, released by the next
	out      Fetches
	buffered int64 // bytes held by queue and handed
	reserved int64 // bytes in-flight fetches may add
	peak     int64 // highest buffered seen, for tests
	// peakFetch is the most one response added to buffered, for tests.
	peakFetch int64
	respBufs  respPool
	// expansion is how many budget bytes recent responses cost per
	// response byte (decompression and record overhead), 0 until known.
	expansion float64

	fullFetches, incrFetches atomic.Int64
	validations              atomic.Int64 // OffsetForLeaderEpoch checks, for tests
	met                      *metrics
	tracer                   trace.Tracer // nil without ConnConfig.TracerProvider

	grp *group // nil without Config.Group.GroupID
}

// New validates cfg and starts a consumer with nothing assigned. It does
// not connect until partitions are assigned.
func New(cfg Config) (*Consumer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	mp := cfg.Conn.MeterProvider
	cfg = cfg.WithDefaults()
	cl, err := cluster.New(cfg.Conn)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Consumer{
		cfg: cfg, cl: cl, log: cfg.Conn.Logger,
		dec: record.Decoder{MaxDecompressedSize: int(max(int64(cfg.FetchMaxBytes), 8<<20))},
		ctx: ctx, cancel: cancel,
		wake:    make(chan struct{}, 1),
		data:    make(chan struct{}, 1),
		parts:   map[TopicPartition]*partition{},
		brokers: map[int32]*brokerState{},
	}
	c.met = newMetrics(mp, c)
	if tp := cfg.Conn.TracerProvider; tp != nil {
		c.tracer = tp.Tracer(tracerName)
	}
	c.wg.Add(1)
	go c.dispatch()
	if cfg.Group.GroupID != "" {
		c.grp = newGroup(c)
	}
	return c, nil
}

func (c *Consumer) poke() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *Consumer) signalData() {
	select {
	case c.data <- struct{}{}:
	default:
	}
}

// Assign adds partitions with their start positions, replacing the
// position of partitions already assigned. It does not block: positions
// are looked up and fetching starts in the background.
func (c *Consumer) Assign(parts map[TopicPartition]Offset) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return gregor.ErrClosed
	}
	topics := make([]string, 0, len(parts))
	for tp, o := range parts {
		if tp.Partition < 0 || tp.Topic == "" {
			return fmt.Errorf("gregor/consumer: invalid partition %s", tp)
		}
		p := c.parts[tp]
		if p == nil {
			p = &partition{tp: tp, pos: -1, fetchOff: -1, posEpoch: -1, fetchEp: -1, leaderEpoch: -1,
				preferred: -1, hwm: -1, lso: -1, logStart: -1}
			c.parts[tp] = p
			topics = append(topics, tp.Topic)
		}
		c.seekLocked(p, o)
	}
	c.cl.AddTopics(topics...)
	if len(topics) > 0 {
		c.cl.TriggerRefresh()
	}
	c.poke()
	return nil
}

// Unassign stops fetching partitions and drops their buffered records.
func (c *Consumer) Unassign(tps ...TopicPartition) {
	c.mu.Lock()
	for _, tp := range tps {
		if p := c.parts[tp]; p != nil {
			p.gen++
			c.dropQueuedLocked(p)
			delete(c.parts, tp)
		}
	}
	c.mu.Unlock()
	c.poke()
}

// Assigned lists the assigned partitions.
func (c *Consumer) Assigned() []TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]TopicPartition, 0, len(c.parts))
	for tp := range c.parts {
		out = append(out, tp)
	}
	return out
}

// Seek moves an assigned partition to a new position, dropping records
// buffered for it, and clears a stopped partition's error.
func (c *Consumer) Seek(tp TopicPartition, o Offset) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.parts[tp]
	if p == nil {
		return fmt.Errorf("gregor/consumer: Seek: %s: not assigned", tp)
	}
	c.seekLocked(p, o)
	c.poke()
	return nil
}

func (c *Consumer) seekLocked(p *partition, o Offset) {
	p.gen++
	c.dropQueuedLocked(p)
	p.failed, p.validate, p.retries, p.backoff = false, false, 0, time.Time{}
	if o.kind == kindExact && o.at >= 0 {
		p.reset = nil
		p.pos, p.fetchOff, p.posEpoch, p.fetchEp = o.at, o.at, -1, -1
		return
	}
	oc := o
	p.reset = &oc
}

// Pause stops fetching assigned partitions and drops their buffered
// records; Poll returns nothing for them until Resume. Positions are kept.
// Partitions not assigned are ignored.
func (c *Consumer) Pause(tps ...TopicPartition) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, tp := range tps {
		if p := c.parts[tp]; p != nil && !p.paused {
			p.paused = true
			p.gen++
			c.dropQueuedLocked(p)
			if p.reset == nil {
				p.fetchOff, p.fetchEp = p.pos, p.posEpoch
			}
		}
	}
}

// Resume restarts fetching paused partitions from their positions.
func (c *Consumer) Resume(tps ...TopicPartition) {
	c.mu.Lock()
	for _, tp := range tps {
		if p := c.parts[tp]; p != nil {
			p.paused = false
		}
	}
	c.mu.Unlock()
	c.poke()
}

// Position returns the next offset Poll hands out for a partition; ok is
// false if the partition is not assigned or its position is not known yet.
func (c *Consumer) Position(tp TopicPartition) (offset int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.parts[tp]
	if p == nil || p.reset != nil || p.pos < 0 {
		return -1, false
	}
	return p.pos, true
}

// Lag returns the high watermark from the latest fetch minus the position
// (under read_committed, the last stable offset minus the position); ok is
// false until both are known.
func (c *Consumer) Lag(tp TopicPartition) (lag int64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.parts[tp]
	if p == nil {
		return 0, false
	}
	return p.lagLocked(c.cfg.IsolationLevel)
}

func (p *partition) lagLocked(l IsolationLevel) (int64, bool) {
	end := p.hwm
	if l == ReadCommitted && p.lso >= 0 {
		end = p.lso
	}
	if end < 0 || p.pos < 0 || p.reset != nil {
		return 0, false
	}
	return max(end-p.pos, 0), true
}

// BufferedBytes returns the bytes of fetched data held for Poll, counted
// against MaxBufferedBytes.
func (c *Consumer) BufferedBytes() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buffered
}

// Poll waits until records or partition errors are ready, or ctx ends, and
// returns them. Records returned by the previous Poll are released first:
// their keys, values and headers must not be used after this call.
// The returned Fetches slice is reused by the next Poll as well. Poll
// returns gregor.ErrClosed after Close.
func (c *Consumer) Poll(ctx context.Context) (Fetches, error) {
	if c.tracer == nil {
		return c.poll(ctx)
	}
	start := trace.WithTimestamp(time.Now())
	out, err := c.poll(ctx)
	c.tracePoll(ctx, start, out, err)
	return out, err
}

func (c *Consumer) poll(ctx context.Context) (Fetches, error) {
	c.mu.Lock()
	c.releaseHandedLocked()
	out := c.out[:0]
	for len(out) == 0 {
		for len(c.queue) == 0 {
			if c.closed {
				c.mu.Unlock()
				return nil, gregor.ErrClosed
			}
			if c.grp != nil {
				if err := c.grp.fatalErr(); err != nil {
					c.mu.Unlock()
					return nil, err
				}
			}
			c.mu.Unlock()
			select {
			case <-c.data:
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-c.ctx.Done():
			}
			c.mu.Lock()
		}
		n, room, rest := 0, c.cfg.MaxPollRecords, len(c.queue)
		for i, pf := range c.queue {
			p := c.parts[pf.tp]
			if p == nil || p.gen != pf.gen || p.paused {
				c.releaseLocked(pf)
				continue
			}
			recs, next, nextEpoch, perr := pf.recs[pf.taken:], pf.next, pf.nextEpoch, pf.err
			partial := room > 0 && n+len(recs) > room
			if partial { // the rest stays queued, this fetch not released
				recs = recs[:room-n]
				last := &recs[len(recs)-1]
				next, nextEpoch, perr = last.Offset+1, last.LeaderEpoch, nil
				pf.taken += len(recs)
			}
			n += len(recs)
			if perr == nil || len(recs) > 0 {
				// With an error after some records (a corrupt batch),
				// next is the failing batch's offset.
				p.pos, p.posEpoch = next, nextEpoch
				if c.grp != nil {
					c.grp.led.handed(pf.tp, recs, next)
				}
			}
			p.hwm, p.lso, p.logStart = pf.hwm, pf.lso, pf.logStart
			if !partial {
				c.handed = append(c.handed, pf)
			}
			if perr != nil || len(recs) > 0 {
				out = append(out, PartitionRecords{TopicPartition: pf.tp, Records: recs,
					HighWatermark: pf.hwm, LastStableOffset: pf.lso, LogStartOffset: pf.logStart, Err: perr})
				c.met.consumed(ctx, pf.tp.Topic, len(recs))
			}
			if partial || (room > 0 && n == room) {
				rest = i + 1 - btoi(partial)
				break
			}
		}
		m := copy(c.queue, c.queue[rest:])
		clear(c.queue[m:])
		c.queue = c.queue[:m]
	}
	c.out = out
	c.mu.Unlock()
	c.poke()
	return out, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (c *Consumer) releaseHandedLocked() {
	if len(c.handed) == 0 {
		return
	}
	for _, pf := range c.handed {
		c.releaseLocked(pf)
	}
	clear(c.handed)
	c.handed = c.handed[:0]
	c.poke()
}

func (c *Consumer) dropQueuedLocked(p *partition) {
	q := c.queue[:0]
	for _, pf := range c.queue {
		if pf.tp == p.tp {
			if pf.taken > 0 { // the last Poll returned part of it: still in use
				c.handed = append(c.handed, pf)
			} else {
				c.releaseLocked(pf)
			}
			continue
		}
		q = append(q, pf)
	}
	clear(c.queue[len(q):])
	c.queue = q
}

func (c *Consumer) releaseLocked(pf *partFetch) {
	c.buffered -= pf.size
	pf.recycle()
}

// Close stops fetching, waits for the consumer's goroutines (or ctx) and
// closes its connections. Poll returns gregor.ErrClosed afterwards.
func (c *Consumer) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return nil
	}
	c.closing = true
	c.mu.Unlock()
	var gerr error
	if c.grp != nil {
		gerr = c.grp.shutdown(ctx)
	}
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.met.close()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if cerr := c.cl.Close(ctx); cerr != nil && err == nil && !errors.Is(cerr, gregor.ErrClosed) {
		err = cerr
	}
	c.mu.Lock()
	c.releaseHandedLocked()
	for _, pf := range c.queue {
		c.releaseLocked(pf)
	}
	c.queue = nil
	c.mu.Unlock()
	if err == nil {
		err = gerr
	}
	return err
}
