// Package producer writes records to Kafka: batched per partition, sent to
// each partition's leader with several requests in flight, retried on
// broker failures, idempotent by default and optionally transactional.
//
// # Results
//
// Every record handed to Produce gets exactly one Result through its
// callback, with one of three outcomes:
//
//   - Written: the broker acknowledged it; Partition, Offset and Timestamp
//     say where it is.
//   - Failed: it was definitely not written (rejected by the broker, never
//     sent before its context ended or its delivery timeout passed, or the
//     producer was closed before sending it). Err says why.
//   - Unknown: it may have been written. Its request was on the network when
//     the producer stopped waiting: the record's context ended, its delivery
//     timeout passed, or Close gave up. Err matches ErrOutcomeUnknown.
//
// A record's context bounds its whole life, not only the Produce call: when
// it ends, a record still buffered fails at once and one in flight becomes
// Unknown at once. Use a long-lived context for fire-and-forget records.
//
// Callbacks run on the producer's goroutines, possibly several at once, and
// should return quickly: the callbacks of a small request run on the
// goroutine that reads its connection's responses, so a callback that
// blocks delays the other responses of that connection until, after about
// 10 ms, another goroutine takes over reading them. Producing from a
// callback, even with ProduceSync, therefore works, if slowly. A callback
// may also run inside Produce itself when the record fails before it is
// buffered.
//
// # Transactions
//
// With Config.TransactionalID set, records are produced between
// BeginTransaction and CommitTransaction or AbortTransaction, and
// read_committed consumers see them only once committed.
// SendOffsetsToTransaction adds a consumer group's offsets to the
// transaction, for exactly-once consume-transform-produce (see
// examples/eos). The producer speaks KIP-890's transactions v2 when the
// cluster finalized transaction.version 2 (Kafka 4.0 and later by
// default) and the original protocol otherwise; Config.TransactionProtocol
// can force the original one, and TransactionVersion reports the one in
// use. Errors come typed: ErrFenced when a newer producer took the
// transactional id (the producer can then only be closed),
// ErrTransactionAbortable when the open transaction can only be aborted
// (AbortTransaction, then carry on), ErrTransactionState for a call in the
// wrong state.
package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/broker"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
	"go.opentelemetry.io/otel/trace"
)

func init() {
	if broker.CodecVersions == nil {
		broker.CodecVersions = protocol.SupportedVersions
	}
}

// recordOverhead is an upper bound on a record's framing in a batch:
// length, attributes, deltas and the key and value lengths as varints.
const recordOverhead = 21

// requestOverhead is room left in a request for its header and the batch
// and partition framing.
const requestOverhead = 256

// Record states: pending, then done once settled. Exactly one transition
// reaches done. Whether a pending record was sent yet is its batch's
// drained flag. A record's state is read and moved only under its
// partition's mutex, and only where a context watcher may compete for it
// (see batch.early): a batch that no watcher settled a record of is
// settled as a whole, without touching each record's state.
const (
	recPending uint8 = iota
	recDone
)

// rec is one record on its way. Slabs of them are most of what the garbage
// collector scans of a busy producer's own memory, so a rec holds one
// pointer, the record; its callback, context watcher and span are indexes
// into its batch's tables (see batch), which many records share.
type rec struct {
	r     *gregor.Record
	cb    uint32 // 1 + the callback's index in batch.cbs; 0 for none
	watch uint32 // 1 + its context watcher's index in batch.watches; 0 if the context cannot end
	span  uint32 // 1 + its send span's index in batch.spans; 0 without tracing
	size  int32  // bounded by MaxRequestBytes, an int32 on the wire
	state uint8  // guarded by the partition's mutex
	won   bool   // set by written and resolve on the records they settle
}

