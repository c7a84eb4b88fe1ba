package integration

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BootstrapEnv names an environment variable holding a comma-separated list
// of host:port addresses of an existing cluster's PLAINTEXT listener. When
// set, Shared returns that cluster for every shape instead of starting one;
// only the Plaintext listener is then available and node control returns
// ErrExternal.
const BootstrapEnv = "GREGOR_TEST_BOOTSTRAP"

// shared holds the clusters started by Shared in this test binary.
var shared struct {
	mu       sync.Mutex
	inMain   bool
	clusters map[string]*sharedEntry
	order    []*sharedEntry
	started  []*Cluster // for the signal handler
}

type sharedEntry struct {
	once    sync.Once
	cfg     LocalConfig
	cluster *Cluster
	err     error
}

// Main runs a test binary's tests and then closes every cluster Shared
// started. Call it from TestMain:
//
//	func TestMain(m *testing.M) { integration.Main(m) }
//
// When tests fail, Main prints the tail of every shared node's log to stderr.
// It checks that no JVM outlives Close and exits with m.Run's code. On
// SIGINT or SIGTERM it closes the shared clusters and exits at once.
func Main(m *testing.M) {
	shared.mu.Lock()
	shared.inMain = true
	shared.mu.Unlock()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		fmt.Fprintf(os.Stderr, "integration: %v received, stopping the shared Kafka clusters\n", sig)
		shared.mu.Lock()
		started := shared.started
		shared.mu.Unlock()
		for _, c := range started {
			c.Close()
		}
		os.Exit(1)
	}()
	code := m.Run()
	signal.Stop(sigs)
	close(sigs)
	shared.mu.Lock()
	entries := shared.order
	shared.clusters, shared.order, shared.started = nil, nil, nil
	shared.mu.Unlock()
	for _, e := range entries {
		if e.cluster == nil {
			continue
		}
		if code != 0 {
			fmt.Fprint(os.Stderr, e.cluster.logReport(60))
		}
		pids := e.cluster.PIDs()
		if err := e.cluster.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "integration: closing cluster: %v\n", err)
			code = 1
		}
		for _, pid := range pids {
			if processAlive(pid) {
				fmt.Fprintf(os.Stderr, "integration: Kafka JVM pid %d still alive after Close\n", pid)
				code = 1
			}
		}
	}
	os.Exit(code)
}

// Shared returns the cluster of shape cfg for this test binary, starting it
// on first use; later calls with an equal cfg return the same cluster, which
// Main closes after all tests. Tests that change it (killing nodes, for
// example) must restore it. Shared registers LogOnFailure for tb.
//
// If the cluster cannot be started, tb fails when the environment variable
// CI is "true" and is skipped otherwise, with the reason and the broker's log.
// A failure is remembered, so later callers fail or skip at once.
// Shared requires Main in TestMain; without it, it fails the test.
func Shared(tb testing.TB, cfg LocalConfig) *Cluster {
	tb.Helper()
	if addrs := os.Getenv(BootstrapEnv); addrs != "" {
		return &Cluster{external: splitAddrs(addrs)}
	}
	shared.mu.Lock()
	if !shared.inMain {
		shared.mu.Unlock()
		tb.Fatal("integration.Shared needs integration.Main in TestMain (func TestMain(m *testing.M) { integration.Main(m) }), which closes the clusters")
	}
	if shared.clusters == nil {
		shared.clusters = map[string]*sharedEntry{}
	}
	key := cfg.key()
	e := shared.clusters[key]
	if e == nil {
		e = &sharedEntry{cfg: cfg}
		shared.clusters[key] = e
		shared.order = append(shared.order, e)
	}
	shared.mu.Unlock()

	e.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		start := time.Now()
		e.cluster, e.err = StartLocal(ctx, cfg)
		if e.err == nil {
			shared.mu.Lock()
			shared.started = append(shared.started, e.cluster)
			shared.mu.Unlock()
			fmt.Fprintf(os.Stderr, "integration: Kafka %s cluster with %d node(s) started in %s (%s)\n",
				KafkaVersion, e.cluster.Nodes(), time.Since(start).Round(time.Millisecond), key)
		}
	})
	if e.err != nil {
		Unavailable(tb, e.err)
	}
	e.cluster.LogOnFailure(tb)
	return e.cluster
}

// Unavailable ends a test that needs Kafka when Kafka cannot be provided:
// it fails tb if the environment variable CI is "true", and skips it
// otherwise, loudly, with err (which carries the broker's log, if any).
func Unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("Kafka is required when CI=true but is unavailable: %v", err)
	}
	// Skips are silent without -v; say it once on stderr in any case.
	skipNotice.Do(func() {
		fmt.Fprintf(os.Stderr, "integration: SKIPPING tests that need Kafka (set CI=true to fail instead): %v\n", err)
	})
	tb.Skipf("SKIPPING: Kafka is unavailable (set CI=true to make this a failure): %v", err)
}

var skipNotice sync.Once

// LogOnFailure registers a cleanup on tb that, if the test failed, logs the
// tail of every node's log through tb.
func (c *Cluster) LogOnFailure(tb testing.TB) {
	tb.Cleanup(func() {
		if tb.Failed() && len(c.nodes) > 0 {
			tb.Log(c.logReport(60))
		}
	})
}

// logReport returns the last lines of each node's log, labelled.
func (c *Cluster) logReport(lines int) string {
	var b strings.Builder
	for _, n := range c.nodes {
		fmt.Fprintf(&b, "---- Kafka node %d log (%s), last %d lines ----\n%s\n", n.id, n.logPath, lines, n.logTail(lines))
	}
	return b.String()
}

func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}
