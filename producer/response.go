package producer

// Handling a produce response: each batch is settled, retried or given up.

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/broker"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
)

// handleResponse matches a response's partitions to the request's batches.
func (p *Producer) handleResponse(s *sink, req *produceRequest, raw broker.Response, err error, start time.Time) {
	req.settleWrite()
	notSent := errors.Is(err, broker.ErrNotSent)
	if err == nil && req.noResp {
		for _, b := range req.batches {
			p.handle(s.id, b, nil, &protocol.ProduceResponsePartitionProduceResponse{BaseOffset: -1, LogAppendTimeMs: -1}, false)
		}
		return
	}
	resp := &req.resp
	if err == nil && !req.decoded {
		err = req.decode(s.id, raw)
	}
	if err != nil {
		for _, b := range req.batches {
			p.handle(s.id, b, err, nil, notSent)
		}
		return
	}
	p.cl.Throttled(s.id, resp.ThrottleTimeMs)
	p.tel.request(p.ctx, len(req.batches), req.bytes, time.Since(start))
	var hints []cluster.LeaderHint
	for _, b := range req.batches {
		var pr *protocol.ProduceResponsePartitionProduceResponse
		for i := range resp.Responses {
			t := &resp.Responses[i]
			if t.Name != b.p.topic {
				continue
			}
			for j := range t.PartitionResponses {
				if t.PartitionResponses[j].Index == b.p.id {
					pr = &t.PartitionResponses[j]
				}
			}
		}
		if pr == nil {
			p.handle(s.id, b, &gregor.NetworkError{Broker: s.id, Op: "produce", Err: errors.New("partition missing from response")}, nil, false)
			continue
		}
		var perr error
		if pr.ErrorCode != 0 {
			perr = protocol.ErrorForCode(pr.ErrorCode)
			if pr.CurrentLeader.LeaderId >= 0 && pr.CurrentLeader.LeaderEpoch >= 0 {
				h := cluster.LeaderHint{Topic: b.p.topic, Partition: b.p.id, Leader: pr.CurrentLeader.LeaderId, LeaderEpoch: pr.CurrentLeader.LeaderEpoch}
				for _, e := range resp.NodeEndpoints {
					if e.NodeId == h.Leader {
						h.Endpoint = &cluster.Broker{ID: e.NodeId, Host: e.Host, Port: e.Port}
					}
				}
				hints = append(hints, h)
			}
		}
		p.handle(s.id, b, perr, pr, false)
	}
	if len(hints) > 0 {
		p.cl.ApplyLeaderHints(hints...)
	}
}

// decode decodes a response into the request's own, reusing its lists:
// nothing keeps a pointer into it past the handling of the response.
func (req *produceRequest) decode(brokerID int32, raw broker.Response) error {
	req.resp.Version = raw.Version
	if err := req.resp.DecodeWith(raw.Body, protocol.DecodeOptions{Reuse: true}); err != nil {
		return &gregor.NetworkError{Broker: brokerID, Op: "decode produce response", Err: err}
	}
	req.decoded = true
	return nil
}

// clean reports whether a decoded response accepted every batch.
func (req *produceRequest) clean() bool {
	for i := range req.resp.Responses {
		for _, pr := range req.resp.Responses[i].PartitionResponses {
			if pr.ErrorCode != 0 {
				return false
			}
		}
	}
	return true
}

// handle settles or requeues one batch after its request ended.
func (p *Producer) handle(brokerID int32, b *batch, err error, pr *protocol.ProduceResponsePartitionProduceResponse, notSent bool) {
	part := b.p
	if err == nil || errors.Is(err, protocol.ErrDuplicateSequenceNumber) {
		base, ts := int64(-1), time.Time{}
		if err == nil {
			base = pr.BaseOffset
			if pr.LogAppendTimeMs >= 0 {
				ts = time.UnixMilli(pr.LogAppendTimeMs)
			}
		}
		p.written(b, base, ts)
		return
	}
	if notSent && b.tries == 1 {
		b.tries = 0 // never reached the broker
	}
	if pr == nil && !notSent {
		// No answer for this attempt: the broker may have written it.
		b.maybeWritten = true
	}
	switch {
	case errors.Is(err, protocol.ErrProducerFenced), errors.Is(err, protocol.ErrInvalidProducerEpoch) && p.cfg.TransactionalID != "",
		errors.Is(err, protocol.ErrTransactionalIDAuthorizationFailed):
		p.txn.fatal(p, &fencedError{cause: err})
		p.drop(b, Result{Outcome: Failed, Err: &fencedError{cause: err}})
		return
	case errors.Is(err, protocol.ErrTransactionAbortable) && p.cfg.TransactionalID != "":
		p.drop(b, Result{Outcome: Failed, Err: &abortableError{cause: err}})
		return
	case errors.Is(err, protocol.ErrOutOfOrderSequenceNumber), errors.Is(err, protocol.ErrUnknownProducerID),
		errors.Is(err, protocol.ErrInvalidProducerEpoch):
		part.mu.Lock()
		first := len(part.inflight) > 0 && part.inflight[0] == b && len(part.retry) == 0
		part.mu.Unlock()
		if first && !b.seqAdjusted {
			// The broker lost or never had this producer's state for the
			// partition: start a new epoch and renumber (KIP-360).
			p.log.Warn("gregor/producer: sequence error, resetting producer id", slog.String("topic", part.topic),
				slog.Int("partition", int(part.id)), slog.Any("err", err))
			p.requestReset()
		}
		p.requeue(brokerID, b, err)
		return
	}
	if gregor.IsRetriable(err) || notSent || errors.Is(err, context.Canceled) && p.ctx.Err() == nil {
		p.cl.HandleError(err)
		p.requeue(brokerID, b, err)
		return
	}
	if p.ctx.Err() != nil {
		p.drop(b, Result{Outcome: Unknown, Err: unknownErr(gregor.ErrClosed)})
		return
	}
	// The broker rejected the batch: not written.
	p.drop(b, Result{Outcome: Failed, Err: err})
	if b.seqSet {
		if p.cfg.TransactionalID == "" && sentBehind(b) {
			// Batches sent behind b carry sequence numbers past a gap. A
			// broker that has state for this producer on the partition
			// answers them out of order; one that has none yet (b was
			// the producer's first batch there, or its state expired)
			// writes them. Numbering them down would then reuse numbers
			// the log already holds, and the broker would take the next
			// batch for a duplicate of an earlier one: silent loss. A new
			// epoch numbers what is left from 0 in both cases.
			p.requestReset()
		} else {
			p.shiftSequences(b)
		}
	}
}

