package raw

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/cluster"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/gregorkafka/gregor/sasl"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

func fakeCluster(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func newClient(t *testing.T, seeds []string, mod func(*gregor.ConnConfig)) *Client {
	t.Helper()
	cfg := gregor.ConnConfig{SeedBrokers: seeds, RequestTimeout: 5 * time.Second, MetadataMinRefresh: 10 * time.Millisecond,
		RetryBackoffBase: 10 * time.Millisecond, RetryBackoffMax: 100 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := c.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return c
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func listOffsets(topic string, partition int32) *kmsg.ListOffsetsRequest {
	req := kmsg.NewPtrListOffsetsRequest()
	req.ReplicaID = -1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Partition = partition
	rp.Timestamp = -1
	rp.CurrentLeaderEpoch = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

func listOffsetsErr(t *testing.T, r Response) error {
	t.Helper()
	resp := kmsg.NewPtrListOffsetsResponse()
	resp.SetVersion(r.Version)
	if err := resp.ReadFrom(r.Body); err != nil {
		t.Fatalf("decode ListOffsets v%d: %v", r.Version, err)
	}
	return protocol.ErrorForCode(resp.Topics[0].Partitions[0].ErrorCode)
}

// TestRequestAnyBroker sends a kmsg Metadata request and decodes the answer.
func TestRequestAnyBroker(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(2, "t"))
	c := newClient(t, fake.ListenAddrs()[:1], nil)
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("t")
	req.Topics = append(req.Topics, rt)
	r, err := c.Request(ctxT(t, 10*time.Second), AnyBroker(), Wrap(req))
	if err != nil {
		t.Fatal(err)
	}
	resp := kmsg.NewPtrMetadataResponse()
	resp.SetVersion(r.Version)
	if err := resp.ReadFrom(r.Body); err != nil {
		t.Fatal(err)
	}
	if len(resp.Brokers) != 3 || len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 2 {
		t.Fatalf("unexpected metadata: %d brokers, %+v", len(resp.Brokers), resp.Topics)
	}
	if r.Version < 9 {
		t.Fatalf("version %d, want the highest both support", r.Version)
	}
}

// TestNotLeaderRefresh moves a partition's leadership: the request to the
// old leader answers NOT_LEADER_OR_FOLLOWER, HandleError refreshes the
// metadata and the retry reaches the new leader.
func TestNotLeaderRefresh(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(1, "t"))
	c := newClient(t, fake.ListenAddrs(), nil)
	ctx := ctxT(t, 20*time.Second)
	r, err := c.Request(ctx, Leader("t", 0), Wrap(listOffsets("t", 0)))
	if err != nil {
		t.Fatal(err)
	}
	if err := listOffsetsErr(t, r); err != nil {
		t.Fatal(err)
	}
	old := fake.LeaderFor("t", 0)
	if r.Broker != old {
		t.Fatalf("request went to %d, leader is %d", r.Broker, old)
	}
	next := (old + 1) % 3
	if err := fake.MoveTopicPartition("t", 0, next); err != nil {
		t.Fatal(err)
	}
	sawNotLeader := false
	for attempt := 0; ; attempt++ {
		r, err = c.Request(ctx, Leader("t", 0), Wrap(listOffsets("t", 0)))
		if err != nil {
			t.Fatal(err)
		}
		kerr := listOffsetsErr(t, r)
		if kerr == nil {
			break
		}
		if !errors.Is(kerr, protocol.ErrNotLeaderOrFollower) {
			t.Fatalf("got %v", kerr)
		}
		sawNotLeader = true
		if !c.HandleError(Leader("t", 0), kerr) {
			t.Fatal("NOT_LEADER_OR_FOLLOWER should be retriable")
		}
		if attempt > 50 {
			t.Fatal("leader never refreshed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !sawNotLeader || r.Broker != next {
		t.Fatalf("sawNotLeader=%v, answered by %d, new leader %d", sawNotLeader, r.Broker, next)
	}
}

// TestCoordinatorInvalidation answers the first OffsetFetch with
// NOT_COORDINATOR: HandleError forgets the coordinator and the next request
// looks it up again.
func TestCoordinatorInvalidation(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(3))
	c := newClient(t, fake.ListenAddrs(), nil)
	ctx := ctxT(t, 20*time.Second)
	fake.ControlKey(9, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		req := kreq.(*kmsg.OffsetFetchRequest)
		resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
		resp.ErrorCode = protocol.ErrNotCoordinator.Code
		g := kmsg.NewOffsetFetchResponseGroup()
		g.Group = "g"
		g.ErrorCode = protocol.ErrNotCoordinator.Code
		resp.Groups = append(resp.Groups, g)
		return resp, nil, true
	})
	offsetFetch := func() error {
		req := kmsg.NewPtrOffsetFetchRequest()
		req.Group = "g"
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = "g"
		req.Groups = append(req.Groups, rg)
		r, err := c.Request(ctx, GroupCoordinator("g"), Wrap(req))
		if err != nil {
			return err
		}
		resp := kmsg.NewPtrOffsetFetchResponse()
		resp.SetVersion(r.Version)
		if err := resp.ReadFrom(r.Body); err != nil {
			t.Fatal(err)
		}
		code := resp.ErrorCode
		if len(resp.Groups) > 0 {
			code = resp.Groups[0].ErrorCode
		}
		if r.Broker != fake.CoordinatorFor("g") {
			t.Errorf("answered by %d, coordinator is %d", r.Broker, fake.CoordinatorFor("g"))
		}
		return protocol.ErrorForCode(code)
	}
	// kfake answers an OffsetFetch for a group without commits with
	// GROUP_ID_NOT_FOUND: that is the coordinator serving the request.
	served := func(err error) error {
		if errors.Is(err, protocol.ErrGroupIDNotFound) {
			return nil
		}
		return err
	}
	err := offsetFetch()
	if !errors.Is(err, protocol.ErrNotCoordinator) {
		t.Fatalf("first OffsetFetch: %v, want NOT_COORDINATOR", err)
	}
	cl := c.cluster()
	if n := cl.FindCoordinatorRequests(); n != 1 {
		t.Fatalf("%d FindCoordinator requests, want 1", n)
	}
	if !c.HandleError(GroupCoordinator("g"), err) {
		t.Fatal("NOT_COORDINATOR should be retriable")
	}
	if err := served(offsetFetch()); err != nil {
		t.Fatal(err)
	}
	if n := cl.FindCoordinatorRequests(); n != 2 {
		t.Fatalf("%d FindCoordinator requests, want 2 (the coordinator was invalidated)", n)
	}
	if err := served(offsetFetch()); err != nil {
		t.Fatal(err)
	}
	if n := cl.FindCoordinatorRequests(); n != 2 {
		t.Fatalf("%d FindCoordinator requests, want 2 (cached)", n)
	}
}

// TestBatchedCoordinators looks up several groups with one v4+ request.
func TestBatchedCoordinators(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(3))
	c := newClient(t, fake.ListenAddrs(), nil)
	ids, err := c.cluster().Coordinators(ctxT(t, 10*time.Second), cluster.GroupCoordinator, "a", "b", "c", "d")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []string{"a", "b", "c", "d"} {
		if ids[g] != fake.CoordinatorFor(g) {
			t.Errorf("group %s: got %d, want %d", g, ids[g], fake.CoordinatorFor(g))
		}
	}
	if n := c.cluster().FindCoordinatorRequests(); n != 1 {
		t.Fatalf("%d FindCoordinator requests, want 1", n)
	}
}

// TestReconnectAfterDrop drops the connection under a request: the client
// retries on a new connection and the caller sees only the answer.
func TestReconnectAfterDrop(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	c := newClient(t, fake.ListenAddrs(), nil)
	ctx := ctxT(t, 10*time.Second)
	if _, err := c.Request(ctx, Leader("t", 0), Wrap(listOffsets("t", 0))); err != nil {
		t.Fatal(err)
	}
	var drops atomic.Int32
	fake.ControlKey(2, func(kmsg.Request) (kmsg.Response, error, bool) {
		drops.Add(1)
		return nil, errors.New("drop"), true
	})
	r, err := c.Request(ctx, Leader("t", 0), Wrap(listOffsets("t", 0)))
	if err != nil {
		t.Fatal(err)
	}
	if err := listOffsetsErr(t, r); err != nil || drops.Load() != 1 {
		t.Fatalf("err %v, drops %d", err, drops.Load())
	}
}

// TestAuthFailureFastNoStorm uses a wrong password: the typed error comes
// back at once, and requests during the auth backoff do not dial again.
func TestAuthFailureFastNoStorm(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("PLAIN", "admin", "secret"))
	var auths atomic.Int32
	// kfake drops the connection on bad credentials; a real broker answers
	// SASL_AUTHENTICATION_FAILED first, which this control reproduces.
	fake.ControlKey(36, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		auths.Add(1)
		req := kreq.(*kmsg.SASLAuthenticateRequest)
		if strings.HasSuffix(string(req.SASLAuthBytes), "\x00wrong") {
			resp := req.ResponseKind().(*kmsg.SASLAuthenticateResponse)
			resp.ErrorCode = protocol.ErrSASLAuthenticationFailed.Code
			resp.ErrorMessage = kmsg.StringPtr("Authentication failed: Invalid username or password")
			return resp, nil, true
		}
		return nil, nil, false
	})
	c := newClient(t, fake.ListenAddrs(), func(cfg *gregor.ConnConfig) {
		cfg.SASL = sasl.Plain{User: "admin", Password: "wrong"}
	})
	start := time.Now()
	for i := 0; i < 5; i++ {
		_, err := c.Request(ctxT(t, 10*time.Second), AnyBroker(), Wrap(kmsg.NewPtrMetadataRequest()))
		var ae *gregor.AuthError
		if !errors.As(err, &ae) || !errors.Is(err, protocol.ErrSASLAuthenticationFailed) || gregor.IsRetriable(err) {
			t.Fatalf("got %v, want a non-retriable *gregor.AuthError", err)
		}
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("5 failing requests took %s", d)
	}
	if n := auths.Load(); n != 1 {
		t.Fatalf("%d SaslAuthenticate requests for 5 calls, want 1 (auth failures back off)", n)
	}

	good := newClient(t, fake.ListenAddrs(), func(cfg *gregor.ConnConfig) {
		cfg.SASL = sasl.Plain{User: "admin", Password: "secret"}
	})
	if _, err := good.Request(ctxT(t, 10*time.Second), AnyBroker(), Wrap(kmsg.NewPtrMetadataRequest())); err != nil {
		t.Fatal(err)
	}
}

