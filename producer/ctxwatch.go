package producer

import (
	"bytes"
	"context"
	"slices"
	"sync"

	"github.com/gregorkafka/gregor"
)

// ctxWatch settles records early when the context they were produced with
// ends: failed while still buffered, outcome unknown once sent.
//
// One watcher serves every record of a partition produced with the same
// context (the same Done channel) in a row, across batches: a service
// that produces a stream of records under one long-lived or
// request-scoped context registers with it once, not once per record
// (each registration costs allocations and a map insert in the context)
// nor once per batch (with small batches and several in flight per
// partition that was still most of the producer's allocations).
//
// The partition keeps its latest watcher as current: a record with the
// same context joins it, in whatever batch it lands. A watcher knows the
// batches it has records in; a batch is taken off that list, under the
// partition's mutex, once its records are settled, so that a watcher
// firing later cannot reach it. A watcher that has no batches left and is
// no longer current is unregistered from its context and pooled; the
// current one stays registered, watching nothing, until a record with
// another context replaces it or the producer closes.
type ctxWatch struct {
	ctx  context.Context
	done <-chan struct{}
	part *partition
	// batches, fired and only are guarded by the partition's mutex.
	batches []*batch
	// Once fired is set no record joins: a record produced after that
	// gets a new watcher.
	fired bool
	// only is the record while it is the only one, so that firing needs
	// no scan; it is in batches[0].
	only *rec
	stop func() bool
	// fire is what context.AfterFunc runs, made once per watcher so that
	// a recycled watcher registers without a new closure.
	fire func()
	p    *Producer
}

// watchPool recycles watchers whose AfterFunc was stopped before it ran.
var watchPool sync.Pool

func newWatch(p *Producer, ctx context.Context, done <-chan struct{}, part *partition) *ctxWatch {
	w, _ := watchPool.Get().(*ctxWatch)
	if w == nil {
		w = new(ctxWatch)
		w.fire = func() { w.p.cancelWatch(w) }
	}
	w.ctx, w.done, w.part, w.p = ctx, done, part, p
	return w
}

// watch registers rc, a record of b, with the partition's current watcher
// when that one watches the same context and has not fired, or with a new
// one that becomes current. The partition's mutex is held.
func (b *batch) watch(p *Producer, ctx context.Context, done <-chan struct{}, rc *rec) {
	part := b.p
	w := part.cur
	if w == nil || w.done != done || w.fired {
		if w != nil && len(w.batches) == 0 {
			// Idle and about to stop being current: nothing else can
			// reach it. Stopping an AfterFunc does not wait for it, so
			// this is safe under the mutex its function takes.
			w.retire()
		}
		w = newWatch(p, ctx, done, part)
		part.cur = w
		// If ctx has ended already, the function runs at once on its own
		// goroutine and waits for the partition's mutex, so it still finds
		// rc in the batch.
		w.stop = context.AfterFunc(ctx, w.fire)
	}
	n := len(w.batches)
	if n == 0 {
		w.only = rc
	} else {
		w.only = nil // a second record: firing scans its batches
	}
	if n == 0 || w.batches[n-1] != b {
		w.batches = append(w.batches, b)
		b.watches = append(b.watches, w)
	}
	// w is b's last watcher: it was added just now, or it is the
	// partition's current watcher and was already in b, and a watcher
	// that stops being current never becomes current again, so none was
	// added to b after it.
	rc.watch = uint32(len(b.watches))
}

// cancelWatch settles every record of w that is not settled yet: failed
// if it was still buffered, unknown if it was sent. The batches' record
// lists and the records' states are read and moved under the partition's
// mutex; records that draining removed from a list were settled already.
func (p *Producer) cancelWatch(w *ctxWatch) {
	part := w.part
	err := context.Cause(w.ctx)
	type settled struct {
		rc   *rec
		r    *gregor.Record // the caller's record
		h    hooks
		sent bool
	}
	var recs []settled
	settle := func(b *batch, rc *rec) {
		if rc.state != recDone {
			r := rc.r
			if b.encoded {
				// The batch keeps the record, and a retry encodes it
				// again (see encode) after the caller has it back.
				rc.r = copyRecord(r)
			}
			recs = append(recs, settled{rc, r, b.hooks(), b.drained})
			rc.state = recDone
			b.early++
		}
	}
	part.mu.Lock()
	w.fired = true
	if part.cur == w {
		part.cur = nil
	}
	if w.only != nil {
		// One record per context (a deadline per call) is common: no
		// scan, so that many contexts ending together in one large
		// batch do not each walk the whole batch.
		settle(w.batches[0], w.only)
	} else {
		for _, b := range w.batches {
			for _, rc := range b.recs {
				if rc.watch != 0 && b.watches[rc.watch-1] == w {
					settle(b, rc)
				}
			}
		}
	}
	part.mu.Unlock()
	for _, s := range recs {
		if s.sent {
			p.deliver(part, s.rc, s.r, s.h, Result{Outcome: Unknown, Err: unknownErr(err)})
		} else {
			p.deliver(part, s.rc, s.r, s.h, Result{Outcome: Failed, Err: err})
		}
	}
}

// unwatch takes b, whose records are all settled, off its watchers'
// lists, so that no watcher can reach it any more, and retires the
// watchers left with nothing to watch, except the partition's current
// one. Called with the partition's mutex held.
func (b *batch) unwatch() {
	part := b.p
	for i, w := range b.watches {
		if k := slices.Index(w.batches, b); k >= 0 {
			w.batches = slices.Delete(w.batches, k, k+1)
		}
		if len(w.batches) == 0 {
			w.only = nil
			if w != part.cur && !w.fired {
				w.retire()
			}
		}
		b.watches[i] = nil
	}
	b.watches = b.watches[:0]
}

// retire unregisters w from its context and puts it in watchPool, unless
// its function has started (then w is left to the garbage collector).
// Nothing else may reach w afterwards.
func (w *ctxWatch) retire() {
	if !w.stop() {
		return
	}
	batches := w.batches[:0]
	*w = ctxWatch{fire: w.fire, batches: batches}
	watchPool.Put(w)
}

// unwatchAll retires the partition's current watcher, at Close.
func (part *partition) unwatchAll() {
	part.mu.Lock()
	defer part.mu.Unlock()
	w := part.cur
	part.cur = nil
	if w != nil && len(w.batches) == 0 && !w.fired {
		w.retire()
	}
}

// copyRecord returns a copy of r that shares no memory with it: the part
// of a record that encoding reads (timestamp, key, value, headers), kept
// for a batch that may be encoded again after r's caller had r back.
func copyRecord(r *gregor.Record) *gregor.Record {
	c := &gregor.Record{Topic: r.Topic, Partition: r.Partition, Timestamp: r.Timestamp,
		Key: bytes.Clone(r.Key), Value: bytes.Clone(r.Value)}
	if r.Headers != nil {
		c.Headers = make([]gregor.Header, len(r.Headers))
		for i, h := range r.Headers {
			c.Headers[i] = gregor.Header{Key: h.Key, Value: bytes.Clone(h.Value)}
		}
	}
	return c
}
