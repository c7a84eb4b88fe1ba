package apptest_test

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/examples/apptest"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestMain lets integration.Main stop the brokers Shared starts.
func TestMain(m *testing.M) { integration.Main(m) }

// TestOrdersRealBroker runs the order service against a real Kafka broker.
func TestOrdersRealBroker(t *testing.T) {
	c := integration.Shared(t, integration.LocalConfig{Nodes: 1})
	testOrders(t, gregor.ConnConfig{SeedBrokers: c.Bootstrap(integration.Plaintext)})
}

// TestOrdersFake runs the same test against an in-process fake cluster.
func TestOrdersFake(t *testing.T) {
	fake, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	testOrders(t, gregor.ConnConfig{SeedBrokers: fake.ListenAddrs()})
}

// testOrders places two rounds of orders and checks that each round's
// totals are read once: the group's commit after the first round makes the
// second read start after it.
func testOrders(t *testing.T, conn gregor.ConnConfig) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const topic, group = "orders", "billing"
	svc, err := apptest.NewService(ctx, conn, topic, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close(context.Background())

	rounds := []map[string]int64{{"ann": 0, "bob": 0, "cy": 0}, {"ann": 0, "dee": 0}}
	for round, want := range rounds {
		var orders []apptest.Order
		i := 0
		for customer := range want {
			for k := 1; k <= 3; k++ {
				cents := int64(100*(round+1) + 10*k + len(customer))
				orders = append(orders, apptest.Order{ID: fmt.Sprintf("r%d-%d", round, i), Customer: customer, Cents: cents})
				want[customer] += cents
				i++
			}
		}
		if err := svc.Place(ctx, orders...); err != nil {
			t.Fatal(err)
		}
		got, err := apptest.Totals(ctx, conn, group, topic, len(orders))
		if err != nil {
			t.Fatalf("round %d: %v", round+1, err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("round %d: totals %v, want %v", round+1, got, want)
		}
	}
}