// sentBehind reports whether a batch numbered after b, under b's epoch,
// has been sent: it is in flight or waits to be retried.
func sentBehind(b *batch) bool {
	part := b.p
	part.mu.Lock()
	defer part.mu.Unlock()
	for _, list := range [][]*batch{part.inflight, part.retry} {
		for _, x := range list {
			if x.seqSet && x.tries > 0 && x.seq > b.seq && x.pid == b.pid && x.epoch == b.epoch {
				return true
			}
		}
	}
	return false
}

// requeue puts b in line to be retried after the partition's in-flight
// requests have all answered, or gives up on it past its delivery timeout.
func (p *Producer) requeue(brokerID int32, b *batch, err error) {
	part := b.p
	if time.Since(b.first) >= p.cfg.DeliveryTimeout || p.ctx.Err() != nil {
		p.drop(b, Result{})
		if b.seqSet && b.tries > 0 {
			p.requestReset()
		}
		if p.ctx.Err() != nil {
			err = gregor.ErrClosed
		}
		p.giveUp(b, err)
		return
	}
	part.mu.Lock()
	i := len(part.retry)
	for i > 0 && part.retry[i-1].seq > b.seq {
		i--
	}
	part.retry = append(part.retry, nil)
	copy(part.retry[i+1:], part.retry[i:])
	part.retry[i] = b
	part.removeInflight(b)
	part.needLeader = true
	part.attempts++
	part.backoff = time.Now().Add(p.retryWait(err, part.attempts))
	s, tries := part.sink, b.tries
	part.mu.Unlock()
	p.log.Debug("gregor/producer: retrying batch", slog.String("topic", part.topic), slog.Int("partition", int(part.id)),
		slog.Int("broker", int(brokerID)), slog.Int("tries", tries), slog.Any("err", err))
	s.wakeup()
}

// drop removes b from its partition's in-flight list and, unless res is
// the zero Result, settles its records with res.
func (p *Producer) drop(b *batch, res Result) {
	part := b.p
	part.mu.Lock()
	part.removeInflight(b)
	part.mu.Unlock()
	if res != (Result{}) {
		p.resolve(b, res)
	}
}

// resolve settles all of b's records that are not settled yet with res
// and takes it off its context watchers' lists, as they have nothing left
// to settle in it. The partition's mutex must not be held.
func (p *Producer) resolve(b *batch, res Result) {
	part := b.p
	part.mu.Lock()
	for _, rc := range b.recs {
		rc.won = rc.state != recDone
		rc.state = recDone
	}
	b.unwatch()
	h := b.hooks()
	part.mu.Unlock()
	for _, rc := range b.recs {
		if rc.won {
			rc.won = false
			p.deliver(part, rc, rc.r, h, res)
		}
	}
}

// giveUp settles b after its delivery timeout: Unknown if some attempt
// went unanswered (it may have been written), else failed (every attempt
// was refused by a broker, or none was made).
// The cause is ErrDeliveryTimeout joined with the last error, or
// gregor.ErrClosed when Close gave up.
func (p *Producer) giveUp(b *batch, cause error) {
	if cause != ErrDeliveryTimeout && cause != gregor.ErrClosed {
		cause = errors.Join(ErrDeliveryTimeout, cause)
	}
	if b.maybeWritten {
		p.resolve(b, Result{Outcome: Unknown, Err: unknownErr(cause)})
		return
	}
	p.resolve(b, Result{Outcome: Failed, Err: cause})
}

// shiftSequences renumbers the partition's later batches after b was
// rejected, so that the broker sees no gap.
func (p *Producer) shiftSequences(b *batch) {
	part := b.p
	part.mu.Lock()
	defer part.mu.Unlock()
	for _, list := range [][]*batch{part.inflight, part.retry, part.batches} {
		for _, x := range list {
			if x.seqSet && x.seq > b.seq && x.pid == b.pid && x.epoch == b.epoch {
				x.seq -= b.n
				x.seqAdjusted = true
				x.restamp = x.encoded // rewritten before its next attempt (see encode)
			}
		}
	}
	if part.nextSeq > b.seq {
		part.nextSeq -= b.n
	}
}