// TestCloseFailsWaiting closes the client while one request is held by the
// broker and another waits in retry backoff: both fail with ErrClosed.
func TestCloseFailsWaiting(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	c, err := New(gregor.ConnConfig{SeedBrokers: fake.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	defer close(release)
	held := make(chan struct{})
	fake.ControlKey(2, func(kmsg.Request) (kmsg.Response, error, bool) {
		close(held)
		fake.SleepControl(func() { <-release })
		return nil, nil, false
	})
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := c.Request(context.Background(), Leader("t", 0), Wrap(listOffsets("t", 0)))
		errs <- err
	}()
	<-held
	wg.Add(1)
	go func() {
		defer wg.Done()
		_, err := c.Request(context.Background(), Broker(42), Wrap(listOffsets("t", 0))) // unknown broker: retried
		errs <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := c.Close(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, gregor.ErrClosed) {
			t.Errorf("got %v, want ErrClosed", err)
		}
	}
	if _, err := c.Request(context.Background(), AnyBroker(), Wrap(kmsg.NewPtrMetadataRequest())); !errors.Is(err, gregor.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestRefreshCoalesced fires many refresh triggers at once: only a few
// Metadata requests reach the broker.
func TestRefreshCoalesced(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(1))
	var n atomic.Int32
	fake.ControlKey(3, func(kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		n.Add(1)
		return nil, nil, false
	})
	c := newClient(t, fake.ListenAddrs(), func(cfg *gregor.ConnConfig) { cfg.MetadataMinRefresh = 200 * time.Millisecond })
	cl := c.cluster()
	if err := cl.Refresh(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	base := n.Load()
	for i := 0; i < 100; i++ {
		cl.HandleError(protocol.ErrNotLeaderOrFollower)
	}
	if err := cl.Refresh(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := n.Load() - base; got < 1 || got > 2 {
		t.Fatalf("%d Metadata requests for 100 triggers and one Refresh, want 1 or 2", got)
	}
}

// TestLeaderHints applies a KIP-951 leader hint without a metadata request.
func TestLeaderHints(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(1, "t"))
	c := newClient(t, fake.ListenAddrs(), nil)
	cl := c.cluster()
	ctx := ctxT(t, 5*time.Second)
	leader, epoch, err := cl.Leader(ctx, "t", 0)
	if err != nil {
		t.Fatal(err)
	}
	next := (leader + 1) % 3
	cl.ApplyLeaderHints(cluster.LeaderHint{Topic: "t", Partition: 0, Leader: next, LeaderEpoch: epoch - 1})
	if l, _, _ := cl.Leader(ctx, "t", 0); l != leader {
		t.Fatal("a stale hint was applied")
	}
	cl.ApplyLeaderHints(cluster.LeaderHint{Topic: "t", Partition: 0, Leader: next, LeaderEpoch: epoch + 1})
	if l, e, _ := cl.Leader(ctx, "t", 0); l != next || e != epoch+1 {
		t.Fatalf("after hint: leader %d epoch %d, want %d %d", l, e, next, epoch+1)
	}
}

// TestRebootstrap forgets every known broker's address (they point at a
// closed port) and recovers through the seed brokers (KIP-899).
func TestRebootstrap(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(1))
	c := newClient(t, fake.ListenAddrs(), nil)
	cl := c.cluster()
	ctx := ctxT(t, 10*time.Second)
	if err := cl.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	cl.BreakKnownBrokersForTest()
	if err := cl.Refresh(ctx); err != nil {
		t.Fatalf("refresh with unreachable known brokers: %v", err)
	}
}

// TestConfigErrorsNameField checks that validation errors name the field.
func TestConfigErrorsNameField(t *testing.T) {
	_, err := New(gregor.ConnConfig{})
	var ce *gregor.ConfigError
	if !errors.As(err, &ce) || ce.Field != "SeedBrokers" || !errors.Is(err, gregor.ErrInvalidConfig) {
		t.Fatalf("got %v", err)
	}
}

// TestRolesSeparate holds a Fetch in the broker: requests of other roles to
// the same broker still complete, since each role has its own connection.
func TestRolesSeparate(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	c := newClient(t, fake.ListenAddrs(), nil)
	ctx := ctxT(t, 10*time.Second)
	release := make(chan struct{})
	held := make(chan struct{})
	fake.ControlKey(1, func(kmsg.Request) (kmsg.Response, error, bool) {
		close(held)
		fake.SleepControl(func() { <-release })
		return nil, nil, false
	})
	fetchDone := make(chan error, 1)
	go func() {
		req := kmsg.NewPtrFetchRequest()
		req.ReplicaID, req.MaxWaitMillis, req.MaxBytes = -1, 100, 1<<20
		_, err := c.Request(ctx, Leader("t", 0), Wrap(req))
		fetchDone <- err
	}()
	<-held
	if _, err := c.Request(ctx, Leader("t", 0), Wrap(listOffsets("t", 0))); err != nil {
		t.Fatalf("admin request behind a held fetch: %v", err)
	}
	select {
	case err := <-fetchDone:
		t.Fatalf("fetch finished early: %v", err)
	default:
	}
	close(release)
	if err := <-fetchDone; err != nil {
		t.Fatal(err)
	}
}

// TestIdleReap closes idle connections and reconnects on the next request.
func TestIdleReap(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(1), kfake.SeedTopics(1, "t"))
	c := newClient(t, fake.ListenAddrs(), func(cfg *gregor.ConnConfig) { cfg.ConnIdleTimeout = 100 * time.Millisecond })
	ctx := ctxT(t, 10*time.Second)
	if _, err := c.Request(ctx, Leader("t", 0), Wrap(listOffsets("t", 0))); err != nil {
		t.Fatal(err)
	}
	if n := c.cluster().OpenConns(); n == 0 {
		t.Fatal("no open connection after a request")
	}
	deadline := time.Now().Add(3 * time.Second)
	for c.cluster().OpenConns() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after idling", c.cluster().OpenConns())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := c.Request(ctx, Leader("t", 0), Wrap(listOffsets("t", 0))); err != nil {
		t.Fatal(err)
	}
}

