// Command keyed-producer shows how keys pick partitions and how a delivery
// callback reads the three-way Result every produced record gets.
//
// It creates a topic, then writes -per-key records for each of -keys keys,
// each record carrying two headers. The callback prints, per record, where
// it was written (partition and offset), or why it failed, or that its
// outcome is unknown (it may have been written: only reading the partition
// tells). Every record of one key lands on the same partition, the one the
// Java client's murmur2 partitioner picks too (producer.KeyPartition), so
// Java and Go producers sharing a topic keep each key's records in order.
// Last, a record larger than a request may be shows a Failed result.
//
// By default it runs against an in-process fake cluster; -brokers points it
// at real brokers:
//
//	go run ./examples/keyed-producer
//	go run ./examples/keyed-producer -brokers 127.0.0.1:9092 -keys 8 -per-key 10
//
// Output lines (one per record, then one per key):
//
//	written key=user-1 partition=2 offset=5 headers=source:keyed-producer,seq:1
//	failed key=too-big partition=-1: gregor/producer: record too large ...
//	key user-1 -> partition 2 (4 records, murmur2 expects 2)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/producer"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
)

// options are the program's flags.
type options struct {
	brokers    string
	topic      string
	partitions int
	keys       int
	perKey     int
}

func main() {
	var o options
	flag.StringVar(&o.brokers, "brokers", "", "comma-separated bootstrap brokers; empty starts an in-process fake cluster")
	flag.StringVar(&o.topic, "topic", "gregor-keyed", "topic to create (if missing) and write to")
	flag.IntVar(&o.partitions, "partitions", 6, "partitions of the topic when it is created")
	flag.IntVar(&o.keys, "keys", 5, "distinct keys")
	flag.IntVar(&o.perKey, "per-key", 4, "records per key")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "keyed-producer:", err)
		os.Exit(1)
	}
}

// delivery is what the callback learnt about one record.
type delivery struct {
	key       string
	partition int32
}

func run(ctx context.Context, o options) error {
	if o.keys <= 0 || o.perKey <= 0 {
		return fmt.Errorf("-keys and -per-key must be positive, got %d and %d", o.keys, o.perKey)
	}
	var seeds []string
	if o.brokers != "" {
		seeds = strings.Split(o.brokers, ",")
	} else {
		fake, err := kfake.NewCluster(kfake.NumBrokers(1))
		if err != nil {
			return fmt.Errorf("start a fake cluster: %w", err)
		}
		defer fake.Close()
		seeds = fake.ListenAddrs()
	}
	conn := gregor.ConnConfig{SeedBrokers: seeds, ClientID: "gregor-keyed-producer"}
	partitions, err := ensureTopic(ctx, conn, o.topic, int32(o.partitions))
	if err != nil {
		return err
	}
	fmt.Printf("topic %s has %d partitions\n", o.topic, partitions)

	p, err := producer.New(producer.Config{Conn: conn})
	if err != nil {
		return err
	}
	defer p.Close(context.Background())

	var (
		mu        sync.Mutex
		delivered []delivery
		problems  int
		callbacks sync.WaitGroup // callbacks still to run
	)
	// onResult runs on the producer's goroutines, possibly several at once,
	// so it takes a lock before touching shared state. It must not block.
	onResult := func(r *gregor.Record, res producer.Result) {
		defer callbacks.Done()
		mu.Lock()
		defer mu.Unlock()
		switch res.Outcome {
		case producer.Written:
			fmt.Printf("written key=%s partition=%d offset=%d headers=%s\n",
				r.Key, res.Partition, res.Offset, formatHeaders(r.Headers))
			delivered = append(delivered, delivery{key: string(r.Key), partition: res.Partition})
		case producer.Failed:
			// Definitely not written: safe to produce again.
			fmt.Printf("failed key=%s partition=%d: %v\n", r.Key, res.Partition, res.Err)
			problems++
		case producer.Unknown:
			// Maybe written: producing again may duplicate it.
			fmt.Printf("unknown key=%s partition=%d: %v\n", r.Key, res.Partition, res.Err)
			problems++
		}
	}
	for seq := 1; seq <= o.perKey; seq++ {
		for k := 0; k < o.keys; k++ {
			callbacks.Add(1)
			p.Produce(ctx, &gregor.Record{
				Topic: o.topic,
				Key:   fmt.Appendf(nil, "user-%d", k),
				Value: fmt.Appendf(nil, "event %d of user-%d", seq, k),
				Headers: []gregor.Header{
					{Key: "source", Value: []byte("keyed-producer")},
					{Key: "seq", Value: []byte(strconv.Itoa(seq))},
				},
			}, onResult)
		}
	}
	// Flush returns once every record is settled; the last callbacks may
	// still be running then, so wait for them too before reading what they
	// collected. (Close, by contrast, returns only after every callback.)
	if err := p.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	callbacks.Wait()
	mu.Lock()
	defer mu.Unlock()
	if problems > 0 {
		return fmt.Errorf("%d of %d records were not written", problems, o.keys*o.perKey)
	}

	// A record larger than Config.MaxRequestBytes can never be sent: its
	// Result is Failed with a *producer.RecordTooLargeError.
	var tooLarge producer.Result
	done := make(chan struct{})
	big := &gregor.Record{Topic: o.topic, Key: []byte("too-big"), Value: make([]byte, 2<<20)}
	p.Produce(ctx, big, func(r *gregor.Record, res producer.Result) {
		fmt.Printf("%s key=%s partition=%d: %v\n", strings.ToLower(res.Outcome.String()), r.Key, res.Partition, res.Err)
		tooLarge = res
		close(done)
	})
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if tooLarge.Outcome != producer.Failed || !errors.Is(tooLarge.Err, producer.ErrRecordTooLarge) {
		return fmt.Errorf("the oversized record came back %v (%v), want failed with a record-too-large error", tooLarge.Outcome, tooLarge.Err)
	}
	return summarize(delivered, partitions)
}

