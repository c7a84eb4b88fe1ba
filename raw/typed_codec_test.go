package raw

import (
	"context"
	"github.com/gregorkafka/gregor"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestCodecTyped(t *testing.T) {
	fake := fakeCluster(t, kfake.NumBrokers(3), kfake.SeedTopics(2, "t"))
	c := newClient(t, fake.ListenAddrs(), nil)
	name := "t"
	req := &protocol.MetadataRequest{Topics: []protocol.MetadataRequestTopic{{Name: &name}}}
	resp, err := c.Do(ctxT(t, 5*time.Second), AnyBroker(), req)
	if err != nil {
		t.Fatal(err)
	}
	m := resp.(*protocol.MetadataResponse)
	t.Logf("v%d brokers=%d topics=%d parts=%d", m.Version, len(m.Brokers), len(m.Topics), len(m.Topics[0].Partitions))
	if len(m.Brokers) != 3 || len(m.Topics[0].Partitions) != 2 {
		t.Fatal("bad")
	}
	av, err := c.Do(ctxT(t, 5*time.Second), Controller(), &protocol.ApiVersionsRequest{ClientSoftwareName: "x", ClientSoftwareVersion: "1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ApiVersions v%d keys=%d", av.GetVersion(), len(av.(*protocol.ApiVersionsResponse).ApiKeys))
}

func BenchmarkCodecPipelined(b *testing.B) {
	seeds := benchFake(b)
	c, err := New(gregor.ConnConfig{SeedBrokers: seeds, MaxInFlightPerConn: 64})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close(context.Background())
	ctx := context.Background()
	if err := c.RefreshMetadata(ctx); err != nil {
		b.Fatal(err)
	}
	var id int32
	for bid := range c.cluster().Metadata().Brokers {
		id = bid
	}
	target := Broker(id)
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		name := "bench"
		req := &protocol.MetadataRequest{Topics: []protocol.MetadataRequestTopic{{Name: &name}}}
		for pb.Next() {
			resp, err := c.Do(ctx, target, req)
			if err != nil || len(resp.(*protocol.MetadataResponse).Topics) != 1 {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
