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
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// GroupMetadata identifies the consumer group member whose offsets
// SendOffsetsToTransaction commits; a group consumer's GroupMetadata
// method returns it. It is gregor.GroupMetadata.
type GroupMetadata = gregor.GroupMetadata

// txnState tracks a transactional producer's transaction: the partitions
// added to it (under v1, records for a partition are sent only once it is
// added) and whether any record of it failed.
type txnState struct {
	v2    atomic.Bool      // transactions v2 (KIP-890) are in use
	calls [32]atomic.Int64 // requests sent per API key below 32, for tests
	vers  [32]atomic.Int32 // version of the last request per API key
	// refuse is set while checkProduce may refuse a record (a fatal or
	// abortable error, or no open transaction), so that the common case
	// costs one atomic load instead of the mutex; see sync.
	refuse   atomic.Bool
	mu       sync.Mutex    // guards the fields below
	kick     chan struct{} // wakes the adder
	fatalErr error
	abortErr error // set: only an abort can end the open transaction
	open     bool
	failed   error               // first record error in the open transaction
	added    map[*partition]bool // partitions in the transaction
	pending  map[*partition]bool // partitions waiting to be added (v1)
	offsets  bool                // offsets were added to the transaction
}

// sync recomputes refuse from the fields it summarises; called with t.mu
// held after any of them changes.
func (t *txnState) sync(p *Producer) {
	t.refuse.Store(t.fatalErr != nil || t.abortErr != nil || p.cfg.TransactionalID != "" && !t.open)
}

// enabled reports whether p is transactional.
func (t *txnState) enabled(p *Producer) bool { return p.cfg.TransactionalID != "" }

// checkProduce returns why a record cannot be produced now, if it cannot.
func (t *txnState) checkProduce(p *Producer) error {
	if !t.refuse.Load() {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fatalErr != nil {
		return t.fatalErr
	}
	if p.cfg.TransactionalID != "" && !t.open {
		return fmt.Errorf("%w: Produce outside a transaction (call BeginTransaction first)", ErrTransactionState)
	}
	if t.abortErr != nil {
		return t.abortErr
	}
	return nil
}

// noteProduce makes sure part is added to the open transaction: under v2
// the Produce request adds it, under v1 the adder must first.
func (t *txnState) noteProduce(p *Producer, part *partition) {
	if p.cfg.TransactionalID == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.added == nil || t.added[part] {
		return
	}
	if t.v2.Load() {
		t.added[part] = true
		return
	}
	if !t.pending[part] {
		t.pending[part] = true
		select {
		case t.kick <- struct{}{}:
		default:
		}
	}
}

// canSend reports whether part's batches may be sent: always without
// transactions or under v2, once the partition is in the transaction
// under v1.
func (t *txnState) canSend(p *Producer, part *partition) bool {
	if p.cfg.TransactionalID == "" || t.v2.Load() {
		return true
	}
	t.mu.Lock()
	ok := t.added[part]
	t.mu.Unlock()
	return ok
}

// fatal puts the producer in an error state that only Close leaves.
func (t *txnState) fatal(p *Producer, err error) {
	t.mu.Lock()
	if t.fatalErr == nil {
		t.fatalErr = err
		t.sync(p)
		p.log.Error("gregor/producer: fatal error, the producer must be closed", slog.Any("err", err))
	}
	t.mu.Unlock()
}

// abortable puts the open transaction in a state only an abort leaves.
func (t *txnState) abortable(p *Producer, cause error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.abortErr == nil && t.open {
		var ae *abortableError
		if !errors.As(cause, &ae) {
			ae = &abortableError{cause: cause}
		}
		t.abortErr = ae
		t.sync(p)
		p.log.Warn("gregor/producer: the transaction must be aborted", slog.Any("err", cause))
	}
	if t.abortErr != nil {
		return t.abortErr
	}
	return cause
}

// recordFailed notes a record of the open transaction that was not
// written, which forces an abort.
func (t *txnState) recordFailed(p *Producer, err error) {
	if errors.Is(err, protocol.ErrTransactionAbortable) {
		t.abortable(p, err)
	}
	t.mu.Lock()
	if t.open && t.failed == nil {
		t.failed = err
	}
	t.mu.Unlock()
}

// TransactionVersion reports the transaction protocol in use: 2 for
// KIP-890's transactions v2, 1 for the original protocol, 0 before the
// producer id is known or when the producer is not transactional.
func (p *Producer) TransactionVersion() int {
	switch {
	case p.cfg.TransactionalID == "" || !p.id.ready.Load():
		return 0
	case p.txn.v2.Load():
		return 2
	}
	return 1
}

// BeginTransaction opens a transaction: records produced until
// CommitTransaction or AbortTransaction belong to it. It does not block.
func (p *Producer) BeginTransaction() error {
	if p.cfg.TransactionalID == "" {
		return fmt.Errorf("%w: not a transactional producer (Config.TransactionalID is empty)", ErrTransactionState)
	}
	t := &p.txn
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.fatalErr != nil:
		return t.fatalErr
	case t.open:
		return fmt.Errorf("%w: a transaction is already open", ErrTransactionState)
	}
	p.closeMu.RLock()
	closed := p.closed
	p.closeMu.RUnlock()
	if closed {
		return gregor.ErrClosed
	}
	t.open, t.failed, t.offsets, t.abortErr = true, nil, false, nil
	t.sync(p)
	t.added, t.pending = map[*partition]bool{}, map[*partition]bool{}
	return nil
}

