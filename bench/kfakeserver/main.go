// Command kfakeserver runs a kfake cluster in its own process for the
// side-by-side benchmarks, so that the client process measured by
// kafkabench pays nothing for the broker. It prints "ready <addr>" once the
// topic exists (and is seeded) and runs until interrupted.
//
//	go run ./bench/kfakeserver -addr 127.0.0.1:9092 -partitions 16 -discard
//	go run ./bench/kfakeserver -partitions 16 -seed-records 1000000 -seed-size 100 -seed-codec lz4
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gregorkafka/gregor/bench/internal/fake"
)

func main() {
	var cfg fake.Config
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:0", "listen address (port 0 picks a free port)")
	flag.StringVar(&cfg.Topic, "topic", "bench", "topic created at start-up")
	flag.IntVar(&cfg.Partitions, "partitions", 16, "partitions of the topic")
	flag.BoolVar(&cfg.Discard, "discard", false, "acknowledge Produce requests without storing the records")
	flag.IntVar(&cfg.SeedRecords, "seed-records", 0, "records written to the topic before ready")
	flag.IntVar(&cfg.SeedSize, "seed-size", 100, "value size of the seeded records")
	flag.StringVar(&cfg.SeedCodec, "seed-codec", "none", "codec of the seeded batches: none, gzip, snappy, lz4, zstd")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	seedCtx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	c, err := fake.Start(seedCtx, cfg)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kfakeserver:", err)
		os.Exit(1)
	}
	fmt.Fprintf(os.Stderr, "kfakeserver: started in %s\n", time.Since(start).Round(time.Millisecond))
	fmt.Println("ready", c.ListenAddrs()[0])
	<-ctx.Done()
	c.Close()
}
