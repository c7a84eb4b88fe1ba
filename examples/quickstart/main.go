// Command quickstart shows Gregor end to end: it creates a topic, produces
// records with delivery results, reads them back, and prints throughput.
//
// By default it starts an in-process fake cluster (kfake), so it needs no
// broker; -brokers points it at real brokers instead:
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -brokers 127.0.0.1:9092 -records 1000000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/consumer"
	"github.com/gregorkafka/gregor/producer"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
)

// options are the quickstart's flags.
type options struct {
	brokers    string
	topic      string
	partitions int
	records    int
	valueSize  int
}

func main() {
	var o options
	flag.StringVar(&o.brokers, "brokers", "", "comma-separated bootstrap brokers; empty starts an in-process fake cluster")
	flag.StringVar(&o.topic, "topic", fmt.Sprintf("gregor-quickstart-%d", time.Now().Unix()), "topic to create and use")
	flag.IntVar(&o.partitions, "partitions", 6, "partitions of the new topic")
	flag.IntVar(&o.records, "records", 200_000, "records to produce and consume")
	flag.IntVar(&o.valueSize, "value-size", 100, "bytes per record value")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	seeds := strings.Split(o.brokers, ",")
	if o.brokers == "" {
		fake, err := kfake.NewCluster(kfake.NumBrokers(3))
		if err != nil {
			return fmt.Errorf("start fake cluster: %w", err)
		}
		defer fake.Close()
		seeds = fake.ListenAddrs()
		fmt.Printf("started an in-process fake cluster: %s\n", strings.Join(seeds, ","))
	}
	conn := gregor.ConnConfig{SeedBrokers: seeds, ClientID: "gregor-quickstart"}

	if err := createTopic(ctx, conn, o.topic, int32(o.partitions)); err != nil {
		return err
	}
	if err := produce(ctx, conn, o); err != nil {
		return err
	}
	return consume(ctx, conn, o)
}

func createTopic(ctx context.Context, conn gregor.ConnConfig, topic string, partitions int32) error {
	adm, err := admin.New(conn)
	if err != nil {
		return err
	}
	defer adm.Close(context.Background())
	_, err = adm.CreateTopic(ctx, admin.NewTopic{Name: topic, Partitions: partitions}, admin.CreateTopicsOptions{})
	switch {
	case errors.Is(err, protocol.ErrTopicAlreadyExists):
		fmt.Printf("topic %s exists already\n", topic)
	case err != nil:
		return fmt.Errorf("create topic: %w", err)
	default:
		fmt.Printf("created topic %s with %d partitions\n", topic, partitions)
	}
	return nil
}

// produce writes o.records keyed records and counts every delivery result.
func produce(ctx context.Context, conn gregor.ConnConfig, o options) error {
	p, err := producer.New(producer.Config{Conn: conn})
	if err != nil {
		return err
	}
	var written, failed, unknown atomic.Int64
	var firstErr atomic.Value
	onResult := func(_ *gregor.Record, res producer.Result) {
		switch res.Outcome {
		case producer.Written:
			written.Add(1)
			return
		case producer.Failed:
			failed.Add(1)
		default:
			unknown.Add(1)
		}
		firstErr.CompareAndSwap(nil, res.Err)
	}
	value := make([]byte, o.valueSize)
	for i := range value {
		value[i] = 'a' + byte(i%26)
	}
	stop := progress("produced", o.records, func() int64 { return written.Load() + failed.Load() + unknown.Load() })
	start := time.Now()
	for i := 0; i < o.records; i++ {
		r := &gregor.Record{Topic: o.topic, Key: fmt.Appendf(nil, "user-%d", i%1000), Value: value}
		p.Produce(ctx, r, onResult)
	}
	flushErr := p.Flush(ctx)
	elapsed := time.Since(start)
	stop()
	if err := p.Close(ctx); err != nil {
		return fmt.Errorf("close producer: %w", err)
	}
	fmt.Printf("produced %d records in %v: %.0f records/s, %.1f MB/s (written %d, failed %d, outcome unknown %d)\n",
		o.records, elapsed.Round(time.Millisecond), float64(o.records)/elapsed.Seconds(),
		float64(o.records*o.valueSize)/elapsed.Seconds()/1e6, written.Load(), failed.Load(), unknown.Load())
	if flushErr != nil {
		return fmt.Errorf("flush: %w", flushErr)
	}
	if e, ok := firstErr.Load().(error); ok {
		return fmt.Errorf("not every record was written, first error: %w", e)
	}
	return nil
}

// consume reads the topic from the start until every produced record is back.
func consume(ctx context.Context, conn gregor.ConnConfig, o options) error {
	c, err := consumer.New(consumer.Config{Conn: conn})
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	parts := make(map[consumer.TopicPartition]consumer.Offset, o.partitions)
	for i := 0; i < o.partitions; i++ {
		parts[consumer.TopicPartition{Topic: o.topic, Partition: int32(i)}] = consumer.AtEarliest()
	}
	if err := c.Assign(parts); err != nil {
		return err
	}
	var got atomic.Int64
	stop := progress("consumed", o.records, got.Load)
	start := time.Now()
	for got.Load() < int64(o.records) {
		fetches, err := c.Poll(ctx)
		if err != nil {
			stop()
			return fmt.Errorf("poll after %d records: %w", got.Load(), err)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			stop()
			return fmt.Errorf("fetch: %w", errs[0])
		}
		got.Add(int64(fetches.NumRecords()))
	}
	elapsed := time.Since(start)
	stop()
	fmt.Printf("consumed %d records in %v: %.0f records/s\n", got.Load(), elapsed.Round(time.Millisecond), float64(got.Load())/elapsed.Seconds())
	return nil
}

// progress prints a progress line four times a second until stop is called.
func progress(what string, total int, done func() int64) (stop func()) {
	quit := make(chan struct{})
	finished := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(finished)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-quit:
				fmt.Printf("\r%-70s\r", "")
				return
			case <-tick.C:
				n := done()
				fmt.Printf("\r  %s %d/%d, %.0f records/s", what, n, total, float64(n)/time.Since(start).Seconds())
			}
		}
	}()
	return func() { close(quit); <-finished }
}