type countingTP struct {
	noop.TracerProvider
	n *atomic.Int32
}

func (p countingTP) Tracer(string, ...trace.TracerOption) trace.Tracer {
	return countingTracer{n: p.n}
}

type countingTracer struct {
	noop.Tracer
	n *atomic.Int32
}

func (t countingTracer) Start(ctx context.Context, name string, opts ...trace.SpanStartOption) (context.Context, trace.Span) {
	t.n.Add(1)
	return t.Tracer.Start(ctx, name, opts...)
}

// TestTracing checks that a configured TracerProvider gets one span per
// request.
func TestTracing(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(1))
	var spans atomic.Int32
	c := newClient(t, fake.ListenAddrs(), func(cfg *gregor.ConnConfig) { cfg.TracerProvider = countingTP{n: &spans} })
	for i := 0; i < 3; i++ {
		if _, err := c.Request(ctxT(t, 5*time.Second), AnyBroker(), Wrap(kmsg.NewPtrMetadataRequest())); err != nil {
			t.Fatal(err)
		}
	}
	if n := spans.Load(); n != 3 {
		t.Fatalf("%d spans for 3 requests", n)
	}
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLogging checks the log levels of connection events and that no
// password reaches the log, even at debug level.
func TestLogging(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-256", "admin", "s3cret-pw"))
	var buf syncBuffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	good := newClient(t, fake.ListenAddrs(), func(cfg *gregor.ConnConfig) {
		cfg.Logger = logger
		cfg.SASL = sasl.Scram{Hash: sasl.ScramSHA256, User: "admin", Password: "s3cret-pw"}
	})
	if _, err := good.Request(ctxT(t, 5*time.Second), AnyBroker(), Wrap(kmsg.NewPtrMetadataRequest())); err != nil {
		t.Fatal(err)
	}
	fake.ControlKey(36, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		resp := kreq.(*kmsg.SASLAuthenticateRequest).ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.ErrorCode = protocol.ErrSASLAuthenticationFailed.Code
		return resp, nil, true
	})
	bad := newClient(t, fake.ListenAddrs(), func(cfg *gregor.ConnConfig) {
		cfg.Logger = logger
		cfg.SASL = sasl.Plain{User: "admin", Password: "wrong-pw-123"}
	})
	if _, err := bad.Request(ctxT(t, 5*time.Second), AnyBroker(), Wrap(kmsg.NewPtrMetadataRequest())); err == nil {
		t.Fatal("wrong password accepted")
	}
	out := buf.String()
	for _, secret := range []string{"s3cret-pw", "wrong-pw-123"} {
		if strings.Contains(out, secret) {
			t.Fatalf("log contains a password:\n%s", out)
		}
	}
	for _, want := range []string{`"level":"INFO","msg":"gregor: connected"`, `"level":"DEBUG","msg":"gregor: response"`,
		`"level":"WARN","msg":"gregor: SASL authentication failed"`} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
}

