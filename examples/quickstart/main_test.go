package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/integration"
)

func TestMain(m *testing.M) { integration.Main(m) }

func TestQuickstartFake(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, options{topic: "quickstart-fake", partitions: 3, records: 5000, valueSize: 100}); err != nil {
		t.Fatal(err)
	}
}

func TestQuickstartRealBroker(t *testing.T) {
	c := integration.Shared(t, integration.LocalConfig{Nodes: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	brokers := strings.Join(c.Bootstrap(integration.Plaintext), ",")
	o := options{brokers: brokers, topic: "quickstart-real", partitions: 3, records: 20000, valueSize: 100}
	if err := run(ctx, o); err != nil {
		t.Fatal(err)
	}
	// A second run finds the topic already there, and reads back the first
	// run's records too before it has seen as many as it produced.
	if err := run(ctx, o); err != nil {
		t.Fatalf("rerun: %v", err)
	}
}
