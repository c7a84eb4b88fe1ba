package main

import (
	"context"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/bench/internal/fake"
	"github.com/gregorkafka/gregor/internal/leakcheck"
)

// TestRunModes runs every mode of both clients against in-process kfake
// clusters (one discarding produced records, one seeded) with a few records
// and checks the result fields, so that the harness keeps working.
func TestRunModes(t *testing.T) {
	leakcheck.Check(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const parts, seeded = 4, 2000
	sink, err := fake.Start(ctx, fake.Config{Topic: "sink", Partitions: parts, Discard: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	src, err := fake.Start(ctx, fake.Config{Topic: "src", Partitions: parts, SeedRecords: seeded, SeedSize: 50, SeedCodec: "lz4"})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()

	for _, client := range []string{"gregor", "franz"} {
		for _, tc := range []struct {
			mode    string
			brokers []string
			topic   string
			records int
			rate    int
		}{
			{"produce", sink.ListenAddrs(), "sink", 3000, 0},
			{"produce", sink.ListenAddrs(), "sink", 200, 2000},
			{"consume-direct", src.ListenAddrs(), "src", seeded, 0},
			{"consume-group", src.ListenAddrs(), "src", seeded, 0},
		} {
			t.Run(client+"/"+tc.mode, func(t *testing.T) {
				o := options{
					Brokers: tc.brokers, Client: client, Mode: tc.mode, Topic: tc.topic,
					Partitions: parts, Records: tc.records, Size: 50, Codec: "lz4", Rate: tc.rate,
					Linger: time.Millisecond, BatchBytes: 64 << 10, MaxBufferedRecords: 1000,
					MaxBufferedBytes: 8 << 20, FetchMaxBytes: 1 << 20, PartitionMaxBytes: 64 << 10,
					Timeout: 30 * time.Second,
				}
				res, err := run(ctx, o)
				if err != nil {
					t.Fatal(err)
				}
				if res.Records != tc.records || res.Failed != 0 {
					t.Errorf("records %d failed %d, want %d and 0", res.Records, res.Failed, tc.records)
				}
				if res.Bytes != int64(tc.records)*50 {
					t.Errorf("bytes %d, want %d", res.Bytes, tc.records*50)
				}
				if res.Client != client || res.Mode != tc.mode || res.Codec != "lz4" || res.Partitions != parts {
					t.Errorf("labels %+v do not match the options", res)
				}
				if res.Seconds <= 0 || res.RecPerSec <= 0 || res.CPUPerM <= 0 || res.AllocsRec <= 0 || res.PeakRSSMiB <= 0 {
					t.Errorf("a measurement is not positive: %+v", res)
				}
				if timed := tc.rate > 0; timed != (res.P99Ms > 0) || res.P50Ms > res.P99Ms {
					t.Errorf("latency p50 %v p99 %v with rate %d", res.P50Ms, res.P99Ms, tc.rate)
				}
			})
		}
	}
}

// TestCountRecords checks the batch walk the discarding broker uses to
// advance its offsets.
func TestCountRecords(t *testing.T) {
	batch := func(n int32) []byte {
		b := make([]byte, 61+10)
		l := int32(len(b) - 12)
		b[8], b[9], b[10], b[11] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
		b[57], b[58], b[59], b[60] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
		return b
	}
	two := append(batch(3), batch(1000)...)
	if got := fake.CountRecords(two); got != 1003 {
		t.Errorf("CountRecords of two batches = %d, want 1003", got)
	}
	if got := fake.CountRecords(two[:40]); got != 0 {
		t.Errorf("CountRecords of a torn header = %d, want 0", got)
	}
}

// TestRunRejectsBadOptions checks that bad flags end in errors.
func TestRunRejectsBadOptions(t *testing.T) {
	for _, o := range []options{
		{Mode: "produce", Client: "gregor", Records: 0, Timeout: time.Second},
		{Mode: "nope", Client: "gregor", Records: 1, Timeout: time.Second},
		{Mode: "produce", Client: "nope", Records: 1, Codec: "none", Brokers: []string{"127.0.0.1:1"}, Timeout: time.Second},
		{Mode: "produce", Client: "gregor", Records: 1, Codec: "brotli", Brokers: []string{"127.0.0.1:1"}, Timeout: time.Second},
	} {
		if _, err := run(context.Background(), o); err == nil {
			t.Errorf("run(%+v) succeeded", o)
		}
	}
}
