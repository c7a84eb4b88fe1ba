package consumer

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/compression"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol/record"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// batch builds a magic 2 batch of n records from base with values "p-i".
func batch(t testing.TB, dst []byte, p int32, base int64, n int, h record.BatchHeader) []byte {
	t.Helper()
	var bb record.Builder
	h.BaseOffset = base
	if h.ProducerID == 0 {
		h.ProducerID, h.ProducerEpoch, h.BaseSequence = -1, -1, -1
	}
	bb.Reset(dst, h, compression.LevelDefault)
	for i := base; i < base+int64(n); i++ {
		bb.Add(1000+i, []byte("k"+itoa(i)), []byte(itoa(int64(p))+"-"+itoa(i)), []record.Header{{Key: []byte("h"), Value: []byte(itoa(i))}})
	}
	out, err := bb.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func itoa(i int64) string { return string(appendInt(nil, i)) }

func appendInt(b []byte, i int64) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

// serve answers every Fetch with what fn returns for each requested
// partition (records, error code, aborted transactions).
type served struct {
	records []byte
	code    int16
	aborted []kmsg.FetchResponseTopicPartitionAbortedTransaction
	hwm     int64
	diverge int64 // with a value >= 0, the diverging epoch's end offset
}

func serve(f *kfake.Cluster, top func(req *kmsg.FetchRequest) (int16, int32), fn func(p int32, offset int64, lastEpoch int32) served) {
	f.ControlKey(1, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		f.KeepControl()
		req := kreq.(*kmsg.FetchRequest)
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		if top != nil {
			resp.ErrorCode, resp.SessionID = top(req)
			if resp.ErrorCode != 0 {
				return resp, nil, true
			}
		}
		any := false
		for _, rt := range req.Topics {
			st := kmsg.FetchResponseTopic{Topic: rt.Topic, TopicID: rt.TopicID}
			for _, rp := range rt.Partitions {
				s := fn(rp.Partition, rp.FetchOffset, rp.LastFetchedEpoch)
				sp := kmsg.NewFetchResponseTopicPartition()
				sp.Partition, sp.ErrorCode, sp.RecordBatches, sp.AbortedTransactions = rp.Partition, s.code, s.records, s.aborted
				sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = s.hwm, s.hwm, 0
				if s.diverge > 0 {
					sp.DivergingEpoch.Epoch, sp.DivergingEpoch.EndOffset = 0, s.diverge
				}
				any = any || len(s.records) > 0 || s.code != 0
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		if !any {
			time.Sleep(20 * time.Millisecond) // stand in for the broker's max wait
		}
		return resp, nil, true
	})
}

// TestCorruptBatch serves a batch with a bad CRC on partition 0: the good
// records before it arrive, then a CorruptBatchError naming the topic,
// partition and offset, while partition 1 keeps flowing; Seek past the bad
// batch resumes partition 0.
func TestCorruptBatch(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 2)
	var mu sync.Mutex
	p1End := int64(5)
	serve(f, nil, func(p int32, off int64, _ int32) served {
		mu.Lock()
		defer mu.Unlock()
		if p == 1 {
			if off < p1End {
				return served{records: batch(t, nil, 1, off, int(p1End-off), record.BatchHeader{}), hwm: p1End}
			}
			return served{hwm: p1End}
		}
		switch {
		case off < 5:
			b := batch(t, nil, 0, off, int(5-off), record.BatchHeader{})
			bad := batch(t, nil, 0, 5, 1, record.BatchHeader{})
			bad[len(bad)-1] ^= 0xff // the CRC covers the record bytes
			return served{records: append(b, bad...), hwm: 8}
		case off == 5:
			bad := batch(t, nil, 0, 5, 1, record.BatchHeader{})
			bad[len(bad)-1] ^= 0xff
			return served{records: bad, hwm: 8}
		case off < 8:
			return served{records: batch(t, nil, 0, off, int(8-off), record.BatchHeader{}), hwm: 8}
		}
		return served{hwm: 8}
	})
	c := newConsumer(t, f.ListenAddrs(), nil)
	c.Assign(all([]int32{0, 1}, AtOffset(0)))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var recs []got
	var cerr *CorruptBatchError
	for cerr == nil || len(recs) < 10 {
		fs, err := c.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll: %v (records %d, error %v)", err, len(recs), cerr)
		}
		for _, pr := range fs {
			for _, r := range pr.Records {
				recs = append(recs, got{tp: pr.TopicPartition, offset: r.Offset, value: string(r.Value),
					key: string(r.Key), header: string(r.Headers[0].Key) + "=" + string(r.Headers[0].Value)})
			}
			if pr.Err != nil && !errors.As(pr.Err, &cerr) {
				t.Fatalf("unexpected error %v", pr.Err)
			}
		}
	}
	if cerr.Topic != testTopic || cerr.Partition != 0 || cerr.Offset != 5 || !errors.Is(cerr, record.ErrCRCMismatch) {
		t.Fatalf("error %+v", cerr)
	}
	checkExact(t, recs, []int32{0, 1}, 0, 5)
	if pos, ok := c.Position(TopicPartition{testTopic, 0}); !ok || pos != 5 {
		t.Fatalf("position %d %v after the corrupt batch, want 5", pos, ok)
	}
	// Partition 1 is not stalled by partition 0's failure.
	mu.Lock()
	p1End = 9
	mu.Unlock()
	more := collect(t, c, 4, 10*time.Second)
	if len(more) != 4 || more[0].tp.Partition != 1 || more[0].offset != 5 {
		t.Fatalf("after the error: %+v", more)
	}
	c.Seek(TopicPartition{testTopic, 0}, AtOffset(6))
	more = collect(t, c, 2, 10*time.Second)
	if more[0].tp.Partition != 0 || more[0].offset != 6 || more[1].offset != 7 {
		t.Fatalf("after Seek: %+v", more)
	}
}

