package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/producer"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/gregorkafka/gregor/sasl"
)

func TestIntegrationReassignAndElect(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 2*time.Minute)
	topic := uniqueName("reassign")
	if _, err := a.CreateTopic(ctx, NewTopic{Name: topic, Assignments: [][]int32{{1, 2}}}, CreateTopicsOptions{}); err != nil {
		t.Fatal(err)
	}
	kcatProduce(t, kc, topic, 0, 5)
	tp := TopicPartition{topic, 0}

	res, err := a.AlterReassignments(ctx, map[TopicPartition][]int32{tp: {3, 2}, {topic, 9}: {1, 2}})
	if err != nil || res[tp] != nil || !errors.Is(res[TopicPartition{topic, 9}], protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("alter reassignments: %v %v", err, res)
	}
	// The replica moves: broker 3 holds the partition, broker 1 no more.
	waitFor(t, 60*time.Second, func() error {
		d, err := a.DescribeTopics(ctx, []string{topic}, DescribeTopicsOptions{})
		if err != nil || d[0].Err != nil {
			return fmt.Errorf("%v %+v", err, d)
		}
		if got := fmt.Sprint(d[0].Partitions[0].Replicas); got != "[3 2]" {
			return fmt.Errorf("replicas %s", got)
		}
		dirs, _, err := a.DescribeLogDirs(ctx, 1, 3)
		if err != nil {
			return err
		}
		if _, ok := dirs[3][0].Partitions[tp]; !ok {
			return errors.New("broker 3 has no replica yet")
		}
		if _, ok := dirs[1][0].Partitions[tp]; ok {
			return errors.New("broker 1 still has its replica")
		}
		return nil
	})
	ongoing, err := a.ListReassignments(ctx)
	if _, busy := ongoing[tp]; err != nil || busy {
		t.Fatalf("list reassignments after completion: %v %+v", err, ongoing)
	}
	// Cancelling a reassignment that is not running fails for that partition.
	res, err = a.AlterReassignments(ctx, map[TopicPartition][]int32{tp: nil})
	if err != nil || !errors.Is(res[tp], protocol.ErrNoReassignmentInProgress) {
		t.Fatalf("cancel: %v %v", err, res)
	}

	// The leader is already the preferred replica.
	waitFor(t, 30*time.Second, func() error {
		el, err := a.ElectLeaders(ctx, ElectPreferred, tp)
		if err != nil || !errors.Is(el[tp], protocol.ErrElectionNotNeeded) {
			return fmt.Errorf("preferred election: %v %v", err, el)
		}
		return nil
	})
	el, err := a.ElectLeaders(ctx, ElectUnclean, tp, TopicPartition{topic, 9})
	if err != nil || !errors.Is(el[tp], protocol.ErrElectionNotNeeded) || !errors.Is(el[TopicPartition{topic, 9}], protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("unclean election: %v %v", err, el)
	}
}

func TestIntegrationTransactions(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 2*time.Minute)
	topic := uniqueName("txn")
	mustCreate(t, a, topic, 1, 3)
	txnID := uniqueName("gregor-txn")
	// Gregor's own transactional producer writes the transaction: it waits
	// out NOT_COORDINATOR while the transaction coordinator loads, where
	// kcat's init_transactions gave up now and then.
	p, err := producer.New(producer.Config{Conn: testConfig(kc.Bootstrap(integration.Plaintext)), TransactionalID: txnID})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	if err := p.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"a", "b", "c"} {
		res, err := p.ProduceSync(ctx, &gregor.Record{Topic: topic, Value: []byte(v)})
		if err != nil || res[0].Outcome != producer.Written || res[0].Partition != 0 {
			t.Fatalf("transactional produce of %s: %v %+v", v, err, res)
		}
	}
	if err := p.CommitTransaction(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}

	tp := TopicPartition{topic, 0}
	dp, err := a.DescribeProducers(ctx, tp, TopicPartition{topic, 5})
	if err != nil || dp[tp].Err != nil || len(dp[tp].Producers) != 1 || dp[TopicPartition{topic, 5}].Err == nil {
		t.Fatalf("describe producers: %v %+v", err, dp)
	}
	pid := dp[tp].Producers[0].ProducerID

	var desc TransactionDescription
	waitFor(t, 30*time.Second, func() error {
		ds, err := a.DescribeTransactions(ctx, txnID, "no-such-txn")
		if err != nil {
			return err
		}
		if !errors.Is(ds[1].Err, protocol.ErrTransactionalIDNotFound) {
			return fmt.Errorf("missing txn id: %v", ds[1].Err)
		}
		desc = ds[0]
		if desc.Err != nil || desc.State != "CompleteCommit" {
			return fmt.Errorf("transaction: %+v", desc)
		}
		return nil
	})
	if desc.ProducerID != pid {
		t.Fatalf("transaction's producer %d, partition's %d", desc.ProducerID, pid)
	}
	ls, err := a.ListTransactions(ctx, ListTransactionsOptions{ProducerIDs: []int64{pid}})
	if err != nil || !slices.ContainsFunc(ls, func(l TransactionListing) bool {
		return l.TransactionalID == txnID && l.Coordinator == desc.Coordinator
	}) {
		t.Fatalf("list transactions: %v %+v", err, ls)
	}
}

