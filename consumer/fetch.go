package consumer

import (
	"errors"
	"log/slog"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/compression"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/gregorkafka/gregor/protocol/record"
)

// preferredReplicaTTL is how long a KIP-392 preferred read replica is used
// before asking the leader again (Java uses metadata.max.age.ms).
const preferredReplicaTTL = 5 * time.Minute

// legacyAttrOffset is where a magic 0 or 1 message keeps its attributes:
// after the offset, size, CRC and magic fields.
const legacyAttrOffset = 8 + 4 + 4 + 1

// partFetch is one partition's records from one fetch response, waiting
// for or handed out by Poll.
type partFetch struct {
	tp                 TopicPartition
	gen                uint64
	recs               []gregor.Record
	next               int64 // position after these records
	nextEpoch          int32
	hwm, lso, logStart int64
	err                error
	size               int64 // bytes counted against the budget
	taken              int   // records already returned by Poll (Config.MaxPollRecords)

	recBuf *[]gregor.Record
	hdrBuf *[]gregor.Header
	held   []*record.Batch // batches owning decompressed data
	resp   *respBuf        // the response buffer the records alias
}

var (
	recPool   = sync.Pool{New: func() any { s := make([]gregor.Record, 0, 256); return &s }}
	hdrPool   = sync.Pool{New: func() any { s := make([]gregor.Header, 0, 16); return &s }}
	batchPool = sync.Pool{New: func() any { return new(record.Batch) }}
	pfPool    = sync.Pool{New: func() any { return new(partFetch) }}
)

func (pf *partFetch) recycle() {
	// Slabs are cleared up to their length only: pooled slabs are zero
	// beyond it, since every use is cleared before it is put back.
	if pf.recBuf != nil {
		clear(pf.recs)
		*pf.recBuf = pf.recs[:0]
		recPool.Put(pf.recBuf)
	}
	if pf.hdrBuf != nil {
		clear(*pf.hdrBuf)
		*pf.hdrBuf = (*pf.hdrBuf)[:0]
		hdrPool.Put(pf.hdrBuf)
	}
	for _, b := range pf.held {
		batchPool.Put(b)
	}
	if pf.resp != nil {
		pf.resp.release()
	}
	clear(pf.held)
	held := pf.held[:0]
	*pf = partFetch{held: held}
	pfPool.Put(pf)
}

// fetchSession is a KIP-227 session with one broker: what the broker
// remembers of each partition, so incremental fetches list only changes.
type fetchSession struct {
	id    int32
	epoch int32
	parts map[TopicPartition]sessPart
}

type sessPart struct {
	offset       int64
	leaderEpoch  int32
	lastFetchedE int32
}

func (s *fetchSession) reset() {
	s.id, s.epoch = 0, 0
	clear(s.parts)
}

// fetchPart is one partition in a fetch request, as it was when sent.
type fetchPart struct {
	p           *partition
	gen         uint64
	offset      int64
	leaderEpoch int32
	fetchEp     int32
	preferred   bool
}

// fetchReq adds the fetch wait to the request timeout and caps the
// version when topic ids are missing.
type fetchReq struct {
	*protocol.FetchRequest
	wait   time.Duration
	maxVer int16
	*respBuf
}

func (r fetchReq) ExtraTimeout() time.Duration { return r.wait }
func (r fetchReq) MaxVersion() int16           { return min(r.maxVer, codecMax(r.Key())) }
func (r fetchReq) MinVersion() int16           { return codecMin(r.Key()) }

// versioned gives a codec request the versions the codec can encode.
type versioned struct{ protocol.Request }

func (r versioned) MaxVersion() int16 { return codecMax(r.Key()) }
func (r versioned) MinVersion() int16 { return codecMin(r.Key()) }

func codecMax(key int16) int16 { _, hi, _ := protocol.SupportedVersions(key); return hi }
func codecMin(key int16) int16 { lo, _, _ := protocol.SupportedVersions(key); return lo }