// TestReadCommitted serves an aborted transaction, a committed one and
// plain records with their markers: read_committed drops the aborted
// records and every control record; read_uncommitted drops only the
// markers.
func TestReadCommitted(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 1)
	var log []byte
	txn := record.BatchHeader{Attributes: record.AttrTransactional, ProducerEpoch: 0, BaseSequence: 0}
	txn.ProducerID = 1
	log = batch(t, log, 0, 0, 3, txn) // aborted: 0-2
	var err error
	if log, err = record.AppendEndTxnBatch(log, record.BatchHeader{BaseOffset: 3, ProducerID: 1}, false, 0, 1); err != nil {
		t.Fatal(err)
	}
	txn.ProducerID = 2
	log = batch(t, log, 0, 4, 2, txn) // committed: 4-5
	if log, err = record.AppendEndTxnBatch(log, record.BatchHeader{BaseOffset: 6, ProducerID: 2}, true, 0, 1); err != nil {
		t.Fatal(err)
	}
	log = batch(t, log, 0, 7, 2, record.BatchHeader{}) // plain: 7-8
	serve(f, nil, func(p int32, off int64, _ int32) served {
		if off != 0 {
			return served{hwm: 9}
		}
		return served{records: log, hwm: 9, aborted: []kmsg.FetchResponseTopicPartitionAbortedTransaction{{ProducerID: 1, FirstOffset: 0}}}
	})
	for _, tc := range []struct {
		level IsolationLevel
		want  []int64
	}{
		{ReadCommitted, []int64{4, 5, 7, 8}},
		{ReadUncommitted, []int64{0, 1, 2, 4, 5, 7, 8}},
	} {
		c := newConsumer(t, f.ListenAddrs(), func(c *Config) { c.IsolationLevel = tc.level })
		c.Assign(all([]int32{0}, AtOffset(0)))
		recs := collect(t, c, len(tc.want), 10*time.Second)
		for i, r := range recs {
			if i >= len(tc.want) || r.offset != tc.want[i] {
				t.Fatalf("%v: got %+v, want offsets %v", tc.level, recs, tc.want)
			}
		}
		waitPositions(t, c, []int32{0}, 9)
	}
}

