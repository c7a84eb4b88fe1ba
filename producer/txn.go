package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// GroupMetadata identifies a consumer group member for
// SendOffsetsToTransaction, so that the broker can reject offsets from a
// member that was fenced by a rebalance (KIP-447). A consumer gives it out;
// the producer does not import the consumer.
type GroupMetadata struct {
	// GroupID is the consumer group.
	GroupID string
	// GenerationID is the member's generation, or -1 when unknown.
	GenerationID int32
	// MemberID is the member's id, or "" when unknown.
	MemberID string
	// GroupInstanceID is the static member id, or "" when none.
	GroupInstanceID string
}

// txnState tracks a transactional producer's transaction: the partitions
// added to it (records for a partition are sent only once it is added) and
// whether any record of it failed.
type txnState struct {
	mu       sync.Mutex
	fatalErr error
	open     bool
	failed   error               // first record error in the open transaction
	added    map[*partition]bool // partitions the coordinator confirmed
	pending  map[*partition]bool // partitions waiting to be added
	kick     chan struct{}       // wakes the adder
	offsets  bool                // offsets were added to the transaction
}

// enabled reports whether p is transactional.
func (t *txnState) enabled(p *Producer) bool { return p.cfg.TransactionalID != "" }

// checkProduce returns why a record cannot be produced now, if it cannot.
func (t *txnState) checkProduce(p *Producer) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fatalErr != nil {
		return t.fatalErr
	}
	if p.cfg.TransactionalID != "" && !t.open {
		return fmt.Errorf("%w: Produce outside a transaction (call BeginTransaction first)", ErrTransactionState)
	}
	return nil
}

// noteProduce makes sure part is added to the open transaction.
func (t *txnState) noteProduce(p *Producer, part *partition) {
	if p.cfg.TransactionalID == "" {
		return
	}
	t.mu.Lock()
	if _, ok := t.added[part]; !ok && t.pending != nil && !t.pending[part] {
		t.pending[part] = true
		select {
		case t.kick <- struct{}{}:
		default:
		}
	}
	t.mu.Unlock()
}

// canSend reports whether part's batches may be sent: always without
// transactions, once the partition is in the transaction with them.
func (t *txnState) canSend(p *Producer, part *partition) bool {
	if p.cfg.TransactionalID == "" {
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
		p.log.Error("gregor/producer: fatal error, the producer must be closed", slog.Any("err", err))
	}
	t.mu.Unlock()
}

// recordFailed notes a record of the open transaction that was not
// written, which forces an abort.
func (t *txnState) recordFailed(err error) {
	t.mu.Lock()
	if t.open && t.failed == nil {
		t.failed = err
	}
	t.mu.Unlock()
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
	t.open, t.failed, t.offsets = true, nil, false
	t.added, t.pending = map[*partition]bool{}, map[*partition]bool{}
	return nil
}

// CommitTransaction waits for every record of the open transaction to be
// settled and commits it. If any record was not written, it aborts instead
// and returns that record's error. After ErrFenced the producer can only be
// closed. When ctx ends first the transaction stays open: call
// CommitTransaction again or AbortTransaction.
func (p *Producer) CommitTransaction(ctx context.Context) error {
	if err := p.Flush(ctx); err != nil {
		return err
	}
	t := &p.txn
	t.mu.Lock()
	open, failed, fatal := t.open, t.failed, t.fatalErr
	t.mu.Unlock()
	if fatal != nil {
		return fatal
	}
	if !open {
		return fmt.Errorf("%w: no transaction is open", ErrTransactionState)
	}
	if failed != nil {
		if err := p.endTxn(ctx, false); err != nil {
			return errors.Join(fmt.Errorf("gregor/producer: a record of the transaction failed, aborting: %w", failed), err)
		}
		return fmt.Errorf("gregor/producer: transaction aborted, a record failed: %w", failed)
	}
	return p.endTxn(ctx, true)
}

// AbortTransaction waits for the records of the open transaction to be
// settled and aborts it: read_committed consumers never see them.
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
func (p *Producer) endTxn(ctx context.Context, commit bool) error {
	t := &p.txn
	t.mu.Lock()
	started := len(t.added) > 0 || t.offsets
	t.mu.Unlock()
	if started {
		pid, epoch := p.id.current()
		req := protocol.NewEndTxnRequest()
		req.TransactionalId, req.ProducerId, req.ProducerEpoch, req.Committed = p.cfg.TransactionalID, pid, epoch, commit
		_, err := p.txnCall(ctx, cluster.TxnCoordinator, p.cfg.TransactionalID, req, 4, func(r protocol.Response) error {
			return codeErr(r.(*protocol.EndTxnResponse).ErrorCode)
		})
		if err != nil {
			return err
		}
	}
	t.mu.Lock()
	t.open, t.failed, t.offsets = false, nil, false
	t.added, t.pending = nil, nil
	t.mu.Unlock()
	return nil
}