// dispatch starts fetches and position look-ups as partitions and brokers
// become ready, until Close.
func (c *Consumer) dispatch() {
	defer c.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	groups := map[int32][]*partition{}
	for {
		next := c.dispatchOnce(groups)
		d := time.Hour
		if !next.IsZero() {
			d = max(time.Until(next), time.Millisecond)
		}
		timer.Reset(d)
		select {
		case <-c.ctx.Done():
			return
		case <-c.wake:
		case <-timer.C:
		}
	}
}

func (c *Consumer) dispatchOnce(groups map[int32][]*partition) (next time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	now := time.Now()
	meta := c.cl.Metadata()
	later := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for id := range groups {
		groups[id] = groups[id][:0]
	}
	var lookups map[int32][]lookupItem // allocated when needed
	for _, p := range c.parts {
		if p.paused || p.failed || p.inflight || p.resetting || p.validating {
			continue
		}
		if now.Before(p.backoff) {
			later(p.backoff)
			continue
		}
		leader, epoch, ok := leaderOf(meta, p.tp)
		if !ok {
			// Wait for metadata: poll it quickly at first (the refresh
			// Assign triggered is usually under way), then back off.
			c.cl.TriggerRefresh()
			p.retries++
			d := 5 * time.Millisecond << min(p.retries-1, 10)
			p.backoff = now.Add(min(d, c.cfg.Conn.RetryBackoffMax))
			later(p.backoff)
			continue
		}
		if p.reset != nil {
			p.resetting = true
			if lookups == nil {
				lookups = map[int32][]lookupItem{}
			}
			lookups[leader] = append(lookups[leader], lookupItem{p: p, gen: p.gen, o: *p.reset})
			continue
		}
		if p.leaderEpoch >= 0 && epoch > p.leaderEpoch && p.fetchEp >= 0 {
			p.validate = true
		}
		p.leaderEpoch = epoch
		if p.validate {
			p.validating = true
			c.wg.Add(1)
			go c.validate(p, p.gen, leader, epoch)
			continue
		}
		id := leader
		if p.preferred >= 0 {
			if now.Before(p.preferredUntil) {
				id = p.preferred
			} else {
				p.preferred = -1
			}
		}
		groups[id] = append(groups[id], p)
	}
	for leader, items := range lookups {
		c.wg.Add(1)
		go c.lookup(leader, items)
	}
	for id, ps := range groups {
		if len(ps) == 0 {
			continue
		}
		b := c.brokers[id]
		if b == nil {
			b = &brokerState{id: id, session: fetchSession{parts: map[TopicPartition]sessPart{}}}
			c.brokers[id] = b
		}
		if b.inflight {
			continue
		}
		reserve, ok := c.reserveLocked(len(ps))
		if !ok {
			continue // over budget: Poll's release wakes us
		}
		c.reserved += reserve
		b.inflight = true
		fps := make([]fetchPart, len(ps))
		for i, p := range ps {
			p.inflight = true
			fps[i] = fetchPart{p: p, gen: p.gen, offset: p.fetchOff, leaderEpoch: p.leaderEpoch,
				fetchEp: p.fetchEp, preferred: id != leaderOr(meta, p.tp)}
		}
		req := c.buildLocked(b, fps, meta)
		req.MaxBytes = int32(min(int64(req.MaxBytes), c.fetchCapLocked(reserve)))
		c.wg.Add(1)
		go c.fetch(b, fps, req, reserve)
	}
	return next
}

func leaderOf(meta *cluster.Metadata, tp TopicPartition) (leader, epoch int32, ok bool) {
	if meta == nil {
		return -1, -1, false
	}
	t := meta.Topics[tp.Topic]
	if t == nil || t.Err != nil || int(tp.Partition) >= len(t.Partitions) {
		return -1, -1, false
	}
	pm := &t.Partitions[tp.Partition]
	if pm.Partition != tp.Partition || pm.Leader < 0 {
		return -1, -1, false
	}
	if _, known := meta.Brokers[pm.Leader]; !known {
		return -1, -1, false
	}
	return pm.Leader, pm.LeaderEpoch, true
}

