// Command produce compares Gregor's producer with franz-go's on the same
// load: records of a fixed size, unkeyed, over the partitions of one topic,
// each produced asynchronously as a new record object. It prints records
// per second, CPU time per record, peak RSS and the latency from Produce
// to the callback (p50, p99, max), and heap allocations per record.
//
// -rate paces Produce calls at a fixed number of records per second, for
// comparing latency below saturation; -linger and -codec apply the same
// settings to both clients.
//
// Without -brokers it starts an in-process kfake cluster, which then shares
// the CPU with the client; pass -brokers to measure against a real or
// separate cluster (-serve PORT runs such a kfake cluster on its own).
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
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/compression"
	"github.com/gregorkafka/gregor/producer"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	client := flag.String("client", "gregor", "gregor, franz, or none (the harness alone, for its CPU baseline)")
	brokers := flag.String("brokers", "", "comma-separated seed brokers; empty starts kfake in-process")
	topic := flag.String("topic", "bench", "topic (created with -partitions partitions when using kfake)")
	records := flag.Int("records", 1_000_000, "records to produce")
	size := flag.Int("size", 100, "value size in bytes")
	partitions := flag.Int("partitions", 16, "partitions of the kfake topic")
	maxBuffered := flag.Int64("max-buffered", 0, "gregor's MaxBufferedRecords (0: default)")
	rate := flag.Int("rate", 0, "records per second to pace Produce calls at (0: as fast as possible)")
	linger := flag.Duration("linger", 5*time.Millisecond, "linger of both clients (0: none)")
	codecName := flag.String("codec", "none", "compression of both clients: none, gzip, snappy, lz4, zstd")
	serve := flag.Int("serve", 0, "only run a kfake cluster (one broker, the -topic with -partitions partitions) on this port until killed, for measuring a client in a separate process with -brokers")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measured run to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile (every allocation sampled) to this file")
	flag.Parse()

	if *serve > 0 {
		c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(*serve), kfake.SeedTopics(int32(*partitions), *topic))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("kfake listening on", c.ListenAddrs())
		select {}
	}

	codec, err := compression.ParseCodec(*codecName)
	if err != nil {
		log.Fatal(err)
	}
	gLinger := *linger
	if gLinger == 0 {
		gLinger = -1 // gregor's "no wait"; zero would mean its default
	}

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
		p, err := producer.New(producer.Config{Conn: gregor.ConnConfig{SeedBrokers: seeds}, MaxBufferedRecords: *maxBuffered,
			Linger: gLinger, Compression: codec})
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
		cl, err := kgo.NewClient(kgo.SeedBrokers(seeds...), kgo.DefaultProduceTopic(*topic), kgo.ProducerLinger(*linger),
			kgo.ProducerBatchCompression(franzCodec(codec)))
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
	case "none":
		// The harness alone: the same record and callback per call, the
		// callback run at once. Its CPU per record is the baseline to
		// subtract from a client's to get the client's own.
		produce = func(i int) {
			start := time.Now()
			cb := func(_ *gregor.Record, r producer.Result) {
				lat[i] = time.Since(start)
				if r.Err != nil {
					failed.Add(1)
				}
				wg.Done()
			}
			r := &gregor.Record{Topic: *topic, Value: value}
			sink(r)
			cb(r, producer.Result{})
		}
		flush, closeFn = func() {}, func() {}
	default:
		log.Fatalf("unknown client %q", *client)
	}

	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	if *memProfile != "" {
		runtime.MemProfileRate = 4096
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	cpu0 := cpuTime()
	start := time.Now()
	wg.Add(*records)
	var interval time.Duration
	if *rate > 0 {
		interval = time.Second / time.Duration(*rate)
	}
	for i := range *records {
		if interval > 0 {
			// Pace against the schedule, not the previous call, so that a
			// late wake-up is caught up rather than lowering the rate.
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				time.Sleep(d)
			}
		}
		produce(i)
	}
	flush()
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&ms1)
	pprof.StopCPUProfile()
	if *memProfile != "" {
		f, err := os.Create(*memProfile)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
	closeFn()

	slices.Sort(lat)
	n := float64(*records)
	fmt.Printf("client=%s records=%d size=%d partitions=%d codec=%s linger=%s rate=%d failed=%d\n",
		*client, *records, *size, *partitions, codec, *linger, *rate, failed.Load())
	fmt.Printf("  %.0f records/s, %.2f MB/s\n", n/elapsed.Seconds(), n*float64(*size)/elapsed.Seconds()/1e6)
	fmt.Printf("  CPU %.3f us/record (process, kfake included when in-process)\n", float64(cpu.Microseconds())/n)
	fmt.Printf("  %.3f allocs/record (process: the harness allocates a record and a callback per call; kfake when in-process)\n", float64(ms1.Mallocs-ms0.Mallocs)/n)
	fmt.Printf("  peak RSS %d MiB\n", maxRSS()>>20)
	fmt.Printf("  latency p50 %s p99 %s max %s\n", lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	os.Exit(0)
}

// sinkRec keeps the harness's records on the heap as a client would.
var sinkRec atomic.Pointer[gregor.Record]

// sink hands r to nobody in particular.
func sink(r *gregor.Record) { sinkRec.Store(r) }

// franzCodec returns franz-go's setting for codec.
func franzCodec(c compression.Codec) kgo.CompressionCodec {
	switch c {
	case compression.Gzip:
		return kgo.GzipCompression()
	case compression.Snappy:
		return kgo.SnappyCompression()
	case compression.LZ4:
		return kgo.Lz4Compression()
	case compression.Zstd:
		return kgo.ZstdCompression()
	}
	return kgo.NoCompression()
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
