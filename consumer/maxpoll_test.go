package consumer

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
)

// TestMaxPollRecords: no Poll returns more than MaxPollRecords records,
// the records held back come in order with the next Polls, and the
// position follows what was returned, not what was fetched.
func TestMaxPollRecords(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 3)
	ps := []int32{0, 1, 2}
	produce(t, f.ListenAddrs(), ps, 0, 100, time.Time{})
	c := newConsumer(t, f.ListenAddrs(), func(c *Config) { c.MaxPollRecords = 7 })
	c.Assign(all(ps, AtEarliest()))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var recs []got
	full := 0
	for len(recs) < 300 {
		fs, err := c.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll after %d records: %v", len(recs), err)
		}
		n := 0
		fs.EachRecord(func(r *gregor.Record) {
			n++
			recs = append(recs, got{tp: TopicPartition{r.Topic, r.Partition}, offset: r.Offset, key: string(r.Key),
				value: string(r.Value), header: r.Headers[0].Key + "=" + string(r.Headers[0].Value)})
		})
		if n > 7 {
			t.Fatalf("Poll returned %d records, cap 7", n)
		}
		if n == 7 {
			full++
		}
		last := recs[len(recs)-1]
		if pos, ok := c.Position(last.tp); !ok || pos != last.offset+1 {
			t.Fatalf("position of %s is %d (%v) after handing out offset %d", last.tp, pos, ok, last.offset)
		}
	}
	checkExact(t, recs, ps, 0, 100)
	if full < 300/7-3 {
		t.Errorf("only %d Polls reached the cap", full)
	}
}

// TestMaxPollRecordsUnassign: records returned by a Poll that cut a fetch
// short stay intact when their partition is unassigned before the next
// Poll (the cut fetch is kept until then), and the consumer goes on with
// the remaining partitions.
func TestMaxPollRecordsUnassign(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 2)
	ps := []int32{0, 1}
	produce(t, f.ListenAddrs(), ps, 0, 50, time.Time{})
	c := newConsumer(t, f.ListenAddrs(), func(c *Config) { c.MaxPollRecords = 5 })
	c.Assign(all(ps, AtEarliest()))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	fs, err := c.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	first := fs[0]
	if len(first.Records) == 0 || len(first.Records) > 5 {
		t.Fatalf("first Poll: %d records", len(first.Records))
	}
	c.Unassign(first.TopicPartition)
	for _, r := range first.Records {
		if want := fmt.Sprintf("%d-%d", r.Partition, r.Offset); string(r.Value) != want {
			t.Fatalf("record at offset %d reads %q after Unassign, want %q", r.Offset, r.Value, want)
		}
	}
	other := int32(1 - first.Partition)
	recs := collect(t, c, 50-countPart(fs, other), 10*time.Second)
	for _, r := range recs {
		if r.tp.Partition != other {
			t.Fatalf("record of unassigned partition %s", r.tp)
		}
	}
}

func countPart(fs Fetches, p int32) int {
	n := 0
	for _, pr := range fs {
		if pr.Partition == p {
			n += len(pr.Records)
		}
	}
	return n
}

// TestResetNoneNoCommit: under ResetNone a group member with no committed
// offset gets a *NoOffsetError for the partition (as Java's consumer
// throws NoOffsetForPartitionException) instead of starting anywhere; a
// Seek then starts it.
func TestResetNoneNoCommit(t *testing.T) {
	leakcheck.Check(t)
	f := newFake(t, 1, 1)
	produce(t, f.ListenAddrs(), []int32{0}, 0, 10, time.Time{})
	c := newConsumer(t, f.ListenAddrs(), func(c *Config) {
		groupCfg("g-none")(c)
		c.ResetPolicy = ResetNone
	})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	fs, err := c.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ne *NoOffsetError
	if errs := fs.Errors(); len(errs) != 1 || !errors.As(errs[0], &ne) || ne.TopicPartition != (TopicPartition{testTopic, 0}) {
		t.Fatalf("errors %v, want one *NoOffsetError", errs)
	}
	if err := c.Seek(ne.TopicPartition, AtOffset(4)); err != nil {
		t.Fatal(err)
	}
	for mustProcessed(t, c) < 10 {
		fs, err := c.Poll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fs.EachRecord(func(r *gregor.Record) { c.MarkProcessed(r) })
	}
	if err := c.Close(ctx); err != nil {
		t.Fatal(err)
	}
	// with a committed offset, ResetNone starts there
	produce(t, f.ListenAddrs(), []int32{0}, 10, 5, time.Time{})
	c2 := newConsumer(t, f.ListenAddrs(), func(c *Config) {
		groupCfg("g-none")(c)
		c.ResetPolicy = ResetNone
	})
	checkExact(t, collect(t, c2, 5, 10*time.Second), []int32{0}, 10, 5)
}

func mustProcessed(t *testing.T, c *Consumer) int64 {
	off, _ := c.Processed(TopicPartition{testTopic, 0})
	return off
}
