package producer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// fakeTxn plays a transaction coordinator and transactional partition
// leader on top of kfake, whose pinned version has no transactions: it
// answers InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn,
// TxnOffsetCommit and transactional Produce itself, keeps what a real
// coordinator would check (producer epoch, partitions added under v1),
// bumps the epoch on EndTxn v5 as transactions v2 do, and can answer a
// request with an injected error code.
type fakeTxn struct {
	c *kfake.Cluster

	mu       sync.Mutex
	epoch    int16
	added    map[string]bool            // partitions in the open transaction (v1)
	offsets  bool                       // AddOffsetsToTxn seen in the open transaction
	versions map[int16][]int16          // versions of the requests seen, by key
	firstSeq map[int16][]int32          // epoch -> first sequences of the batches produced under it
	ends     []bool                     // EndTxn results, true for commit
	inject   map[int16]int16            // key -> error code for its next request
	offs     map[string]map[int32]int64 // committed group offsets (on commit only)
	pending  map[string]map[int32]int64
}

const fakePID = 4242

// newFakeTxn starts kfake with topic "t" of 2 partitions behind a fake
// transaction layer whose ApiVersions advertises transaction.version tv
// (none when tv < 0) and EndTxn up to endMax.
func newFakeTxn(t *testing.T, tv, endMax int16) *fakeTxn {
	t.Helper()
	c := fake(t, 2)
	f := &fakeTxn{c: c, added: map[string]bool{}, versions: map[int16][]int16{}, firstSeq: map[int16][]int32{},
		inject: map[int16]int16{}, offs: map[string]map[int32]int64{}, pending: map[string]map[int32]int64{}}

	// kfake's own version table, from a plain client, plus the
	// transaction APIs.
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	av, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	cancel()
	cl.Close()
	if err != nil {
		t.Fatal(err)
	}
	var keys []kmsg.ApiVersionsResponseApiKey
	for _, k := range av.ApiKeys {
		if k.ApiKey != 22 {
			keys = append(keys, k)
		}
	}
	for _, k := range [][3]int16{{22, 0, 5}, {24, 0, 3}, {25, 0, 4}, {26, 0, endMax}, {28, 0, 5}} {
		keys = append(keys, kmsg.ApiVersionsResponseApiKey{ApiKey: k[0], MinVersion: k[1], MaxVersion: k[2]})
	}
	c.ControlKey(18, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		resp := kreq.ResponseKind().(*kmsg.ApiVersionsResponse)
		resp.Version = kreq.GetVersion()
		resp.ApiKeys = keys
		if tv >= 0 {
			resp.FinalizedFeaturesEpoch = 1
			resp.FinalizedFeatures = []kmsg.ApiVersionsResponseFinalizedFeature{{Name: "transaction.version", MaxVersionLevel: tv, MinVersionLevel: tv}}
		}
		return resp, nil, true
	})
	handle := func(key int16, fn func(kmsg.Request) kmsg.Response) {
		c.ControlKey(key, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			if key == 0 && kreq.(*kmsg.ProduceRequest).TransactionID == nil {
				return nil, nil, false
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			f.versions[key] = append(f.versions[key], kreq.GetVersion())
			return fn(kreq), nil, true
		})
	}
	handle(22, func(kreq kmsg.Request) kmsg.Response {
		resp := kreq.ResponseKind().(*kmsg.InitProducerIDResponse)
		f.epoch++ // a new producer fences the previous one
		f.added, f.offsets = map[string]bool{}, false
		resp.ProducerID, resp.ProducerEpoch = fakePID, f.epoch
		return resp
	})
	handle(24, func(kreq kmsg.Request) kmsg.Response {
		req := kreq.(*kmsg.AddPartitionsToTxnRequest)
		resp := req.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
		code := f.check(24, req.ProducerEpoch)
		for _, rt := range req.Topics {
			st := kmsg.AddPartitionsToTxnResponseTopic{Topic: rt.Topic}
			for _, p := range rt.Partitions {
				if code == 0 {
					f.added[partKey(rt.Topic, p)] = true
				}
				st.Partitions = append(st.Partitions, kmsg.AddPartitionsToTxnResponseTopicPartition{Partition: p, ErrorCode: code})
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	})
	handle(25, func(kreq kmsg.Request) kmsg.Response {
		req := kreq.(*kmsg.AddOffsetsToTxnRequest)
		resp := req.ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
		if resp.ErrorCode = f.check(25, req.ProducerEpoch); resp.ErrorCode == 0 {
			f.offsets = true
		}
		return resp
	})
	handle(28, func(kreq kmsg.Request) kmsg.Response {
		req := kreq.(*kmsg.TxnOffsetCommitRequest)
		resp := req.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
		code := f.check(28, req.ProducerEpoch)
		if code == 0 && req.Version < 5 && !f.offsets {
			code = kerr.InvalidTxnState.Code // v1 needs AddOffsetsToTxn first
		}
		for _, rt := range req.Topics {
			st := kmsg.TxnOffsetCommitResponseTopic{Topic: rt.Topic}
			for _, p := range rt.Partitions {
				if code == 0 {
					if f.pending[rt.Topic] == nil {
						f.pending[rt.Topic] = map[int32]int64{}
					}
					f.pending[rt.Topic][p.Partition] = p.Offset
				}
				st.Partitions = append(st.Partitions, kmsg.TxnOffsetCommitResponseTopicPartition{Partition: p.Partition, ErrorCode: code})
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	})
	handle(26, func(kreq kmsg.Request) kmsg.Response {
		req := kreq.(*kmsg.EndTxnRequest)
		resp := req.ResponseKind().(*kmsg.EndTxnResponse)
		resp.ProducerID, resp.ProducerEpoch = -1, -1
		if resp.ErrorCode = f.check(26, req.ProducerEpoch); resp.ErrorCode != 0 {
			return resp
		}
		f.ends = append(f.ends, req.Commit)
		if req.Commit {
			for topic, parts := range f.pending {
				if f.offs[topic] == nil {
					f.offs[topic] = map[int32]int64{}
				}
				for p, o := range parts {
					f.offs[topic][p] = o
				}
			}
		}
		f.pending, f.added, f.offsets = map[string]map[int32]int64{}, map[string]bool{}, false
		if req.Version >= 5 {
			f.epoch++
			resp.ProducerID, resp.ProducerEpoch = fakePID, f.epoch
		}
		return resp
	})
	var next int64
	handle(0, func(kreq kmsg.Request) kmsg.Response {
		req := kreq.(*kmsg.ProduceRequest)
		resp := req.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range req.Topics {
			st := kmsg.ProduceResponseTopic{Topic: rt.Topic}
			for _, rp := range rt.Partitions {
				var b kmsg.RecordBatch
				code := int16(0)
				if err := b.ReadFrom(rp.Records); err != nil {
					code = kerr.CorruptMessage.Code
				} else if code = f.check(0, b.ProducerEpoch); code == 0 && req.Version < 12 && !f.added[partKey(rt.Topic, rp.Partition)] {
					code = kerr.InvalidTxnState.Code // v1: AddPartitionsToTxn must come first
				}
				sp := kmsg.ProduceResponseTopicPartition{Partition: rp.Partition, ErrorCode: code, BaseOffset: -1}
				if code == 0 {
					f.firstSeq[b.ProducerEpoch] = append(f.firstSeq[b.ProducerEpoch], b.FirstSequence)
					sp.BaseOffset, next = next, next+int64(b.NumRecords)
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp
	})
	return f
}

func partKey(topic string, p int32) string { return topic + "/" + string(rune('0'+p)) }

// check returns an injected error for key, or the fencing error for a
// stale epoch, or 0. f.mu is held.
func (f *fakeTxn) check(key, epoch int16) int16 {
	if code, ok := f.inject[key]; ok {
		delete(f.inject, key)
		return code
	}
	if epoch != f.epoch {
		return kerr.ProducerFenced.Code
	}
	return 0
}

// injectOnce makes the next request of key fail with code.
func (f *fakeTxn) injectOnce(key, code int16) {
	f.mu.Lock()
	f.inject[key] = code
	f.mu.Unlock()
}

// seen returns the versions of the requests of key seen so far.
func (f *fakeTxn) seen(key int16) []int16 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]int16(nil), f.versions[key]...)
}

// state returns the EndTxn results so far and the committed offsets of
// topic "in".
func (f *fakeTxn) state() (ends []bool, committed map[int32]int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	committed = map[int32]int64{}
	for p, o := range f.offs["in"] {
		committed[p] = o
	}
	return append([]bool(nil), f.ends...), committed
}
