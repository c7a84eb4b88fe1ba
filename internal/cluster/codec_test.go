package cluster

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newFake(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	f, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func newCluster(t *testing.T, seeds []string) *Cluster {
	t.Helper()
	c, err := New(gregor.ConnConfig{SeedBrokers: seeds, RequestTimeout: 5 * time.Second,
		MetadataMinRefresh: 10 * time.Millisecond, RetryBackoffBase: 10 * time.Millisecond, RetryBackoffMax: 100 * time.Millisecond})
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

// TestVersionBounds checks that the versions the cluster asks for are ones
// the codec encodes and decodes.
func TestVersionBounds(t *testing.T) {
	for _, b := range []struct{ key, lo, hi int16 }{
		{protocol.KeyMetadata, metadataMin, metadataMax},
		{protocol.KeyFindCoordinator, findCoordinatorMin, findCoordinatorMax},
	} {
		lo, hi, ok := protocol.SupportedVersions(b.key)
		if !ok || b.lo < lo || b.hi > hi || b.lo > b.hi {
			t.Errorf("%s: asks for v%d-v%d, codec has v%d-v%d", protocol.KeyName(b.key), b.lo, b.hi, lo, hi)
		}
	}
}

// TestMetadataInstall checks that what a Metadata response carries reaches
// the snapshot: cluster id, controller, brokers, topic ids, leaders, leader
// epochs and replica lists.
func TestMetadataInstall(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.NumBrokers(3), kfake.ClusterID("cid-1"), kfake.SeedTopics(3, "t"))
	var mu sync.Mutex
	var sent []*kmsg.MetadataRequest
	fake.ControlKey(protocol.KeyMetadata, func(r kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		mu.Lock()
		sent = append(sent, r.(*kmsg.MetadataRequest))
		mu.Unlock()
		return nil, nil, false
	})
	c := newCluster(t, fake.ListenAddrs())
	c.AddTopics("t")
	if err := c.Refresh(ctxT(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	m := c.Metadata()
	if m.ClusterID != "cid-1" || len(m.Brokers) != 3 {
		t.Fatalf("cluster %q with %d brokers", m.ClusterID, len(m.Brokers))
	}
	if _, ok := m.Brokers[m.ControllerID]; !ok {
		t.Fatalf("controller %d is not a known broker", m.ControllerID)
	}
	for id, b := range m.Brokers {
		if b.ID != id || b.Host == "" || b.Port <= 0 {
			t.Fatalf("broker %d: %+v", id, b)
		}
	}
	tp := m.Topics["t"]
	info := fake.TopicInfo("t")
	if tp == nil || tp.Err != nil || tp.ID != info.TopicID || m.TopicsByID[info.TopicID] != tp || len(tp.Partitions) != 3 {
		t.Fatalf("topic t: %+v (kfake id %x)", tp, info.TopicID)
	}
	for i, p := range tp.Partitions {
		pi := fake.PartitionInfo("t", int32(i))
		if p.Partition != int32(i) || p.Leader != pi.Leader || p.LeaderEpoch != pi.Epoch || p.Err != nil ||
			!slices.Contains(p.Replicas, p.Leader) || !slices.Contains(p.ISR, p.Leader) {
			t.Fatalf("partition %d: %+v, kfake %+v", i, p, pi)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for _, r := range sent {
		if r.AllowAutoTopicCreation || r.Topics == nil || r.GetVersion() < metadataMin {
			t.Fatalf("Metadata v%d request: auto-create %v, topics %v", r.GetVersion(), r.AllowAutoTopicCreation, r.Topics)
		}
	}
}

// TestFindCoordinatorVersions looks up several groups against a broker
// offering FindCoordinator up to v6 (one batched request) and up to v3 (one
// request per key, answered at the top level of the response).
func TestFindCoordinatorVersions(t *testing.T) {
	for _, tc := range []struct {
		max      int16
		requests int
	}{{6, 1}, {4, 1}, {3, 3}} {
		t.Run(fmt.Sprintf("v%d", tc.max), func(t *testing.T) {
			leakcheck.Check(t)
			fake := newFake(t, kfake.NumBrokers(3))
			limitVersions(fake, tc.max)
			var mu sync.Mutex
			var versions []int16
			var keys []string
			fake.ControlKey(protocol.KeyFindCoordinator, func(r kmsg.Request) (kmsg.Response, error, bool) {
				fake.KeepControl()
				req := r.(*kmsg.FindCoordinatorRequest)
				mu.Lock()
				versions = append(versions, req.GetVersion())
				if req.GetVersion() < 4 {
					keys = append(keys, req.CoordinatorKey)
				} else {
					keys = append(keys, req.CoordinatorKeys...)
				}
				mu.Unlock()
				return nil, nil, false
			})
			c := newCluster(t, fake.ListenAddrs())
			groups := []string{"a", "b", "c"}
			ids, err := c.Coordinators(ctxT(t, 10*time.Second), GroupCoordinator, groups...)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range groups {
				if ids[g] != fake.CoordinatorFor(g) {
					t.Errorf("group %s: got %d, want %d", g, ids[g], fake.CoordinatorFor(g))
				}
			}
			if n := c.FindCoordinatorRequests(); n != tc.requests {
				t.Fatalf("%d FindCoordinator requests, want %d", n, tc.requests)
			}
			mu.Lock()
			defer mu.Unlock()
			slices.Sort(keys)
			if len(versions) != tc.requests || !slices.Equal(keys, groups) {
				t.Fatalf("broker saw versions %v keys %v", versions, keys)
			}
			for _, v := range versions {
				if v != tc.max {
					t.Fatalf("sent v%d, broker offers up to v%d", v, tc.max)
				}
			}
		})
	}
}

// limitVersions makes the fake broker advertise only Metadata, ApiVersions
// and FindCoordinator, the last up to findCoordinatorMax.
func limitVersions(fake *kfake.Cluster, findCoordinatorMax int16) {
	fake.ControlKey(protocol.KeyApiVersions, func(r kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		resp := r.ResponseKind().(*kmsg.ApiVersionsResponse)
		resp.ApiKeys = []kmsg.ApiVersionsResponseApiKey{
			{ApiKey: protocol.KeyMetadata, MinVersion: 0, MaxVersion: 13},
			{ApiKey: protocol.KeyFindCoordinator, MinVersion: 0, MaxVersion: findCoordinatorMax},
			{ApiKey: protocol.KeyApiVersions, MinVersion: 0, MaxVersion: 4},
		}
		return resp, nil, true
	})
}
