package admin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/gregorkafka/gregor/sasl"
)

// TestIntegrationDescribeTopicsPaged describes a 60-partition topic and a
// 5-partition one seven partitions a page with DescribeTopicPartitions,
// counts the pages, and checks every partition came exactly once and
// agrees with what Metadata reports.
func TestIntegrationDescribeTopicsPaged(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 3*time.Minute)
	big, small, missing := uniqueName("paged-big"), uniqueName("paged-small"), uniqueName("paged-missing")
	mustCreate(t, a, big, 60, 2)
	mustCreate(t, a, small, 5, 3)

	var mu sync.Mutex
	var pages int
	var cursors, sizes []string
	a.onDescribePage = func(req *protocol.DescribeTopicPartitionsRequest, resp *protocol.DescribeTopicPartitionsResponse) {
		mu.Lock()
		defer mu.Unlock()
		pages++
		if c := req.Cursor; c != nil {
			cursors = append(cursors, partName(c.TopicName, c.PartitionIndex))
		}
		var sz []string
		n := 0
		for _, tp := range resp.Topics {
			sz = append(sz, fmt.Sprintf("%s:%d", deref(tp.Name), len(tp.Partitions)))
			n += len(tp.Partitions)
		}
		if n > 7 {
			sz = append(sz, "OVER THE LIMIT")
		}
		sizes = append(sizes, strings.Join(sz, "+"))
	}
	want := map[string]int{big: 60, small: 5}
	var ds []TopicDescription
	// Leaders of new partitions take a moment to appear everywhere.
	waitFor(t, 60*time.Second, func() error {
		mu.Lock()
		pages, cursors, sizes = 0, nil, nil
		mu.Unlock()
		var err error
		ds, err = a.DescribeTopics(ctx, []string{big, missing, small}, DescribeTopicsOptions{PartitionPageLimit: 7, AuthorizedOperations: true})
		if err != nil {
			return err
		}
		for _, d := range []TopicDescription{ds[0], ds[2]} {
			if d.Err != nil || len(d.Partitions) != want[d.Name] {
				return fmt.Errorf("%s: %v, %d partitions", d.Name, d.Err, len(d.Partitions))
			}
			for _, p := range d.Partitions {
				if p.Leader < 0 || p.Err != nil {
					return fmt.Errorf("%s: %+v", partName(d.Name, p.Partition), p)
				}
			}
		}
		return nil
	})
	mu.Lock()
	t.Logf("%d pages, cursors %v, sizes %v", pages, cursors, sizes)
	// 65 partitions, seven a page: eight full pages of the big topic, a
	// ninth with its last four, the missing topic's error and three
	// partitions of the small one, and a tenth with the small one's last two.
	wantCursors := []string{partName(big, 7), partName(big, 14), partName(big, 21), partName(big, 28), partName(big, 35),
		partName(big, 42), partName(big, 49), partName(big, 56), partName(small, 3)}
	if pages != 10 || !slices.Equal(cursors, wantCursors) {
		t.Fatalf("%d pages, cursors %v, want 10 and %v", pages, cursors, wantCursors)
	}
	for _, sz := range sizes {
		if strings.Contains(sz, "OVER THE LIMIT") {
			t.Fatalf("a page exceeded the limit: %v", sizes)
		}
	}
	mu.Unlock()
	if !errors.Is(ds[1].Err, protocol.ErrUnknownTopicOrPartition) || ds[1].Name != missing {
		t.Fatalf("missing topic: %+v", ds[1])
	}
	var ie *ItemError
	if !errors.As(ds[1].Err, &ie) || ie.Name != missing {
		t.Fatalf("missing topic error %#v", ds[1].Err)
	}
	meta, err := a.DescribeTopics(ctx, []string{big, small}, DescribeTopicsOptions{UseMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range []TopicDescription{ds[0], ds[2]} {
		if d.Err != nil || d.ID == (protocol.UUID{}) || d.ID != meta[i].ID || !slices.Contains(d.AuthorizedOperations, ACLOpDescribe) {
			t.Fatalf("%s: %+v", d.Name, d)
		}
		seen := map[int32]int{}
		for _, p := range d.Partitions {
			seen[p.Partition]++
			if p.Err != nil || p.Leader < 1 || !slices.Contains(p.Replicas, p.Leader) || len(p.ISR) == 0 || !slices.Contains(p.ISR, p.Leader) {
				t.Fatalf("%s: %+v", partName(d.Name, p.Partition), p)
			}
			rf := 2
			if d.Name == small {
				rf = 3
			}
			if len(p.Replicas) != rf {
				t.Fatalf("%s replicas %v", partName(d.Name, p.Partition), p.Replicas)
			}
			m := meta[i].Partitions[p.Partition]
			if m.Partition != p.Partition || !slices.Equal(m.Replicas, p.Replicas) {
				t.Fatalf("%s: paged %+v, metadata %+v", partName(d.Name, p.Partition), p, m)
			}
		}
		if len(d.Partitions) != want[d.Name] || len(seen) != want[d.Name] {
			t.Fatalf("%s: %d partitions, %d distinct, want %d", d.Name, len(d.Partitions), len(seen), want[d.Name])
		}
		for p, n := range seen {
			if n != 1 || p < 0 || int(p) >= want[d.Name] {
				t.Fatalf("%s seen %d times", partName(d.Name, p), n)
			}
		}
	}
}

// TestIntegrationShareGroups starts Kafka's console share consumer, then
// lists and describes its share group.
func TestIntegrationShareGroups(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 3*time.Minute)
	topic, group := uniqueName("share-topic"), uniqueName("share-group")
	mustCreate(t, a, topic, 3, 3)

	toolCtx, stop := context.WithTimeout(ctx, 150*time.Second)
	done := make(chan error, 1)
	go func() {
		_, err := integration.RunTool(toolCtx, "org.apache.kafka.tools.consumer.ConsoleShareConsumer",
			"--bootstrap-server", strings.Join(kc.Bootstrap(integration.Plaintext), ","), "--topic", topic, "--group", group)
		done <- err
	}()
	defer func() { stop(); <-done }()

	var d ShareGroupDescription
	waitFor(t, 120*time.Second, func() error {
		select {
		case err := <-done:
			done <- err
			return fmt.Errorf("console share consumer ended: %v", err)
		default:
		}
		ds, err := a.DescribeShareGroups(ctx, []string{group}, DescribeGroupsOptions{AuthorizedOperations: true})
		if err != nil {
			return err
		}
		d = ds[0]
		if d.Err != nil || d.State != "Stable" || len(d.Members) != 1 || len(d.Members[0].Assignment) != 1 {
			return fmt.Errorf("share group: %+v", d)
		}
		return nil
	})
	m := d.Members[0]
	if m.MemberID == "" || m.Epoch < 1 || d.Epoch < 1 || d.AssignmentEpoch < 1 || d.Coordinator < 1 || d.Assignor == "" ||
		!slices.Equal(m.Subscription, []string{topic}) || m.Assignment[0].Topic != topic ||
		!slices.Equal(slices.Sorted(slices.Values(m.Assignment[0].Partitions)), []int32{0, 1, 2}) ||
		!slices.Contains(d.AuthorizedOperations, ACLOpDescribe) {
		t.Fatalf("share group: %+v", d)
	}
	t.Logf("share group %+v", d)

	ls, err := a.ListShareGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ls, func(l GroupListing) bool { return l.Group == group })
	if i < 0 || ls[i].Type != "share" || ls[i].State != "Stable" || ls[i].Coordinator != d.Coordinator {
		t.Fatalf("list share groups: %+v", ls)
	}
	for _, l := range ls {
		if l.Type != "share" {
			t.Fatalf("non-share group listed: %+v", l)
		}
	}
	// The type filter keeps the share group out of a consumer-group listing.
	cs, err := a.ListGroups(ctx, ListGroupsOptions{Types: []string{"consumer", "classic"}})
	if err != nil || slices.ContainsFunc(cs, func(l GroupListing) bool { return l.Group == group }) {
		t.Fatalf("consumer listing: %v %+v", err, cs)
	}

	missing := uniqueName("no-such-share-group")
	ds, err := a.DescribeShareGroups(ctx, []string{missing, group}, DescribeGroupsOptions{})
	var ie *ItemError
	if err != nil || !errors.Is(ds[0].Err, protocol.ErrGroupIDNotFound) || !errors.As(ds[0].Err, &ie) || ie.Name != missing || ds[1].Err != nil {
		t.Fatalf("missing share group: %v %+v", err, ds)
	}
}

