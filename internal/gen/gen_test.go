package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

func TestParseRange(t *testing.T) {
	cases := map[string]vrange{"none": emptyRange, "": emptyRange, "3": {3, 3}, "2+": {2, maxVersion}, "1-4": {1, 4}}
	for in, want := range cases {
		got, err := parseRange(in)
		if err != nil || got != want {
			t.Errorf("parseRange(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseRange("x+"); err == nil {
		t.Error("parseRange accepted garbage")
	}
}

func TestSnake(t *testing.T) {
	for in, want := range map[string]string{
		"DescribeConfigs": "describe_configs", "ApiVersions": "api_versions",
		"KRaftVersionRecord": "k_raft_version_record", "AddOffsetsToTxn": "add_offsets_to_txn",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestGeneratedUpToDate regenerates the codec in memory and compares it
// with the committed files, which also proves the output is deterministic.
func TestGeneratedUpToDate(t *testing.T) {
	jar, err := defaultJar()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(jar); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Kafka jar missing in CI: %v", err)
		}
		t.Skipf("SKIPPING: Kafka jar missing (%v); run go run ./integration/cmd/kafka-install", err)
	}
	specs, err := readSpecs(jar)
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 197 {
		t.Errorf("read %d specs, want 197", len(specs))
	}
	files := plan(buildMessages(specs))
	again := plan(buildMessages(specs))
	dir := filepath.Join("..", "..", "protocol")
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	keys := 0
	for _, n := range names {
		if !bytes.Equal(files[n], again[n]) {
			t.Errorf("%s: two generator runs differ", n)
		}
		have, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil || !bytes.Equal(have, files[n]) {
			t.Errorf("protocol/%s is stale; run go generate ./protocol/", n)
		}
		if !bytes.HasPrefix([]byte(n), []byte("gen_data_")) && n != "gen_headers.go" && n != "gen_apis.go" && n != "gen_random_test.go" {
			keys++
		}
	}
	if keys != 93 {
		t.Errorf("%d per-API files, want 93", keys)
	}
	onDisk, _ := filepath.Glob(filepath.Join(dir, "gen_*.go"))
	for _, p := range onDisk {
		if _, ok := files[filepath.Base(p)]; !ok {
			t.Errorf("stale generated file %s", p)
		}
	}
}
