package producer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// transactionVersionFeature is the cluster feature whose finalized level
// says which transaction protocol the coordinators run (KIP-890 part 2
// needs level 2).
const transactionVersionFeature = "transaction.version"

// detectTxnVersion decides, before the first InitProducerId, whether this
// transactional producer uses transactions v2: the setting allows it, the
// coordinator reported transaction.version >= 2 among its finalized
// features and it speaks the versions v2 needs (EndTxn v5, TxnOffsetCommit
// v5, Produce v12). Anything missing means v1. The choice stays for the
// producer's life, so a transaction never changes protocol halfway.
func (p *Producer) detectTxnVersion(ctx context.Context) error {
	if p.cfg.TransactionProtocol == TransactionProtocolV1 {
		p.txn.v2.Store(false)
		return nil
	}
	id, err := p.cl.Resolve(ctx, cluster.Coordinator(cluster.TxnCoordinator, p.cfg.TransactionalID))
	if err != nil {
		return err
	}
	conn, err := p.cl.Conn(ctx, id, cluster.RoleAdmin)
	if err != nil {
		return err
	}
	level, ok := conn.FinalizedFeature(transactionVersionFeature)
	v2 := ok && level >= 2
	for _, need := range []struct{ key, min int16 }{
		{protocol.KeyEndTxn, 5}, {protocol.KeyTxnOffsetCommit, 5}, {protocol.KeyProduce, 12},
	} {
		if _, hi, ok := conn.Versions(need.key); !ok || hi < need.min {
			v2 = false
		}
	}
	p.txn.v2.Store(v2)
	p.log.Info("gregor/producer: transaction protocol", slog.Int("version", map[bool]int{false: 1, true: 2}[v2]),
		slog.Int("transaction.version", int(level)), slog.String("setting", p.cfg.TransactionProtocol.String()))
	return nil
}

// addLoop adds partitions to the open transaction as records for them come
// (transactions v1 only; under v2 the Produce request adds them).
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
			if t.v2.Load() {
				// Noted before the protocol was chosen: v2 needs no add.
				if t.added != nil {
					t.added[part] = true
				}
				delete(t.pending, part)
				continue
			}
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
		_, err := p.txnCall(ctx, cluster.TxnCoordinator, p.cfg.TransactionalID, req, 0, 3, func(r protocol.Response) error {
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
			switch {
			case errors.Is(err, ErrFenced) || t.checkFatal() != nil:
				p.failAll(t.checkFatal())
				return
			case errors.Is(err, ErrTransactionAbortable) || !gregor.IsRetriable(err) && !errors.Is(err, context.DeadlineExceeded):
				// The transaction cannot include these partitions: their
				// records fail and the transaction must be aborted.
				aerr := t.abortable(p, err)
				t.mu.Lock()
				for _, part := range parts {
					delete(t.pending, part)
				}
				t.mu.Unlock()
				p.failParts(parts, aerr)
				continue
			}
			time.AfterFunc(cluster.Backoff(p.cfg.Conn.RetryBackoffBase, p.cfg.Conn.RetryBackoffMax, attempt), func() {
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

// failParts fails the buffered (never sent) batches of parts with err.
func (p *Producer) failParts(parts []*partition, err error) {
	for _, part := range parts {
		part.mu.Lock()
		left := append(part.retry, part.batches...)
		part.retry, part.batches = nil, nil
		part.mu.Unlock()
		for _, b := range left {
			p.resolve(b, Result{Outcome: Failed, Err: err})
		}
	}
}

// cappedRequest limits a request's versions to those whose semantics the
// caller implements: transactions v1 and v2 need different ones.
type cappedRequest struct {
	protocol.Request
	lo, hi int16
}

// MaxVersion is the cap.
func (c *cappedRequest) MaxVersion() int16 { return c.hi }

// MinVersion is the floor.
func (c *cappedRequest) MinVersion() int16 { return c.lo }

// txnCall sends req, at a version in [lo, hi], to a coordinator, retrying
// on coordinator and concurrent-transaction errors until ctx ends; check
// returns the error a response carries. Fencing errors come back wrapped
// with ErrFenced and make the producer fatal; TRANSACTION_ABORTABLE comes
// back wrapped with ErrTransactionAbortable and puts the open transaction
// in the abortable state.
func (p *Producer) txnCall(ctx context.Context, typ cluster.CoordinatorType, key string, req protocol.Request, lo, hi int16, check func(protocol.Response) error) (protocol.Response, error) {
	for attempt := 1; ; attempt++ {
		raw, _, err := p.cl.Do(ctx, cluster.Coordinator(typ, key), cluster.RoleAdmin, &cappedRequest{Request: req, lo: lo, hi: hi})
		var resp protocol.Response
		if err == nil {
			if k := req.Key(); k >= 0 && int(k) < len(p.txn.calls) {
				p.txn.calls[k].Add(1)
				p.txn.vers[k].Store(int32(raw.Version))
			}
			resp = req.ResponseKind()
			resp.SetVersion(raw.Version)
			if err = resp.Decode(raw.Body); err == nil {
				err = check(resp)
			}
		}
		if err == nil {
			return resp, nil
		}
		switch {
		case errors.Is(err, protocol.ErrProducerFenced) || errors.Is(err, protocol.ErrInvalidProducerEpoch) ||
			errors.Is(err, protocol.ErrTransactionalIDAuthorizationFailed):
			err = &fencedError{cause: err}
			p.txn.fatal(p, err)
			return nil, err
		case errors.Is(err, protocol.ErrTransactionAbortable):
			return nil, p.txn.abortable(p, err)
		}
		retry := p.cl.HandleCoordinatorError(typ, key, err) || errors.Is(err, protocol.ErrConcurrentTransactions)
		if !retry || ctx.Err() != nil {
			return nil, err
		}
		select {
		case <-time.After(p.retryWait(err, attempt)):
		case <-ctx.Done():
			return nil, fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		}
	}
}

// concurrentTxnWait is the first wait after CONCURRENT_TRANSACTIONS, as
// in the Java client: the coordinator answers so while the previous
// transaction's markers are being written, which usually takes a few
// milliseconds, and waiting the whole retry backoff (100 ms by default)
// would cap a producer at a handful of transactions a second.
const concurrentTxnWait = 20 * time.Millisecond

// retryWait is how long to wait before retry number attempt after err.
func (p *Producer) retryWait(err error, attempt int) time.Duration {
	d := cluster.Backoff(p.cfg.Conn.RetryBackoffBase, p.cfg.Conn.RetryBackoffMax, attempt)
	if errors.Is(err, protocol.ErrConcurrentTransactions) {
		d = min(d, concurrentTxnWait*time.Duration(attempt))
	}
	return d
}

// codeErr maps a Kafka error code to its error, nil for 0.
func codeErr(code int16) error {
	if code == 0 {
		return nil
	}
	return protocol.ErrorForCode(code)
}
