package producer_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/consumer"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/producer"
	"github.com/gregorkafka/gregor/protocol"
)

// txnModes are the two ways a transactional producer can run: v1 forced,
// and automatic, which picks v2 when the cluster finalized
// transaction.version 2 (Kafka 4.1 formats new clusters so).
var txnModes = []struct {
	name  string
	proto producer.TransactionProtocol
}{{"v1", producer.TransactionProtocolV1}, {"auto", producer.TransactionProtocolAuto}}

// txnSetup gives a transaction test the shared broker, a context of two
// minutes, an admin client and the cluster's finalized
// transaction.version.
func txnSetup(t *testing.T) (*integration.Cluster, []string, context.Context, *admin.Client, int) {
	t.Helper()
	c := integration.Shared(t, single)
	leakcheck.Check(t)
	boot := c.Bootstrap(integration.Plaintext)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	adm, err := admin.New(gregor.ConnConfig{SeedBrokers: boot})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { adm.Close(context.Background()) })
	f, err := adm.DescribeFeatures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c, boot, ctx, adm, int(f.Finalized["transaction.version"].Max)
}

// wantTxnVersion is the protocol a mode must end up using on a cluster at
// transaction.version tv.
func wantTxnVersion(proto producer.TransactionProtocol, tv int) int {
	if proto == producer.TransactionProtocolAuto && tv >= 2 {
		return 2
	}
	return 1
}

// checkTxnPath asserts from the requests the producer sent which protocol
// path ran: v1 adds partitions and offsets explicitly and ends
// transactions with EndTxn v4 or older; v2 never sends AddPartitionsToTxn
// or AddOffsetsToTxn and ends them with EndTxn v5.
func checkTxnPath(t *testing.T, p *producer.Producer, want int, offsets bool) {
	t.Helper()
	if got := p.TransactionVersion(); got != want {
		t.Fatalf("TransactionVersion() = %d, want %d", got, want)
	}
	addParts, _ := producer.TxnRequests(p, protocol.KeyAddPartitionsToTxn)
	addOffs, _ := producer.TxnRequests(p, protocol.KeyAddOffsetsToTxn)
	ends, endV := producer.TxnRequests(p, protocol.KeyEndTxn)
	commits, commitV := producer.TxnRequests(p, protocol.KeyTxnOffsetCommit)
	t.Logf("v%d path: AddPartitionsToTxn %d, AddOffsetsToTxn %d, TxnOffsetCommit %d (v%d), EndTxn %d (v%d)",
		want, addParts, addOffs, commits, commitV, ends, endV)
	if ends == 0 {
		t.Fatal("no EndTxn sent")
	}
	switch want {
	case 1:
		if addParts == 0 || endV > 4 || offsets && (addOffs == 0 || commitV > 4) {
			t.Fatal("the v1 path did not run")
		}
	case 2:
		if addParts != 0 || addOffs != 0 || endV != 5 || offsets && commitV != 5 {
			t.Fatal("the v2 path did not run")
		}
	}
}

