package examples_test

import (
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/consumer"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/producer"
)

// testKeyedProducer runs keyed-producer twice on a 4-partition topic and
// checks that every key stayed on one partition, the one murmur2 picks,
// across both runs; then reads the topic back to check that the broker
// holds each record where the callback said.
func testKeyedProducer(t *testing.T, rn runner, brokers string) {
	leakcheck.Check(t)
	const topic, partitions, keys, perKey = "examples-keyed", 4, 8, 5
	type spot struct {
		partition int32
		offset    int64
	}
	byKey := map[string][]spot{}
	for run := 1; run <= 2; run++ {
		res := rn.mustRun(t, "keyed-producer", "-brokers", brokers, "-topic", topic,
			"-partitions", strconv.Itoa(partitions), "-keys", strconv.Itoa(keys), "-per-key", strconv.Itoa(perKey))
		written := linesWith(res.stdout, "written ")
		if len(written) != keys*perKey {
			t.Fatalf("run %d: %d written lines, want %d:\n%s", run, len(written), keys*perKey, res.stdout)
		}
		for _, l := range written {
			f := fields(l)
			p, err1 := strconv.Atoi(f["partition"])
			o, err2 := strconv.ParseInt(f["offset"], 10, 64)
			if err1 != nil || err2 != nil || !strings.HasPrefix(f["headers"], "source:keyed-producer,seq:") {
				t.Fatalf("run %d: malformed line %q", run, l)
			}
			byKey[f["key"]] = append(byKey[f["key"]], spot{int32(p), o})
		}
		if len(linesWith(res.stdout, "failed key=too-big partition=-1: ")) != 1 {
			t.Fatalf("run %d: no failed result for the oversized record:\n%s", run, res.stdout)
		}
	}
	if len(byKey) != keys {
		t.Fatalf("got %d keys, want %d: %v", len(byKey), keys, slices.Sorted(maps.Keys(byKey)))
	}
	used := map[spot]string{}
	for key, spots := range byKey {
		want := producer.KeyPartition([]byte(key), partitions)
		for _, s := range spots {
			if s.partition != want {
				t.Errorf("key %s written to partition %d, murmur2 picks %d (all: %v)", key, s.partition, want, spots)
			}
			if other, dup := used[s]; dup {
				t.Errorf("%s and %s both written at partition %d offset %d", key, other, s.partition, s.offset)
			}
			used[s] = key
		}
	}

	// Independently of what the program printed: every record on the
	// broker sits at the partition and offset its callback reported.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := consumer.New(consumer.Config{Conn: gregor.ConnConfig{SeedBrokers: strings.Split(brokers, ",")}})
	mustf(t, err, "new consumer")
	defer c.Close(context.Background())
	parts := map[consumer.TopicPartition]consumer.Offset{}
	for p := range int32(partitions) {
		parts[consumer.TopicPartition{Topic: topic, Partition: p}] = consumer.AtEarliest()
	}
	mustf(t, c.Assign(parts), "assign")
	for read := 0; read < len(used); {
		fetches, err := c.Poll(ctx)
		mustf(t, err, "poll after %d of %d records", read, len(used))
		if errs := fetches.Errors(); len(errs) > 0 {
			t.Fatalf("fetch: %v", errs[0])
		}
		fetches.EachRecord(func(r *gregor.Record) {
			read++
			if key := used[spot{r.Partition, r.Offset}]; key != string(r.Key) {
				t.Errorf("partition %d offset %d holds key %q, the callback reported %q there", r.Partition, r.Offset, r.Key, key)
			}
		})
	}
}