// CommitTransaction waits for every record of the open transaction to be
// settled and commits it. If any record was not written, it aborts instead
// and returns that record's error. In the abortable state it commits
// nothing and returns an error matching ErrTransactionAbortable: call
// AbortTransaction. After ErrFenced the producer can only be closed. When
// ctx ends first the transaction stays open: call CommitTransaction again
// or AbortTransaction.
func (p *Producer) CommitTransaction(ctx context.Context) error {
	if err := p.Flush(ctx); err != nil {
		return err
	}
	t := &p.txn
	t.mu.Lock()
	open, failed, fatal, abortErr := t.open, t.failed, t.fatalErr, t.abortErr
	t.mu.Unlock()
	switch {
	case fatal != nil:
		return fatal
	case !open:
		return fmt.Errorf("%w: no transaction is open", ErrTransactionState)
	case abortErr != nil:
		return abortErr
	case failed != nil:
		if err := p.endTxn(ctx, false); err != nil {
			return errors.Join(fmt.Errorf("gregor/producer: a record of the transaction failed, aborting: %w", failed), err)
		}
		return fmt.Errorf("gregor/producer: transaction aborted, a record failed: %w", failed)
	}
	return p.endTxn(ctx, true)
}

// AbortTransaction waits for the records of the open transaction to be
// settled and aborts it: read_committed consumers never see them, and
// offsets sent with it are not committed. It also leaves the abortable
// state.
func (p *Producer) AbortTransaction(ctx context.Context) error {
	if err := p.Flush(ctx); err != nil {
		return err
	}
	t := &p.txn
	t.mu.Lock()
	open, fatal := t.open, t.fatalErr
	t.mu.Unlock()
	if fatal != nil {
		return fatal
	}
	if !open {
		return fmt.Errorf("%w: no transaction is open", ErrTransactionState)
	}
	return p.endTxn(ctx, false)
}

// endTxn ends the open transaction once the partitions being added are in.
// Under v2 the coordinator answers with the epoch (or, when the epoch ran
// out, the producer id) the next transaction must use, and sequences start
// over at 0 with it.
func (p *Producer) endTxn(ctx context.Context, commit bool) error {
	t := &p.txn
	t.mu.Lock()
	// Under v2 a partition noted before the protocol was chosen is still
	// pending, but its records may have reached the broker, which added it.
	started := len(t.added) > 0 || t.offsets || t.v2.Load() && len(t.pending) > 0
	t.mu.Unlock()
	if started {
		pid, epoch := p.id.current()
		v2 := t.v2.Load()
		req := protocol.NewEndTxnRequest()
		req.TransactionalId, req.ProducerId, req.ProducerEpoch, req.Committed = p.cfg.TransactionalID, pid, epoch, commit
		lo, hi := int16(0), int16(4)
		if v2 {
			lo, hi = 5, 5
		}
		resp, err := p.txnCall(ctx, cluster.TxnCoordinator, p.cfg.TransactionalID, req, lo, hi, func(r protocol.Response) error {
			return codeErr(r.(*protocol.EndTxnResponse).ErrorCode)
		})
		if err != nil {
			return err
		}
		if er := resp.(*protocol.EndTxnResponse); v2 && er.ProducerId >= 0 {
			p.newEpoch(er.ProducerId, er.ProducerEpoch)
		}
	}
	t.mu.Lock()
	t.open, t.failed, t.offsets, t.abortErr = false, nil, false, nil
	t.sync(p)
	t.added, t.pending = nil, nil
	t.mu.Unlock()
	return nil
}