func leaderOr(meta *cluster.Metadata, tp TopicPartition) int32 {
	l, _, _ := leaderOf(meta, tp)
	return l
}

func (c *Consumer) backoffLocked(p *partition, now time.Time) {
	p.retries++
	d := c.cfg.Conn.RetryBackoffBase << min(p.retries-1, 10)
	p.backoff = now.Add(min(d, c.cfg.Conn.RetryBackoffMax))
}

// buildLocked makes the fetch request for fps, full or incremental
// against b's session, and records what the session will hold.
func (c *Consumer) buildLocked(b *brokerState, fps []fetchPart, meta *cluster.Metadata) fetchReq {
	s := &b.session
	req := protocol.NewFetchRequest()
	req.ReplicaId = -1
	req.ReplicaState.ReplicaId = -1
	req.MaxWaitMs = int32(c.cfg.FetchMaxWait / time.Millisecond)
	req.MinBytes = c.cfg.FetchMinBytes
	req.MaxBytes = c.cfg.FetchMaxBytes
	req.IsolationLevel = int8(c.cfg.IsolationLevel)
	req.RackId = c.cfg.Rack
	maxVer := int16(math.MaxInt16)
	full := s.id == 0
	if full {
		clear(s.parts)
		req.SessionId, req.SessionEpoch = 0, 0
	} else {
		req.SessionId, req.SessionEpoch = s.id, s.epoch
	}
	want := make(map[TopicPartition]struct{}, len(fps))
	topicIdx := map[string]int{}
	for _, fp := range fps {
		tp := fp.p.tp
		want[tp] = struct{}{}
		sp := sessPart{offset: fp.offset, leaderEpoch: fp.leaderEpoch, lastFetchedE: fp.fetchEp}
		if old, ok := s.parts[tp]; ok && !full && old == sp {
			continue
		}
		s.parts[tp] = sp
		i, ok := topicIdx[tp.Topic]
		if !ok {
			i = len(req.Topics)
			topicIdx[tp.Topic] = i
			var id protocol.UUID
			if t := meta.Topics[tp.Topic]; t != nil {
				id = t.ID
			}
			if id == (protocol.UUID{}) {
				maxVer = 12
			}
			req.Topics = append(req.Topics, protocol.FetchRequestFetchTopic{Topic: tp.Topic, TopicId: id})
		}
		part := protocol.FetchRequestFetchPartition{}
		part.Default()
		part.Partition = tp.Partition
		part.CurrentLeaderEpoch = fp.leaderEpoch
		if fp.preferred {
			part.CurrentLeaderEpoch = -1
		}
		part.FetchOffset = fp.offset
		part.LastFetchedEpoch = fp.fetchEp
		part.PartitionMaxBytes = c.cfg.PartitionMaxBytes
		req.Topics[i].Partitions = append(req.Topics[i].Partitions, part)
	}
	if !full {
		forgot := map[string]int{}
		for tp := range s.parts {
			if _, ok := want[tp]; ok {
				continue
			}
			delete(s.parts, tp)
			i, ok := forgot[tp.Topic]
			if !ok {
				i = len(req.ForgottenTopicsData)
				forgot[tp.Topic] = i
				var id protocol.UUID
				if t := meta.Topics[tp.Topic]; t != nil {
					id = t.ID
				}
				if id == (protocol.UUID{}) {
					maxVer = 12
				}
				req.ForgottenTopicsData = append(req.ForgottenTopicsData, protocol.FetchRequestForgottenTopic{Topic: tp.Topic, TopicId: id})
			}
			req.ForgottenTopicsData[i].Partitions = append(req.ForgottenTopicsData[i].Partitions, tp.Partition)
		}
	}
	if full {
		c.fullFetches.Add(1)
	} else {
		c.incrFetches.Add(1)
	}
	return fetchReq{FetchRequest: req, wait: c.cfg.FetchMaxWait, maxVer: maxVer}
}

