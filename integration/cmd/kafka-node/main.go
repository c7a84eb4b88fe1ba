// Command kafka-node starts a local single-node Apache Kafka cluster (one
// KRaft broker+controller JVM, plaintext, on a free loopback port) with
// Gregor's integration harness, prints "ready <host:port>" and keeps it
// running until interrupted, then stops it and removes its data. It is meant
// for benchmarks and manual experiments:
//
//	go run ./integration/cmd/kafka-node                # prints: ready 127.0.0.1:PORT
//	go run ./bench/sidebyside -brokers 127.0.0.1:PORT
//
// The node's data goes under $TMPDIR (os.TempDir); -prop adds broker
// properties. The benchmark tables use a node in memory whose deleted
// topics are freed after a second instead of a minute:
//
//	TMPDIR=/dev/shm go run ./integration/cmd/kafka-node -prop log.segment.delete.delay.ms=1000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gregorkafka/gregor/integration"
)

func main() {
	fullJIT := flag.Bool("full-jit", true, "run the JVM with the C2 compiler (-XX:TieredStopAtLevel=4) instead of the harness's fast-start setting")
	heap := flag.String("heap", "1g", "JVM heap (-Xms and -Xmx)")
	props := map[string]string{}
	flag.Func("prop", "a broker property as key=value, added to server.properties (repeatable)", func(kv string) error {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return fmt.Errorf("want key=value, got %q", kv)
		}
		props[k] = v
		return nil
	})
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := integration.LocalConfig{Nodes: 1, JVMOptions: []string{"-Xms" + *heap, "-Xmx" + *heap}, BrokerProperties: props}
	if *fullJIT {
		cfg.JVMOptions = append(cfg.JVMOptions, "-XX:TieredStopAtLevel=4")
	}
	startCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	c, err := integration.StartLocal(startCtx, cfg)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "kafka-node:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "kafka-node: log in", c.LogPath(0))
	fmt.Println("ready", c.Bootstrap(integration.Plaintext)[0])
	<-ctx.Done()
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "kafka-node:", err)
		os.Exit(1)
	}
}
