package admin

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func fake(t *testing.T, opts ...kfake.Opt) (*kfake.Cluster, *Client) {
	t.Helper()
	leakcheck.Check(t)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg := testConfig(c.ListenAddrs())
	cfg.RequestTimeout = 5 * time.Second
	return c, newAdminCfg(t, cfg)
}

// seen records which broker answered requests of one key.
type seen struct {
	mu    sync.Mutex
	nodes []int32
}

func (s *seen) watch(c *kfake.Cluster, key int16) {
	c.ControlKey(key, func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		s.mu.Lock()
		s.nodes = append(s.nodes, c.CurrentNode())
		s.mu.Unlock()
		return nil, nil, false
	})
}

func (s *seen) all() []int32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int32(nil), s.nodes...)
}

func TestCreateTopicsPerItemErrors(t *testing.T) {
	_, a := fake(t, kfake.NumBrokers(3), kfake.SeedTopics(1, "exists"))
	ctx := ctxT(t, 10*time.Second)
	rs, err := a.CreateTopics(ctx, []NewTopic{
		{Name: "fresh", Partitions: 2, ReplicationFactor: 1, Configs: map[string]string{"retention.ms": "1000"}},
		{Name: "exists", Partitions: 1, ReplicationFactor: 1},
		{Name: "too-many-replicas", Partitions: 1, ReplicationFactor: 9},
	}, CreateTopicsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Err != nil || rs[0].Partitions != 2 {
		t.Fatalf("fresh: %+v", rs[0])
	}
	if !errors.Is(rs[1].Err, protocol.ErrTopicAlreadyExists) {
		t.Fatalf("exists: %v", rs[1].Err)
	}
	if !errors.Is(rs[2].Err, protocol.ErrInvalidReplicationFactor) {
		t.Fatalf("too many replicas: %v", rs[2].Err)
	}
	if err := rs.Err(); !errors.Is(err, protocol.ErrTopicAlreadyExists) || !errors.Is(err, protocol.ErrInvalidReplicationFactor) {
		t.Fatalf("joined: %v", err)
	}
	var ie *ItemError
	if !errors.As(rs[1].Err, &ie) || ie.Kind != "topic" || ie.Name != "exists" {
		t.Fatalf("item error: %#v", rs[1].Err)
	}
}

// A retriable per-topic error is retried for that topic only, at the
// controller.
func TestCreateTopicsRetriesAtController(t *testing.T) {
	c, a := fake(t, kfake.NumBrokers(3))
	ctx := ctxT(t, 10*time.Second)
	var calls []int32
	var sizes []int
	c.ControlKey(19, func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := r.(*kmsg.CreateTopicsRequest)
		calls = append(calls, c.CurrentNode())
		sizes = append(sizes, len(req.Topics))
		if len(calls) > 1 {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
		for _, tp := range req.Topics {
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic = tp.Topic
			if tp.Topic == "slow" {
				rt.ErrorCode = protocol.ErrNotController.Code
			} else {
				rt.ErrorCode = protocol.ErrPolicyViolation.Code
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	rs, err := a.CreateTopics(ctx, []NewTopic{{Name: "slow", Partitions: 1, ReplicationFactor: 1}, {Name: "refused", Partitions: 1, ReplicationFactor: 1}}, CreateTopicsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Err != nil || !errors.Is(rs[1].Err, protocol.ErrPolicyViolation) {
		t.Fatalf("results: %+v", rs)
	}
	if len(calls) != 2 || sizes[0] != 2 || sizes[1] != 1 {
		t.Fatalf("calls %v with %v topics", calls, sizes)
	}
	ctrl := a.c.Metadata().ControllerID
	for _, n := range calls {
		if n != ctrl {
			t.Fatalf("CreateTopics went to %d, controller is %d", n, ctrl)
		}
	}
}

func TestRoutingBrokerConfigsAndLeaders(t *testing.T) {
	c, a := fake(t, kfake.NumBrokers(3), kfake.SeedTopics(3, "t"))
	ctx := ctxT(t, 10*time.Second)
	var cfgs seen
	cfgs.watch(c, 32)
	dc, err := a.DescribeConfigs(ctx, []ConfigResource{BrokerResource(2), TopicResource("t"), TopicResource("missing")}, DescribeConfigsOptions{})
	if err != nil || dc[0].Err != nil || dc[1].Err != nil || !errors.Is(dc[2].Err, protocol.ErrUnknownTopicOrPartition) {
		t.Fatalf("describe configs: %v %+v", err, dc)
	}
	if got := cfgs.all(); len(got) != 2 || (got[0] != 2 && got[1] != 2) {
		t.Fatalf("describe configs went to %v, want one request at broker 2", got)
	}

	var lo seen
	lo.watch(c, 2)
	specs := map[TopicPartition]OffsetSpec{}
	want := map[int32]bool{}
	for p := int32(0); p < 3; p++ {
		specs[TopicPartition{"t", p}] = OffsetLatest
		want[c.LeaderFor("t", p)] = true
	}
	res, err := a.ListOffsets(ctx, specs, ListOffsetsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for tp, r := range res {
		if r.Err != nil || r.Offset != 0 {
			t.Fatalf("%s: %+v", tp, r)
		}
	}
	for _, n := range lo.all() {
		if !want[n] {
			t.Fatalf("ListOffsets went to %d, not a leader (%v)", n, want)
		}
	}
	if len(lo.all()) != len(want) {
		t.Fatalf("%d ListOffsets requests for %d leaders", len(lo.all()), len(want))
	}
}

func TestGroupsAtCoordinator(t *testing.T) {
	c, a := fake(t, kfake.NumBrokers(3), kfake.SeedTopics(2, "t"))
	ctx := ctxT(t, 10*time.Second)
	tp0 := TopicPartition{"t", 0}
	ao, err := a.AlterOffsets(ctx, "g", map[TopicPartition]NewOffset{tp0: {Offset: 5, LeaderEpoch: -1}})
	if err != nil || ao[tp0] != nil {
		t.Fatalf("alter offsets: %v %v", err, ao)
	}
	var fetches seen
	fetches.watch(c, 9)
	fo, err := a.FetchOffsets(ctx, "g", FetchOffsetsOptions{})
	if err != nil || fo[tp0].Offset != 5 {
		t.Fatalf("fetch offsets: %v %+v", err, fo)
	}
	if got := fetches.all(); len(got) != 1 || got[0] != c.CoordinatorFor("g") {
		t.Fatalf("OffsetFetch went to %v, coordinator is %d", got, c.CoordinatorFor("g"))
	}
	dg, err := a.DeleteGroups(ctx, "g", "nope")
	if err != nil || dg["g"] != nil || !errors.Is(dg["nope"], protocol.ErrGroupIDNotFound) {
		t.Fatalf("delete groups: %v %v", err, dg)
	}
}

// A coordinator that moved is looked up again and the request resent.
func TestDeleteGroupsNotCoordinatorRetried(t *testing.T) {
	c, a := fake(t, kfake.NumBrokers(3), kfake.SeedTopics(1, "t"))
	ctx := ctxT(t, 10*time.Second)
	tp0 := TopicPartition{"t", 0}
	if _, err := a.AlterOffsets(ctx, "g", map[TopicPartition]NewOffset{tp0: {Offset: 1, LeaderEpoch: -1}}); err != nil {
		t.Fatal(err)
	}
	n := 0
	c.ControlKey(42, func(r kmsg.Request) (kmsg.Response, error, bool) {
		n++
		req := r.(*kmsg.DeleteGroupsRequest)
		resp := req.ResponseKind().(*kmsg.DeleteGroupsResponse)
		for _, g := range req.Groups {
			rg := kmsg.NewDeleteGroupsResponseGroup()
			rg.Group, rg.ErrorCode = g, protocol.ErrNotCoordinator.Code
			resp.Groups = append(resp.Groups, rg)
		}
		return resp, nil, true
	})
	before := a.c.FindCoordinatorRequests()
	dg, err := a.DeleteGroups(ctx, "g")
	if err != nil || dg["g"] != nil {
		t.Fatalf("delete: %v %v", err, dg)
	}
	if n != 1 || a.c.FindCoordinatorRequests() == before {
		t.Fatalf("controlled %d times, FindCoordinator %d→%d", n, before, a.c.FindCoordinatorRequests())
	}
}

// A deadline bounds retries; the last per-item error stands.
func TestRetriesEndWithContext(t *testing.T) {
	c, a := fake(t, kfake.NumBrokers(1))
	c.ControlKey(19, func(r kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		req := r.(*kmsg.CreateTopicsRequest)
		resp := req.ResponseKind().(*kmsg.CreateTopicsResponse)
		for _, tp := range req.Topics {
			rt := kmsg.NewCreateTopicsResponseTopic()
			rt.Topic, rt.ErrorCode = tp.Topic, protocol.ErrNotController.Code
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := a.CreateTopic(ctx, NewTopic{Name: "x", Partitions: 1, ReplicationFactor: 1}, CreateTopicsOptions{})
	if !errors.Is(err, protocol.ErrNotController) {
		t.Fatalf("err %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestClosed(t *testing.T) {
	_, a := fake(t, kfake.NumBrokers(1))
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ListTopics(context.Background(), ListTopicsOptions{}); !errors.Is(err, gregor.ErrClosed) {
		t.Fatalf("after close: %v", err)
	}
}

func TestConfigValidated(t *testing.T) {
	if _, err := New(gregor.ConnConfig{}); !errors.Is(err, gregor.ErrInvalidConfig) {
		t.Fatalf("empty config: %v", err)
	}
}

func TestDecodeOperations(t *testing.T) {
	if decodeOperations(-2147483648) != nil {
		t.Fatal("not requested should be nil")
	}
	ops := decodeOperations(1<<3 | 1<<8)
	if len(ops) != 2 || ops[0] != ACLOpRead || ops[1] != ACLOpDescribe {
		t.Fatalf("ops %v", ops)
	}
}

func TestTopicIDRoundTrip(t *testing.T) {
	u := protocol.UUID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	s := TopicIDString(u)
	back, err := ParseTopicID(s)
	if err != nil || back != u || len(s) != 22 {
		t.Fatalf("%s %v %v", s, back, err)
	}
	if _, err := ParseTopicID("nope"); err == nil {
		t.Fatal("bad id parsed")
	}
}
