// Command kafkabench runs one Kafka client (Gregor or franz-go) through one
// benchmark scenario and prints the result as one JSON line on stdout, for
// bench/sidebyside to collect. Both clients get the same settings: acks,
// idempotence, linger, batch size, codec, buffer bounds and fetch sizes.
//
// Modes:
//   - produce: -records records of -size bytes, unkeyed, to -topic, as fast
//     as Produce accepts them or, with -rate, at that many records per
//     second (then the p50/p99 latency from Produce to the acknowledgement
//     is reported).
//   - consume-direct: read exactly -records records from the start of the
//     -partitions partitions of -topic, assigned directly.
//   - consume-group: the same through a consumer group (a new group id per
//     run), committing what was processed.
//   - seed: write -records records (codec -codec) to -topic with franz-go,
//     for consume runs against a real broker; prints nothing.
//
// CPU is the process's user+system time (getrusage) over the measured part,
// allocations are runtime.MemStats.Mallocs over the same part, and peak RSS
// is the process's VmHWM.
//
//	go run ./bench/kafkabench -brokers 127.0.0.1:9092 -client gregor -mode produce -records 1000000
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o options
	var brokers string
	flag.StringVar(&brokers, "brokers", "", "comma-separated seed brokers (required)")
	flag.StringVar(&o.Client, "client", "gregor", "gregor or franz")
	flag.StringVar(&o.Mode, "mode", "produce", "produce, consume-direct, consume-group, seed or delete (the topic)")
	flag.StringVar(&o.Topic, "topic", "bench", "topic")
	flag.IntVar(&o.Partitions, "partitions", 16, "partitions of the topic (consume modes read all of them)")
	flag.IntVar(&o.Records, "records", 1_000_000, "records to produce or consume")
	flag.IntVar(&o.Size, "size", 100, "value size in bytes (produce, seed)")
	flag.StringVar(&o.Codec, "codec", "none", "none, gzip, snappy, lz4 or zstd (produce, seed; for consume it only labels the result)")
	flag.DurationVar(&o.Linger, "linger", 0, "producer linger")
	flag.IntVar(&o.BatchBytes, "batch-bytes", 512<<10, "producer batch size")
	flag.IntVar(&o.MaxRequestBytes, "max-request-bytes", defaultMaxRequestBytes, "producer request size bound (Gregor MaxRequestBytes, franz-go BrokerMaxWriteBytes)")
	flag.IntVar(&o.Rate, "rate", 0, "records per second (produce); 0 is as fast as possible")
	flag.IntVar(&o.MaxBufferedRecords, "max-buffered-records", 100_000, "producer buffer bound in records")
	flag.Int64Var(&o.MaxBufferedBytes, "max-buffered-bytes", 32<<20, "producer buffer bound in bytes; consumer memory budget (Gregor) in bytes")
	flag.IntVar(&o.FetchMaxBytes, "fetch-max-bytes", 16<<20, "consumer fetch response cap")
	flag.IntVar(&o.PartitionMaxBytes, "partition-max-bytes", 1<<20, "consumer per-partition fetch cap")
	flag.DurationVar(&o.Timeout, "timeout", 5*time.Minute, "give up after this long")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	memProfile := flag.String("memprofile", "", "write an allocation profile of the run to this file")
	flag.Parse()
	if brokers == "" {
		fmt.Fprintln(os.Stderr, "kafkabench: -brokers is required")
		os.Exit(2)
	}
	o.Brokers = strings.Split(brokers, ",")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kafkabench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafkabench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	if *memProfile != "" {
		if err := writeHeapProfile(*memProfile); err != nil {
			fmt.Fprintln(os.Stderr, "kafkabench:", err)
		}
	}
	if o.Mode == "seed" || o.Mode == "delete" {
		return
	}
	line, _ := json.Marshal(res)
	fmt.Println(string(line))
}

// options are one run's settings.
type options struct {
	Brokers            []string
	Client             string
	Mode               string
	Topic              string
	Partitions         int
	Records            int
	Size               int
	Codec              string
	Linger             time.Duration
	BatchBytes         int
	MaxRequestBytes    int // zero means defaultMaxRequestBytes
	Rate               int
	MaxBufferedRecords int
	MaxBufferedBytes   int64
	FetchMaxBytes      int
	PartitionMaxBytes  int
	Timeout            time.Duration
	// GroupID overrides the generated consumer group id.
	GroupID string
}

// Result is the JSON line one run prints.
type Result struct {
	Client     string  `json:"client"`
	Mode       string  `json:"mode"`
	Partitions int     `json:"partitions"`
	Size       int     `json:"size"`
	Codec      string  `json:"codec"`
	LingerMs   float64 `json:"linger_ms"`
	Rate       int     `json:"rate"`
	Records    int     `json:"records"`
	Bytes      int64   `json:"bytes"`
	Failed     int     `json:"failed"`
	Seconds    float64 `json:"seconds"`
	RecPerSec  float64 `json:"records_per_s"`
	MBPerSec   float64 `json:"mb_per_s"`
	CPUPerM    float64 `json:"cpu_s_per_m"`
	AllocsRec  float64 `json:"allocs_per_rec"`
	BytesRec   float64 `json:"alloc_bytes_per_rec"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	P50Ms      float64 `json:"p50_ms,omitempty"`
	P99Ms      float64 `json:"p99_ms,omitempty"`
}

// run performs one benchmark run as o describes.
func run(ctx context.Context, o options) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	if o.Records <= 0 && o.Mode != "seed" && o.Mode != "delete" {
		return Result{}, fmt.Errorf("-records must be positive")
	}
	var (
		m   measurement
		err error
	)
	switch o.Mode {
	case "produce":
		m, err = produce(ctx, o)
	case "consume-direct", "consume-group":
		m, err = consume(ctx, o)
	case "seed":
		return Result{}, seedTopic(ctx, o)
	case "delete":
		return Result{}, deleteTopic(ctx, o)
	default:
		return Result{}, fmt.Errorf("unknown -mode %q", o.Mode)
	}
	if err != nil {
		return Result{}, err
	}
	n := float64(m.records)
	secs := m.elapsed.Seconds()
	res := Result{
		Client: o.Client, Mode: o.Mode, Partitions: o.Partitions, Size: o.Size, Codec: o.Codec,
		LingerMs: float64(o.Linger) / 1e6, Rate: o.Rate,
		Records: m.records, Bytes: m.bytes, Failed: m.failed, Seconds: secs,
		RecPerSec: n / secs, MBPerSec: float64(m.bytes) / secs / 1e6,
		CPUPerM:    m.cpu.Seconds() / n * 1e6,
		AllocsRec:  float64(m.mallocs) / n,
		BytesRec:   float64(m.allocBytes) / n,
		PeakRSSMiB: float64(peakRSS()) / (1 << 20),
	}
	if len(m.lat) > 0 {
		res.P50Ms = float64(m.lat[len(m.lat)/2]) / 1e6
		res.P99Ms = float64(m.lat[len(m.lat)*99/100]) / 1e6
	}
	return res, nil
}

// writeHeapProfile writes the allocation profile to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
