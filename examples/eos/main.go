// Command eos shows exactly-once consume-transform-produce with Gregor: a
// member of a consumer group reads an input topic, upper-cases each value
// into an output topic, and commits its group offsets in the same
// transaction as the output records (producer.SendOffsetsToTransaction,
// KIP-447). A reader at read_committed then sees every transformed record
// exactly once, even though some transactions fail on the way: with
// -abort-every N every Nth transaction is aborted, as a crash would leave
// it, and processing restarts from the group's committed offsets.
//
// It needs a Kafka cluster with transactions (a single broker is enough):
//
//	go run ./examples/eos -brokers 127.0.0.1:9092
//
// Unlike examples/quickstart it has no in-process mode: the fake cluster
// (kfake) this module pins implements no transaction APIs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/consumer"
	"github.com/gregorkafka/gregor/producer"
	"github.com/gregorkafka/gregor/protocol"
)

// options are the example's flags.
type options struct {
	brokers    string
	in, out    string
	records    int
	perTxn     int
	abortEvery int
}

func main() {
	suffix := strconv.FormatInt(time.Now().Unix(), 10)
	var o options
	flag.StringVar(&o.brokers, "brokers", "127.0.0.1:9092", "comma-separated bootstrap brokers")
	flag.StringVar(&o.in, "in", "gregor-eos-in-"+suffix, "input topic (created and filled with -records records)")
	flag.StringVar(&o.out, "out", "gregor-eos-out-"+suffix, "output topic")
	flag.IntVar(&o.records, "records", 1000, "records to put in the input topic and process")
	flag.IntVar(&o.perTxn, "per-txn", 50, "input records processed per transaction at most")
	flag.IntVar(&o.abortEvery, "abort-every", 4, "abort every Nth transaction to show recovery (0: never)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "eos:", err)
		os.Exit(1)
	}
}

// transform is the processing step: the output value for an input value.
func transform(v []byte) []byte { return []byte(strings.ToUpper(string(v))) }