// summarize prints each key's partition and checks that every record of a
// key went to one partition, the one murmur2 picks.
func summarize(delivered []delivery, partitions int) error {
	byKey := map[string][]int32{}
	for _, d := range delivered {
		byKey[d.key] = append(byKey[d.key], d.partition)
	}
	var bad []string
	for _, key := range slices.Sorted(maps.Keys(byKey)) {
		parts := byKey[key]
		want := producer.KeyPartition([]byte(key), partitions)
		fmt.Printf("key %s -> partition %d (%d records, murmur2 expects %d)\n", key, parts[0], len(parts), want)
		if slices.ContainsFunc(parts, func(p int32) bool { return p != want }) {
			bad = append(bad, fmt.Sprintf("%s went to %v", key, parts))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("keys spread over several partitions: %s", strings.Join(bad, "; "))
	}
	return nil
}

// ensureTopic creates topic unless it exists and returns its partition count.
func ensureTopic(ctx context.Context, conn gregor.ConnConfig, topic string, partitions int32) (int, error) {
	adm, err := admin.New(conn)
	if err != nil {
		return 0, err
	}
	defer adm.Close(context.Background())
	_, err = adm.CreateTopic(ctx, admin.NewTopic{Name: topic, Partitions: partitions}, admin.CreateTopicsOptions{})
	if err != nil && !errors.Is(err, protocol.ErrTopicAlreadyExists) {
		return 0, fmt.Errorf("create topic %s: %w", topic, err)
	}
	// Describe rather than trust the flag: an existing topic keeps its own
	// partition count.
	descs, err := adm.DescribeTopics(ctx, []string{topic}, admin.DescribeTopicsOptions{})
	if err != nil {
		return 0, fmt.Errorf("describe topic %s: %w", topic, err)
	}
	if descs[0].Err != nil {
		return 0, fmt.Errorf("describe topic %s: %w", topic, descs[0].Err)
	}
	return len(descs[0].Partitions), nil
}

// formatHeaders prints headers as key:value pairs.
func formatHeaders(hs []gregor.Header) string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.Key + ":" + string(h.Value)
	}
	return strings.Join(parts, ",")
}
