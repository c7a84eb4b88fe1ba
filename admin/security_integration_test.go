package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/gregorkafka/gregor/sasl"
)

// aliceConfig is a client configuration authenticated as alice over SASL
// PLAIN; the authorizer gives alice nothing unless an ACL does.
func aliceConfig(kc *integration.Cluster) (cfg gregor.ConnConfig) {
	cfg = testConfig(kc.Bootstrap(integration.SASLPlaintext))
	cfg.SASL = sasl.Plain{User: integration.AliceUser.Username, Password: integration.AliceUser.Password}
	return cfg
}

func TestIntegrationACLs(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	alice := newAdminCfg(t, aliceConfig(kc))
	ctx := ctxT(t, 2*time.Minute)
	topic := uniqueName("acls")
	mustCreate(t, a, topic, 1, 3)

	// Without an ACL, alice may neither see nor create topics.
	ds, err := alice.DescribeTopics(ctx, []string{topic}, DescribeTopicsOptions{})
	if err != nil || !errors.Is(ds[0].Err, protocol.ErrTopicAuthorizationFailed) {
		t.Fatalf("alice describes without ACL: %v %+v", err, ds)
	}
	if _, err := alice.CreateTopic(ctx, NewTopic{Name: uniqueName("alice"), Partitions: 1, ReplicationFactor: 1}, CreateTopicsOptions{}); !errors.Is(err, protocol.ErrTopicAuthorizationFailed) {
		t.Fatalf("alice creates without ACL: %v", err)
	}

	allow := ACL{ResourceType: ACLResourceTopic, ResourceName: topic, PatternType: PatternLiteral, Principal: "User:alice",
		Host: "*", Operation: ACLOpDescribe, Permission: PermissionAllow}
	bad := ACL{ResourceType: ACLResourceAny, ResourceName: topic, PatternType: PatternLiteral, Principal: "User:alice",
		Host: "*", Operation: ACLOpRead, Permission: PermissionAllow}
	ce, err := a.CreateACLs(ctx, []ACL{allow, bad})
	if err != nil || ce[0] != nil || !errors.Is(ce[1], protocol.ErrInvalidRequest) {
		t.Fatalf("create ACLs: %v %v", err, ce)
	}
	t.Logf("invalid ACL: %v", ce[1])
	waitFor(t, 30*time.Second, func() error {
		ds, err := alice.DescribeTopics(ctx, []string{topic}, DescribeTopicsOptions{AuthorizedOperations: true})
		if err != nil || ds[0].Err != nil {
			return fmt.Errorf("alice describes with ACL: %v %+v", err, ds)
		}
		if !slices.Contains(ds[0].AuthorizedOperations, ACLOpDescribe) || slices.Contains(ds[0].AuthorizedOperations, ACLOpWrite) {
			return fmt.Errorf("alice's authorized operations: %v", ds[0].AuthorizedOperations)
		}
		return nil
	})

	principal := "User:alice"
	got, err := a.DescribeACLs(ctx, ACLFilter{ResourceType: ACLResourceAny, PatternType: PatternAny, Principal: &principal,
		Operation: ACLOpAny, Permission: PermissionAny})
	if err != nil || !slices.Contains(got, allow) {
		t.Fatalf("describe ACLs: %v %+v", err, got)
	}
	// Alice may not describe ACLs.
	if _, err := alice.DescribeACLs(ctx, ACLFilter{ResourceType: ACLResourceAny, PatternType: PatternAny, Operation: ACLOpAny, Permission: PermissionAny}); !errors.Is(err, protocol.ErrClusterAuthorizationFailed) {
		t.Fatalf("alice describes ACLs: %v", err)
	}

	del, err := a.DeleteACLs(ctx, []ACLFilter{{ResourceType: ACLResourceTopic, ResourceName: &topic, PatternType: PatternLiteral,
		Principal: &principal, Operation: ACLOpAny, Permission: PermissionAny}})
	if err != nil || del[0].Err != nil || len(del[0].Deleted) != 1 || del[0].Deleted[0] != allow {
		t.Fatalf("delete ACLs: %v %+v", err, del)
	}
	waitFor(t, 30*time.Second, func() error {
		ds, err := alice.DescribeTopics(ctx, []string{topic}, DescribeTopicsOptions{})
		if err != nil || !errors.Is(ds[0].Err, protocol.ErrTopicAuthorizationFailed) {
			return fmt.Errorf("alice after ACL deletion: %v %+v", err, ds)
		}
		return nil
	})
}

