package record

// Benchmarks against franz-go, in the same run:
//
//	go test ./protocol/record -run '^$' -bench . -benchmem
//
// Gregor's side decodes with Decoder.Decode into a reused Batch ("reuse") and
// into a fresh Batch per iteration ("fresh"). franz-go's side does what its
// consumer does for each fetched batch: kmsg.RecordBatch.ReadFrom, then
// decompression (with the same libraries and pooling approach franz-go
// uses: a shared zstd decoder's DecodeAll into a new slice, a pooled lz4
// reader copying into a pooled buffer that is then cloned), then kmsg.Record.ReadFrom on each record into a fresh
// []kmsg.Record. franz-go's further conversion of each kmsg.Record into a
// *kgo.Record is not counted, which favours franz-go.
//
// For encoding, franz-go's side appends each record with
// kmsg.Record.AppendTo (records converted to kmsg form beforehand, lengths
// computed arithmetically as franz-go's producer does), compresses the
// result with Gregor's compression package (so both sides pay the same
// compression cost and the comparison is about batch/record encoding), wraps
// it in a kmsg.RecordBatch, appends that with AppendTo and patches the CRC.
// franz-go's producer proper writes batches with internal code that kmsg
// does not expose; this is the closest public-API equivalent.
//
// Besides ns/op, every benchmark reports cpu-ns/op: process CPU time (GC
// included) per operation, which stays meaningful when the machine is shared
// and wall time is inflated by waiting for a core.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/compression"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func benchRecords() []Record {
	recs := make([]Record, 1000)
	for i := range recs {
		v := make([]byte, 100)
		for j := range v {
			v[j] = byte('a' + (i+j)%26)
		}
		recs[i] = Record{
			Offset:    1000 + int64(i),
			Timestamp: 1_700_000_000_000 + int64(i),
			Key:       fmt.Appendf(nil, "key-%06d", i),
			Value:     v,
			Headers: []Header{
				{Key: []byte("trace-id"), Value: fmt.Appendf(nil, "%016x", i*7919)},
				{Key: []byte("content-type"), Value: []byte("application/json")},
			},
		}
	}
	return recs
}

var benchCodecs = []compression.Codec{compression.None, compression.LZ4, compression.Zstd}

var (
	fgZstd, _ = zstd.NewReader(nil)
	fgLZ4     = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
	fgBufs    = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// franzDecode mirrors franz-go's consumer-side batch processing.
func franzDecode(raw []byte) ([]kmsg.Record, error) {
	var rb kmsg.RecordBatch
	if err := rb.ReadFrom(raw); err != nil {
		return nil, err
	}
	if crc32.Checksum(raw[21:], castagnoli) != uint32(rb.CRC) {
		return nil, ErrCRCMismatch
	}
	in := rb.Records
	switch compression.Codec(rb.Attributes & 7) {
	case compression.Zstd:
		out, err := fgZstd.DecodeAll(in, nil)
		if err != nil {
			return nil, err
		}
		in = out
	case compression.LZ4:
		r := fgLZ4.Get().(*lz4.Reader)
		r.Reset(bytes.NewReader(in))
		buf := fgBufs.Get().(*bytes.Buffer)
		buf.Reset()
		if _, err := io.Copy(buf, r); err != nil {
			return nil, err
		}
		fgLZ4.Put(r)
		// franz-go's decompressor copies the result out of its pooled
		// buffer before returning it.
		in = append([]byte(nil), buf.Bytes()...)
		fgBufs.Put(buf)
	}
	rs := make([]kmsg.Record, rb.NumRecords)
	for i := range rs {
		length, used := binary.Varint(in)
		total := used + int(length)
		if used <= 0 || length < 0 || total > len(in) {
			return nil, ErrCorruptBatch
		}
		if err := rs[i].ReadFrom(in[:total]); err != nil {
			return nil, err
		}
		in = in[total:]
	}
	return rs, nil
}

// franzRecords converts records to kmsg form once, outside the timed loop,
// as franz-go's producer already holds string header keys.
func franzRecords(recs []Record) []kmsg.Record {
	out := make([]kmsg.Record, len(recs))
	for i := range recs {
		r := &recs[i]
		hs := make([]kmsg.Header, len(r.Headers))
		for j, h := range r.Headers {
			hs[j] = kmsg.Header{Key: string(h.Key), Value: h.Value}
		}
		out[i] = kmsg.Record{
			TimestampDelta64: r.Timestamp - recs[0].Timestamp,
			OffsetDelta:      int32(r.Offset - recs[0].Offset),
			Key:              r.Key, Value: r.Value, Headers: hs,
		}
	}
	return out
}

func franzEncode(dst []byte, scratch []byte, codec compression.Codec, krs []kmsg.Record) ([]byte, []byte) {
	scratch = scratch[:0]
	for i := range krs {
		kr := &krs[i]
		// The caller sets Length, as franz-go's producer does, from sizes.
		n := 1 + varintLen(kr.TimestampDelta64) + varintLen(int64(kr.OffsetDelta)) +
			bytesLen(kr.Key) + bytesLen(kr.Value) + varintLen(int64(len(kr.Headers)))
		for _, h := range kr.Headers {
			n += varintLen(int64(len(h.Key))) + len(h.Key) + bytesLen(h.Value)
		}
		kr.Length = int32(n)
		scratch = kr.AppendTo(scratch)
	}
	payload := scratch
	if codec != compression.None {
		payload, _ = codec.Compress(nil, scratch)
	}
	last := &krs[len(krs)-1]
	rb := kmsg.RecordBatch{
		FirstOffset: 1000, PartitionLeaderEpoch: 7, Magic: 2, Attributes: int16(codec),
		LastOffsetDelta: last.OffsetDelta, FirstTimestamp: 1_700_000_000_000,
		MaxTimestamp: 1_700_000_000_000 + last.TimestampDelta64, ProducerID: -1, ProducerEpoch: -1,
		FirstSequence: -1, NumRecords: int32(len(krs)), Records: payload,
	}
	rb.Length = int32(49 + len(payload))
	start := len(dst)
	dst = rb.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start+17:], crc32.Checksum(dst[start+21:], castagnoli))
	return dst, scratch
}