// TestIntegrationDelegationTokenAuth authenticates with a delegation token
// over SCRAM with tokenauth=true, and checks that the same credentials
// without the extension, a wrong HMAC and an expired token are refused.
func TestIntegrationDelegationTokenAuth(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	ctx := ctxT(t, 3*time.Minute)
	cfg := testConfig(kc.Bootstrap(integration.SASLPlaintext))
	cfg.SASL = sasl.Plain{User: integration.AdminUser.Username, Password: integration.AdminUser.Password}
	a := newAdminCfg(t, cfg)
	tok, err := a.CreateDelegationToken(ctx, CreateDelegationTokenOptions{})
	if err != nil {
		t.Fatal(err)
	}

	// dial authenticates with mech and sends a request: DescribeCluster,
	// then CreateDelegationToken, which Kafka refuses on token-authenticated
	// connections, so success there would mean we were not using the token.
	dial := func(mech sasl.Scram) error {
		cfg := testConfig(kc.Bootstrap(integration.SASLPlaintext))
		cfg.SASL = mech
		cfg.AuthFailureBackoff = 50 * time.Millisecond
		c, err := New(cfg)
		if err != nil {
			return err
		}
		defer c.Close(context.Background())
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		cd, err := c.DescribeCluster(cctx, DescribeClusterOptions{})
		if err != nil {
			return err
		}
		if len(cd.Brokers) != 3 {
			return fmt.Errorf("cluster: %+v", cd)
		}
		if _, err := c.CreateDelegationToken(cctx, CreateDelegationTokenOptions{}); !errors.Is(err, protocol.ErrDelegationTokenRequestNotAllowed) {
			return fmt.Errorf("token creation over a token connection: %v", err)
		}
		return nil
	}
	hmac64 := base64Std(tok.HMAC)
	for _, h := range []sasl.ScramHash{sasl.ScramSHA256, sasl.ScramSHA512} {
		mech := sasl.Scram{Hash: h, User: tok.TokenID, Password: hmac64, TokenAuth: true}
		// Every broker learns the token from the metadata log in its time.
		waitFor(t, 30*time.Second, func() error { return dial(mech) })
	}
	if err := dial(sasl.Scram{User: tok.TokenID, Password: hmac64}); !isAuthErr(err) {
		t.Fatalf("token credentials without tokenauth: %v", err)
	}
	if err := dial(sasl.Scram{User: tok.TokenID, Password: base64Std([]byte("not the hmac")), TokenAuth: true}); err == nil || !isAuthErr(err) {
		t.Fatalf("wrong HMAC: %v", err)
	}

	if _, err := a.ExpireDelegationToken(ctx, tok.HMAC, -1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, func() error {
		for _, h := range []sasl.ScramHash{sasl.ScramSHA256, sasl.ScramSHA512} {
			err := dial(sasl.Scram{Hash: h, User: tok.TokenID, Password: hmac64, TokenAuth: true})
			if err == nil || !isAuthErr(err) {
				return fmt.Errorf("expired token: %v", err)
			}
		}
		return nil
	})
}

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// isAuthErr reports whether err is a refused SASL authentication.
func isAuthErr(err error) bool {
	var ae *gregor.AuthError
	return errors.As(err, &ae)
}
