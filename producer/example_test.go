package producer_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/producer"
	"github.com/twmb/franz-go/pkg/kfake"
)

// Example produces one record synchronously and a few asynchronously, and
// shows how to read the three-way result. It runs against an in-process
// fake cluster; point SeedBrokers at a real one in your code.
func Example() {
	fake, err := kfake.NewCluster(kfake.SeedTopics(3, "orders"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer fake.Close()

	p, err := producer.New(producer.Config{
		Conn: gregor.ConnConfig{SeedBrokers: fake.ListenAddrs()},
		// Everything else defaults: acks=all, idempotent, 5 ms linger.
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	defer p.Close(ctx)

	// Synchronously: wait for the result.
	results, err := p.ProduceSync(ctx, &gregor.Record{Topic: "orders", Key: []byte("customer-42"), Value: []byte("book")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("partition:", results[0].Partition, "offset:", results[0].Offset)

	// Asynchronously: the callback gets exactly one result per record.
	done := make(chan producer.Result, 3)
	for _, item := range []string{"pen", "ink", "paper"} {
		p.Produce(context.Background(), &gregor.Record{Topic: "orders", Key: []byte("customer-42"), Value: []byte(item)},
			func(r *gregor.Record, res producer.Result) { done <- res })
	}
	for range 3 {
		res := <-done
		switch res.Outcome {
		case producer.Written:
			fmt.Println("written at offset", res.Offset)
		case producer.Failed:
			fmt.Println("not written:", res.Err) // safe to send again
		case producer.Unknown:
			// May be in the log: check before sending again.
			fmt.Println("unknown:", errors.Is(res.Err, producer.ErrOutcomeUnknown))
		}
	}
	// Output:
	// partition: 0 offset: 0
	// written at offset 1
	// written at offset 2
	// written at offset 3
}
