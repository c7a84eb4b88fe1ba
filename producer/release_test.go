package producer

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/compression"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kfake"
)

// inflightEncodings returns, for topic "t" partition 0, how many batches
// are in flight and how many of those still hold their encoding.
func inflightEncodings(p *Producer) (inflight, held int) {
	ts := (*p.topics.Load())["t"]
	if ts == nil || len(ts.parts) == 0 {
		return 0, 0
	}
	part := ts.parts[0]
	part.mu.Lock()
	defer part.mu.Unlock()
	for _, b := range part.inflight {
		if b.enc != nil {
			held++
		}
	}
	return len(part.inflight), held
}

// TestWrittenBatchEncodedAgainForRetry holds the answer to a request of
// one batch. Uncompressed, the batch's encoding must go back to the pool
// once the request is written, before any answer; compressed, it is kept.
// The answer is then a retriable error, and the retry encodes the
// uncompressed records again (the compressed batch goes as it was): each
// record written once, at its offset, with key, headers and timestamp as
// produced.
func TestWrittenBatchEncodedAgainForRetry(t *testing.T) {
	t.Run("none", func(t *testing.T) { testEncodedAgainForRetry(t, compression.None) })
	t.Run("lz4", func(t *testing.T) { testEncodedAgainForRetry(t, compression.LZ4) })
}

func testEncodedAgainForRetry(t *testing.T, codec compression.Codec) {
	leakcheck.Check(t)
	var reencoded atomic.Int32
	testReencoded = func() { reencoded.Add(1) }
	t.Cleanup(func() { testReencoded = nil })
	writes := countWrites(t)
	c := fake(t, 1, kfake.NumBrokers(1))
	held, release := failFirstProduce(t, c, 6) // NOT_LEADER_OR_FOLLOWER
	p := newProducer(t, c, func(cfg *Config) { cfg.Linger = time.Hour; cfg.Compression = codec })

	base := time.UnixMilli(1_700_000_000_000)
	var want []*gregor.Record
	results := make([]chan Result, 3)
	for i := range results {
		r := &gregor.Record{Topic: "t", Partition: 0, Key: []byte{'k', byte('0' + i)},
			Value:     bytes.Repeat([]byte{byte('a' + i)}, 100+i),
			Headers:   []gregor.Header{{Key: "h", Value: []byte{byte(i)}}},
			Timestamp: base.Add(time.Duration(i) * time.Millisecond)}
		want = append(want, r)
		results[i] = make(chan Result, 1)
		ch := results[i]
		p.Produce(context.Background(), r, func(_ *gregor.Record, res Result) { ch <- res })
	}
	flushed := flushWhileHeld(t, p, held)
	// The broker has the request; the producer's writer tells of the write
	// right after its write returns, which may be a moment after that.
	waitWrites(t, p, writes, 1)
	inflight, encHeld := inflightEncodings(p)
	wantHeld, wantAgain := 0, int32(1)
	if codec != compression.None {
		wantHeld, wantAgain = 1, 0
	}
	if inflight != 1 || encHeld != wantHeld {
		t.Fatalf("written, answer held: %d batches in flight, %d holding their encoding, want 1 and %d: %s", inflight, encHeld, wantHeld, dump(p))
	}
	release()
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	for i, ch := range results {
		if res := <-ch; res.Outcome != Written || res.Offset != int64(i) {
			t.Fatalf("record %d: %v at %d (%v), want Written at %d", i, res.Outcome, res.Offset, res.Err, i)
		}
	}
	if n := reencoded.Load(); n != wantAgain {
		t.Fatalf("batch encoded again %d times for its retry, want %d", n, wantAgain)
	}
	got := readAll(t, c, "t", len(want))[0]
	if len(got) != len(want) {
		t.Fatalf("%d records in the partition, want %d", len(got), len(want))
	}
	for i, r := range got {
		w := want[i]
		if !bytes.Equal(r.Key, w.Key) || !bytes.Equal(r.Value, w.Value) || !r.Timestamp.Equal(w.Timestamp) ||
			len(r.Headers) != 1 || r.Headers[0].Key != "h" || !bytes.Equal(r.Headers[0].Value, w.Headers[0].Value) {
			t.Fatalf("record %d read back as key %q value %d bytes ts %v headers %v", i, r.Key, len(r.Value), r.Timestamp, r.Headers)
		}
	}
}

// TestCopyRecord checks that the copy kept for a batch shares no memory
// with the caller's record and keeps null keys and values null.
func TestCopyRecord(t *testing.T) {
	r := &gregor.Record{Topic: "t", Key: []byte("key"), Value: []byte("value"),
		Headers:   []gregor.Header{{Key: "a", Value: []byte("1")}, {Key: "b"}},
		Timestamp: time.UnixMilli(42)}
	c := copyRecord(r)
	copy(r.Key, "KEY")
	copy(r.Value, "VALUE")
	r.Headers[0].Value[0] = '9'
	if string(c.Key) != "key" || string(c.Value) != "value" || string(c.Headers[0].Value) != "1" ||
		c.Headers[1].Value != nil || c.Headers[1].Key != "b" || !c.Timestamp.Equal(r.Timestamp) {
		t.Fatalf("copy changed with the original: %+v", c)
	}
	if n := copyRecord(&gregor.Record{Topic: "t"}); n.Key != nil || n.Value != nil || n.Headers != nil {
		t.Fatalf("null fields copied as %+v", n)
	}
}