// Producer sends records to a Kafka cluster. It is safe for concurrent use.
type Producer struct {
	cfg Config
	cl  *cluster.Cluster
	log *slog.Logger

	ctx    context.Context // ends when Close gives up waiting
	cancel context.CancelFunc
	wg     sync.WaitGroup

	closeMu sync.RWMutex // held for reading while a transactional producer appends a record
	closed  bool
	// closing mirrors closed for the hot path: a partition refuses records once
	// it is set, checked under the partition's lock (see Close).
	closing atomic.Bool

	topicsMu sync.Mutex
	topics   atomic.Pointer[map[string]*topicState]
	// lastTopic is the topic the last record went to, checked before the
	// map lookup: most producers write one topic at a time.
	lastTopic atomic.Pointer[topicState]

	sinksMu sync.Mutex
	sinks   map[int32]*sink

	bufBytes, bufRecs atomic.Int64
	waiters           atomic.Int32 // Produce calls waiting for room
	refused           atomic.Bool  // a TryProduce found no room since room was last returned
	waitNeed          atomic.Int64 // the largest record they wait to fit
	bufMu             sync.Mutex
	bufCh             chan struct{} // closed and replaced to wake waiters
	flushing          atomic.Int32
	delivering        atomic.Int32 // batches whose room was returned but whose callbacks still run

	id      idState
	txn     txnState
	tel     *telemetry
	reqPool sync.Pool
	// clock stamps records that have no timestamp.
	clock *stampClock
}

// topicState is a topic's partitions as the producer knows them.
type topicState struct {
	name   string
	parts  []*partition
	sticky *stickyChooser
	rr     atomic.Uint32
	meta   atomic.Pointer[cluster.Metadata] // the snapshot last checked
	avail  atomic.Pointer[[]int32]          // partitions with a leader in meta
}

// New validates cfg and returns a producer. It does not connect; the first
// record does.
func New(cfg Config) (*Producer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cl, err := cluster.New(cfg.Conn)
	if err != nil {
		return nil, err
	}
	p := &Producer{cfg: cfg, cl: cl, log: cfg.Conn.Logger, sinks: map[int32]*sink{}, bufCh: make(chan struct{}), clock: newStampClock()}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	empty := map[string]*topicState{}
	p.topics.Store(&empty)
	p.tel = newTelemetry(&cfg.Conn)
	p.reqPool.New = func() any { return new(produceRequest) }
	p.id.pid, p.id.epoch = -1, -1
	p.id.reset = make(chan struct{}, 1)
	p.txn.kick = make(chan struct{}, 1)
	p.txn.sync(p)
	if cfg.TransactionalID != "" {
		p.wg.Add(1)
		go p.addLoop()
	}
	if cfg.idempotent() {
		p.wg.Add(1)
		go p.idLoop()
	} else {
		p.id.ready.Store(true)
	}
	p.log.Info("gregor/producer: started", slog.String("acks", cfg.Acks.String()),
		slog.Bool("idempotent", cfg.idempotent()), slog.Bool("transactional", cfg.TransactionalID != ""),
		slog.String("compression", cfg.Compression.String()), slog.Duration("linger", cfg.Linger),
		slog.Int("batch_bytes", cfg.BatchBytes))
	return p, nil
}

// Produce buffers r for sending and arranges for cb to receive its Result
// exactly once (cb may be nil). It blocks while the buffer is full or the
// topic's metadata is not known yet, up to ctx's end; ctx then also bounds
// the record's delivery (see the package documentation). r must not be
// changed until its result arrives; a zero r.Timestamp is set to now.
func (p *Producer) Produce(ctx context.Context, r *gregor.Record, cb func(*gregor.Record, Result)) {
	if err := p.produce(ctx, r, cb, true); err != nil {
		p.failNow(r, cb, err)
	}
}

// TryProduce is Produce without waiting: when the buffer is full it returns
// ErrBufferFull and cb is not called. Other failures before buffering
// (closed producer, unknown topic, too large) are returned too, without
// calling cb. Metadata for a topic not seen before is still waited for.
func (p *Producer) TryProduce(ctx context.Context, r *gregor.Record, cb func(*gregor.Record, Result)) error {
	return p.produce(ctx, r, cb, false)
}