// SendOffsetsToTransaction commits a consumer group's offsets as part of
// the open transaction (KIP-447): they take effect only if it commits.
// offsets maps topic to partition to the next offset to consume.
func (p *Producer) SendOffsetsToTransaction(ctx context.Context, offsets map[string]map[int32]int64, group GroupMetadata) error {
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
	if err := p.waitID(ctx); err != nil {
		return err
	}
	pid, epoch := p.id.current()
	add := protocol.NewAddOffsetsToTxnRequest()
	add.TransactionalId, add.ProducerId, add.ProducerEpoch, add.GroupId = p.cfg.TransactionalID, pid, epoch, group.GroupID
	if _, err := p.txnCall(ctx, cluster.TxnCoordinator, p.cfg.TransactionalID, add, 4, func(r protocol.Response) error {
		return codeErr(r.(*protocol.AddOffsetsToTxnResponse).ErrorCode)
	}); err != nil {
		return err
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
	_, err := p.txnCall(ctx, cluster.GroupCoordinator, group.GroupID, req, 4, func(r protocol.Response) error {
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

// addLoop adds partitions to the open transaction as records for them come.
func (p *Producer) addLoop() {
	defer p.wg.Done()
	t := &p.txn
	for attempt := 0; ; {
		select {
		case <-t.kick:
		case <-p.ctx.Done():
			return
		}
		if err := p.waitID(p.ctx); err != nil {
			return
		}
		t.mu.Lock()
		var parts []*partition
		for part := range t.pending {
			parts = append(parts, part)
		}
		t.mu.Unlock()
		if len(parts) == 0 {
			continue
		}
		pid, epoch := p.id.current()
		req := protocol.NewAddPartitionsToTxnRequest()
		req.V3AndBelowTransactionalId, req.V3AndBelowProducerId, req.V3AndBelowProducerEpoch = p.cfg.TransactionalID, pid, epoch
		byTopic := map[string]int{}
		for _, part := range parts {
			i, ok := byTopic[part.topic]
			if !ok {
				i = len(req.V3AndBelowTopics)
				byTopic[part.topic] = i
				req.V3AndBelowTopics = append(req.V3AndBelowTopics, protocol.AddPartitionsToTxnRequestAddPartitionsToTxnTopic{Name: part.topic})
			}
			req.V3AndBelowTopics[i].Partitions = append(req.V3AndBelowTopics[i].Partitions, part.id)
		}
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Conn.RequestTimeout)
		_, err := p.txnCall(ctx, cluster.TxnCoordinator, p.cfg.TransactionalID, req, 3, func(r protocol.Response) error {
			for _, rt := range r.(*protocol.AddPartitionsToTxnResponse).ResultsByTopicV3AndBelow {
				for _, rp := range rt.ResultsByPartition {
					if err := codeErr(rp.PartitionErrorCode); err != nil && !errors.Is(err, protocol.ErrOperationNotAttempted) {
						return err
					}
				}
			}
			return nil
		})
		cancel()
		if err != nil {
			if p.ctx.Err() != nil {
				return
			}
			attempt++
			p.log.Warn("gregor/producer: adding partitions to the transaction", slog.Any("err", err))
			if errors.Is(err, ErrFenced) || !gregor.IsRetriable(err) && !errors.Is(err, context.DeadlineExceeded) {
				t.fatal(p, err)
				p.failAll(err)
				return
			}
			time.AfterFunc(backoff(p.cfg.Conn.RetryBackoffBase, p.cfg.Conn.RetryBackoffMax, attempt), func() {
				select {
				case t.kick <- struct{}{}:
				default:
				}
			})
			continue
		}
		attempt = 0
		t.mu.Lock()
		for _, part := range parts {
			if t.added != nil {
				t.added[part] = true
			}
			delete(t.pending, part)
		}
		t.mu.Unlock()
		p.wakeAll()
	}
}

// cappedRequest limits a request's version, for APIs whose newer versions
// change semantics this producer does not implement yet (KIP-890).
type cappedRequest struct {
	protocol.Request
	max int16
}

// MaxVersion is the cap.
func (c *cappedRequest) MaxVersion() int16 { return c.max }

// txnCall sends req to a coordinator, retrying on coordinator and
// concurrent-transaction errors until ctx ends; check returns the error a
// response carries. Fencing errors come back wrapped with ErrFenced and
// make the producer fatal.
func (p *Producer) txnCall(ctx context.Context, typ cluster.CoordinatorType, key string, req protocol.Request, max int16, check func(protocol.Response) error) (protocol.Response, error) {
	for attempt := 1; ; attempt++ {
		raw, _, err := p.cl.Do(ctx, cluster.Coordinator(typ, key), cluster.RoleAdmin, &cappedRequest{Request: req, max: max})
		var resp protocol.Response
		if err == nil {
			resp = req.ResponseKind()
			resp.SetVersion(raw.Version)
			if err = resp.Decode(raw.Body); err == nil {
				err = check(resp)
			}
		}
		if err == nil {
			return resp, nil
		}
		if errors.Is(err, protocol.ErrProducerFenced) || errors.Is(err, protocol.ErrInvalidProducerEpoch) ||
			errors.Is(err, protocol.ErrTransactionalIDAuthorizationFailed) {
			err = &fencedError{cause: err}
			p.txn.fatal(p, err)
			return nil, err
		}
		retry := p.cl.HandleCoordinatorError(typ, key, err) || errors.Is(err, protocol.ErrConcurrentTransactions)
		if !retry || ctx.Err() != nil {
			return nil, err
		}
		select {
		case <-time.After(backoff(p.cfg.Conn.RetryBackoffBase, p.cfg.Conn.RetryBackoffMax, attempt)):
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		}
	}
}

// codeErr maps a Kafka error code to its error, nil for 0.
func codeErr(code int16) error {
	if code == 0 {
		return nil
	}
	return protocol.ErrorForCode(code)
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
