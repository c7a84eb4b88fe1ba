package producer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/producer"
	"github.com/gregorkafka/gregor/protocol"
)

// TestRealRenumberAfterRejectedBatch sends three batches of one partition
// back to back to a topic whose max.message.bytes only the first exceeds.
// The broker rejects the first for good (MESSAGE_TOO_LARGE). What it does
// with the two sent behind it depends on whether it already has state for
// the producer on the partition: with state (a record was written before
// in the round) it answers them out of order, and the producer sends them
// again under a new epoch, rewritten (encoded again from the records, or
// restamped when their encoding was still held; the broker checks the
// CRC either way); without (the topic's first round) it writes them
// as they are. Either way they must be written exactly once, in order,
// with their own bytes, and so must the records produced afterwards:
// numbering them as if the rejected batch had left a gap to close made
// the broker take a later batch for a duplicate and drop it.
func TestRealRenumberAfterRejectedBatch(t *testing.T) {
	c := integration.Shared(t, single)
	boot := c.Bootstrap(integration.Plaintext)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	topic := fmt.Sprintf("renumber-%d", rand.Uint32())
	if err := c.CreateTopic(ctx, topic, 1, 1); err != nil {
		t.Fatal(err)
	}
	a, err := admin.New(gregor.ConnConfig{SeedBrokers: boot})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	res, err := a.AlterConfigs(ctx, map[admin.ConfigResource][]admin.ConfigOp{
		admin.TopicResource(topic): {{Op: admin.OpSet, Name: "max.message.bytes", Value: "16384"}},
	}, admin.AlterConfigsOptions{})
	if err == nil {
		err = res[admin.TopicResource(topic)]
	}
	if err != nil {
		t.Fatal(err)
	}
	var restamps atomic.Int32
	producer.OnRestamp(t, func() { restamps.Add(1) })
	p := newReal(t, boot, func(cfg *producer.Config) {
		cfg.BatchBytes = 8 << 10 // each record below fills its own batch
		cfg.Linger = 100 * time.Millisecond
	})

	// Several rounds: whether the later batches are already in flight when
	// the first is rejected depends on timing, and the test wants the
	// renumbering path at least once.
	var want [][]byte
	sync := func(v []byte) {
		t.Helper()
		rs, err := p.ProduceSync(ctx, &gregor.Record{Topic: topic, Value: v})
		if err != nil || rs[0].Offset != int64(len(want)) {
			t.Fatalf("record %d: offset %d, %v", len(want), rs[0].Offset, err)
		}
		want = append(want, v)
	}
	for round := 0; round < 20 && (round < 3 || restamps.Load() == 0); round++ {
		if round > 0 {
			sync([]byte(fmt.Sprintf("before round %d", round)))
		}
		values := [][]byte{
			bytes.Repeat([]byte{'A'}, 32<<10), // above max.message.bytes
			bytes.Repeat([]byte{byte('a' + round%26)}, 9<<10),
			bytes.Repeat([]byte{byte('A' + round%26)}, 9<<10),
		}
		results := make([]chan producer.Result, len(values))
		for i, v := range values {
			results[i] = make(chan producer.Result, 1)
			ch := results[i]
			p.Produce(ctx, &gregor.Record{Topic: topic, Value: v}, func(_ *gregor.Record, r producer.Result) { ch <- r })
		}
		if r := <-results[0]; r.Outcome != producer.Failed || !errors.Is(r.Err, protocol.ErrMessageTooLarge) {
			t.Fatalf("round %d: oversized batch: %v (%v), want Failed with MESSAGE_TOO_LARGE", round, r.Outcome, r.Err)
		}
		for i := 1; i < len(values); i++ {
			if r := <-results[i]; r.Outcome != producer.Written || r.Offset != int64(len(want)) {
				t.Fatalf("round %d, record %d: %v at %d (%v), want Written at %d", round, i, r.Outcome, r.Offset, r.Err, len(want))
			}
			want = append(want, values[i])
		}
	}
	for i := range 3 {
		sync([]byte(fmt.Sprintf("after %d", i)))
	}
	if restamps.Load() == 0 {
		t.Fatal("no batch was in flight behind a rejected one in 20 rounds: nothing was renumbered")
	}
	t.Logf("%d records written, %d batches renumbered", len(want), restamps.Load())
	got := kcatRead(t, boot, topic)
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.Offset != int64(i) || r.Payload == nil || *r.Payload != string(want[i]) {
			t.Fatalf("record at %d (offset %d) differs from what was produced", i, r.Offset)
		}
	}
}