// TestRealSendOffsetsToTransaction runs consume-transform-produce against
// the real broker under both transaction protocols: a member of a classic
// group reads an input topic, and each poll's records are transformed into
// an output topic inside a transaction that also carries the group's
// offsets. The first transaction is aborted: its outputs stay invisible to
// read_committed and its offsets are not committed, so a fresh member
// starts over from the beginning. The others commit, and the group's
// committed offsets then equal exactly the processed positions while
// read_committed sees every transformed record once.
func TestRealSendOffsetsToTransaction(t *testing.T) {
	c, boot, ctx, adm, tv := txnSetup(t)
	t.Logf("cluster transaction.version = %d", tv)

	in := fmt.Sprintf("eos-in-%d", rand.Uint32())
	if err := c.CreateTopic(ctx, in, 3, 1); err != nil {
		t.Fatal(err)
	}
	const n = 60
	src := newReal(t, boot, nil)
	var inputs []*gregor.Record
	for i := range n {
		inputs = append(inputs, &gregor.Record{Topic: in, Key: []byte(strconv.Itoa(i)), Value: []byte("v" + strconv.Itoa(i))})
	}
	if _, err := src.ProduceSync(ctx, inputs...); err != nil {
		t.Fatal(err)
	}
	end := map[int32]int64{}
	for _, r := range inputs {
		end[r.Partition] = max(end[r.Partition], r.Offset+1)
	}

	for _, mode := range txnModes {
		t.Run(mode.name, func(t *testing.T) {
			want := wantTxnVersion(mode.proto, tv)
			out := fmt.Sprintf("eos-out-%s-%d", mode.name, rand.Uint32())
			if err := c.CreateTopic(ctx, out, 3, 1); err != nil {
				t.Fatal(err)
			}
			group := "eos-group-" + out
			p := newReal(t, boot, func(cfg *producer.Config) {
				cfg.TransactionalID = "eos-" + out
				cfg.TransactionProtocol = mode.proto
			})
			member := func() *consumer.Consumer {
				cl, err := consumer.New(consumer.Config{
					Conn: gregor.ConnConfig{SeedBrokers: boot}, IsolationLevel: consumer.ReadCommitted,
					FetchMaxWait: 100 * time.Millisecond, FetchMaxBytes: 400, PartitionMaxBytes: 200,
					Group: consumer.GroupConfig{GroupID: group, Topics: []string{in}, DisableAutoCommit: true,
						SessionTimeout: 6 * time.Second, HeartbeatInterval: 300 * time.Millisecond, RebalanceTimeout: 5 * time.Second},
				})
				if err != nil {
					t.Fatal(err)
				}
				return cl
			}
			// process polls once and runs one transaction over what came.
			process := func(cl *consumer.Consumer, commit bool) []gregor.Record {
				t.Helper()
				var recs []gregor.Record
				for len(recs) == 0 {
					f, err := cl.Poll(ctx)
					if err != nil {
						t.Fatal(err)
					}
					f.EachRecord(func(r *gregor.Record) {
						c := *r
						c.Key, c.Value = slices.Clone(r.Key), slices.Clone(r.Value)
						recs = append(recs, c)
					})
				}
				if err := p.BeginTransaction(); err != nil {
					t.Fatal(err)
				}
				offsets := map[int32]int64{}
				for _, r := range recs {
					p.Produce(ctx, &gregor.Record{Topic: out, Key: r.Key, Value: []byte("out-" + string(r.Value))}, nil)
					offsets[r.Partition] = max(offsets[r.Partition], r.Offset+1)
				}
				meta := cl.GroupMetadata()
				if memberID, gen := cl.Member(); meta.GroupID != group || meta.MemberID != memberID || meta.GenerationID != gen || gen < 1 {
					t.Fatalf("GroupMetadata %+v, want group %s, member %s, generation %d (at least 1)", meta, group, memberID, gen)
				}
				err := p.SendOffsetsToTransaction(ctx, map[string]map[int32]int64{in: offsets}, meta)
				if err != nil {
					t.Fatal(err)
				}
				_, epoch0 := producer.ProducerIDEpoch(p)
				if commit {
					err = p.CommitTransaction(ctx)
				} else {
					err = p.AbortTransaction(ctx)
				}
				if err != nil {
					t.Fatal(err)
				}
				_, epoch1 := producer.ProducerIDEpoch(p)
				if want == 2 && epoch1 != epoch0+1 || want == 1 && epoch1 != epoch0 {
					t.Fatalf("epoch went from %d to %d over one transaction under v%d", epoch0, epoch1, want)
				}
				return recs
			}
			// committed waits until the group's offsets equal want (the
			// coordinator applies transactional offsets once the commit
			// markers are written, just after EndTxn returns), failing with
			// what it saw after 15s.
			committed := func(want map[int32]int64) {
				t.Helper()
				deadline := time.Now().Add(15 * time.Second)
				for {
					offs, err := adm.FetchOffsets(ctx, group, admin.FetchOffsetsOptions{RequireStable: true})
					if err != nil {
						t.Fatal(err)
					}
					got, unstable := map[int32]int64{}, false
					for tp, o := range offs {
						switch {
						case errors.Is(o.Err, protocol.ErrUnstableOffsetCommit):
							unstable = true
						case o.Err != nil:
							t.Fatalf("%v: %v", tp, o.Err)
						case tp.Topic == in && o.Offset >= 0:
							got[tp.Partition] = o.Offset
						}
					}
					if !unstable && maps.Equal(got, want) {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("committed offsets %v (pending: %v), want %v", got, unstable, want)
					}
					time.Sleep(50 * time.Millisecond)
				}
			}

			// An aborted transaction: outputs hidden, offsets not committed.
			first := member()
			aborted := process(first, false)
			committed(map[int32]int64{})
			closeCtx, closeCancel := context.WithTimeout(ctx, time.Second)
			first.Close(closeCtx) // its records are unmarked: it commits nothing
			closeCancel()
			t.Logf("aborted a transaction of %d records; no offsets committed", len(aborted))

			// A new member starts from the beginning again and commits.
			second := member()
			defer second.Close(context.Background())
			processed := map[int32]int64{}
			seen := map[string]int{}
			txns := 0
			for total := 0; total < n; {
				recs := process(second, true)
				txns++
				for _, r := range recs {
					if r.Offset != processed[r.Partition] {
						t.Fatalf("partition %d: record at %d after processing up to %d", r.Partition, r.Offset, processed[r.Partition])
					}
					processed[r.Partition] = r.Offset + 1
					seen[string(r.Value)]++
					second.MarkProcessed(&r)
				}
				total += len(recs)
				committed(processed)
			}
			if !maps.Equal(processed, end) {
				t.Fatalf("processed %v, input ends at %v", processed, end)
			}
			t.Logf("%d committed transactions; committed offsets %v equal the processed positions", txns, processed)
			checkTxnPath(t, p, want, true)

			visible := kcatValues(t, boot, out, "read_committed")
			all := kcatValues(t, boot, out, "read_uncommitted")
			slices.Sort(visible)
			var wantOut []string
			for _, r := range inputs {
				wantOut = append(wantOut, "out-"+string(r.Value))
			}
			slices.Sort(wantOut)
			if !slices.Equal(visible, wantOut) {
				t.Fatalf("read_committed output has %d records, want each of the %d transformed inputs once", len(visible), n)
			}
			if len(all) != n+len(aborted) {
				t.Fatalf("read_uncommitted saw %d records, want %d (%d aborted)", len(all), n+len(aborted), len(aborted))
			}
			t.Logf("read_committed sees the %d transformed records once each; the %d aborted ones only read_uncommitted", n, len(aborted))
		})
	}
}