// newEpoch installs the producer id and epoch an EndTxn v5 response gave
// and restarts every partition's sequence at 0. Nothing is in flight: the
// transaction's records were all settled before EndTxn.
func (p *Producer) newEpoch(pid int64, epoch int16) {
	p.id.mu.Lock()
	old := p.id.epoch
	p.id.pid, p.id.epoch = pid, epoch
	p.id.mu.Unlock()
	for _, ts := range *p.topics.Load() {
		for _, part := range ts.parts {
			part.mu.Lock()
			part.nextSeq = 0
			part.mu.Unlock()
		}
	}
	p.log.Debug("gregor/producer: transaction ended, new epoch", slog.Int64("producer_id", pid),
		slog.Int("epoch", int(epoch)), slog.Int("previous_epoch", int(old)))
}

// SendOffsetsToTransaction commits a consumer group's offsets as part of
// the open transaction (KIP-447): they take effect only if it commits.
// offsets maps topic to partition to the next offset to consume. Under v1
// the group's offsets partition first joins the transaction through
// AddOffsetsToTxn; under v2 TxnOffsetCommit adds it.
func (p *Producer) SendOffsetsToTransaction(ctx context.Context, offsets map[string]map[int32]int64, group GroupMetadata) error {
	if group.GroupID == "" {
		return errors.New("gregor/producer: SendOffsetsToTransaction: GroupMetadata.GroupID is empty")
	}
	t := &p.txn
	t.mu.Lock()
	open, fatal, abortErr := t.open, t.fatalErr, t.abortErr
	t.mu.Unlock()
	switch {
	case fatal != nil:
		return fatal
	case !open:
		return fmt.Errorf("%w: no transaction is open", ErrTransactionState)
	case abortErr != nil:
		return abortErr
	}
	if err := p.waitID(ctx); err != nil {
		return err
	}
	pid, epoch := p.id.current()
	v2 := t.v2.Load()
	if !v2 {
		add := protocol.NewAddOffsetsToTxnRequest()
		add.TransactionalId, add.ProducerId, add.ProducerEpoch, add.GroupId = p.cfg.TransactionalID, pid, epoch, group.GroupID
		if _, err := p.txnCall(ctx, cluster.TxnCoordinator, p.cfg.TransactionalID, add, 0, 4, func(r protocol.Response) error {
			return codeErr(r.(*protocol.AddOffsetsToTxnResponse).ErrorCode)
		}); err != nil {
			return err
		}
	}
	t.mu.Lock()
	t.offsets = true
	t.mu.Unlock()
	req := protocol.NewTxnOffsetCommitRequest()
	req.TransactionalId, req.GroupId, req.ProducerId, req.ProducerEpoch = p.cfg.TransactionalID, group.GroupID, pid, epoch
	req.GenerationId, req.MemberId = group.GenerationID, group.MemberID
	if group.GroupInstanceID != "" {
		id := group.GroupInstanceID
		req.GroupInstanceId = &id
	}
	for topic, parts := range offsets {
		rt := protocol.TxnOffsetCommitRequestTopic{Name: topic}
		for part, off := range parts {
			rt.Partitions = append(rt.Partitions, protocol.TxnOffsetCommitRequestPartition{PartitionIndex: part, CommittedOffset: off, CommittedLeaderEpoch: -1})
		}
		req.Topics = append(req.Topics, rt)
	}
	lo, hi := int16(0), int16(4)
	if v2 {
		lo, hi = 5, 5
	}
	_, err := p.txnCall(ctx, cluster.GroupCoordinator, group.GroupID, req, lo, hi, func(r protocol.Response) error {
		for _, rt := range r.(*protocol.TxnOffsetCommitResponse).Topics {
			for _, rp := range rt.Partitions {
				if err := codeErr(rp.ErrorCode); err != nil {
					return fmt.Errorf("%s[%d]: %w", rt.Name, rp.PartitionIndex, err)
				}
			}
		}
		return nil
	})
	return err
}

// waitID waits until the producer id is known.
func (p *Producer) waitID(ctx context.Context) error {
	for !p.id.ready.Load() {
		if err := p.txn.checkFatal(); err != nil {
			return err
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		case <-p.ctx.Done():
			return gregor.ErrClosed
		}
	}
	return nil
}

func (t *txnState) checkFatal() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.fatalErr
}

// closeTxn aborts an open transaction on Close.
func (p *Producer) closeTxn(ctx context.Context) error {
	p.txn.mu.Lock()
	open := p.txn.open && p.txn.fatalErr == nil
	p.txn.mu.Unlock()
	if !open {
		return nil
	}
	return p.AbortTransaction(ctx)
}