// TestFetchSessionReset emulates a broker's fetch session: the first full
// fetch opens session 42, later fetches are incremental (unchanged
// partitions left out), and a FETCH_SESSION_ID_NOT_FOUND makes the next
// fetch a full one that opens a new session.
func TestFetchSessionReset(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 2)
	type seen struct {
		id, epoch int32
		parts     int
	}
	var mu sync.Mutex
	var reqs []seen
	serve(f, func(req *kmsg.FetchRequest) (int16, int32) {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, rt := range req.Topics {
			n += len(rt.Partitions)
		}
		reqs = append(reqs, seen{req.SessionID, req.SessionEpoch, n})
		if req.SessionID == 42 && req.SessionEpoch == 3 {
			return 70, 0 // FETCH_SESSION_ID_NOT_FOUND
		}
		if req.SessionEpoch == 0 {
			return 0, 42
		}
		return 0, req.SessionID
	}, func(p int32, off int64, _ int32) served {
		if off == 0 {
			return served{records: batch(t, nil, p, 0, 10, record.BatchHeader{}), hwm: 10}
		}
		return served{hwm: 10}
	})
	c := newConsumer(t, f.ListenAddrs(), nil)
	c.Assign(all([]int32{0, 1}, AtOffset(0)))
	checkExact(t, collect(t, c, 20, 10*time.Second), []int32{0, 1}, 0, 10)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(reqs)
		mu.Unlock()
		if n >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d fetches", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	// reqs[0]: full, opens 42. Then incremental epochs 1, 2, 3 (3 fails),
	// then a full fetch with every partition at epoch 0.
	if reqs[0] != (seen{0, 0, 2}) || reqs[1].id != 42 || reqs[1].epoch != 1 || reqs[1].parts != 2 {
		t.Fatalf("fetches %+v", reqs)
	}
	if reqs[2] != (seen{42, 2, 0}) || reqs[3] != (seen{42, 3, 0}) || reqs[4] != (seen{0, 0, 2}) || reqs[5] != (seen{42, 1, 0}) {
		t.Fatalf("fetches %+v", reqs)
	}
	if full, incr := c.fullFetches.Load(), c.incrFetches.Load(); full < 2 || incr < 3 {
		t.Fatalf("full %d incremental %d", full, incr)
	}
}