// TestRealTxnFencing: under both protocols a second producer with the same
// transactional id fences the first while its transaction is open; the
// zombie's late commit fails with ErrFenced, its record never becomes
// visible, and it stays fenced.
func TestRealTxnFencing(t *testing.T) {
	c, boot, ctx, _, tv := txnSetup(t)
	for _, mode := range txnModes {
		t.Run(mode.name, func(t *testing.T) {
			topic := fmt.Sprintf("fence-%s-%d", mode.name, rand.Uint32())
			if err := c.CreateTopic(ctx, topic, 2, 1); err != nil {
				t.Fatal(err)
			}
			id := "fence-" + topic
			mod := func(cfg *producer.Config) { cfg.TransactionalID, cfg.TransactionProtocol = id, mode.proto }
			zombie := newReal(t, boot, mod)
			if err := zombie.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if _, err := zombie.ProduceSync(ctx, &gregor.Record{Topic: topic, Value: []byte("zombie")}); err != nil {
				t.Fatal(err)
			}
			if got, want := zombie.TransactionVersion(), wantTxnVersion(mode.proto, tv); got != want {
				t.Fatalf("TransactionVersion() = %d, want %d", got, want)
			}
			// The successor's InitProducerId aborts the zombie's transaction.
			next := newReal(t, boot, mod)
			if err := next.BeginTransaction(); err != nil {
				t.Fatal(err)
			}
			if _, err := next.ProduceSync(ctx, &gregor.Record{Topic: topic, Value: []byte("successor")}); err != nil {
				t.Fatal(err)
			}
			if err := next.CommitTransaction(ctx); err != nil {
				t.Fatal(err)
			}
			err := zombie.CommitTransaction(ctx)
			if !errors.Is(err, producer.ErrFenced) {
				t.Fatalf("zombie commit: %v", err)
			}
			t.Logf("zombie's late commit: %v", err)
			if err := zombie.BeginTransaction(); !errors.Is(err, producer.ErrFenced) {
				t.Fatalf("zombie begins again: %v", err)
			}
			vals := kcatValues(t, boot, topic, "read_committed")
			if !slices.Equal(vals, []string{"successor"}) {
				t.Fatalf("read_committed: %v", vals)
			}
			checkTxnPath(t, next, wantTxnVersion(mode.proto, tv), false)
		})
	}
}

// setTxnVersion finalizes transaction.version at level with Kafka's own
// feature tool and waits until the brokers report it.
func setTxnVersion(t *testing.T, ctx context.Context, boot []string, adm *admin.Client, level int16) {
	t.Helper()
	verb := "upgrade"
	if level < 2 {
		verb = "downgrade"
	}
	if _, err := integration.RunTool(ctx, "org.apache.kafka.tools.FeatureCommand", "--bootstrap-server", strings.Join(boot, ","),
		verb, "--feature", "transaction.version="+strconv.Itoa(int(level))); err != nil {
		t.Fatalf("set transaction.version %d: %v", level, err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		f, err := adm.DescribeFeatures(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f.Finalized["transaction.version"].Max == level {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("transaction.version still %d", f.Finalized["transaction.version"].Max)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRealTxnFallbackToV1: on a cluster whose finalized transaction.version
// is 1, a producer left on automatic uses transactions v1, and its
// transactions work; the level is restored to 2 afterwards.
func TestRealTxnFallbackToV1(t *testing.T) {
	c, boot, ctx, adm, tv := txnSetup(t)
	if tv < 2 {
		t.Fatalf("the harness cluster runs transaction.version %d, expected 2", tv)
	}
	setTxnVersion(t, ctx, boot, adm, 1)
	defer setTxnVersion(t, context.Background(), boot, adm, int16(tv))
	topic := fmt.Sprintf("tv1-%d", rand.Uint32())
	if err := c.CreateTopic(ctx, topic, 2, 1); err != nil {
		t.Fatal(err)
	}
	p := newReal(t, boot, func(cfg *producer.Config) { cfg.TransactionalID = "tv1-" + topic })
	for i, commit := range []bool{false, true} {
		if err := p.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		if _, err := p.ProduceSync(ctx, &gregor.Record{Topic: topic, Value: []byte(strconv.Itoa(i))}); err != nil {
			t.Fatal(err)
		}
		end := p.AbortTransaction
		if commit {
			end = p.CommitTransaction
		}
		if err := end(ctx); err != nil {
			t.Fatal(err)
		}
	}
	checkTxnPath(t, p, 1, false)
	if vals := kcatValues(t, boot, topic, "read_committed"); !slices.Equal(vals, []string{"1"}) {
		t.Fatalf("read_committed: %v", vals)
	}
}
