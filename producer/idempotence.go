package producer

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// idState is the producer id and epoch that idempotent batches carry.
type idState struct {
	ready atomic.Bool // an id is known and no reset is pending
	reset chan struct{}

	mu    sync.Mutex
	pid   int64
	epoch int16
	err   error // a fatal error getting an id

	detected bool // the transaction protocol was chosen (idLoop only)
}

func (s *idState) current() (int64, int16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pid, s.epoch
}

// requestReset asks for a new epoch (or id) once every request in flight
// has answered; sending stops until then.
func (p *Producer) requestReset() {
	if !p.cfg.idempotent() {
		return
	}
	p.id.ready.Store(false)
	select {
	case p.id.reset <- struct{}{}:
	default:
	}
}

// idLoop gets the producer id at start and after each reset request.
func (p *Producer) idLoop() {
	defer p.wg.Done()
	for {
		if !p.initID() {
			return
		}
		p.wakeAll()
		select {
		case <-p.id.reset:
		case <-p.ctx.Done():
			return
		}
		p.id.ready.Store(false)
		// Wait until nothing is in flight, so no answer refers to the old
		// sequences.
		for p.inflight() > 0 {
			select {
			case <-time.After(5 * time.Millisecond):
			case <-p.ctx.Done():
				return
			}
		}
		p.renumber()
	}
}

// inflight counts batches in flight over all partitions.
func (p *Producer) inflight() int {
	n := 0
	for _, ts := range *p.topics.Load() {
		for _, part := range ts.parts {
			part.mu.Lock()
			n += len(part.inflight)
			part.mu.Unlock()
		}
	}
	return n
}

// renumber forgets the sequences of every unsent or retried batch, so that
// they are numbered from 0 under the new epoch. A batch with an unanswered
// attempt may already be in the log, and sending it again under a new
// epoch could duplicate it, so it is settled Unknown instead.
func (p *Producer) renumber() {
	for _, ts := range *p.topics.Load() {
		for _, part := range ts.parts {
			part.mu.Lock()
			part.nextSeq = 0
			all := append(part.retry, part.batches...)
			part.retry, part.batches = nil, all[:0]
			var unsure []*batch
			for _, b := range all {
				if b.maybeWritten {
					unsure = append(unsure, b)
					continue
				}
				b.seqSet, b.seqAdjusted = false, false // renumbered when drained
				part.batches = append(part.batches, b)
			}
			part.mu.Unlock()
			for _, b := range unsure {
				p.resolve(b, Result{Outcome: Unknown, Err: unknownErr(errors.New("gregor/producer: producer epoch bumped while the batch's outcome was unresolved"))})
			}
		}
	}
}

// initID runs InitProducerId until it succeeds, bumping the current epoch
// when there is one (KIP-360), and reports false when the producer closed
// or the error is fatal.
func (p *Producer) initID() bool {
	for attempt := 1; ; attempt++ {
		pid, epoch := p.id.current()
		if p.cfg.TransactionalID != "" && !p.id.detected {
			ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Conn.RequestTimeout)
			err := p.detectTxnVersion(ctx)
			cancel()
			if err != nil {
				if p.ctx.Err() != nil {
					return false
				}
				p.log.Warn("gregor/producer: reaching the transaction coordinator", slog.Any("err", err))
				select {
				case <-time.After(cluster.Backoff(p.cfg.Conn.RetryBackoffBase, p.cfg.Conn.RetryBackoffMax, attempt)):
				case <-p.ctx.Done():
					return false
				}
				continue
			}
			p.id.detected = true
		}
		req := protocol.NewInitProducerIdRequest()
		req.ProducerId, req.ProducerEpoch = pid, epoch
		target := cluster.AnyBroker()
		if id := p.cfg.TransactionalID; id != "" {
			req.TransactionalId = &id
			req.TransactionTimeoutMs = int32(p.cfg.TransactionTimeout / time.Millisecond)
			target = cluster.Coordinator(cluster.TxnCoordinator, id)
		}
		ctx, cancel := context.WithTimeout(p.ctx, p.cfg.Conn.RequestTimeout)
		raw, _, err := p.cl.Do(ctx, target, cluster.RoleAdmin, req)
		cancel()
		if err == nil {
			resp := protocol.NewInitProducerIdResponse()
			resp.Version = raw.Version
			if err = resp.Decode(raw.Body); err == nil && resp.ErrorCode != 0 {
				err = protocol.ErrorForCode(resp.ErrorCode)
				if req.TransactionalId != nil {
					p.cl.HandleCoordinatorError(cluster.TxnCoordinator, *req.TransactionalId, err)
				}
			}
			if err == nil {
				p.id.mu.Lock()
				p.id.pid, p.id.epoch = resp.ProducerId, resp.ProducerEpoch
				p.id.mu.Unlock()
				p.id.ready.Store(true)
				p.log.Info("gregor/producer: producer id", slog.Int64("producer_id", resp.ProducerId), slog.Int("epoch", int(resp.ProducerEpoch)))
				return true
			}
		}
		if p.ctx.Err() != nil {
			return false
		}
		if errors.Is(err, protocol.ErrInvalidProducerEpoch) || errors.Is(err, protocol.ErrProducerFenced) {
			if p.cfg.TransactionalID != "" {
				p.txn.fatal(p, &fencedError{cause: err})
				return false
			}
			// Bumping failed (an old broker, or state gone): get a new id.
			p.id.mu.Lock()
			p.id.pid, p.id.epoch = -1, -1
			p.id.mu.Unlock()
			continue
		}
		if !gregor.IsRetriable(err) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, protocol.ErrConcurrentTransactions) {
			p.log.Error("gregor/producer: cannot get a producer id", slog.Any("err", err))
			p.id.mu.Lock()
			p.id.err = err
			p.id.mu.Unlock()
			p.txn.fatal(p, err)
			p.failAll(err)
			return false
		}
		select {
		case <-time.After(cluster.Backoff(p.cfg.Conn.RetryBackoffBase, p.cfg.Conn.RetryBackoffMax, attempt)):
		case <-p.ctx.Done():
			return false
		}
	}
}

// failAll fails every buffered record with err (none is in flight).
func (p *Producer) failAll(err error) {
	for _, ts := range *p.topics.Load() {
		p.failParts(ts.parts, err)
	}
}
