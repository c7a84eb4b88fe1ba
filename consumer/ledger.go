package consumer

import (
	"context"
	"sync"

	"github.com/gregorkafka/gregor"
)

// handedRec is one record Poll handed out whose processing is not known
// to be finished.
type handedRec struct {
	off   int64
	epoch int32
}

// ledgerPart tracks one owned partition: the records handed out and not
// yet covered by the processed prefix, and the offset that prefix reaches.
type ledgerPart struct {
	pending []handedRec        // handed out, ascending; pending[head:] are live
	head    int                // first live entry of pending
	marked  map[int64]struct{} // marked processed but behind an unmarked one
	next    int64              // offset after the last handed record or start position; -1 unknown
	epoch   int32              // leader epoch of the last record of the prefix
	commit  int64              // offset last committed (or fetched), -1 none
}

// done reports the offset the contiguous processed prefix reaches, which
// is what a commit for the partition may cover, and its leader epoch.
func (lp *ledgerPart) done() (int64, int32) {
	if lp.head < len(lp.pending) {
		return lp.pending[lp.head].off, lp.epoch
	}
	return lp.next, lp.epoch
}

// ledger is the processed-offset ledger of a group member. Lock order:
// Consumer.mu before ledger.mu.
type ledger struct {
	mu      sync.Mutex
	parts   map[TopicPartition]*ledgerPart
	changed chan struct{} // closed and replaced when a mark lands while drain waits
	waiting int           // drain calls waiting on changed
}

func newLedger() *ledger {
	return &ledger{parts: map[TopicPartition]*ledgerPart{}, changed: make(chan struct{})}
}

// own starts tracking a partition whose consumption starts at start
// (-1 when unknown until the first records arrive).
func (l *ledger) own(tp TopicPartition, start int64) {
	l.mu.Lock()
	l.parts[tp] = &ledgerPart{next: start, epoch: -1, commit: start}
	l.mu.Unlock()
}

// release stops tracking partitions.
func (l *ledger) release(tps []TopicPartition) {
	l.mu.Lock()
	for _, tp := range tps {
		delete(l.parts, tp)
	}
	l.mu.Unlock()
	l.notify()
}

func (l *ledger) notify() {
	l.mu.Lock()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// handed records records Poll is returning.
func (l *ledger) handed(tp TopicPartition, recs []gregor.Record, next int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lp := l.parts[tp]
	if lp == nil {
		return
	}
	if lp.head > 0 && lp.head*2 >= len(lp.pending) {
		n := copy(lp.pending, lp.pending[lp.head:])
		lp.pending = lp.pending[:n]
		lp.head = 0
	}
	for i := range recs {
		lp.pending = append(lp.pending, handedRec{recs[i].Offset, recs[i].LeaderEpoch})
	}
	lp.next = max(lp.next, next)
}

// mark records r as processed; it reports false when r's partition is not
// owned any more or r was not handed out (or was already covered).
func (l *ledger) mark(r *gregor.Record) bool {
	l.mu.Lock()
	lp := l.parts[TopicPartition{r.Topic, r.Partition}]
	if lp == nil || lp.head == len(lp.pending) || r.Offset < lp.pending[lp.head].off ||
		r.Offset > lp.pending[len(lp.pending)-1].off {
		l.mu.Unlock()
		return false
	}
	advanced := false
	if h := lp.pending[lp.head]; h.off == r.Offset { // in order: no map needed
		lp.epoch = h.epoch
		lp.head++
		advanced = true
	} else {
		if lp.marked == nil {
			lp.marked = map[int64]struct{}{}
		}
		lp.marked[r.Offset] = struct{}{}
	}
	for lp.head < len(lp.pending) {
		h := lp.pending[lp.head]
		if _, ok := lp.marked[h.off]; !ok {
			break
		}
		delete(lp.marked, h.off)
		lp.epoch = h.epoch
		lp.head++
		advanced = true
	}
	if advanced && l.waiting > 0 { // a new channel per mark would cost an allocation each
		close(l.changed)
		l.changed = make(chan struct{})
	}
	l.mu.Unlock()
	return true
}

// inFlight counts handed records of tps not yet covered by the prefix.
func (l *ledger) inFlight(tps []TopicPartition) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.inFlightLocked(tps)
}

func (l *ledger) inFlightLocked(tps []TopicPartition) int {
	n := 0
	for _, tp := range tps {
		if lp := l.parts[tp]; lp != nil {
			n += len(lp.pending) - lp.head
		}
	}
	return n
}

// drain waits until every handed record of tps is marked, or ctx ends.
func (l *ledger) drain(ctx context.Context, tps []TopicPartition) error {
	for {
		l.mu.Lock()
		if l.inFlightLocked(tps) == 0 {
			l.mu.Unlock()
			return nil
		}
		ch := l.changed
		l.waiting++
		l.mu.Unlock()
		var err error
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		}
		l.mu.Lock()
		l.waiting--
		l.mu.Unlock()
		if err != nil {
			return err
		}
	}
}

// commitOffset is one partition's offset to commit.
type commitOffset struct {
	tp     TopicPartition
	offset int64
	epoch  int32
}

// toCommit lists the partitions of tps (all when tps is nil) whose
// processed prefix is past the last commit.
func (l *ledger) toCommit(tps []TopicPartition) []commitOffset {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []commitOffset
	add := func(tp TopicPartition, lp *ledgerPart) {
		if off, ep := lp.done(); off >= 0 && off != lp.commit {
			out = append(out, commitOffset{tp, off, ep})
		}
	}
	if tps == nil {
		for tp, lp := range l.parts {
			add(tp, lp)
		}
		return out
	}
	for _, tp := range tps {
		if lp := l.parts[tp]; lp != nil {
			add(tp, lp)
		}
	}
	return out
}

// committed notes successful commits.
func (l *ledger) committed(offs []commitOffset) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, o := range offs {
		if lp := l.parts[o.tp]; lp != nil {
			lp.commit = o.offset
		}
	}
}

// Processed returns the offset up to which every handed-out record of tp
// has been marked processed (the offset a commit would send), or false
// when tp is not owned.
func (l *ledger) processed(tp TopicPartition) (int64, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	lp := l.parts[tp]
	if lp == nil {
		return -1, false
	}
	off, _ := lp.done()
	return off, off >= 0
}
