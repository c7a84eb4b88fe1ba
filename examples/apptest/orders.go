// Package apptest shows how an application tests its own Kafka code against
// a real broker with Gregor's integration package. The application here is
// a tiny order service: Service.Place writes orders keyed by customer, and
// Totals reads them in a consumer group and sums them per customer.
//
// The test file, orders_test.go, is the part to copy:
//
//   - TestMain hands the test binary to integration.Main, which stops every
//     broker the tests started once they are done (no JVM outlives the
//     binary, even on Ctrl-C).
//   - A test asks integration.Shared for a cluster of the shape it needs
//     (here one node); the first such call starts Kafka 4.1.1 on free ports
//     of 127.0.0.1, later calls in the same binary share it.
//   - c.Bootstrap(integration.Plaintext) gives the addresses to put in
//     gregor.ConnConfig.SeedBrokers.
//   - Without Java the test is skipped with the reason, or fails when the
//     environment variable CI is "true"; GREGOR_TEST_BOOTSTRAP=host:port
//     points it at a cluster that runs already instead.
//
// The same test body also runs against an in-process fake cluster (kfake),
// which is fast enough for every save but is not Kafka; the real broker is
// the one that proves the code.
//
// Run it with:
//
//	go test ./examples/apptest
package apptest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/consumer"
	"github.com/gregorkafka/gregor/producer"
	"github.com/gregorkafka/gregor/protocol"
)

// Order is one order as the service writes it, JSON-encoded.
type Order struct {
	ID       string `json:"id"`
	Customer string `json:"customer"`
	// Cents is the order's total in cents.
	Cents int64 `json:"cents"`
}

// Service places orders on a topic.
type Service struct {
	topic string
	p     *producer.Producer
}

// NewService returns a service writing to topic, creating the topic with
// the given number of partitions unless it exists.
func NewService(ctx context.Context, conn gregor.ConnConfig, topic string, partitions int32) (*Service, error) {
	adm, err := admin.New(conn)
	if err != nil {
		return nil, err
	}
	defer adm.Close(context.Background())
	_, err = adm.CreateTopic(ctx, admin.NewTopic{Name: topic, Partitions: partitions}, admin.CreateTopicsOptions{})
	if err != nil && !errors.Is(err, protocol.ErrTopicAlreadyExists) {
		return nil, fmt.Errorf("create topic %s: %w", topic, err)
	}
	p, err := producer.New(producer.Config{Conn: conn})
	if err != nil {
		return nil, err
	}
	return &Service{topic: topic, p: p}, nil
}

// Place writes the orders, keyed by customer so that one customer's orders
// stay in order, and returns once every one is written.
func (s *Service) Place(ctx context.Context, orders ...Order) error {
	recs := make([]*gregor.Record, len(orders))
	for i, o := range orders {
		v, err := json.Marshal(o)
		if err != nil {
			return err
		}
		recs[i] = &gregor.Record{Topic: s.topic, Key: []byte(o.Customer), Value: v}
	}
	if _, err := s.p.ProduceSync(ctx, recs...); err != nil {
		return fmt.Errorf("place orders: %w", err)
	}
	return nil
}

// Close flushes and closes the producer.
func (s *Service) Close(ctx context.Context) error { return s.p.Close(ctx) }

// Totals joins group, reads the next n orders of topic after the group's
// committed offsets, sums their cents per customer, commits and leaves.
func Totals(ctx context.Context, conn gregor.ConnConfig, group, topic string, n int) (map[string]int64, error) {
	c, err := consumer.New(consumer.Config{Conn: conn, Group: consumer.GroupConfig{
		GroupID: group, Topics: []string{topic}, DisableAutoCommit: true,
	}})
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	sums := map[string]int64{}
	for read := 0; read < n; {
		fetches, err := c.Poll(ctx)
		if err != nil {
			return sums, fmt.Errorf("poll after %d of %d orders: %w", read, n, err)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			return sums, errs[0]
		}
		var bad error
		fetches.EachRecord(func(r *gregor.Record) {
			var o Order
			if err := json.Unmarshal(r.Value, &o); err != nil {
				bad = errors.Join(bad, fmt.Errorf("%s[%d] offset %d: %w", r.Topic, r.Partition, r.Offset, err))
			}
			sums[o.Customer] += o.Cents
			read++
			c.MarkProcessed(r)
		})
		if bad != nil {
			return sums, bad
		}
	}
	if err := c.CommitSync(ctx); err != nil {
		return sums, fmt.Errorf("commit: %w", err)
	}
	return sums, c.Close(ctx)
}
