package producer

import (
	"context"
	"sync"
)

// ctxWatch settles records early when the context they were produced with
// ends: failed while still buffered, outcome unknown once sent.
//
// One watcher serves every record of a batch produced with the same
// context (the same Done channel), in a row: a service that produces a
// stream of records under one long-lived or request-scoped context
// registers one context.AfterFunc per batch instead of one per record,
// which would cost an allocation and a map insert in the context each.
//
// When a batch is written, its last watcher is parked on the partition
// instead of being stopped: still registered with its context, watching
// no batch. The partition's next batch with records of the same context
// takes it over, so that a producer using one context for a stream of
// records registers with it once, not once per batch (each registration
// costs two allocations, and at low rates a batch can be a few records).
// One watcher at most is parked per partition; the producer stops it at
// Close.
type ctxWatch struct {
	ctx  context.Context
	done <-chan struct{}
	part *partition
	b    *batch // nil while parked; guarded by the partition's mutex
	// fired and only are guarded by the partition's mutex. Once fired is
	// set no record joins: a record produced after that gets a new
	// watcher.
	fired bool
	only  *rec // the record while it is the only one, so that firing needs no scan
	stop  func() bool
	// fire is what context.AfterFunc runs, made once per watcher so that
	// a recycled watcher registers without a new closure.
	fire func()
	p    *Producer
}

// watchPool recycles watchers whose AfterFunc was stopped before it ran.
var watchPool sync.Pool

func newWatch(p *Producer, ctx context.Context, done <-chan struct{}, b *batch, rc *rec) *ctxWatch {
	w, _ := watchPool.Get().(*ctxWatch)
	if w == nil {
		w = new(ctxWatch)
		w.fire = func() { w.p.cancelWatch(w) }
	}
	w.ctx, w.done, w.part, w.b, w.only, w.p = ctx, done, b.p, b, rc, p
	return w
}

// watch registers rc with the batch's current watcher when that one
// watches the same context and has not fired, or with a new one. The
// partition's mutex is held.
func (b *batch) watch(p *Producer, ctx context.Context, done <-chan struct{}, rc *rec) {
	b.watched = true
	var w *ctxWatch
	if n := len(b.watches); n > 0 && b.watches[n-1].done == done && !b.watches[n-1].fired {
		w = b.watches[n-1]
		w.only = nil // a second record: firing scans the batch
	} else if pw := b.p.parked; pw != nil && pw.done == done && !pw.fired {
		// Still registered with this context: no new registration.
		b.p.parked = nil
		w = pw
		w.b, w.only = b, rc
		b.watches = append(b.watches, w)
	} else {
		w = newWatch(p, ctx, done, b, rc)
		b.watches = append(b.watches, w)
		// If ctx has ended already, the function runs at once on its own
		// goroutine and waits for the partition's mutex, so it still finds
		// rc in the batch.
		w.stop = context.AfterFunc(ctx, w.fire)
	}
	rc.watch = w
}

// cancelWatch settles every record of w that is not settled yet: failed
// if it was still buffered, unknown if it was sent. The batch's record
// list and the records' states are read and moved under the partition's
// mutex; records that draining removed from the list were settled already.
func (p *Producer) cancelWatch(w *ctxWatch) {
	part := w.part
	err := context.Cause(w.ctx)
	type settled struct {
		rc   *rec
		sent bool
	}
	var recs []settled
	settle := func(rc *rec) {
		if rc.state != recDone {
			recs = append(recs, settled{rc, rc.state == recSent})
			rc.state = recDone
		}
	}
	part.mu.Lock()
	w.fired = true
	if w.b == nil {
		// Parked (or evicted from parking): no records to settle.
		if part.parked == w {
			part.parked = nil
		}
		part.mu.Unlock()
		return
	}
	if w.only != nil {
		// One record per context (a deadline per call) is common: no
		// scan, so that many contexts ending together in one large
		// batch do not each walk the whole batch.
		settle(w.only)
	} else {
		for _, rc := range w.b.recs {
			if rc.watch == w {
				settle(rc)
			}
		}
	}
	part.mu.Unlock()
	for _, s := range recs {
		if s.sent {
			p.deliver(part, s.rc, Result{Outcome: Unknown, Err: unknownErr(err)})
		} else {
			p.deliver(part, s.rc, Result{Outcome: Failed, Err: err})
		}
	}
}

// stopWatches stops the batch's context watchers once none of its records
// needs one. It reports whether no watcher has run or can still run, which
// a batch must ensure before it is recycled.
//
// A watcher stopped before it ran goes back to watchPool: nothing can
// reach it any more but the batch, whose records and watcher list are
// cleared before the batch is used again. One that ran, or may be
// running, is left to the garbage collector.
func (b *batch) stopWatches() bool {
	quiet := true
	for i, w := range b.watches {
		if w == nil {
			continue // pooled by an earlier call
		}
		if !w.retire() {
			quiet = false
			continue
		}
		b.watches[i] = nil
	}
	return quiet
}

// retire unregisters w from its context and puts it in watchPool, unless
// its function has started (then it reports false and w is left to the
// garbage collector). Nothing else may reach w afterwards.
func (w *ctxWatch) retire() bool {
	if !w.stop() {
		return false
	}
	*w = ctxWatch{fire: w.fire}
	watchPool.Put(w)
	return true
}

// park makes b's last watcher, unless it fired, the partition's parked
// watcher, and returns the one it replaces (nil if none) for the caller to
// retire once the mutex is released. Called with the partition's mutex
// held, when b's records are settled.
func (b *batch) park() (evicted *ctxWatch) {
	k := len(b.watches)
	if k == 0 {
		return nil
	}
	w := b.watches[k-1]
	if w == nil || w.fired {
		return nil
	}
	evicted = b.p.parked
	w.b, w.only = nil, nil
	b.p.parked = w
	b.watches[k-1] = nil
	return evicted
}

// unpark retires the partition's parked watcher, at Close.
func (part *partition) unpark() {
	part.mu.Lock()
	w := part.parked
	part.parked = nil
	part.mu.Unlock()
	if w != nil {
		w.retire()
	}
}
