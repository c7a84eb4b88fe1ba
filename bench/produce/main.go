// Command produce compares Gregor's producer with franz-go's on the same
// load: records of a fixed size, unkeyed, over the partitions of one topic,
// each produced asynchronously as a new record object. It prints records
// per second, CPU time per record, peak RSS and the latency from Produce
// to the callback (p50, p99, max).
//
// Without -brokers it starts an in-process kfake cluster, which then shares
// the CPU with the client; pass -brokers to measure against a real or
// separate cluster.
//
//	go run ./bench/produce -client gregor -records 2000000
//	go run ./bench/produce -client franz -records 2000000
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/producer"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	client := flag.String("client", "gregor", "gregor or franz")
	brokers := flag.String("brokers", "", "comma-separated seed brokers; empty starts kfake in-process")
	topic := flag.String("topic", "bench", "topic (created with -partitions partitions when using kfake)")
	records := flag.Int("records", 1_000_000, "records to produce")
	size := flag.Int("size", 100, "value size in bytes")
	partitions := flag.Int("partitions", 16, "partitions of the kfake topic")
	maxBuffered := flag.Int64("max-buffered", 0, "gregor's MaxBufferedRecords (0: default)")
	flag.Parse()

	var seeds []string
	if *brokers == "" {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(int32(*partitions), *topic))
		if err != nil {
			log.Fatal(err)
		}
		defer c.Close()
		seeds = c.ListenAddrs()
	} else {
		seeds = strings.Split(*brokers, ",")
	}

	value := make([]byte, *size)
	lat := make([]time.Duration, *records)
	var wg sync.WaitGroup
	var failed atomic.Int64
	ctx := context.Background()

	var produce func(i int)
	var flush, closeFn func()
	switch *client {
	case "gregor":
		p, err := producer.New(producer.Config{Conn: gregor.ConnConfig{SeedBrokers: seeds}, MaxBufferedRecords: *maxBuffered})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := p.ProduceSync(ctx, &gregor.Record{Topic: *topic, Value: value}); err != nil {
			log.Fatal(err)
		}
		produce = func(i int) {
			start := time.Now()
			p.Produce(ctx, &gregor.Record{Topic: *topic, Value: value}, func(_ *gregor.Record, r producer.Result) {
				lat[i] = time.Since(start)
				if r.Err != nil {
					failed.Add(1)
				}
				wg.Done()
			})
		}
		flush = func() { p.Flush(ctx) }
		closeFn = func() { p.Close(ctx) }
	case "franz":
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(*topic), kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchCompression(kgo.NoCompression()))
		if err != nil {
			log.Fatal(err)
		}
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: value}).FirstErr(); err != nil {
			log.Fatal(err)
		}
		produce = func(i int) {
			start := time.Now()
			cl.Produce(ctx, &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
				lat[i] = time.Since(start)
				if err != nil {
					failed.Add(1)
				}
				wg.Done()
			})
		}
		flush = func() { cl.Flush(ctx) }
		closeFn = cl.Close
	default:
		log.Fatalf("unknown client %q", *client)
	}

	cpu0 := cpuTime()
	start := time.Now()
	wg.Add(*records)
	for i := range *records {
		produce(i)
	}
	flush()
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	closeFn()

	slices.Sort(lat)
	n := float64(*records)
	fmt.Printf("client=%s records=%d size=%d failed=%d\n", *client, *records, *size, failed.Load())
	fmt.Printf("  %.0f records/s, %.2f MB/s\n", n/elapsed.Seconds(), n*float64(*size)/elapsed.Seconds()/1e6)
	fmt.Printf("  CPU %.3f us/record (process, kfake included when in-process)\n", float64(cpu.Microseconds())/n)
	fmt.Printf("  peak RSS %d MiB\n", maxRSS()>>20)
	fmt.Printf("  latency p50 %s p99 %s max %s\n", lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	os.Exit(0)
}

// cpuTime returns the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS returns the process's peak resident set in bytes (Linux reports
// kilobytes).
func maxRSS() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return int64(ru.Maxrss) << 10
}
