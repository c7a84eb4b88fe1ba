package main

import (
	"bytes"
	"os"
	"os/exec"
	"testing"
)

// TestTableUpToDate regenerates the error table from the cached Kafka jar
// and fails if protocol/errors_table.go differs, so CI catches a stale or
// hand-edited table.
func TestTableUpToDate(t *testing.T) {
	if _, err := exec.LookPath("javac"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("javac is needed to regenerate the error table")
		}
		t.Skip("SKIPPING LOUDLY: no javac to regenerate the error table")
	}
	if _, err := kafkaLib(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip("SKIPPING LOUDLY: ", err)
	}
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../protocol/errors_table.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("protocol/errors_table.go is stale: run go generate ./protocol/")
	}
}