// TestTruncation answers a fetch at offset 10 with a diverging epoch
// ending at 6 (KIP-320): under ResetEarliest the consumer continues at 6,
// under ResetNone it reports a TruncationError.
func TestTruncation(t *testing.T) {
	leakcheck.Check(t)
	// Each phase gets its own fake cluster and its own divergence, so a
	// fetch the first consumer still had in flight when it closed cannot
	// use up the divergence meant for the second.
	divergingFake := func() *kfake.Cluster {
		f := newFake(t, 1, 1)
		var mu sync.Mutex
		diverged := false
		serve(f, nil, func(p int32, off int64, lastEpoch int32) served {
			mu.Lock()
			defer mu.Unlock()
			switch {
			case off == 10 && !diverged:
				if lastEpoch < 0 {
					t.Errorf("fetch at 10 without the last fetched epoch")
				}
				diverged = true
				return served{diverge: 6, hwm: 10}
			case off < 10:
				return served{records: batch(t, nil, p, off, int(10-off), record.BatchHeader{PartitionLeaderEpoch: 3}), hwm: 10}
			}
			return served{hwm: 10}
		})
		return f
	}

	f := divergingFake()
	c := newConsumer(t, f.ListenAddrs(), nil)
	c.Assign(all([]int32{0}, AtOffset(0)))
	checkExact(t, collect(t, c, 10, 10*time.Second), []int32{0}, 0, 10)
	checkExact(t, collect(t, c, 4, 10*time.Second), []int32{0}, 6, 4)
	c.Close(context.Background())

	f = divergingFake()
	c = newConsumer(t, f.ListenAddrs(), func(c *Config) { c.ResetPolicy = ResetNone })
	c.Assign(all([]int32{0}, AtOffset(0)))
	checkExact(t, collect(t, c, 10, 10*time.Second), []int32{0}, 0, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	fs, err := c.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var te *TruncationError
	if errs := fs.Errors(); len(errs) != 1 || !errors.As(errs[0], &te) || te.Offset != 10 || te.DivergingOffset != 6 {
		t.Fatalf("errors %v", errs)
	}
}

// TestPreferredReplica has the leader name the other broker as preferred
// read replica when the fetch carries a rack (KIP-392): later fetches go to
// that broker, which serves the records.
func TestPreferredReplica(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 2, 1)
	leader := f.LeaderFor(testTopic, 0)
	follower := 1 - leader
	var mu sync.Mutex
	var racks []string
	servedBy := map[int32]int{}
	f.ControlKey(1, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		f.KeepControl()
		req := kreq.(*kmsg.FetchRequest)
		node := f.CurrentNode()
		mu.Lock()
		racks = append(racks, req.Rack)
		mu.Unlock()
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		for _, rt := range req.Topics {
			st := kmsg.FetchResponseTopic{Topic: rt.Topic, TopicID: rt.TopicID}
			for _, rp := range rt.Partitions {
				sp := kmsg.NewFetchResponseTopicPartition()
				sp.Partition, sp.HighWatermark = rp.Partition, 5
				switch {
				case node == leader && req.Rack == "r2":
					sp.PreferredReadReplica = follower
				case rp.FetchOffset < 5:
					sp.RecordBatches = batch(t, nil, 0, rp.FetchOffset, int(5-rp.FetchOffset), record.BatchHeader{})
					mu.Lock()
					servedBy[node]++
					mu.Unlock()
				default:
					time.Sleep(20 * time.Millisecond)
				}
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	c := newConsumer(t, f.ListenAddrs(), func(c *Config) { c.Rack = "r2" })
	c.Assign(all([]int32{0}, AtOffset(0)))
	checkExact(t, collect(t, c, 5, 10*time.Second), []int32{0}, 0, 5)
	mu.Lock()
	defer mu.Unlock()
	if servedBy[follower] != 1 || servedBy[leader] != 0 || racks[0] != "r2" {
		t.Fatalf("served by %v, racks %v", servedBy, racks)
	}
}

// TestLeaderHint answers fetches at the old leader with
// NOT_LEADER_OR_FOLLOWER naming the new leader (KIP-951). Metadata
// refreshes are spaced a minute apart, so only the hint can move the
// partition in time: the records arrive from the new leader.
func TestLeaderHint(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 2, 1)
	old := f.LeaderFor(testTopic, 0)
	next := 1 - old
	var mu sync.Mutex
	servedBy := map[int32]int{}
	f.ControlKey(1, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		f.KeepControl()
		req := kreq.(*kmsg.FetchRequest)
		node := f.CurrentNode()
		resp := req.ResponseKind().(*kmsg.FetchResponse)
		for _, rt := range req.Topics {
			st := kmsg.FetchResponseTopic{Topic: rt.Topic, TopicID: rt.TopicID}
			for _, rp := range rt.Partitions {
				sp := kmsg.NewFetchResponseTopicPartition()
				sp.Partition, sp.HighWatermark = rp.Partition, 5
				switch {
				case node == old:
					sp.ErrorCode = 6 // NOT_LEADER_OR_FOLLOWER
					sp.CurrentLeader.LeaderID, sp.CurrentLeader.LeaderEpoch = next, rp.CurrentLeaderEpoch+1
				case rp.FetchOffset < 5:
					sp.RecordBatches = batch(t, nil, 0, rp.FetchOffset, int(5-rp.FetchOffset), record.BatchHeader{})
				default:
					time.Sleep(20 * time.Millisecond)
				}
				mu.Lock()
				servedBy[node]++
				mu.Unlock()
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	c := newConsumer(t, f.ListenAddrs(), func(c *Config) { c.Conn.MetadataMinRefresh = time.Minute })
	c.Assign(all([]int32{0}, AtOffset(0)))
	checkExact(t, collect(t, c, 5, 10*time.Second), []int32{0}, 0, 5)
	mu.Lock()
	defer mu.Unlock()
	if servedBy[old] == 0 || servedBy[next] == 0 {
		t.Fatalf("fetches by node: %v", servedBy)
	}
}
