package producer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/producer"
	"github.com/twmb/franz-go/pkg/kgo"
)

// The transaction benchmarks run against the local real broker (kfake has
// no transactions): each op is one transaction of txnRecords 100-byte
// records over a 3-partition topic, produced asynchronously and committed.
// Both clients linger 5 ms and do not compress; franz-go v1.19.5, like
// Gregor's default, uses transactions v2 on Kafka 4.1. Compare ns/op (per
// transaction), allocs/op and txns/s.
const txnRecords = 100

func benchTxnTopic(b testing.TB) (boot []string, topic string) {
	c := integration.Shared(b, single)
	boot = c.Bootstrap(integration.Plaintext)
	topic = fmt.Sprintf("bench-txn-%d", rand.Uint32())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.CreateTopic(ctx, topic, 3, 1); err != nil {
		b.Fatal(err)
	}
	return boot, topic
}

func benchTxnGregor(b *testing.B, proto producer.TransactionProtocol) {
	boot, topic := benchTxnTopic(b)
	p, err := producer.New(producer.Config{Conn: gregor.ConnConfig{SeedBrokers: boot},
		TransactionalID: "bench-" + topic, TransactionProtocol: proto})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	ctx := context.Background()
	value := make([]byte, 100)
	cb := func(_ *gregor.Record, r producer.Result) {
		if r.Err != nil {
			b.Error(r.Err)
		}
	}
	txn := func() {
		if err := p.BeginTransaction(); err != nil {
			b.Fatal(err)
		}
		for range txnRecords {
			p.Produce(ctx, &gregor.Record{Topic: topic, Value: value}, cb)
		}
		if err := p.CommitTransaction(ctx); err != nil {
			b.Fatal(err)
		}
	}
	timeTxns(b, txn)
	b.ReportMetric(float64(p.TransactionVersion()), "txn-version")
}

func BenchmarkTxnGregorV2(b *testing.B) { benchTxnGregor(b, producer.TransactionProtocolAuto) }
func BenchmarkTxnGregorV1(b *testing.B) { benchTxnGregor(b, producer.TransactionProtocolV1) }

func BenchmarkTxnFranz(b *testing.B) {
	boot, topic := benchTxnTopic(b)
	cl, err := kgo.NewClient(kgo.SeedBrokers(boot...), kgo.DefaultProduceTopic(topic), kgo.TransactionalID("bench-"+topic),
		kgo.ProducerLinger(5*time.Millisecond), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	ctx := context.Background()
	value := make([]byte, 100)
	cb := func(_ *kgo.Record, err error) {
		if err != nil {
			b.Error(err)
		}
	}
	txn := func() {
		if err := cl.BeginTransaction(); err != nil {
			b.Fatal(err)
		}
		for range txnRecords {
			cl.Produce(ctx, &kgo.Record{Value: value}, cb)
		}
		if err := cl.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
			b.Fatal(err)
		}
	}
	timeTxns(b, txn)
}

// timeTxns runs txn once to warm up (producer id, coordinator,
// connections), then b.N times under the timer.
func timeTxns(b *testing.B, txn func()) {
	txn()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		txn()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "txns/s")
}
