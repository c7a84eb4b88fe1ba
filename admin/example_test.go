package admin_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Example creates two topics, one of which exists already, and describes
// the new one. It runs against an in-process fake cluster; point
// SeedBrokers at real brokers to use it for real.
func Example() {
	fakeKafka, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(1, "orders"))
	if err != nil {
		panic(err)
	}
	defer fakeKafka.Close()

	client, err := admin.New(gregor.ConnConfig{SeedBrokers: fakeKafka.ListenAddrs()})
	if err != nil {
		panic(err)
	}
	defer client.Close(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	results, err := client.CreateTopics(ctx, []admin.NewTopic{
		{Name: "payments", Partitions: 3, ReplicationFactor: 1},
		{Name: "orders", Partitions: 1, ReplicationFactor: 1},
	}, admin.CreateTopicsOptions{})
	if err != nil {
		panic(err) // the whole call failed
	}
	for _, r := range results {
		switch {
		case errors.Is(r.Err, protocol.ErrTopicAlreadyExists):
			fmt.Println(r.Name, "already exists")
		case r.Err != nil:
			fmt.Println(r.Name, "failed:", r.Err)
		default:
			fmt.Println(r.Name, "created with", r.Partitions, "partitions")
		}
	}

	descs, err := client.DescribeTopics(ctx, []string{"payments"}, admin.DescribeTopicsOptions{})
	if err != nil {
		panic(err)
	}
	for _, p := range descs[0].Partitions {
		fmt.Printf("payments[%d] has %d replica(s)\n", p.Partition, len(p.Replicas))
	}
	// Output:
	// payments created with 3 partitions
	// orders already exists
	// payments[0] has 1 replica(s)
	// payments[1] has 1 replica(s)
	// payments[2] has 1 replica(s)
}
