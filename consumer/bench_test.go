package consumer

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The benchmark data set: benchPartitions partitions of benchPerPartition
// records with 100-byte values and no keys, in a kfake cluster shared by
// the benchmarks of one run.
const (
	benchPartitions   = 16
	benchPerPartition = 20000
	benchTotal        = benchPartitions * benchPerPartition
)

var (
	benchOnce  sync.Once
	benchAddrs []string
)

// lz4Topic holds the same data as testTopic, in lz4-compressed batches.
const lz4Topic = "lz4"

func benchCluster(b *testing.B) []string {
	benchOnce.Do(func() {
		f, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(benchPartitions, testTopic, lz4Topic))
		if err != nil {
			b.Fatal(err)
		}
		benchAddrs = f.ListenAddrs()
		for _, topic := range []string{testTopic, lz4Topic} {
			codec := kgo.NoCompression()
			if topic == lz4Topic {
				codec = kgo.Lz4Compression()
			}
			preload(b, topic, codec)
		}
	})
	if benchAddrs == nil {
		b.Fatal("no cluster")
	}
	return benchAddrs
}

func preload(b *testing.B, topic string, codec kgo.CompressionCodec) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(benchAddrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.ProducerLinger(10*time.Millisecond), kgo.MaxBufferedRecords(100000),
		kgo.ProducerBatchCompression(codec))
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, 100)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	var wg sync.WaitGroup
	for p := int32(0); p < benchPartitions; p++ {
		for i := 0; i < benchPerPartition; i++ {
			wg.Add(1)
			cl.Produce(context.Background(), &kgo.Record{Topic: topic, Partition: p, Value: value}, func(_ *kgo.Record, err error) {
				if err != nil {
					panic(err)
				}
				wg.Done()
			})
		}
	}
	wg.Wait()
	cl.Close()
}

// measure runs consume b.N times (each reads the whole data set with a
// new client) and reports per-record figures.
func measure(b *testing.B, consume func(b *testing.B) int) {
	benchCluster(b)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	n := 0
	for i := 0; i < b.N; i++ {
		n += consume(b)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n), "ns/record")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(n), "allocs/record")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n), "B/record")
}

// BenchmarkConsume compares Gregor's consumer with franz-go's kgo reading
// the same kfake data set (16 partitions, 100-byte records), uncompressed
// and in lz4 batches, each with a new client per iteration; "max500"
// caps each poll at 500 records (Config.MaxPollRecords, kgo's
// PollRecords).
func BenchmarkConsume(b *testing.B) {
	for _, topic := range []string{testTopic, lz4Topic} {
		name := "none"
		if topic == lz4Topic {
			name = "lz4"
		}
		b.Run(name, func(b *testing.B) { benchConsume(b, topic, 0) })
	}
	b.Run("max500", func(b *testing.B) { benchConsume(b, testTopic, 500) })
}

func benchConsume(b *testing.B, topic string, maxPoll int) {
	ctx := context.Background()
	b.Run("gregor", func(b *testing.B) {
		measure(b, func(b *testing.B) int {
			c, err := New(Config{Conn: connFor(benchAddrs), MaxPollRecords: maxPoll})
			if err != nil {
				b.Fatal(err)
			}
			parts := map[TopicPartition]Offset{}
			for p := int32(0); p < benchPartitions; p++ {
				parts[TopicPartition{topic, p}] = AtEarliest()
			}
			c.Assign(parts)
			n, sum := 0, 0
			for n < benchTotal {
				fs, err := c.Poll(ctx)
				if err != nil {
					b.Fatal(err)
				}
				for i := range fs {
					if fs[i].Err != nil {
						b.Fatal(fs[i].Err)
					}
					for j := range fs[i].Records {
						sum += len(fs[i].Records[j].Value)
					}
					n += len(fs[i].Records)
				}
			}
			c.Close(ctx)
			if sum != n*100 {
				b.Fatalf("read %d value bytes for %d records", sum, n)
			}
			return n
		})
	})
	b.Run("franz-go", func(b *testing.B) {
		measure(b, func(b *testing.B) int {
			offsets := map[int32]kgo.Offset{}
			for p := int32(0); p < benchPartitions; p++ {
				offsets[p] = kgo.NewOffset().AtStart()
			}
			cl, err := kgo.NewClient(kgo.SeedBrokers(benchAddrs...),
				kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: offsets}))
			if err != nil {
				b.Fatal(err)
			}
			n, sum := 0, 0
			for n < benchTotal {
				fs := cl.PollRecords(ctx, maxPoll) // 0: no cap
				if errs := fs.Errors(); len(errs) > 0 {
					b.Fatal(errs)
				}
				fs.EachRecord(func(r *kgo.Record) {
					sum += len(r.Value)
					n++
				})
			}
			cl.Close()
			if sum != n*100 {
				b.Fatalf("read %d value bytes for %d records", sum, n)
			}
			return n
		})
	})
}

func connFor(addrs []string) gregor.ConnConfig { return gregor.ConnConfig{SeedBrokers: addrs} }
