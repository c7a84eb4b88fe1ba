package raw

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/integration"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// The benchmarks send small pipelined requests (Metadata for one topic)
// from many goroutines to one broker, through Gregor's raw client and
// through franz-go's broker Request path, and decode each response into
// kmsg's struct on both sides. Run them side by side:
//
//	go test -run '^$' -bench 'Pipelined' -benchmem ./raw/
//
// The Kafka variants start a one-node local Kafka 4.1.1 through the
// integration harness (skipped where it cannot start).

const benchParallelism = 8 // goroutines per GOMAXPROCS

func benchMetadataReq() *kmsg.MetadataRequest {
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = kmsg.StringPtr("bench")
	req.Topics = append(req.Topics, rt)
	return req
}

func benchFake(b *testing.B) []string {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(fake.Close)
	return fake.ListenAddrs()
}

var benchTopicOnce sync.Once

func benchKafka(b *testing.B) []string {
	kc := integration.Shared(b, integration.LocalConfig{})
	benchTopicOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := kc.CreateTopic(ctx, "bench", 1, 1); err != nil {
			b.Fatalf("create topic: %v", err)
		}
	})
	return kc.Bootstrap(integration.Plaintext)
}

func benchGregor(b *testing.B, seeds []string) {
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
	if _, err := c.Request(ctx, target, Wrap(benchMetadataReq())); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := Wrap(benchMetadataReq())
		resp := kmsg.NewPtrMetadataResponse()
		for pb.Next() {
			r, err := c.Request(ctx, target, req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Default()
			resp.SetVersion(r.Version)
			if err := resp.ReadFrom(r.Body); err != nil || len(resp.Topics) != 1 {
				b.Errorf("decode: %v", err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

func benchFranz(b *testing.B, seeds []string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	bs, err := cl.Request(ctx, kmsg.NewPtrMetadataRequest())
	if err != nil {
		b.Fatal(err)
	}
	br := cl.Broker(int(bs.(*kmsg.MetadataResponse).Brokers[0].NodeID))
	if _, err := br.Request(ctx, benchMetadataReq()); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(benchParallelism)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		req := benchMetadataReq()
		for pb.Next() {
			resp, err := br.Request(ctx, req)
			if err != nil {
				b.Error(err)
				return
			}
			if len(resp.(*kmsg.MetadataResponse).Topics) != 1 {
				b.Error("bad response")
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkPipelined compares Gregor and franz-go on kfake and on Kafka.
func BenchmarkPipelined(b *testing.B) {
	b.Run("kfake/gregor", func(b *testing.B) { benchGregor(b, benchFake(b)) })
	b.Run("kfake/franz-go", func(b *testing.B) { benchFranz(b, benchFake(b)) })
	b.Run("kafka/gregor", func(b *testing.B) { benchGregor(b, benchKafka(b)) })
	b.Run("kafka/franz-go", func(b *testing.B) { benchFranz(b, benchKafka(b)) })
}
