// Command quickstart shows Gregor talking to a Kafka cluster.
//
// By default it starts an in-process fake cluster (kfake), so it needs no
// broker at all; -brokers points it at a real cluster instead:
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -brokers 127.0.0.1:9092
//
// Gregor's producer and consumer are still being built, so for now the
// quickstart works through the raw client: it creates a topic, describes the
// cluster, and measures how many pipelined Metadata requests per second one
// connection carries.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/gregorkafka/gregor/raw"
	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	brokers := flag.String("brokers", "", "comma-separated bootstrap brokers; empty starts an in-process fake cluster")
	topic := flag.String("topic", fmt.Sprintf("gregor-quickstart-%d", time.Now().Unix()), "topic to create")
	partitions := flag.Int("partitions", 3, "partitions of the new topic")
	requests := flag.Int("requests", 20000, "pipelined Metadata requests to time")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, *brokers, *topic, int32(*partitions), *requests); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, brokers, topic string, partitions int32, requests int) error {
	seeds := strings.Split(brokers, ",")
	if brokers == "" {
		fake, err := kfake.NewCluster(kfake.NumBrokers(3))
		if err != nil {
			return fmt.Errorf("start fake cluster: %w", err)
		}
		defer fake.Close()
		seeds = fake.ListenAddrs()
		fmt.Printf("started an in-process fake cluster: %s\n", strings.Join(seeds, ","))
	}
	client, err := raw.New(gregor.ConnConfig{SeedBrokers: seeds, ClientID: "gregor-quickstart"})
	if err != nil {
		return err
	}
	defer client.Close(context.Background())

	if err := createTopic(ctx, client, topic, partitions); err != nil {
		return err
	}
	if err := describe(ctx, client, topic); err != nil {
		return err
	}
	return measure(ctx, client, topic, requests)
}

func createTopic(ctx context.Context, client *raw.Client, topic string, partitions int32) error {
	req := protocol.NewCreateTopicsRequest()
	var t protocol.CreateTopicsRequestCreatableTopic
	t.Default()
	t.Name, t.NumPartitions, t.ReplicationFactor = topic, partitions, -1 // -1: the broker's default
	req.Topics = append(req.Topics, t)
	resp, err := client.Do(ctx, raw.Controller(), req)
	if err != nil {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	for _, r := range resp.(*protocol.CreateTopicsResponse).Topics {
		if err := protocol.ErrorForCode(r.ErrorCode); err != nil && !errors.Is(err, protocol.ErrTopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", r.Name, err)
		}
	}
	fmt.Printf("created topic %s with %d partitions\n", topic, partitions)
	return nil
}

func metadataFor(topic string) *protocol.MetadataRequest {
	req := protocol.NewMetadataRequest()
	var t protocol.MetadataRequestTopic
	t.Default()
	t.Name = &topic
	req.Topics = append(req.Topics, t)
	req.AllowAutoTopicCreation = false
	return req
}

func describe(ctx context.Context, client *raw.Client, topic string) error {
	resp, err := client.Do(ctx, raw.AnyBroker(), metadataFor(topic))
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	md := resp.(*protocol.MetadataResponse)
	cluster := "(unknown)"
	if md.ClusterId != nil {
		cluster = *md.ClusterId
	}
	fmt.Printf("cluster %s, controller %d, %d brokers:\n", cluster, md.ControllerId, len(md.Brokers))
	for _, b := range md.Brokers {
		fmt.Printf("  broker %d at %s:%d\n", b.NodeId, b.Host, b.Port)
	}
	for _, t := range md.Topics {
		if err := protocol.ErrorForCode(t.ErrorCode); err != nil {
			return fmt.Errorf("topic %s: %w", topic, err)
		}
		for _, p := range t.Partitions {
			fmt.Printf("  %s[%d] leader %d, replicas %v\n", topic, p.PartitionIndex, p.LeaderId, p.ReplicaNodes)
		}
	}
	return nil
}

// measure sends requests Metadata requests from 16 goroutines, so several
// are in flight on one connection at a time, and prints a progress line.
func measure(ctx context.Context, client *raw.Client, topic string, requests int) error {
	const workers = 16
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	start := time.Now()
	stop := make(chan struct{})
	go func() {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				n := done.Load()
				fmt.Printf("\r  %d/%d requests, %.0f req/s", n, requests, float64(n)/time.Since(start).Seconds())
			}
		}
	}()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for done.Add(1) <= int64(requests) {
				if _, err := client.Do(ctx, raw.AnyBroker(), metadataFor(topic)); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	elapsed := time.Since(start)
	if firstErr != nil {
		return fmt.Errorf("pipelined metadata: %w", firstErr)
	}
	fmt.Printf("\r%-60s\r%d pipelined Metadata requests in %v: %.0f requests/s\n", "", requests, elapsed.Round(time.Millisecond), float64(requests)/elapsed.Seconds())
	return nil
}
