package producer

import (
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kerr"
)

func txnProducer(t *testing.T, f *fakeTxn, proto TransactionProtocol) *Producer {
	t.Helper()
	return newProducer(t, f.c, func(cfg *Config) {
		cfg.TransactionalID, cfg.TransactionProtocol, cfg.Partitioner = "tx", proto, PartitionRoundRobin
	})
}

// oneTxn runs a transaction of n records over both partitions of "t" with
// offsets for group "g", and commits it.
func oneTxn(t *testing.T, ctx context.Context, p *Producer, n int, offset int64) {
	t.Helper()
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	var recs []*gregor.Record
	for i := range n {
		recs = append(recs, &gregor.Record{Topic: "t", Value: []byte(strconv.Itoa(i))})
	}
	if _, err := p.ProduceSync(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	if err := p.SendOffsetsToTransaction(ctx, map[string]map[int32]int64{"in": {0: offset}}, GroupMetadata{GroupID: "g", GenerationID: 1, MemberID: "m"}); err != nil {
		t.Fatal(err)
	}
	if err := p.CommitTransaction(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestTxnProtocolChoice: the producer uses transactions v2 only when the
// broker finalized transaction.version 2 and speaks EndTxn v5 and the
// setting allows it, and otherwise falls back to v1; each path sends the
// requests and versions of its protocol, and v2 takes the bumped epoch
// from each EndTxn and restarts sequences at 0 under it.
func TestTxnProtocolChoice(t *testing.T) {
	for _, tc := range []struct {
		name       string
		tv, endMax int16
		proto      TransactionProtocol
		want       int
	}{
		{"tv2", 2, 5, TransactionProtocolAuto, 2},
		{"tv2-forced-v1", 2, 5, TransactionProtocolV1, 1},
		{"tv1", 1, 5, TransactionProtocolAuto, 1},
		{"no-feature", -1, 5, TransactionProtocolAuto, 1},
		{"no-endtxn-v5", 2, 4, TransactionProtocolAuto, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			leakcheck.Check(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			f := newFakeTxn(t, tc.tv, tc.endMax)
			p := txnProducer(t, f, tc.proto)
			var epochs []int16
			for i := range 3 {
				oneTxn(t, ctx, p, 6, int64(10*(i+1)))
				_, e := p.id.current()
				epochs = append(epochs, e)
			}
			if got := p.TransactionVersion(); got != tc.want {
				t.Fatalf("TransactionVersion() = %d, want %d", got, tc.want)
			}
			ends, committed := f.state()
			if !slices.Equal(ends, []bool{true, true, true}) || !maps.Equal(committed, map[int32]int64{0: 30}) {
				t.Fatalf("EndTxn results %v, committed offsets %v", ends, committed)
			}
			maxOf := func(key int16) int16 { return slices.Max(append(f.seen(key), -1)) }
			minOf := func(key int16) int16 { return slices.Min(append(f.seen(key), 99)) }
			switch tc.want {
			case 2:
				if len(f.seen(24)) != 0 || len(f.seen(25)) != 0 || minOf(0) != 12 || minOf(26) != 5 || minOf(28) != 5 {
					t.Fatalf("v2: AddPartitionsToTxn %v, AddOffsetsToTxn %v, Produce %v, EndTxn %v, TxnOffsetCommit %v",
						f.seen(24), f.seen(25), f.seen(0), f.seen(26), f.seen(28))
				}
				if epochs[1] != epochs[0]+1 || epochs[2] != epochs[1]+1 {
					t.Fatalf("epochs after each commit: %v", epochs)
				}
				f.mu.Lock()
				for _, e := range epochs[:2] {
					// Each transaction's first batch per partition starts at 0.
					if seqs := f.firstSeq[e]; len(seqs) < 2 || slices.Min(seqs) != 0 {
						t.Errorf("first sequences under epoch %d: %v", e, seqs)
					}
				}
				f.mu.Unlock()
			case 1:
				if len(f.seen(24)) == 0 || len(f.seen(25)) != 3 || maxOf(0) > 11 || maxOf(26) > 4 || maxOf(28) > 4 {
					t.Fatalf("v1: AddPartitionsToTxn %v, AddOffsetsToTxn %v, Produce %v, EndTxn %v, TxnOffsetCommit %v",
						f.seen(24), f.seen(25), f.seen(0), f.seen(26), f.seen(28))
				}
				if epochs[0] != epochs[2] {
					t.Fatalf("v1 changed the epoch: %v", epochs)
				}
			}
		})
	}
}

// TestTxnAbortable: TRANSACTION_ABORTABLE from Produce, TxnOffsetCommit,
// EndTxn or (v1) AddPartitionsToTxn leaves the transaction abortable: Produce and
// CommitTransaction refuse with ErrTransactionAbortable and commit
// nothing, AbortTransaction ends it, and the next transaction commits.
func TestTxnAbortable(t *testing.T) {
	for _, proto := range []TransactionProtocol{TransactionProtocolAuto, TransactionProtocolV1} {
		for _, key := range []int16{protocol.KeyProduce, protocol.KeyTxnOffsetCommit, protocol.KeyEndTxn, protocol.KeyAddPartitionsToTxn} {
			if key == protocol.KeyAddPartitionsToTxn && proto == TransactionProtocolAuto {
				continue // v2 sends no AddPartitionsToTxn
			}
			t.Run(proto.String()+"/"+strconv.Itoa(int(key)), func(t *testing.T) {
				leakcheck.Check(t)
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				f := newFakeTxn(t, 2, 5)
				p := txnProducer(t, f, proto)
				if err := p.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				f.injectOnce(key, kerr.TransactionAbortable.Code)
				_, perr := p.ProduceSync(ctx, &gregor.Record{Topic: "t", Value: []byte("x")})
				serr := p.SendOffsetsToTransaction(ctx, map[string]map[int32]int64{"in": {0: 5}}, GroupMetadata{GroupID: "g", GenerationID: 1})
				cerr := p.CommitTransaction(ctx)
				first := cmp.Or(perr, serr, cerr)
				if !errors.Is(first, ErrTransactionAbortable) || !errors.Is(first, protocol.ErrTransactionAbortable) {
					t.Fatalf("produce: %v; send offsets: %v; commit: %v", perr, serr, cerr)
				}
				if !errors.Is(cerr, ErrTransactionAbortable) {
					t.Fatalf("commit in the abortable state: %v", cerr)
				}
				if err := p.TryProduce(ctx, &gregor.Record{Topic: "t"}, nil); !errors.Is(err, ErrTransactionAbortable) {
					t.Fatalf("produce in the abortable state: %v", err)
				}
				if ends, _ := f.state(); len(ends) != 0 {
					t.Fatalf("EndTxn sent in the abortable state: %v", ends)
				}
				if err := p.AbortTransaction(ctx); err != nil {
					t.Fatal(err)
				}
				oneTxn(t, ctx, p, 4, 7)
				want := []bool{false, true}
				if key == protocol.KeyAddPartitionsToTxn {
					want = want[1:] // nothing reached the coordinator: no EndTxn to abort
				}
				ends, committed := f.state()
				if !slices.Equal(ends, want) || !maps.Equal(committed, map[int32]int64{0: 7}) {
					t.Fatalf("EndTxn results %v, committed offsets %v", ends, committed)
				}
			})
		}
	}
}

// TestTxnFencedFake: once a newer producer took the transactional id, the
// old one's commit fails with ErrFenced and it stays fenced, on both
// protocols.
func TestTxnFencedFake(t *testing.T) {
	for _, proto := range []TransactionProtocol{TransactionProtocolAuto, TransactionProtocolV1} {
		t.Run(proto.String(), func(t *testing.T) {
			leakcheck.Check(t)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			f := newFakeTxn(t, 2, 5)
			old := txnProducer(t, f, proto)
			if err := old.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if _, err := old.ProduceSync(ctx, &gregor.Record{Topic: "t", Value: []byte("x")}); err != nil {
				t.Fatal(err)
			}
			successor := txnProducer(t, f, proto)
			if err := successor.waitID(ctx); err != nil {
				t.Fatal(err)
			}
			err := old.CommitTransaction(ctx)
			if !errors.Is(err, ErrFenced) || !errors.Is(err, protocol.ErrProducerFenced) {
				t.Fatalf("zombie commit: %v", err)
			}
			if err := old.BeginTransaction(); !errors.Is(err, ErrFenced) {
				t.Fatalf("zombie begin: %v", err)
			}
			if err := old.TryProduce(ctx, &gregor.Record{Topic: "t"}, nil); !errors.Is(err, ErrFenced) {
				t.Fatalf("zombie produce: %v", err)
			}
			oneTxn(t, ctx, successor, 3, 1)
		})
	}
}
