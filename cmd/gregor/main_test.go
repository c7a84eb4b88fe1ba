package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kfake"
)

func TestCommands(t *testing.T) {
	leakcheck.Check(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "existing"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := "-brokers=" + strings.Join(c.ListenAddrs(), ",")
	cmd := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(append([]string{brokers, "-timeout=10s"}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, out, _ := cmd("topics", "create", "-partitions", "2", "-replication-factor", "1", "-config", "retention.ms=1000", "fresh", "existing")
	if code != 1 || !strings.Contains(out, "TOPIC_ALREADY_EXISTS") || !strings.Contains(out, "fresh") {
		t.Fatalf("create: %d\n%s", code, out)
	}
	code, out, _ = cmd("-json", "topics", "describe", "fresh")
	var ds []struct {
		Name       string
		Partitions []struct{ Partition int32 }
	}
	if err := json.Unmarshal([]byte(out), &ds); code != 0 || err != nil || len(ds) != 1 || len(ds[0].Partitions) != 2 {
		t.Fatalf("describe: %d %v\n%s", code, err, out)
	}
	code, out, _ = cmd("topics", "list")
	if code != 0 || !strings.Contains(out, "fresh") || !strings.Contains(out, "existing") {
		t.Fatalf("list: %d\n%s", code, out)
	}
	code, out, _ = cmd("configs", "describe", "fresh")
	if code != 0 || !strings.Contains(out, "retention.ms") || !strings.Contains(out, "1000") {
		t.Fatalf("configs: %d\n%s", code, out)
	}
	code, out, _ = cmd("groups", "describe", "nope")
	if code != 1 || !strings.Contains(out, "nope") {
		t.Fatalf("groups describe: %d\n%s", code, out)
	}
	// kfake has no share groups: each group gets its own error.
	code, out, _ = cmd("groups", "describe-share", "share-a", "share-b")
	if code != 1 || !strings.Contains(out, "share-a") || !strings.Contains(out, "share-b") || !strings.Contains(out, "API key 77") {
		t.Fatalf("groups describe-share: %d\n%s", code, out)
	}
	code, _, _ = cmd("groups", "list")
	if code != 0 {
		t.Fatalf("groups list: %d", code)
	}
	code, out, _ = cmd("topics", "delete", "fresh")
	if code != 0 || !strings.Contains(out, "fresh") {
		t.Fatalf("delete: %d\n%s", code, out)
	}
	if code, _, _ := cmd("bogus", "command"); code != 2 {
		t.Fatalf("unknown command: %d", code)
	}
}