// fetch sends one fetch to broker b and queues its results.
func (c *Consumer) fetch(b *brokerState, fps []fetchPart, req fetchReq, reserve int64) {
	defer c.wg.Done()
	req.respBuf = &respBuf{pool: &c.respBufs}
	resp, err := c.roundTrip(b.id, req)
	var respLen int
	var pfs []*partFetch
	var sessionErr bool
	retry := map[*partition]bool{} // partitions to back off
	if err == nil {
		// The buffer is only read once the response was delivered: after
		// a failed call the connection's reader may still be filling it.
		respLen = len(req.respBuf.buf)
		pfs, sessionErr, err = c.handleResponse(b.id, fps, resp, retry)
		// Only a delivered response's buffer is done being written and
		// may be recycled; after a failed call it is left to the GC.
		req.respBuf.share(pfs)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	c.reserved -= reserve
	b.inflight = false
	if err != nil || sessionErr {
		b.session.reset()
	} else if s := &b.session; s.id != 0 {
		if s.epoch == math.MaxInt32 {
			s.epoch = 1
		} else {
			s.epoch++
		}
	}
	now := time.Now()
	for _, fp := range fps {
		fp.p.inflight = false
		if err != nil && fp.p.gen == fp.gen && c.ctx.Err() == nil {
			c.backoffLocked(fp.p, now)
		}
	}
	if err != nil && c.ctx.Err() == nil {
		c.log.Debug("gregor/consumer: fetch failed", slog.Int("broker", int(b.id)), slog.Any("err", err))
		c.cl.HandleError(err)
	}
	for p := range retry {
		c.backoffLocked(p, now)
	}
	queued := false
	var counted int64
	for _, pf := range pfs {
		p := c.parts[pf.tp]
		if p == nil || p.gen != pf.gen || c.closed {
			pf.recycle()
			continue
		}
		if pf.err == nil {
			p.retries = 0
			if pf.next > p.fetchOff {
				p.fetchOff, p.fetchEp = pf.next, pf.nextEpoch
			} else if len(pf.recs) == 0 {
				p.hwm, p.lso, p.logStart = pf.hwm, pf.lso, pf.logStart
				pf.recycle()
				continue
			}
		}
		c.buffered += pf.size
		counted += pf.size
		if pf.err != nil {
			p.failed = true
		}
		c.queue = append(c.queue, pf)
		queued = true
	}
	c.learnExpansionLocked(counted, respLen)
	c.peak = max(c.peak, c.buffered)
	if queued {
		c.signalData()
	}
	c.poke()
}

func (c *Consumer) roundTrip(id int32, req fetchReq) (protocol.FetchResponse, error) {
	var resp protocol.FetchResponse
	conn, err := c.cl.Conn(c.ctx, id, cluster.RoleFetch)
	if err != nil {
		return resp, err
	}
	raw, err := conn.Do(c.ctx, req)
	if err != nil {
		return resp, err
	}
	resp.Version = raw.Version
	if err := resp.DecodeWith(raw.Body, protocol.DecodeOptions{Alias: true}); err != nil {
		return resp, &gregor.NetworkError{Broker: id, Op: "decode fetch response", Err: err}
	}
	c.cl.Throttled(id, resp.ThrottleTimeMs)
	c.met.fetched(c.ctx, len(raw.Body))
	return resp, nil
}

// handleResponse turns a response into per-partition results. It runs
// without the lock; partition state changes other than positions are
// applied under the lock here.
func (c *Consumer) handleResponse(id int32, fps []fetchPart, resp protocol.FetchResponse, retry map[*partition]bool) (pfs []*partFetch, sessionErr bool, err error) {
	if err := protocol.ErrorForCode(resp.ErrorCode); err != nil {
		if errors.Is(err, protocol.ErrFetchSessionIDNotFound) || errors.Is(err, protocol.ErrInvalidFetchSessionEpoch) ||
			errors.Is(err, protocol.ErrFetchSessionTopicIDError) {
			c.log.Debug("gregor/consumer: fetch session reset", slog.Int("broker", int(id)), slog.Any("err", err))
			return nil, true, nil
		}
		return nil, false, err
	}
	c.mu.Lock()
	b := c.brokers[id]
	if b != nil && b.session.id == 0 && resp.SessionId != 0 {
		b.session.id, b.session.epoch = resp.SessionId, 0
	}
	meta := c.cl.Metadata()
	c.mu.Unlock()

	byTP := make(map[TopicPartition]*fetchPart, len(fps))
	for i := range fps {
		byTP[fps[i].p.tp] = &fps[i]
	}
	var hints []cluster.LeaderHint
	for ti := range resp.Responses {
		rt := &resp.Responses[ti]
		topic := rt.Topic
		if resp.Version >= 13 && meta != nil {
			if t := meta.TopicsByID[rt.TopicId]; t != nil {
				topic = t.Name
			}
		}
		for pi := range rt.Partitions {
			pd := &rt.Partitions[pi]
			fp := byTP[TopicPartition{topic, pd.PartitionIndex}]
			if fp == nil {
				continue
			}
			pf, hint := c.handlePartition(id, fp, pd, resp.NodeEndpoints, retry)
			if hint != nil {
				hints = append(hints, *hint)
			}
			if pf != nil {
				pfs = append(pfs, pf)
			}
		}
	}
	if len(hints) > 0 {
		// KIP-951: move the partitions to their new leaders at once; those
		// whose hint could not be applied (an unknown broker without an
		// address) wait for the metadata refresh instead.
		c.cl.ApplyLeaderHints(hints...)
		meta = c.cl.Metadata()
		for _, h := range hints {
			tp := TopicPartition{h.Topic, h.Partition}
			if l, e, ok := leaderOf(meta, tp); !ok || l != h.Leader || e != h.LeaderEpoch {
				if fp := byTP[tp]; fp != nil {
					retry[fp.p] = true
				}
			}
		}
	}
	return pfs, false, nil
}

func (c *Consumer) handlePartition(id int32, fp *fetchPart, pd *protocol.FetchResponsePartitionData,
	eps []protocol.FetchResponseNodeEndpoint, retry map[*partition]bool) (*partFetch, *cluster.LeaderHint) {
	tp := fp.p.tp
	perr := protocol.ErrorForCode(pd.ErrorCode)
	if perr == nil && pd.PreferredReadReplica >= 0 && pd.PreferredReadReplica != id {
		c.mu.Lock()
		if fp.p.gen == fp.gen {
			fp.p.preferred = pd.PreferredReadReplica
			fp.p.preferredUntil = time.Now().Add(preferredReplicaTTL)
		}
		c.mu.Unlock()
		c.poke()
		return nil, nil
	}
	if perr == nil && pd.DivergingEpoch.EndOffset >= 0 && pd.DivergingEpoch.Epoch >= 0 {
		c.truncated(fp.p, fp.gen, fp.offset, pd.DivergingEpoch.EndOffset)
		return nil, nil
	}
	pf := pfPool.Get().(*partFetch)
	pf.tp, pf.gen, pf.next, pf.nextEpoch = tp, fp.gen, fp.offset, fp.fetchEp
	pf.hwm, pf.lso, pf.logStart = pd.HighWatermark, pd.LastStableOffset, pd.LogStartOffset
	switch {
	case perr == nil:
	case errors.Is(perr, protocol.ErrOffsetOutOfRange) && !fp.preferred:
		if c.cfg.ResetPolicy == ResetNone {
			pf.err = &OffsetOutOfRangeError{TopicPartition: tp, Offset: fp.offset, Err: perr}
			return pf, nil
		}
		c.mu.Lock()
		if fp.p.gen == fp.gen {
			o := AtEarliest()
			if c.cfg.ResetPolicy == ResetLatest {
				o = AtLatest()
			}
			c.log.Info("gregor/consumer: offset out of range, resetting", slog.String("partition", tp.String()),
				slog.Int64("offset", fp.offset), slog.String("to", o.String()))
			fp.p.gen++
			c.dropQueuedLocked(fp.p)
			fp.p.reset = &o
		}
		c.mu.Unlock()
		pf.recycle()
		return nil, nil
	case protocol.IsRetriable(perr) || errors.Is(perr, protocol.ErrOffsetOutOfRange):
		pf.recycle()
		var hint *cluster.LeaderHint
		c.mu.Lock()
		fp.p.preferred = -1
		if cl := pd.CurrentLeader; cl.LeaderId >= 0 && cl.LeaderEpoch > fp.leaderEpoch {
			hint = &cluster.LeaderHint{Topic: tp.Topic, Partition: tp.Partition, Leader: cl.LeaderId, LeaderEpoch: cl.LeaderEpoch}
			for _, ep := range eps {
				if ep.NodeId == cl.LeaderId {
					hint.Endpoint = &cluster.Broker{ID: ep.NodeId, Host: ep.Host, Port: ep.Port}
				}
			}
		} else {
			retry[fp.p] = true
		}
		c.mu.Unlock()
		c.cl.HandleError(perr)
		c.log.Debug("gregor/consumer: partition fetch error, retrying", slog.String("partition", tp.String()),
			slog.Int("broker", int(id)), slog.Any("err", perr))
		return nil, hint
	default:
		pf.err = &PartitionError{TopicPartition: tp, Err: perr}
		return pf, nil
	}
	c.decode(pf, fp.offset, pd)
	return pf, nil
}

// decode appends the records of pd at or after offset to pf.
func (c *Consumer) decode(pf *partFetch, offset int64, pd *protocol.FetchResponsePartitionData) {
	pf.recBuf = recPool.Get().(*[]gregor.Record)
	recs := (*pf.recBuf)[:0]
	var hdrs []gregor.Header
	var aborted []protocol.FetchResponseAbortedTransaction
	var active map[int64]bool
	if c.cfg.IsolationLevel == ReadCommitted && len(pd.AbortedTransactions) > 0 {
		aborted = sortAborted(pd.AbortedTransactions)
		active = map[int64]bool{}
	}
	size := int64(len(pd.Records))
	scratch := batchPool.Get().(*record.Batch)
	defer func() { batchPool.Put(scratch) }()
	sc := record.NewScanner(pd.Records)
	for sc.Next() {
		raw := sc.Batch()
		compressed := false
		if sc.Magic() == record.MagicV2 {
			if h, err := record.ParseHeader(raw); err == nil {
				if h.NextOffset() <= offset {
					continue // entirely before the fetch offset
				}
				compressed = h.Attributes.Codec() != compression.None
			}
		} else if len(raw) > legacyAttrOffset {
			compressed = raw[legacyAttrOffset]&0x07 != 0
		}
		b := scratch
		if compressed {
			b = batchPool.Get().(*record.Batch)
		}
		if err := c.dec.Decode(b, raw); err != nil {
			if compressed {
				batchPool.Put(b)
			}
			pf.err = &CorruptBatchError{TopicPartition: pf.tp, Offset: sc.BaseOffset(), Err: err}
			break
		}
		next := b.NextOffset()
		if n := len(b.Records); n > 0 && b.Records[n-1].Offset+1 > next {
			next = b.Records[n-1].Offset + 1
		}
		if b.Attributes.Control() {
			if commit, _, ok := b.TxnMarker(); ok && !commit && active != nil {
				delete(active, b.ProducerID)
			}
			pf.next = max(pf.next, next)
			if compressed {
				batchPool.Put(b)
			}
			continue
		}
		if active != nil && b.Attributes.Transactional() {
			for len(aborted) > 0 && aborted[0].FirstOffset <= b.LastOffset() {
				active[aborted[0].ProducerId] = true
				aborted = aborted[1:]
			}
			if active[b.ProducerID] {
				pf.next = max(pf.next, next)
				if compressed {
					batchPool.Put(b)
				}
				continue
			}
		}
		epoch := b.PartitionLeaderEpoch
		if b.Magic < record.MagicV2 {
			epoch = -1
		}
		recs = slices.Grow(recs, len(b.Records))
		for i := range b.Records {
			r := &b.Records[i]
			if r.Offset < offset {
				continue
			}
			recs = append(recs, gregor.Record{Topic: pf.tp.Topic, Partition: pf.tp.Partition, Key: r.Key, Value: r.Value,
				Timestamp: time.UnixMilli(r.Timestamp), Offset: r.Offset, LeaderEpoch: epoch})
			if len(r.Headers) > 0 {
				if hdrs == nil {
					pf.hdrBuf = hdrPool.Get().(*[]gregor.Header)
					hdrs = (*pf.hdrBuf)[:0]
				}
				start := len(hdrs)
				for _, h := range r.Headers {
					hdrs = append(hdrs, gregor.Header{Key: intern(h.Key), Value: h.Value})
				}
				recs[len(recs)-1].Headers = hdrs[start:len(hdrs):len(hdrs)]
			}
		}
		if compressed {
			// The batch's storage stays alive with the records.
			size += b.Retained()
			pf.held = append(pf.held, b)
		}
		pf.next = max(pf.next, next)
		if epoch >= 0 {
			pf.nextEpoch = epoch
		}
	}
	if pf.err == nil && sc.Err() != nil {
		pf.err = &CorruptBatchError{TopicPartition: pf.tp, Offset: sc.BaseOffset(), Err: sc.Err()}
		if be := (*record.BatchError)(nil); errors.As(sc.Err(), &be) {
			pf.err.(*CorruptBatchError).Offset = be.BaseOffset
		}
	}
	if pf.hdrBuf != nil {
		*pf.hdrBuf = hdrs
	}
	*pf.recBuf = recs
	pf.recs = recs
	pf.size = size + int64(len(recs))*recordOverhead
}

var (
	internMu sync.RWMutex
	interned = map[string]string{}
)

// intern returns header keys as shared strings, so repeated keys do not
// allocate.
func intern(b []byte) string {
	internMu.RLock()
	s, ok := interned[string(b)]
	internMu.RUnlock()
	if ok {
		return s
	}
	s = string(b)
	internMu.Lock()
	if len(interned) < 4096 {
		interned[s] = s
	}
	internMu.Unlock()
	return s
}

func sortAborted(a []protocol.FetchResponseAbortedTransaction) []protocol.FetchResponseAbortedTransaction {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j].FirstOffset < a[j-1].FirstOffset; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
	return a
}

// truncated handles a log truncation detected below offset: under a reset
// policy the partition continues at the diverging offset; under ResetNone
// it stops with a *TruncationError.
func (c *Consumer) truncated(p *partition, gen uint64, offset, diverge int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p.gen != gen {
		return
	}
	c.log.Warn("gregor/consumer: log truncation detected", slog.String("partition", p.tp.String()),
		slog.Int64("position", offset), slog.Int64("diverging_offset", diverge))
	p.gen++
	c.dropQueuedLocked(p)
	if c.cfg.ResetPolicy == ResetNone {
		p.failed = true
		pf := pfPool.Get().(*partFetch)
		pf.tp, pf.gen, pf.hwm, pf.lso, pf.logStart = p.tp, p.gen, p.hwm, p.lso, p.logStart
		pf.err = &TruncationError{TopicPartition: p.tp, Offset: offset, DivergingOffset: diverge}
		c.queue = append(c.queue, pf)
		c.signalData()
		return
	}
	p.pos, p.fetchOff, p.posEpoch, p.fetchEp = diverge, diverge, -1, -1
	c.poke()
}