// reportCPU adds the process CPU time per operation since start.
func reportCPU(b *testing.B, start time.Duration) {
	if used := processCPU() - start; used > 0 && b.N > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkDecode(b *testing.B) {
	recs := benchRecords()
	for _, c := range benchCodecs {
		raw, err := AppendBatch(nil, baseHeader(c), 0, recs)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.String()+"/gregor-reuse", func(b *testing.B) {
			var batch Batch
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			start := processCPU()
			defer reportCPU(b, start)
			for b.Loop() {
				if err := (Decoder{}).Decode(&batch, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.String()+"/gregor-fresh", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			start := processCPU()
			defer reportCPU(b, start)
			for b.Loop() {
				var batch Batch
				if err := (Decoder{}).Decode(&batch, raw); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.String()+"/franz-go", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			start := processCPU()
			defer reportCPU(b, start)
			for b.Loop() {
				rs, err := franzDecode(raw)
				if err != nil || len(rs) != 1000 {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	recs := benchRecords()
	for _, c := range benchCodecs {
		b.Run(c.String()+"/gregor", func(b *testing.B) {
			var buf []byte
			b.ReportAllocs()
			start := processCPU()
			defer reportCPU(b, start)
			for b.Loop() {
				var err error
				if buf, err = AppendBatch(buf[:0], baseHeader(c), 0, recs); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.String()+"/franz-go", func(b *testing.B) {
			var buf, scratch []byte
			krs := franzRecords(recs)
			b.ReportAllocs()
			start := processCPU()
			defer reportCPU(b, start)
			for b.Loop() {
				buf, scratch = franzEncode(buf[:0], scratch, c, krs)
			}
		})
	}
}

// TestFranzAgrees checks that franz-go's kmsg reads Gregor's batches (and
// the benchmark's franz-go encoder produces what Gregor reads), so the
// benchmarks compare equal work.
func TestFranzAgrees(t *testing.T) {
	recs := benchRecords()
	for _, c := range benchCodecs {
		raw, _ := AppendBatch(nil, baseHeader(c), 0, recs)
		rs, err := franzDecode(raw)
		if err != nil || len(rs) != len(recs) {
			t.Fatalf("%v: %v", c, err)
		}
		for i := range rs {
			if rs[i].OffsetDelta != int32(i) || !bytes.Equal(rs[i].Value, recs[i].Value) ||
				rs[i].Headers[1].Key != "content-type" || !bytes.Equal(rs[i].Headers[0].Value, recs[i].Headers[0].Value) {
				t.Fatalf("%v record %d: %+v", c, i, rs[i])
			}
		}
		fr, _ := franzEncode(nil, nil, c, franzRecords(recs))
		var b Batch
		if err := (Decoder{}).Decode(&b, fr); err != nil {
			t.Fatalf("%v: %v", c, err)
		}
		equalRecords(t, b.Records, recs)
		if c == compression.None && !bytes.Equal(fr, raw) {
			t.Fatal("uncompressed encodings differ")
		}
	}
}