func TestIntegrationScram(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 2*time.Minute)
	user := uniqueName("bob")
	const password = "bob-secret-1"

	// Kafka refuses two changes to one user in one request.
	res, err := a.AlterUserScramCredentials(ctx, []ScramUpsertion{
		{User: user, Mechanism: ScramSHA256, Password: password},
		{User: user, Mechanism: ScramSHA512, Password: password, Iterations: 8192},
	}, nil)
	if err != nil || !errors.Is(res[user], protocol.ErrDuplicateResource) {
		t.Fatalf("double upsert: %v %v", err, res)
	}
	for _, u := range []ScramUpsertion{
		{User: user, Mechanism: ScramSHA256, Password: password},
		{User: user, Mechanism: ScramSHA512, Password: password, Iterations: 8192},
	} {
		res, err := a.AlterUserScramCredentials(ctx, []ScramUpsertion{u}, nil)
		if err != nil || res[user] != nil {
			t.Fatalf("upsert: %v %v", err, res)
		}
	}
	// Brokers learn credentials from the metadata log, each in its time.
	waitFor(t, 20*time.Second, func() error {
		dr, err := a.DescribeUserScramCredentials(ctx, user, "no-such-user")
		if err != nil || dr[user].Err != nil || len(dr[user].Credentials) != 2 || !errors.Is(dr["no-such-user"].Err, protocol.ErrResourceNotFound) {
			return fmt.Errorf("describe: %v %+v", err, dr)
		}
		if !slices.Contains(dr[user].Credentials, ScramCredentialInfo{ScramSHA512, 8192}) {
			return fmt.Errorf("credentials: %+v", dr[user].Credentials)
		}
		return nil
	})

	// The new user authenticates with both mechanisms.
	dial := func(h sasl.ScramHash, pw string) error {
		cfg := testConfig(kc.Bootstrap(integration.SASLPlaintext))
		cfg.SASL = sasl.Scram{Hash: h, User: user, Password: pw}
		cfg.AuthFailureBackoff = 50 * time.Millisecond
		c, err := New(cfg)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err = c.DescribeCluster(cctx, DescribeClusterOptions{})
		return err
	}
	waitFor(t, 30*time.Second, func() error { return dial(sasl.ScramSHA256, password) })
	waitFor(t, 30*time.Second, func() error { return dial(sasl.ScramSHA512, password) })
	if err := dial(sasl.ScramSHA256, "wrong"); err == nil {
		t.Fatal("a wrong password authenticated")
	}

	for _, m := range []ScramMechanism{ScramSHA256, ScramSHA512} {
		res, err = a.AlterUserScramCredentials(ctx, nil, []ScramDeletion{{user, m}})
		if err != nil || res[user] != nil {
			t.Fatalf("delete %v: %v %v", m, err, res)
		}
	}
	waitFor(t, 30*time.Second, func() error {
		if err := dial(sasl.ScramSHA256, password); err == nil {
			return errors.New("deleted credential still authenticates")
		}
		return nil
	})
	res, err = a.AlterUserScramCredentials(ctx, nil, []ScramDeletion{{user, ScramSHA256}})
	if err != nil || !errors.Is(res[user], protocol.ErrResourceNotFound) {
		t.Fatalf("delete again: %v %v", err, res)
	}
}

func TestIntegrationQuotas(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 2*time.Minute)
	user := uniqueName("quota-user")
	entity := QuotaEntity{{Type: QuotaUser, Name: &user}}

	errs, err := a.AlterClientQuotas(ctx, []QuotaAlteration{
		{Entity: entity, Ops: []QuotaOp{{Key: "producer_byte_rate", Value: 1024}, {Key: "consumer_byte_rate", Value: 2048}}},
		{Entity: QuotaEntity{{Type: "no-such-type", Name: &user}}, Ops: []QuotaOp{{Key: "producer_byte_rate", Value: 1}}},
	}, false)
	if err != nil || errs[0] != nil || errs[1] == nil {
		t.Fatalf("alter quotas: %v %v", err, errs)
	}
	waitFor(t, 20*time.Second, func() error {
		qs, err := a.DescribeClientQuotas(ctx, []QuotaFilter{{Type: QuotaUser, Match: &user}}, false)
		if err != nil || len(qs) != 1 || qs[0].Values["producer_byte_rate"] != 1024 || qs[0].Values["consumer_byte_rate"] != 2048 {
			return fmt.Errorf("describe quotas: %v %+v", err, qs)
		}
		return nil
	})
	// Kafka's own tool reads the same quota.
	out, err := integration.RunTool(ctx, "kafka.admin.ConfigCommand", "--bootstrap-server", strings.Join(kc.Bootstrap(integration.Plaintext), ","),
		"--describe", "--entity-type", "users", "--entity-name", user)
	if err != nil || !strings.Contains(out, "producer_byte_rate=1024") {
		t.Fatalf("kafka-configs: %v %s", err, out)
	}
	errs, err = a.AlterClientQuotas(ctx, []QuotaAlteration{{Entity: entity, Ops: []QuotaOp{{Key: "producer_byte_rate", Remove: true}}}}, false)
	if err != nil || errs[0] != nil {
		t.Fatalf("remove quota: %v %v", err, errs)
	}
	waitFor(t, 20*time.Second, func() error {
		qs, err := a.DescribeClientQuotas(ctx, []QuotaFilter{{Type: QuotaUser, Match: &user}}, true)
		if err != nil || len(qs) != 1 || len(qs[0].Values) != 1 {
			return fmt.Errorf("after removal: %v %+v", err, qs)
		}
		return nil
	})
}

