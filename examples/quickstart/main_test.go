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
	if err := run(ctx, "", "quickstart-fake", 3, 500); err != nil {
		t.Fatal(err)
	}
}

func TestQuickstartRealBroker(t *testing.T) {
	c := integration.Shared(t, integration.LocalConfig{Nodes: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	brokers := strings.Join(c.Bootstrap(integration.Plaintext), ",")
	if err := run(ctx, brokers, "quickstart-real", 3, 500); err != nil {
		t.Fatal(err)
	}
	// A second run finds the topic already there and still succeeds.
	if err := run(ctx, brokers, "quickstart-real", 3, 100); err != nil {
		t.Fatalf("rerun: %v", err)
	}
}
