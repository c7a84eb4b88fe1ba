package consumer_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/consumer"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Example reads three records from partition 0 of a topic, starting at the
// earliest offset. An in-process fake broker (kfake) stands in for Kafka.
func Example() {
	fake, _ := kfake.NewCluster(kfake.SeedTopics(1, "events"))
	defer fake.Close()
	seed, _ := kgo.NewClient(kgo.SeedBrokers(fake.ListenAddrs()...))
	for _, v := range []string{"a", "b", "c"} {
		seed.ProduceSync(context.Background(), &kgo.Record{Topic: "events", Value: []byte(v)})
	}
	seed.Close()

	c, err := consumer.New(consumer.Config{Conn: gregor.ConnConfig{SeedBrokers: fake.ListenAddrs()}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(context.Background())
	tp := consumer.TopicPartition{Topic: "events", Partition: 0}
	c.Assign(map[consumer.TopicPartition]consumer.Offset{tp: consumer.AtEarliest()})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for n := 0; n < 3; {
		fetches, err := c.Poll(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, err := range fetches.Errors() {
			fmt.Println(err)
		}
		fetches.EachRecord(func(r *gregor.Record) {
			fmt.Printf("%s[%d]@%d %s\n", r.Topic, r.Partition, r.Offset, r.Value)
			n++
		})
	}
	lag, _ := c.Lag(tp)
	fmt.Println("lag", lag)
	// Output:
	// events[0]@0 a
	// events[0]@1 b
	// events[0]@2 c
	// lag 0
}

// ExampleGroupConfig joins a consumer group with the KIP-848 protocol
// (Kafka 4.0 or later; it needs a real broker, so this example is compiled
// but not run). Records are marked processed after their work is done, so
// commits, which happen every AutoCommitInterval and whenever partitions
// move to another member, cover only finished records.
func ExampleGroupConfig() {
	c, err := consumer.New(consumer.Config{
		Conn:           gregor.ConnConfig{SeedBrokers: []string{"localhost:9092"}},
		MaxPollRecords: 500,
		Group: consumer.GroupConfig{
			GroupID:  "orders-service",
			Topics:   []string{"orders"},
			Protocol: consumer.GroupConsumer,
			OnRevoked: func(_ context.Context, _ *consumer.Consumer, parts []consumer.TopicPartition) {
				fmt.Println("gave up", parts)
			},
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close(context.Background())
	for {
		fetches, err := c.Poll(context.Background())
		if err != nil { // a *consumer.GroupError ends the membership
			fmt.Println(err)
			return
		}
		fetches.EachRecord(func(r *gregor.Record) {
			// process r, then:
			c.MarkProcessed(r)
		})
	}
}
