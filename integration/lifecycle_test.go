//go:build unix

package integration_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/integration"
)

// TestLifecycle starts its own single node (not the shared one), stops it
// with SIGTERM, restarts it on the same port, and checks that Close leaves no
// JVM and no temporary directory behind.
func TestLifecycle(t *testing.T) {
	if os.Getenv(integration.BootstrapEnv) != "" {
		t.Skip("uses a cluster of its own; skipped when pointed at an external one")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := integration.StartLocal(ctx, integration.LocalConfig{})
	if err != nil {
		integration.Unavailable(t, err)
	}
	t.Cleanup(func() { c.Close() })
	c.LogOnFailure(t)
	t.Logf("single plaintext node started in %s", time.Since(start).Round(time.Millisecond))
	addr := c.Bootstrap(integration.Plaintext)[0]
	listBrokers := func() error {
		_, stderr, err := kcat(t, 20*time.Second, "", "-L", "-m", "5", "-b", addr)
		if err != nil {
			return errors.New(stderr)
		}
		return nil
	}
	if err := listBrokers(); err != nil {
		t.Fatalf("kcat -L: %v", err)
	}

	pid := c.PIDs()[0]
	if err := c.StopNode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if c.Running(0) || processAlive(pid) {
		t.Fatalf("node still running after StopNode (pid %d)", pid)
	}
	log, err := os.ReadFile(c.LogPath(0))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "shut down completed") {
		t.Fatalf("no controlled shutdown in the node's log after SIGTERM")
	}
	t.Log("StopNode: controlled shutdown completed")

	if err := c.StartNode(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if got := c.Bootstrap(integration.Plaintext)[0]; got != addr {
		t.Fatalf("restarted node listens on %s, want the same address %s", got, addr)
	}
	waitFor(t, 30*time.Second, "restarted node serving metadata", listBrokers)
	t.Log("StartNode: node restarted on the same port")

	pids, dir := c.PIDs(), c.Dir()
	if len(pids) != 1 {
		t.Fatalf("PIDs() = %v, want one running JVM", pids)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, p := range pids {
		if processAlive(p) {
			t.Fatalf("JVM %d alive after Close", p)
		}
	}
	if _, err := os.Stat(dir); os.Getenv(integration.KeepEnv) == "" && !os.IsNotExist(err) {
		t.Fatalf("Close left %s behind (stat: %v)", dir, err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	t.Log("Close: no JVM left, temporary directory removed")
}

// processAlive reports whether pid exists, with the null signal.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// TestStartFailureCarriesLog checks that a node that cannot start yields an
// error with the tool's or broker's own words, and leaves nothing running.
func TestStartFailureCarriesLog(t *testing.T) {
	if os.Getenv(integration.BootstrapEnv) != "" {
		t.Skip("starts a cluster of its own")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := integration.StartLocal(ctx, integration.LocalConfig{
		BrokerProperties: map[string]string{"num.io.threads": "not-a-number"},
	})
	if err == nil {
		c.Close()
		t.Fatal("StartLocal succeeded with an invalid broker property")
	}
	var missing *integration.MissingToolError
	if errors.As(err, &missing) {
		integration.Unavailable(t, err)
	}
	if !strings.Contains(err.Error(), "not-a-number") {
		t.Fatalf("error does not quote Kafka's complaint: %v", err)
	}
	t.Logf("start-up failure reported with Kafka's output: %.200s...", err)
}
