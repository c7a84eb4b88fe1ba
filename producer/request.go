package producer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregorkafka/gregor/compression"
	"github.com/gregorkafka/gregor/internal/broker"
	"github.com/gregorkafka/gregor/protocol"
)

// produceRequest is a Produce request capped at version 12 (version 13
// names topics by id), answered unless acks=0. A transactional producer
// using transactions v1 stays at v11 and one using v2 needs v12, the
// version with which the broker adds partitions to the transaction itself
// (KIP-890).
type produceRequest struct {
	protocol.ProduceRequest
	noResp  bool
	lo, hi  int16
	batches []*batch
	bytes   int
	decoded bool // resp holds the decoded response (see Complete)
	// unwritten is set while the request counts in its sink's unwritten
	// requests (see sink.unwritten).
	unwritten atomic.Bool

	// Set by send.
	sink  *sink
	start time.Time
	// respBuf is the buffer the response was read into (see
	// AllocResponse), resp what handleResponse decodes it into.
	respBuf *[]byte
	resp    protocol.ProduceResponse
}

// respPool recycles Produce response buffers (boxed), which are small.
var respPool sync.Pool

// maxPooledResponse is the largest response buffer kept for reuse.
const maxPooledResponse = 64 << 10

// AllocResponse gives the connection a pooled buffer to read the response
// into, so that a producer sending many small requests does not allocate
// one per response.
func (r *produceRequest) AllocResponse(size int) []byte {
	box, _ := respPool.Get().(*[]byte)
	if box == nil {
		box = new([]byte)
	}
	if cap(*box) < size {
		*box = make([]byte, size)
	}
	r.respBuf = box
	return (*box)[:size]
}

// recycleResponse returns the response buffer once the response has been
// decoded (decoding copies what it keeps). Only a response that arrived is
// recycled: after a failure the connection may still be reading into it.
func (r *produceRequest) recycleResponse() {
	if r.respBuf != nil && cap(*r.respBuf) <= maxPooledResponse {
		respPool.Put(r.respBuf)
	}
	r.respBuf = nil
}

// Written is the connection telling that req has been written. The
// kernel has copied the batches by then, so uncompressed batches give
// their buffers back to the pool at once, while the processor's caches
// still hold them: the next request is encoded into them, and the kernel
// copies it from there. Kept until the response, as before, a flat-out
// producer cycled its batches through the whole buffered volume and both
// copies reached main memory (1 KiB records: 6 to 10% more CPU per record,
// a third more memory). A retry of such a batch writes its records out
// again, which costs what the kernel's copy of the resent bytes costs
// anyway. A compressed batch keeps its bytes until the response: it is
// compressed once, however often it is sent. The connection tells before
// it hands over the response (see broker.WriteNotifier), so the batches
// are still the request's.
func (r *produceRequest) Written() {
	if r.sink.p.cfg.Compression == compression.None {
		for _, b := range r.batches {
			part := b.p
			part.mu.Lock()
			if b.enc != nil {
				putBuf(b.enc)
				b.enc = nil
			}
			part.mu.Unlock()
		}
	}
	if testWritten != nil {
		testWritten(r.bytes)
	}
	r.settleWrite()
}

// testWritten, when set by a test, runs in Written before the sink hears
// of the write (and after the buffers went back), on the goroutine that
// wrote the request.
var testWritten func(bytes int)

// settleWrite takes req out of its sink's unwritten requests, once: when
// it was written, or when its result comes without a write (it could not
// be queued, or its connection failed first).
func (r *produceRequest) settleWrite() {
	if r.unwritten.Load() && r.unwritten.Swap(false) {
		r.sink.written()
	}
}

// MaxVersion caps Produce at version 12 (11 for transactions v1).
func (r *produceRequest) MaxVersion() int16 { return r.hi }

// MinVersion is the oldest version with record batches (12 for
// transactions v2).
func (r *produceRequest) MinVersion() int16 { return r.lo }

// NoResponse is true with acks=0.
func (r *produceRequest) NoResponse() bool { return r.noResp }

func (p *Producer) newRequest() *produceRequest {
	req := p.reqPool.Get().(*produceRequest)
	req.Acks = p.cfg.Acks.wire()
	req.TimeoutMs = int32(p.cfg.ProduceTimeout / time.Millisecond)
	req.noResp = p.cfg.Acks == AcksNone
	req.lo, req.hi = 3, 12
	if p.cfg.TransactionalID != "" {
		id := p.cfg.TransactionalID
		req.TransactionalId = &id
		if p.txn.v2.Load() {
			req.lo = 12
		} else {
			req.hi = 11
		}
	}
	return req
}

func (req *produceRequest) add(b *batch) {
	name := b.p.topic
	var td *protocol.ProduceRequestTopicProduceData
	for i := range req.TopicData {
		if req.TopicData[i].Name == name {
			td = &req.TopicData[i]
			break
		}
	}
	if td == nil {
		if n := len(req.TopicData); n < cap(req.TopicData) {
			req.TopicData = req.TopicData[:n+1] // reuse the entry's partition list
			req.TopicData[n].Name = name
		} else {
			req.TopicData = append(req.TopicData, protocol.ProduceRequestTopicProduceData{Name: name})
		}
		td = &req.TopicData[len(req.TopicData)-1]
	}
	td.PartitionData = append(td.PartitionData, protocol.ProduceRequestPartitionProduceData{Index: b.p.id, Records: b.enc})
	req.batches = append(req.batches, b)
	req.bytes += len(b.enc)
}

func (p *Producer) putRequest(req *produceRequest) {
	for i := range req.TopicData {
		// Keep each topic's partition list for the next request.
		td := &req.TopicData[i]
		clear(td.PartitionData)
		*td = protocol.ProduceRequestTopicProduceData{PartitionData: td.PartitionData[:0]}
	}
	clear(req.batches)
	req.TopicData, req.batches, req.bytes, req.TransactionalId = req.TopicData[:0], req.batches[:0], 0, nil
	req.sink, req.respBuf, req.decoded = nil, nil, false
	p.reqPool.Put(req)
}

// Complete handles the result of a request sent with EnqueueAsync. A
// response whose batches were all accepted is handled right here, on the
// connection's reader: the batches settle and their callbacks run without
// waking another goroutine. Anything else (errors, retries, leader
// changes, which may touch the connection pool and this connection)
// is handled on a goroutine of its own.
func (req *produceRequest) Complete(raw broker.Response, err error) {
	if err == nil && !req.noResp {
		err = req.decode(req.sink.id, raw)
	}
	if err != nil || (!req.noResp && !req.clean()) {
		go req.finish(raw, err)
		return
	}
	req.finish(raw, nil)
}

// finish handles an async request's result and recycles it; the sink
// counted it in the producer's goroutines when it sent it.
func (req *produceRequest) finish(raw broker.Response, err error) {
	p, s := req.sink.p, req.sink
	p.handleResponse(s, req, raw, err, req.start)
	if err == nil {
		req.recycleResponse()
	}
	p.putRequest(req)
	p.wg.Done()
}