// ProduceSync produces records and waits for all their results, which come
// back in the same order. The error is the first record's error, if any
// failed or has an unknown outcome. When ctx ends, records still buffered
// fail and records in flight come back Unknown.
func (p *Producer) ProduceSync(ctx context.Context, records ...*gregor.Record) ([]Result, error) {
	results := make([]Result, len(records))
	var wg sync.WaitGroup
	wg.Add(len(records))
	for i, r := range records {
		p.Produce(ctx, r, func(_ *gregor.Record, res Result) {
			results[i] = res
			wg.Done()
		})
	}
	wg.Wait()
	for _, res := range results {
		if res.Err != nil {
			return results, res.Err
		}
	}
	return results, nil
}

func (p *Producer) failNow(r *gregor.Record, cb func(*gregor.Record, Result), err error) {
	if cb == nil {
		return
	}
	res := Result{Outcome: Failed, Err: err, Partition: -1, Offset: -1, Timestamp: r.Timestamp}
	if r != nil {
		res.Topic = r.Topic
	}
	cb(r, res)
}

// recordSize estimates r's encoded size in a batch, from above.
func recordSize(r *gregor.Record) int {
	n := recordOverhead + len(r.Key) + len(r.Value) + 5
	for _, h := range r.Headers {
		n += 10 + len(h.Key) + len(h.Value)
	}
	return n
}

