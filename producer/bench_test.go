package producer

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The two benchmarks below produce b.N 100-byte unkeyed records over 16
// partitions of a kfake cluster, one new record object per call, and wait
// for every result; they differ only in the client, both with 5 ms linger
// and no compression (kgo would otherwise compress with snappy). Compare
// ns/op (per record), allocs/op and records/s.

func benchCluster(b *testing.B) *kfake.Cluster {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(16, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

func BenchmarkProduceGregor(b *testing.B) {
	c := benchCluster(b)
	p, err := New(Config{Conn: gregor.ConnConfig{SeedBrokers: c.ListenAddrs()}})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	value := make([]byte, 100)
	ctx := context.Background()
	var wg sync.WaitGroup
	cb := func(_ *gregor.Record, r Result) {
		if r.Err != nil {
			b.Error(r.Err)
		}
		wg.Done()
	}
	// Warm up: metadata, producer id, connections.
	if _, err := p.ProduceSync(ctx, &gregor.Record{Topic: "bench", Value: value}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	wg.Add(b.N)
	for range b.N {
		p.Produce(ctx, &gregor.Record{Topic: "bench", Value: value}, cb)
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}

func BenchmarkProduceFranz(b *testing.B) {
	c := benchCluster(b)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("bench"),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	value := make([]byte, 100)
	ctx := context.Background()
	var wg sync.WaitGroup
	cb := func(_ *kgo.Record, err error) {
		if err != nil {
			b.Error(err)
		}
		wg.Done()
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	wg.Add(b.N)
	for range b.N {
		cl.Produce(ctx, &kgo.Record{Value: value}, cb)
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "records/s")
}