// run fills the input topic, processes it exactly once into the output
// topic and returns the output values a read_committed reader sees.
func run(ctx context.Context, o options) ([]string, error) {
	conn := gregor.ConnConfig{SeedBrokers: strings.Split(o.brokers, ","), ClientID: "gregor-eos"}
	adm, err := admin.New(conn)
	if err != nil {
		return nil, err
	}
	defer adm.Close(context.Background())
	for _, topic := range []string{o.in, o.out} {
		_, err := adm.CreateTopic(ctx, admin.NewTopic{Name: topic, Partitions: 3}, admin.CreateTopicsOptions{})
		if err != nil && !errors.Is(err, protocol.ErrTopicAlreadyExists) {
			return nil, fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	if err := fill(ctx, conn, o); err != nil {
		return nil, err
	}
	if err := process(ctx, conn, o); err != nil {
		return nil, err
	}
	return readCommitted(ctx, conn, o.out, o.records)
}

// fill writes the input records with a plain (idempotent) producer.
func fill(ctx context.Context, conn gregor.ConnConfig, o options) error {
	p, err := producer.New(producer.Config{Conn: conn})
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	recs := make([]*gregor.Record, o.records)
	for i := range recs {
		recs[i] = &gregor.Record{Topic: o.in, Key: []byte(strconv.Itoa(i)), Value: []byte("record " + strconv.Itoa(i))}
	}
	if _, err := p.ProduceSync(ctx, recs...); err != nil {
		return fmt.Errorf("fill %s: %w", o.in, err)
	}
	fmt.Printf("wrote %d records to %s\n", o.records, o.in)
	return nil
}

// process runs the consume-transform-produce loop until o.records input
// records were processed in committed transactions.
func process(ctx context.Context, conn gregor.ConnConfig, o options) error {
	group := "gregor-eos-" + o.in
	p, err := producer.New(producer.Config{Conn: conn, TransactionalID: "gregor-eos-" + o.in})
	if err != nil {
		return err
	}
	defer p.Close(context.Background())
	newMember := func() (*consumer.Consumer, error) {
		return consumer.New(consumer.Config{Conn: conn,
			// Inputs that are themselves transactional must be read committed.
			IsolationLevel: consumer.ReadCommitted,
			// The transaction commits the offsets; the consumer must not.
			Group: consumer.GroupConfig{GroupID: group, Topics: []string{o.in}, DisableAutoCommit: true},
		})
	}
	c, err := newMember()
	if err != nil {
		return err
	}
	defer func() { c.Close(context.Background()) }()
	done, txns, aborts := 0, 0, 0
	// transact processes recs in one transaction, committed or, every
	// abortEvery-th time, aborted.
	transact := func(recs []*gregor.Record) (committed bool, err error) {
		if err := p.BeginTransaction(); err != nil {
			return false, err
		}
		offsets := map[int32]int64{}
		for _, r := range recs {
			p.Produce(ctx, &gregor.Record{Topic: o.out, Key: r.Key, Value: transform(r.Value)}, nil)
			offsets[r.Partition] = r.Offset + 1 // the next record to read
		}
		if err := p.SendOffsetsToTransaction(ctx, map[string]map[int32]int64{o.in: offsets}, c.GroupMetadata()); err != nil {
			return false, err
		}
		if txns++; o.abortEvery > 0 && txns%o.abortEvery == 0 {
			aborts++
			return false, p.AbortTransaction(ctx)
		}
		return true, p.CommitTransaction(ctx)
	}
	for done < o.records {
		fetches, err := c.Poll(ctx)
		if err != nil {
			return err
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			return errs[0]
		}
		var recs []*gregor.Record
		fetches.EachRecord(func(r *gregor.Record) { recs = append(recs, r) })
		for len(recs) > 0 {
			chunk := recs[:min(len(recs), o.perTxn)]
			recs = recs[len(chunk):]
			committed, err := transact(chunk)
			if err != nil {
				return err
			}
			if !committed {
				// A failure: this transaction's outputs and offsets are gone,
				// and a new member resumes from the last committed offsets.
				closeCtx, cancel := context.WithTimeout(ctx, time.Second)
				c.Close(closeCtx) // nothing left marked processed: nothing committed
				cancel()
				if c, err = newMember(); err != nil {
					return err
				}
				break
			}
			c.MarkProcessed(chunk...) // lets Close leave without waiting for them
			done += len(chunk)
		}
	}
	fmt.Printf("processed %d records in %d transactions (%d aborted), using transactions v%d\n",
		done, txns, aborts, p.TransactionVersion())
	return nil
}

// readCommitted reads topic from the start at read_committed until it has
// at least want records and has caught up with the end of every
// partition, and returns the values.
func readCommitted(ctx context.Context, conn gregor.ConnConfig, topic string, want int) ([]string, error) {
	c, err := consumer.New(consumer.Config{Conn: conn, IsolationLevel: consumer.ReadCommitted})
	if err != nil {
		return nil, err
	}
	defer c.Close(context.Background())
	parts := map[consumer.TopicPartition]consumer.Offset{}
	for i := range int32(3) {
		parts[consumer.TopicPartition{Topic: topic, Partition: i}] = consumer.AtEarliest()
	}
	if err := c.Assign(parts); err != nil {
		return nil, err
	}
	caughtUp := func() bool {
		for tp := range parts {
			if lag, ok := c.Lag(tp); !ok || lag > 0 {
				return false
			}
		}
		return true
	}
	var values []string
	for len(values) < want || !caughtUp() {
		fetches, err := c.Poll(ctx)
		if err != nil {
			return values, fmt.Errorf("read %s after %d records: %w", topic, len(values), err)
		}
		fetches.EachRecord(func(r *gregor.Record) { values = append(values, string(r.Value)) })
	}
	fmt.Printf("read %d committed records back from %s\n", len(values), topic)
	return values, nil
}
