// Command otel shows Gregor's OpenTelemetry tracing, exported by the
// OpenTelemetry SDK's stdout exporter as one JSON object per span.
//
// Setting gregor.ConnConfig.TracerProvider turns tracing on for every client
// built from that config:
//
//   - the producer starts a "send <topic>" span (kind producer) per record,
//     a child of the span in the context passed to Produce, and writes its
//     W3C trace context into the record's traceparent header;
//   - the consumer records a "poll" span per Poll that returned records,
//     linked to the send spans of the records it returned, and
//     Consumer.StartProcessSpan starts a "process <topic>" span (kind
//     consumer) for one record, linked to the record's send span;
//   - requests to brokers can show up as "gregor.request" client spans.
//
// Spans carry the OpenTelemetry messaging attributes (messaging.system,
// messaging.destination.name, messaging.operation.type, ...).
//
// The program writes one record inside an application span "checkout",
// reads it back and processes it inside a process span. The spans go to
// stdout; progress messages go to stderr, so stdout stays valid JSON:
//
//	go run ./examples/otel > spans.json
//	go run ./examples/otel -brokers 127.0.0.1:9092 | jq 'select(.Name | startswith("process"))'
//
// By default it runs against an in-process fake cluster; -brokers points it
// at real brokers. A real application would use an OTLP exporter and
// sdktrace.WithBatcher instead of the stdout exporter and WithSyncer.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/consumer"
	"github.com/gregorkafka/gregor/producer"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/stdout/stdouttrace"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// options are the program's flags.
type options struct {
	brokers string
	topic   string
}

func main() {
	var o options
	flag.StringVar(&o.brokers, "brokers", "", "comma-separated bootstrap brokers; empty starts an in-process fake cluster")
	flag.StringVar(&o.topic, "topic", "gregor-otel", "topic to write the record to (created if missing)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "otel:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	seeds := strings.Split(o.brokers, ",")
	if o.brokers == "" {
		fake, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, o.topic))
		if err != nil {
			return fmt.Errorf("start a fake cluster: %w", err)
		}
		defer fake.Close()
		seeds = fake.ListenAddrs()
	}

	// The stdout exporter writes each span as JSON when it ends (WithSyncer);
	// Shutdown flushes and stops it.
	exporter, err := stdouttrace.New(stdouttrace.WithWriter(os.Stdout))
	if err != nil {
		return err
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exporter),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "gregor-otel-example"))),
	)
	defer tp.Shutdown(context.Background())
	conn := gregor.ConnConfig{SeedBrokers: seeds, ClientID: "gregor-otel", TracerProvider: tp}

	// Gregor's clients never create topics as a side effect of asking for
	// metadata, so create it (a topic that exists already is fine).
	if err := createTopic(ctx, conn, o.topic); err != nil {
		return err
	}

	offset, partition, err := produce(ctx, conn, tp.Tracer("gregor-otel-example"), o.topic)
	if err != nil {
		return err
	}
	if err := consume(ctx, conn, o.topic, partition, offset); err != nil {
		return err
	}
	return tp.Shutdown(ctx)
}

// produce writes one record inside an application span, so that the
// producer's send span becomes its child.
func produce(ctx context.Context, conn gregor.ConnConfig, tracer trace.Tracer, topic string) (offset int64, partition int32, err error) {
	p, err := producer.New(producer.Config{Conn: conn})
	if err != nil {
		return 0, 0, err
	}
	defer p.Close(context.Background())
	ctx, span := tracer.Start(ctx, "checkout")
	defer span.End()
	r := &gregor.Record{Topic: topic, Key: []byte("order-42"), Value: []byte(`{"order":42,"total":"19.90"}`)}
	res, err := p.ProduceSync(ctx, r)
	if err != nil {
		return 0, 0, fmt.Errorf("produce: %w", err)
	}
	fmt.Fprintf(os.Stderr, "wrote order-42 to %s[%d] at offset %d, trace %s\n",
		topic, res[0].Partition, res[0].Offset, span.SpanContext().TraceID())
	return res[0].Offset, res[0].Partition, nil
}

// consume reads the record back and processes it inside a process span
// linked to the producer's send span through the record's headers.
func consume(ctx context.Context, conn gregor.ConnConfig, topic string, partition int32, offset int64) error {
	c, err := consumer.New(consumer.Config{Conn: conn})
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	tp := consumer.TopicPartition{Topic: topic, Partition: partition}
	if err := c.Assign(map[consumer.TopicPartition]consumer.Offset{tp: consumer.AtOffset(offset)}); err != nil {
		return err
	}
	for {
		fetches, err := c.Poll(ctx)
		if err != nil {
			return fmt.Errorf("poll: %w", err)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			return fmt.Errorf("fetch: %w", errs[0])
		}
		for _, pr := range fetches {
			for i := range pr.Records {
				r := &pr.Records[i]
				if r.Offset != offset {
					continue
				}
				// The process span starts a new trace here (ctx holds no
				// span) and links to the producer's span.
				_, span := c.StartProcessSpan(ctx, r)
				fmt.Fprintf(os.Stderr, "processing %s from %s[%d]: producer span %s\n",
					r.Key, r.Topic, r.Partition, consumer.RecordSpanContext(r).SpanID())
				span.End()
				return nil
			}
		}
	}
}

// createTopic creates topic with the broker's default partition count and
// replication factor unless it exists.
func createTopic(ctx context.Context, conn gregor.ConnConfig, topic string) error {
	adm, err := admin.New(conn)
	if err != nil {
		return err
	}
	defer adm.Close(context.Background())
	_, err = adm.CreateTopic(ctx, admin.NewTopic{Name: topic}, admin.CreateTopicsOptions{})
	if err != nil && !errors.Is(err, protocol.ErrTopicAlreadyExists) {
		return fmt.Errorf("create topic %s: %w", topic, err)
	}
	return nil
}