func TestIntegrationDelegationTokens(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	ctx := ctxT(t, 2*time.Minute)

	// Tokens may not be created over an unauthenticated connection.
	plain := newAdmin(t, kc)
	if _, err := plain.CreateDelegationToken(ctx, CreateDelegationTokenOptions{}); !errors.Is(err, protocol.ErrDelegationTokenRequestNotAllowed) {
		t.Fatalf("token over plaintext: %v", err)
	}

	cfg := testConfig(kc.Bootstrap(integration.SASLPlaintext))
	cfg.SASL = sasl.Plain{User: integration.AdminUser.Username, Password: integration.AdminUser.Password}
	a := newAdminCfg(t, cfg)
	tok, err := a.CreateDelegationToken(ctx, CreateDelegationTokenOptions{Renewers: []string{"User:admin"}})
	if err != nil || tok.TokenID == "" || len(tok.HMAC) == 0 || tok.Owner != "User:admin" {
		t.Fatalf("create token: %v %+v", err, tok)
	}
	waitFor(t, 20*time.Second, func() error {
		ts, err := a.DescribeDelegationTokens(ctx, "User:admin")
		if err != nil || !slices.ContainsFunc(ts, func(d DelegationToken) bool { return d.TokenID == tok.TokenID }) {
			return fmt.Errorf("describe tokens: %v %+v", err, ts)
		}
		return nil
	})
	exp, err := a.RenewDelegationToken(ctx, tok.HMAC, 3600_000)
	if err != nil || exp < tok.IssueMs {
		t.Fatalf("renew: %v %d", err, exp)
	}
	if _, err := a.ExpireDelegationToken(ctx, tok.HMAC, -1); err != nil {
		t.Fatalf("expire: %v", err)
	}
	if _, err := a.RenewDelegationToken(ctx, []byte("not a token"), 0); !errors.Is(err, protocol.ErrDelegationTokenNotFound) {
		t.Fatalf("renew unknown token: %v", err)
	}
}

// TestIntegrationNodeLoss stops a broker and watches DescribeTopics report
// the new leader and the shrunk ISR, then restarts it and moves leadership
// back with a preferred-leader election.
func TestIntegrationNodeLoss(t *testing.T) {
	kc := integration.Shared(t, three)
	if kc.External() {
		t.Skip("needs a local cluster")
	}
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 3*time.Minute)
	topic := uniqueName("nodeloss")
	if _, err := a.CreateTopic(ctx, NewTopic{Name: topic, Assignments: [][]int32{{3, 1, 2}}}, CreateTopicsOptions{}); err != nil {
		t.Fatal(err)
	}
	tp := TopicPartition{topic, 0}
	describe := func() (PartitionInfo, error) {
		d, err := a.DescribeTopics(ctx, []string{topic}, DescribeTopicsOptions{})
		if err != nil || d[0].Err != nil || len(d[0].Partitions) != 1 {
			return PartitionInfo{}, fmt.Errorf("%v %+v", err, d)
		}
		return d[0].Partitions[0], nil
	}
	waitFor(t, 20*time.Second, func() error {
		p, err := describe()
		if err == nil && (p.Leader != 3 || len(p.ISR) != 3) {
			err = fmt.Errorf("before: %+v", p)
		}
		return err
	})

	if err := kc.StopNode(ctx, 2); err != nil { // node id 3
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			if err := kc.StartNode(context.Background(), 2); err != nil {
				t.Errorf("restart node 3: %v", err)
			}
		}
	})
	waitFor(t, 60*time.Second, func() error {
		p, err := describe()
		if err == nil && (p.Leader == 3 || p.Leader < 0 || slices.Contains(p.ISR, 3) || len(p.Replicas) != 3) {
			err = fmt.Errorf("after stopping node 3: %+v", p)
		}
		return err
	})

	if err := kc.StartNode(ctx, 2); err != nil {
		t.Fatal(err)
	}
	restarted = true
	waitFor(t, 90*time.Second, func() error {
		p, err := describe()
		if err == nil && len(p.ISR) != 3 {
			err = fmt.Errorf("after restarting node 3: %+v", p)
		}
		return err
	})
	waitFor(t, 60*time.Second, func() error {
		el, err := a.ElectLeaders(ctx, ElectPreferred, tp)
		if err != nil {
			return err
		}
		if e := el[tp]; e != nil && !errors.Is(e, protocol.ErrElectionNotNeeded) {
			return e
		}
		p, err := describe()
		if err == nil && p.Leader != 3 {
			err = fmt.Errorf("after preferred election: %+v", p)
		}
		return err
	})
}