// TestBatchedCoordinatorMissingKey has the broker leave one key out of a
// batched FindCoordinator answer, and add one that was not asked for: the
// missing key is asked again instead of being cached as node 0, and the
// stray key is ignored.
func TestBatchedCoordinatorMissingKey(t *testing.T) {
	leakcheck.Check(t)
	fake := fakeCluster(t, kfake.NumBrokers(3))
	var calls atomic.Int32
	fake.ControlKey(10, func(req kmsg.Request) (kmsg.Response, error, bool) {
		if calls.Add(1) > 1 {
			return nil, nil, false // later requests: kfake answers normally
		}
		r := req.(*kmsg.FindCoordinatorRequest)
		resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
		for _, k := range append(r.CoordinatorKeys[1:], "stray") { // drop the first key
			co := kmsg.NewFindCoordinatorResponseCoordinator()
			co.Key, co.NodeID = k, fake.CoordinatorFor(k)
			co.Host, co.Port = "127.0.0.1", 1 // the stray key's broker must not be learned
			if k != "stray" {
				co.Host, co.Port = "", 0
			}
			resp.Coordinators = append(resp.Coordinators, co)
		}
		return resp, nil, true
	})
	c := newClient(t, fake.ListenAddrs(), nil)
	keys := []string{"a", "b", "c"}
	ids, err := c.cluster().Coordinators(ctxT(t, 10*time.Second), cluster.GroupCoordinator, keys...)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range keys {
		if ids[g] != fake.CoordinatorFor(g) {
			t.Errorf("group %s: got %d, want %d", g, ids[g], fake.CoordinatorFor(g))
		}
	}
	if _, ok := ids["stray"]; ok {
		t.Error("a key that was not asked for was returned")
	}
	if n := c.cluster().FindCoordinatorRequests(); n != 2 {
		t.Fatalf("%d FindCoordinator requests, want 2 (one retry for the missing key)", n)
	}
}
