package producer_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/producer"
)

// TestRealVectoredWrites produces, over a plaintext listener (where the
// connection writes record batches in place with writev), batches below
// and above the size that is left out of the write buffer, up to one of
// several hundred KiB, in requests that carry several partitions: the
// broker accepts each at the offset its result names, and kcat reads every
// value back intact.
func TestRealVectoredWrites(t *testing.T) {
	c := integration.Shared(t, single)
	boot := c.Bootstrap(integration.Plaintext)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	topic := fmt.Sprintf("vectored-%d", rand.Uint32())
	if err := c.CreateTopic(ctx, topic, 4, 1); err != nil {
		t.Fatal(err)
	}
	p := newReal(t, boot, func(cfg *producer.Config) {
		cfg.Partitioner = producer.PartitionManual
		cfg.Linger = 20 * time.Millisecond // several partitions' batches per request
	})
	value := func(i int) string {
		n := (i % 9) * 300 // 0 to 2400 bytes: batches fall either side of protocol.DefaultSegmentMin
		if i == 7 {
			n = 400 << 10
		}
		return strings.Repeat(strconv.Itoa(i%10), n) + "#" + strconv.Itoa(i)
	}
	const n = 400
	recs := make([]*gregor.Record, n)
	for i := range recs {
		// Partition 3 gets only small records, so its batches stay below the
		// minimum and are copied next to the others' in-place batches.
		part := int32(i % 3)
		v := value(i)
		if i%10 == 0 {
			part, v = 3, "small-"+strconv.Itoa(i)
		}
		recs[i] = &gregor.Record{Topic: topic, Partition: part, Value: []byte(v)}
	}
	results, err := p.ProduceSync(ctx, recs...)
	if err != nil {
		t.Fatal(err)
	}
	want := map[[2]int64]string{}
	for i, r := range results {
		want[[2]int64{int64(r.Partition), r.Offset}] = string(recs[i].Value)
	}
	got := kcatRead(t, boot, topic)
	if len(got) != n {
		t.Fatalf("kcat read %d records, want %d", len(got), n)
	}
	for _, r := range got {
		w, ok := want[[2]int64{int64(r.Partition), r.Offset}]
		if !ok || r.Payload == nil || *r.Payload != w {
			t.Fatalf("partition %d offset %d: read %d bytes, produced %d (known %v)", r.Partition, r.Offset, len(derefOr(r.Payload)), len(w), ok)
		}
	}
	t.Logf("%d records of up to 400 KiB written in place and read back intact by kcat", n)
}

func derefOr(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