func TestIntegrationCluster(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 2*time.Minute)

	cd, err := a.DescribeCluster(ctx, DescribeClusterOptions{AuthorizedOperations: true})
	if err != nil || cd.ClusterID == "" || len(cd.Brokers) != 3 || cd.Controller < 1 || cd.Controller > 3 || len(cd.AuthorizedOperations) == 0 {
		t.Fatalf("describe cluster: %v %+v", err, cd)
	}
	// Second path: kcat's view of the brokers.
	addrs := map[string]bool{}
	for _, b := range cd.Brokers {
		addrs[fmt.Sprintf("%s:%d", b.Host, b.Port)] = true
	}
	for _, s := range kc.Bootstrap(integration.Plaintext) {
		if !addrs[s] {
			t.Fatalf("broker %s missing from %+v", s, cd.Brokers)
		}
	}

	q, err := a.DescribeQuorum(ctx)
	if err != nil || len(q.Voters) != 3 || q.Leader < 1 || q.Leader > 3 || q.HighWatermark <= 0 {
		t.Fatalf("describe quorum: %v %+v", err, q)
	}
	for i, v := range q.Voters {
		if v.ID != cd.Brokers[i].ID || v.LogEndOffset <= 0 {
			t.Fatalf("voter %+v vs broker %+v", v, cd.Brokers[i])
		}
	}

	f, err := a.DescribeFeatures(ctx)
	if err != nil || f.Finalized["metadata.version"].Max <= 0 || f.Supported["metadata.version"].Max < f.Finalized["metadata.version"].Max {
		t.Fatalf("features: %v %+v", err, f)
	}
	// Validate-only updates: the current level is accepted, a level past
	// what the brokers support is refused.
	mv := f.Finalized["metadata.version"].Max
	uf, err := a.UpdateFeatures(ctx, map[string]FeatureUpdate{"metadata.version": {Level: mv}}, true)
	if err != nil || uf["metadata.version"] != nil {
		t.Fatalf("update features (same level): %v %v", err, uf)
	}
	uf, err = a.UpdateFeatures(ctx, map[string]FeatureUpdate{"metadata.version": {Level: f.Supported["metadata.version"].Max + 5}}, true)
	if err != nil || !errors.Is(uf["metadata.version"], protocol.ErrInvalidUpdateVersion) {
		t.Fatalf("update features past the supported level: %v %v", err, uf)
	}
	// A downgrade request encodes with UpgradeType (v1+), which the
	// controller validates: transaction.version 2 may safely go to 1.
	if tv := f.Finalized["transaction.version"].Max; tv >= 2 {
		uf, err = a.UpdateFeatures(ctx, map[string]FeatureUpdate{"transaction.version": {Level: tv - 1, Type: FeatureSafeDowngrade}}, true)
		if err != nil || uf["transaction.version"] != nil {
			t.Fatalf("validate-only safe downgrade of transaction.version: %v %v", err, uf)
		}
	} else {
		t.Fatalf("the 3-node cluster finalized transaction.version %d, want at least 2", tv)
	}

	topic := uniqueName("logdirs")
	mustCreate(t, a, topic, 1, 3)
	kcatProduce(t, kc, topic, 0, 20)
	tp := TopicPartition{topic, 0}
	waitFor(t, 30*time.Second, func() error {
		dirs, errs, err := a.DescribeLogDirs(ctx)
		if err != nil || len(errs) != 0 || len(dirs) != 3 {
			return fmt.Errorf("log dirs: %v %v %d", err, errs, len(dirs))
		}
		for id, ds := range dirs {
			if len(ds) != 1 || ds[0].Err != nil || ds[0].TotalBytes <= 0 {
				return fmt.Errorf("broker %d dirs %+v", id, ds)
			}
			if p, ok := ds[0].Partitions[tp]; !ok || p.Size <= 0 {
				return fmt.Errorf("broker %d has %s at %+v", id, tp, p)
			}
		}
		return nil
	})
}
