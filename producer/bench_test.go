//go:build unix

package producer

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/compression"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BenchmarkProduce compares Gregor's producer with franz-go's, case by
// case in the same run: b.N unkeyed records of one size over the
// partitions of a kfake cluster in this process, one new record object per
// call, waiting for every result. Both clients get the same linger and
// compression (kgo would otherwise compress with snappy). Besides ns/op
// (per record) and allocs/op (the record object the benchmark allocates is
// one of them; kfake's allocations are included too) it reports records/s
// and cpu-ns/record, the process's user and system CPU per record, kfake
// included.
func BenchmarkProduce(b *testing.B) {
	for _, bc := range []struct {
		name       string
		size       int
		partitions int32
		codec      compression.Codec
		linger     time.Duration
	}{
		{"100B-16p", 100, 16, compression.None, 5 * time.Millisecond},
		{"100B-1p", 100, 1, compression.None, 5 * time.Millisecond},
		{"1KiB-16p", 1024, 16, compression.None, 5 * time.Millisecond},
		{"100B-16p-linger0", 100, 16, compression.None, 0},
		{"100B-16p-lz4", 100, 16, compression.LZ4, 5 * time.Millisecond},
		{"100B-16p-zstd", 100, 16, compression.Zstd, 5 * time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.Run("gregor", func(b *testing.B) {
				c := benchCluster(b, bc.partitions)
				linger := bc.linger
				if linger == 0 {
					linger = -1 // Gregor's "no linger"; zero means the default
				}
				p, err := New(Config{Conn: gregor.ConnConfig{SeedBrokers: c.ListenAddrs()}, Linger: linger, Compression: bc.codec})
				if err != nil {
					b.Fatal(err)
				}
				defer p.Close(context.Background())
				value := make([]byte, bc.size)
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
				measure(b, func() {
					wg.Add(b.N)
					for range b.N {
						p.Produce(ctx, &gregor.Record{Topic: "bench", Value: value}, cb)
					}
					wg.Wait()
				})
			})
			b.Run("franz", func(b *testing.B) {
				c := benchCluster(b, bc.partitions)
				cl, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("bench"),
					kgo.ProducerLinger(bc.linger), kgo.ProducerBatchCompression(franzCodec(bc.codec)))
				if err != nil {
					b.Fatal(err)
				}
				defer cl.Close()
				value := make([]byte, bc.size)
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
				measure(b, func() {
					wg.Add(b.N)
					for range b.N {
						cl.Produce(ctx, &kgo.Record{Value: value}, cb)
					}
					wg.Wait()
				})
			})
		})
	}
}

func benchCluster(b *testing.B, partitions int32) *kfake.Cluster {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.Close)
	return c
}

// measure runs the timed part of a benchmark and reports records/s and
// cpu-ns/record besides the usual figures.
func measure(b *testing.B, run func()) {
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	run()
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/record")
}

// processCPU returns the process's user plus system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprint("getrusage: ", err))
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// franzCodec returns franz-go's setting for codec, whose numbers are
// Kafka's codec ids.
func franzCodec(c compression.Codec) kgo.CompressionCodec {
	return [...]kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression(), kgo.SnappyCompression(),
		kgo.Lz4Compression(), kgo.ZstdCompression()}[c]
}
