package main

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
)

func TestMain(m *testing.M) { integration.Main(m) }

// TestEOSRealBroker runs the example against the local real broker with
// every third transaction aborted, and checks that a read_committed reader
// of the output topic sees each transformed input record exactly once.
func TestEOSRealBroker(t *testing.T) {
	c := integration.Shared(t, integration.LocalConfig{Nodes: 1})
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	suffix := strconv.FormatInt(time.Now().UnixNano(), 36)
	o := options{
		brokers: strings.Join(c.Bootstrap(integration.Plaintext), ","),
		in:      "eos-in-" + suffix, out: "eos-out-" + suffix,
		records: 300, perTxn: 40, abortEvery: 3,
	}
	got, err := run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range o.records {
		want = append(want, string(transform([]byte("record "+strconv.Itoa(i)))))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("read_committed output has %d records, want the %d transformed inputs once each; first: %v",
			len(got), len(want), got[:min(len(got), 5)])
	}
	t.Logf("%d input records came out transformed exactly once", o.records)
}