func (p *Producer) produce(ctx context.Context, r *gregor.Record, cb func(*gregor.Record, Result), block bool) (err error) {
	if r == nil {
		return errors.New("gregor/producer: nil record")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if r.Topic == "" {
		return errors.New("gregor/producer: record has no topic")
	}
	if err := p.txn.checkProduce(p); err != nil {
		return err
	}
	span := p.tel.startSend(ctx, r)
	defer func() {
		if err != nil {
			endSend(span, Result{Outcome: Failed, Err: err})
		}
	}()
	size := recordSize(r)
	if limit := p.cfg.MaxRequestBytes - requestOverhead - 61; size > limit {
		return &RecordTooLargeError{Size: size, Max: limit}
	}
	ts, err := p.topic(ctx, r.Topic)
	if err != nil {
		return err
	}
	part, err := p.choose(ts, r, size)
	if err != nil {
		return err
	}
	setPartition(span, part.id)
	if err := p.reserve(ctx, size, block); err != nil {
		part.queued.Add(-int64(size))
		return err
	}
	txn := p.cfg.TransactionalID != ""
	if txn {
		p.closeMu.RLock() // Close waits for the partition to be noted
	}
	p.txn.noteProduce(p, part)
	full, ok := part.append(p, ctx, r, cb, size, span)
	if txn {
		p.closeMu.RUnlock()
	}
	if !ok {
		p.release(size, 1)
		part.queued.Add(-int64(size))
		return gregor.ErrClosed
	}
	if ts.sticky != nil && p.cfg.Partitioner == PartitionDefault && r.Key == nil {
		ts.sticky.appended(part.id, size, full)
	}
	return nil
}

// deliver hands res to a record already moved to recDone; r is the
// caller's record (rc.r, unless the batch keeps a copy of it).
func (p *Producer) deliver(part *partition, rc *rec, r *gregor.Record, h hooks, res Result) {
	part.queued.Add(-int64(rc.size))
	p.release(int(rc.size), 1)
	p.report(part, rc, r, &h, &res)
}

// hooks are a batch's callbacks and spans, as the partition's mutex
// showed them: the records listed by then find theirs in it even while
// records are still being added to the batch.
type hooks struct {
	cbs   []func(*gregor.Record, Result)
	spans []trace.Span
}

// hooks returns b's hooks; the partition's mutex is held.
func (b *batch) hooks() hooks { return hooks{b.cbs, b.spans} }

// report completes res for rc and hands it, with the caller's record r,
// to the record's callback, found in h; the caller has returned the
// record's buffer room. res and h are passed by reference, as written
// reports a whole batch with them, but report changes res.
func (p *Producer) report(part *partition, rc *rec, r *gregor.Record, h *hooks, res *Result) {
	res.Topic, res.Partition = part.topic, part.id
	if res.Outcome == Written {
		r.Partition, r.Offset = part.id, res.Offset
		if res.Timestamp.IsZero() {
			res.Timestamp = r.Timestamp
		}
	} else {
		res.Offset = -1
		res.Timestamp = r.Timestamp
	}
	if res.Outcome != Written && p.cfg.TransactionalID != "" {
		p.txn.recordFailed(p, res.Err)
	}
	if rc.span != 0 {
		endSend(h.spans[rc.span-1], *res)
	}
	if rc.cb != 0 {
		h.cbs[rc.cb-1](r, *res)
	}
}

// topic returns the topic's state, waiting up to Config.MetadataWait for
// its metadata.
func (p *Producer) topic(ctx context.Context, name string) (*topicState, error) {
	m := p.cl.Metadata()
	if ts := p.lastTopic.Load(); ts != nil && ts.name == name && (ts.meta.Load() == m || m == nil) {
		return ts, nil
	}
	if ts := (*p.topics.Load())[name]; ts != nil && (ts.meta.Load() == m || m == nil) {
		p.lastTopic.Store(ts)
		return ts, nil
	}
	var deadline time.Time
	for attempt := 0; ; attempt++ {
		m = p.cl.Metadata()
		var t *cluster.Topic
		if m != nil {
			t = m.Topics[name]
		}
		if t != nil && t.Err == nil && len(t.Partitions) > 0 {
			return p.installTopic(name, m, len(t.Partitions)), nil
		}
		if ts := (*p.topics.Load())[name]; ts != nil {
			return ts, nil // metadata lost the topic for now; keep what we had
		}
		if attempt == 0 {
			deadline = time.Now().Add(p.cfg.MetadataWait)
			p.cl.AddTopics(name)
		} else if time.Now().After(deadline) {
			if t != nil && t.Err != nil {
				return nil, fmt.Errorf("gregor/producer: topic %q not available after %s: %w: %w", name, p.cfg.MetadataWait, gregor.ErrUnknownTopic, t.Err)
			}
			return nil, fmt.Errorf("gregor/producer: topic %q not available after %s: %w", name, p.cfg.MetadataWait, gregor.ErrUnknownTopic)
		} else {
			wait := min(time.Until(deadline), p.cfg.Conn.RetryBackoffBase*time.Duration(min(attempt, 10)))
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-p.ctx.Done():
				return nil, gregor.ErrClosed
			}
		}
		rctx, cancel := context.WithDeadline(ctx, deadline)
		err := p.cl.Refresh(rctx)
		cancel()
		if errors.Is(err, gregor.ErrClosed) {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
}

// installTopic creates or extends a topic's partitions for snapshot m.
func (p *Producer) installTopic(name string, m *cluster.Metadata, n int) *topicState {
	p.topicsMu.Lock()
	defer p.topicsMu.Unlock()
	var avail []int32
	for _, mp := range m.Topics[name].Partitions {
		if mp.Leader >= 0 {
			avail = append(avail, mp.Partition)
		}
	}
	old := *p.topics.Load()
	prev := old[name]
	if prev != nil && len(prev.parts) >= n {
		prev.avail.Store(&avail)
		prev.meta.Store(m)
		return prev
	}
	ts := &topicState{name: name, sticky: newStickyChooser(p.cfg.BatchBytes)}
	ts.avail.Store(&avail)
	ts.meta.Store(m)
	if prev != nil {
		ts.parts = append(ts.parts, prev.parts...)
		ts.sticky = prev.sticky
	}
	for i := len(ts.parts); i < n; i++ {
		part := &partition{topic: name, id: int32(i), needLeader: true}
		ts.parts = append(ts.parts, part)
		s := p.sinkFor(-1)
		part.sink = s
		s.add(part)
	}
	return p.putTopic(old, ts)
}

func (p *Producer) putTopic(old map[string]*topicState, ts *topicState) *topicState {
	m := make(map[string]*topicState, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[ts.name] = ts
	p.topics.Store(&m)
	return ts
}

// choose picks r's partition.
func (p *Producer) choose(ts *topicState, r *gregor.Record, size int) (*partition, error) {
	n := len(ts.parts)
	var i int32
	switch p.cfg.Partitioner {
	case PartitionManual:
		i = r.Partition
	case PartitionFunc:
		i = p.cfg.PartitionFunc(r, n)
	case PartitionRoundRobin:
		i = int32((ts.rr.Add(1) - 1) % uint32(n))
	default:
		if r.Key != nil {
			i = KeyPartition(r.Key, n)
		} else {
			i = ts.sticky.partition(n, *ts.avail.Load(), func(i int32) int { return int(ts.parts[i].queued.Load()) })
		}
	}
	if i < 0 || int(i) >= n {
		return nil, fmt.Errorf("gregor/producer: partition %d of topic %q out of range [0, %d): %w", i, ts.name, n, gregor.ErrUnknownTopic)
	}
	part := ts.parts[i]
	part.queued.Add(int64(size))
	return part, nil
}

// reserve takes room for one record in the buffer, waiting when block is
// set.
func (p *Producer) reserve(ctx context.Context, size int, block bool) error {
	for {
		if p.tryReserve(size) {
			return nil
		}
		if !block {
			if !p.refused.Load() && !p.refused.Swap(true) {
				p.wakeAll() // send what lingers (see sink.build)
			}
			return ErrBufferFull
		}
		p.bufMu.Lock()
		ch := p.bufCh
		for need := p.waitNeed.Load(); int64(size) > need && !p.waitNeed.CompareAndSwap(need, int64(size)); need = p.waitNeed.Load() {
		}
		first := p.waiters.Add(1) == 1
		p.bufMu.Unlock()
		if first {
			p.wakeAll() // send what lingers (see sink.build)
		}
		// Registered as a waiter: a release that leaves room enough from
		// now on closes ch (see roomToWake). Room freed before that is seen
		// by checking again.
		if p.hasRoom(size) {
			p.waiters.Add(-1)
			continue
		}
		select {
		case <-ch:
			p.waiters.Add(-1)
		case <-ctx.Done():
			p.waiters.Add(-1)
			return ctx.Err()
		case <-p.ctx.Done():
			p.waiters.Add(-1)
			return gregor.ErrClosed
		}
	}
}

// tryReserve takes room for a record of size bytes if there is some. A
// failed attempt is undone without waking Produce waiters (waking would
// make a blocked Produce wake itself in a loop): the records that filled
// the buffer wake them when they are settled. Only a Flush that may have
// counted the attempt is woken.
func (p *Producer) tryReserve(size int) bool {
	b := p.bufBytes.Add(int64(size))
	n := p.bufRecs.Add(1)
	if (b <= p.cfg.MaxBufferedBytes || b == int64(size)) && n <= p.cfg.MaxBufferedRecords {
		return true
	}
	p.bufBytes.Add(-int64(size))
	if p.bufRecs.Add(-1) == 0 && p.flushing.Load() > 0 {
		p.wakeFlush() // a Flush may have seen this attempt's count
	}
	return false
}

// hasRoom reports whether a record of size bytes would fit now.
func (p *Producer) hasRoom(size int) bool {
	b := p.bufBytes.Load() + int64(size)
	return (b <= p.cfg.MaxBufferedBytes || b == int64(size)) && p.bufRecs.Load()+1 <= p.cfg.MaxBufferedRecords
}

// release returns room to the buffer and wakes waiters once there is room
// enough, and a Flush once the buffer is empty.
func (p *Producer) release(size, n int) {
	bytes := p.bufBytes.Add(-int64(size))
	left := p.bufRecs.Add(-int64(n))
	if p.refused.Load() {
		p.refused.Store(false)
	}
	if (p.waiters.Load() > 0 && p.roomToWake(bytes, left)) || (left == 0 && p.flushing.Load() > 0) {
		p.wakeFlush()
	}
}

// roomToWake reports whether a buffer holding bytes and recs has room
// enough to wake the Produce calls waiting for room: for the largest
// record among them, and for a sixteenth of the buffer's bounds, or the
// buffer is empty. Waking a blocked producer for each settled batch would
// cost a wake-up (and a channel) per batch while it runs flat out, only
// for it to block again a few records later; with this slack it produces
// a run of records per wake-up while the buffer still holds fifteen
// sixteenths of its bound, enough to keep every partition busy.
func (p *Producer) roomToWake(bytes, recs int64) bool {
	if recs == 0 {
		return true
	}
	maxBytes, maxRecs := p.cfg.MaxBufferedBytes, p.cfg.MaxBufferedRecords
	need := max(p.waitNeed.Load(), maxBytes/16)
	return bytes+need <= maxBytes && recs+max(1, maxRecs/16) <= maxRecs
}

// wakeFlush wakes everything waiting for the buffer to change.
func (p *Producer) wakeFlush() {
	p.bufMu.Lock()
	p.waitNeed.Store(0) // the woken waiters register again if they must wait
	close(p.bufCh)
	p.bufCh = make(chan struct{})
	p.bufMu.Unlock()
}

// Flush sends every buffered record without waiting for Linger and waits
// until every record produced before and during the call has its result,
// or ctx ends.
func (p *Producer) Flush(ctx context.Context) error {
	p.flushing.Add(1)
	defer p.flushing.Add(-1)
	p.wakeAll()
	for {
		p.bufMu.Lock()
		ch := p.bufCh
		p.bufMu.Unlock()
		if p.bufRecs.Load() == 0 && p.delivering.Load() == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-p.ctx.Done():
			return gregor.ErrClosed
		}
	}
}

// Buffered returns the number of records produced but not settled yet.
func (p *Producer) Buffered() int64 { return p.bufRecs.Load() }

// Close stops accepting records (Produce then fails with gregor.ErrClosed),
// sends what is buffered and waits for every result, or for ctx. When ctx
// ends first, records not sent yet fail with gregor.ErrClosed and records
// in flight are settled Unknown. A transaction still open is aborted. Close
// returns once every callback has run and every goroutine has exited; it
// returns ctx's error if it had to give up waiting.
func (p *Producer) Close(ctx context.Context) error {
	p.closeMu.Lock()
	already := p.closed
	p.closed = true
	p.closing.Store(true)
	p.closeMu.Unlock()
	if already {
		return gregor.ErrClosed
	}
	// Wait for appends already past the check: each holds its partition's
	// lock, and every later one sees closing. Partitions created from now
	// on see it too.
	for _, ts := range *p.topics.Load() {
		for _, part := range ts.parts {
			part.mu.Lock()
			part.mu.Unlock() //lint:ignore SA2001 an empty critical section is the point: a barrier
		}
	}
	var err error
	if p.txn.enabled(p) {
		err = p.closeTxn(ctx)
	}
	if ferr := p.Flush(ctx); ferr != nil && err == nil {
		err = ferr
	}
	p.cancel()
	var conns []*broker.Conn
	p.sinksMu.Lock()
	for _, s := range p.sinks {
		close(s.quit)
		if c := s.conn.Load(); c != nil {
			conns = append(conns, c)
		}
	}
	p.sinksMu.Unlock()
	// Requests sent async are waited for by nobody: closing their
	// connections settles those still in flight (Unknown) or queued.
	// After a successful Flush nothing is left on them.
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
	p.clock.stop()
	for _, ts := range *p.topics.Load() {
		for _, part := range ts.parts {
			part.unwatchAll()
		}
	}
	// Nothing runs any more: settle what is left.
	for _, ts := range *p.topics.Load() {
		for _, part := range ts.parts {
			part.mu.Lock()
			left := append(append(part.retry, part.inflight...), part.batches...)
			part.retry, part.inflight, part.batches = nil, nil, nil
			part.mu.Unlock()
			for _, b := range left {
				p.failBatch(b, gregor.ErrClosed)
			}
		}
	}
	cctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if cerr := p.cl.Close(cctx); cerr != nil && err == nil && ctx.Err() == nil {
		err = cerr
	}
	p.log.Info("gregor/producer: closed")
	return err
}

// failBatch settles every record of a batch left at Close: Unknown if an
// attempt went unanswered, else failed with err.
func (p *Producer) failBatch(b *batch, err error) {
	p.giveUp(b, err)
}

// wakeAll wakes every sink.
func (p *Producer) wakeAll() {
	p.sinksMu.Lock()
	for _, s := range p.sinks {
		s.wakeup()
	}
	p.sinksMu.Unlock()
}
