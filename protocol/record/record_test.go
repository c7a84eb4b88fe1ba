package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"
	"testing"

	"github.com/gregorkafka/gregor/compression"
)

var codecs = []compression.Codec{compression.None, compression.Gzip, compression.Snappy, compression.LZ4, compression.Zstd}

func baseHeader(codec compression.Codec) BatchHeader {
	return BatchHeader{
		BaseOffset: 1000, PartitionLeaderEpoch: 7, Attributes: Attributes(codec),
		ProducerID: NoProducerID, ProducerEpoch: NoProducerEpoch, BaseSequence: NoSequence,
	}
}

// shapes returns named record sets exercising the format's corner cases.
func shapes() map[string][]Record {
	many := make([]Record, 2000)
	for i := range many {
		many[i] = Record{Offset: 1000 + int64(i), Timestamp: 1_700_000_000_000 + int64(i%17),
			Key: fmt.Appendf(nil, "k%d", i), Value: bytes.Repeat([]byte{byte(i)}, i%300)}
		if i%5 == 0 {
			many[i].Headers = []Header{{Key: []byte("a"), Value: []byte("b")}, {Key: []byte("n"), Value: nil}}
		}
	}
	return map[string][]Record{
		"empty":      nil,
		"one":        {{Offset: 1000, Timestamp: 5, Key: []byte("k"), Value: []byte("v")}},
		"null key":   {{Offset: 1000, Timestamp: 5, Key: nil, Value: []byte("v")}},
		"empty key":  {{Offset: 1000, Timestamp: 5, Key: []byte{}, Value: []byte("v")}},
		"null value": {{Offset: 1000, Timestamp: 5, Key: []byte("k"), Value: nil}},
		"empty both": {{Offset: 1000, Timestamp: 5, Key: []byte{}, Value: []byte{}}},
		"headers": {{Offset: 1000, Timestamp: -3, Key: []byte("k"), Value: []byte("v"), Headers: []Header{
			{Key: []byte("h1"), Value: []byte("x")}, {Key: []byte("h2"), Value: nil}, {Key: []byte{}, Value: []byte{}}}}},
		"gaps and negative ts delta": {
			{Offset: 1002, Timestamp: 1 << 40, Value: []byte("a")},
			{Offset: 1010, Timestamp: 1<<40 - 100_000, Value: []byte("b")},
			{Offset: 1_000_000, Timestamp: 1<<40 + 5, Value: []byte("c")},
		},
		"many": many,
	}
}

func equalRecords(t *testing.T, got, want []Record) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Offset != w.Offset || g.Timestamp != w.Timestamp || g.Attributes != w.Attributes ||
			!sameBytes(g.Key, w.Key) || !sameBytes(g.Value, w.Value) || len(g.Headers) != len(w.Headers) {
			t.Fatalf("record %d:\n got %+v\nwant %+v", i, g, w)
		}
		for j := range w.Headers {
			if !sameBytes(g.Headers[j].Key, w.Headers[j].Key) && !(len(g.Headers[j].Key) == 0 && w.Headers[j].Key == nil) ||
				!sameBytes(g.Headers[j].Value, w.Headers[j].Value) {
				t.Fatalf("record %d header %d: got %+v want %+v", i, j, g.Headers[j], w.Headers[j])
			}
		}
	}
}

// sameBytes compares contents and nullness.
func sameBytes(a, b []byte) bool { return (a == nil) == (b == nil) && bytes.Equal(a, b) }

func TestRoundTrip(t *testing.T) {
	var b Batch // reused across all cases on purpose
	for name, recs := range shapes() {
		for _, c := range codecs {
			for _, attrs := range []Attributes{0, AttrTransactional} {
				t.Run(fmt.Sprintf("%s/%v/%x", name, c, attrs), func(t *testing.T) {
					h := baseHeader(c)
					h.Attributes |= attrs
					if attrs != 0 {
						h.ProducerID, h.ProducerEpoch, h.BaseSequence = 42, 3, 100
					}
					if len(recs) == 0 {
						h.BaseTimestamp, h.MaxTimestamp, h.LastOffsetDelta = 77, 88, 4
					}
					prefix := []byte("prefix")
					out, err := AppendBatch(append([]byte(nil), prefix...), h, 0, recs)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.HasPrefix(out, prefix) {
						t.Fatal("prefix lost")
					}
					raw := out[len(prefix):]
					s := NewScanner(raw)
					if !s.Next() || len(s.Batch()) != len(raw) {
						t.Fatalf("scanner: %v", s.Err())
					}
					if err := (Decoder{}).Decode(&b, raw); err != nil {
						t.Fatal(err)
					}
					equalRecords(t, b.Records, recs)
					if b.Attributes != h.Attributes || b.ProducerID != h.ProducerID || b.ProducerEpoch != h.ProducerEpoch ||
						b.BaseSequence != h.BaseSequence || b.PartitionLeaderEpoch != 7 || b.BaseOffset != 1000 ||
						b.NumRecords != int32(len(recs)) || int(b.BatchLength) != len(raw)-12 {
						t.Fatalf("header %+v", b.BatchHeader)
					}
					if len(recs) > 0 {
						last := recs[len(recs)-1]
						if b.LastOffset() != last.Offset || b.BaseTimestamp != recs[0].Timestamp {
							t.Fatalf("header %+v", b.BatchHeader)
						}
						maxTS := recs[0].Timestamp
						for _, r := range recs {
							maxTS = max(maxTS, r.Timestamp)
						}
						if b.MaxTimestamp != maxTS {
							t.Fatalf("max timestamp %d want %d", b.MaxTimestamp, maxTS)
						}
					} else if b.BaseTimestamp != 77 || b.MaxTimestamp != 88 || b.LastOffsetDelta != 4 {
						t.Fatalf("empty header %+v", b.BatchHeader)
					}
					// Re-encoding decoded records reproduces uncompressed bytes exactly.
					if c == compression.None {
						again, err := AppendBatch(nil, b.BatchHeader, 0, b.Records)
						if err != nil || !bytes.Equal(again, raw) {
							t.Fatalf("re-encode differs: %v", err)
						}
					}
				})
			}
		}
	}
}

func TestBuilderMatchesAppendBatch(t *testing.T) {
	recs := shapes()["many"]
	for _, c := range []compression.Codec{compression.None, compression.Snappy} {
		h := baseHeader(c)
		var bb Builder
		bb.Reset([]byte("x"), h, 0)
		for i := range recs {
			bb.Add(recs[i].Timestamp, recs[i].Key, recs[i].Value, recs[i].Headers)
		}
		a, err := bb.Finish()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := AppendBatch([]byte("x"), h, 0, recs)
		// Add assigns consecutive deltas; "many" has consecutive offsets.
		if !bytes.Equal(a, b) {
			t.Fatalf("%v: Builder and AppendBatch differ", c)
		}
		if bb.Header().CRC != binary.BigEndian.Uint32(a[1+offCRC:]) {
			t.Fatal("Header() stale")
		}
	}
}

func TestLogAppendTime(t *testing.T) {
	h := baseHeader(compression.None)
	h.Attributes |= AttrLogAppendTime
	h.MaxTimestamp = 999
	raw, err := AppendBatch(nil, h, 0, []Record{{Offset: 1000, Timestamp: 5}, {Offset: 1001, Timestamp: 6}})
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	if err := (Decoder{}).Decode(&b, raw); err != nil {
		t.Fatal(err)
	}
	if b.Attributes.TimestampType() != LogAppendTime || b.MaxTimestamp != 999 || b.Records[1].Timestamp != 999 {
		t.Fatalf("%+v %+v", b.BatchHeader, b.Records)
	}
}

func TestControlBatch(t *testing.T) {
	for _, commit := range []bool{true, false} {
		h := baseHeader(compression.Gzip) // codec is cleared for markers
		h.ProducerID, h.ProducerEpoch = 9, 2
		raw, err := AppendEndTxnBatch(nil, h, commit, 17, 12345)
		if err != nil {
			t.Fatal(err)
		}
		var b Batch
		if err := (Decoder{}).Decode(&b, raw); err != nil {
			t.Fatal(err)
		}
		gotCommit, epoch, ok := b.TxnMarker()
		if !ok || gotCommit != commit || epoch != 17 || !b.Attributes.Control() || !b.Attributes.Transactional() ||
			b.Attributes.Codec() != compression.None || b.ProducerID != 9 || b.Records[0].Timestamp != 12345 {
			t.Fatalf("%+v %v %v %v", b.BatchHeader, gotCommit, epoch, ok)
		}
		if ct, _ := b.ControlType(); ct.String() != map[bool]string{true: "COMMIT", false: "ABORT"}[commit] {
			t.Fatal(ct)
		}
	}
	var b Batch
	raw, _ := AppendBatch(nil, baseHeader(compression.None), 0, []Record{{Offset: 1000, Key: []byte{0, 0, 0, 1}}})
	_ = (Decoder{}).Decode(&b, raw)
	if _, _, ok := b.TxnMarker(); ok {
		t.Fatal("non-control batch reported as marker")
	}
	if _, err := ParseControlKey([]byte{0}); !errors.Is(err, ErrCorruptBatch) {
		t.Fatal(err)
	}
	if _, err := ParseEndTxnMarker([]byte{0, 0, 1}); !errors.Is(err, ErrCorruptBatch) {
		t.Fatal(err)
	}
}

func TestCRCMismatch(t *testing.T) {
	raw, _ := AppendBatch(nil, baseHeader(compression.None), 0, shapes()["headers"])
	raw[len(raw)-1] ^= 1
	var b Batch
	err := (Decoder{}).Decode(&b, raw)
	var be *BatchError
	if !errors.Is(err, ErrCRCMismatch) || !errors.As(err, &be) || be.BaseOffset != 1000 {
		t.Fatalf("got %v", err)
	}
	if err := (Decoder{SkipCRC: true}).Decode(&b, raw); err != nil {
		t.Fatalf("SkipCRC: %v", err)
	}
}

func TestScannerMultipleAndPartial(t *testing.T) {
	var buf []byte
	for i, c := range codecs {
		h := baseHeader(c)
		h.BaseOffset = int64(i * 100)
		recs := []Record{{Offset: h.BaseOffset, Value: []byte("a")}, {Offset: h.BaseOffset + 1, Value: []byte("b")}}
		buf, _ = AppendBatch(buf, h, 0, recs)
	}
	full := len(buf)
	buf, _ = AppendBatch(buf, baseHeader(compression.None), 0, shapes()["many"])
	for cut := full; cut < len(buf); cut += 997 {
		s := NewScanner(buf[:cut])
		if s.Magic() != -1 || s.BaseOffset() != -1 {
			t.Fatal("accessors before Next")
		}
		var b Batch
		n := 0
		for s.Next() {
			if err := (Decoder{}).Decode(&b, s.Batch()); err != nil {
				t.Fatal(err)
			}
			if s.Magic() != MagicV2 || s.BaseOffset() != int64(n*100) {
				t.Fatal("scanner accessors")
			}
			if b.BaseOffset != int64(n*100) || len(b.Records) != 2 || string(b.Records[1].Value) != "b" {
				t.Fatalf("batch %d: %+v", n, b.BatchHeader)
			}
			n++
		}
		if s.Err() != nil || n != len(codecs) {
			t.Fatalf("cut %d: n=%d err=%v", cut, n, s.Err())
		}
		if (cut > full) != (s.Partial() != nil) || len(s.Partial()) != cut-full {
			t.Fatalf("cut %d: partial %d bytes", cut, len(s.Partial()))
		}
		// Decoding the partial batch directly says it is truncated.
		if cut > full {
			if err := (Decoder{}).Decode(&b, s.Partial()); !errors.Is(err, ErrTruncated) {
				t.Fatalf("cut %d: %v", cut, err)
			}
		}
	}
}

func TestCorruptInputs(t *testing.T) {
	raw, _ := AppendBatch(nil, baseHeader(compression.None), 0, shapes()["headers"])
	fixCRC := func(b []byte) []byte {
		binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[offAttributes:], castagnoli))
		return b
	}
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), raw...)) }
	cases := map[string]struct {
		in   []byte
		want error
	}{
		"bad magic":      {mut(func(b []byte) []byte { b[offMagic] = 3; return b }), ErrUnsupportedMagic},
		"negative count": {mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[offNumRecords:], 0xffffffff); return fixCRC(b) }), ErrCorruptBatch},
		"huge count":     {mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[offNumRecords:], 1<<30); return fixCRC(b) }), ErrCorruptBatch},
		"extra count":    {mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[offNumRecords:], 2); return fixCRC(b) }), ErrCorruptBatch},
		"zero count":     {mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[offNumRecords:], 0); return fixCRC(b) }), ErrCorruptBatch},
		"bad codec":      {mut(func(b []byte) []byte { b[offAttributes+1] |= 7; return fixCRC(b) }), ErrCorruptBatch},
		"bad gzip":       {mut(func(b []byte) []byte { b[offAttributes+1] |= 1; return fixCRC(b) }), ErrDecompress},
		"record length":  {mut(func(b []byte) []byte { b[HeaderSize] = 0x7f; return fixCRC(b) }), ErrCorruptBatch},
		"short length":   {mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[offBatchLength:], 10); return b }), ErrCorruptBatch},
		"truncated":      {raw[:len(raw)-1], ErrTruncated},
		"tiny":           {raw[:5], ErrTruncated},
	}
	var b Batch
	for name, c := range cases {
		err := (Decoder{}).Decode(&b, c.in)
		var be *BatchError
		if !errors.Is(err, c.want) || !errors.As(err, &be) {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	s := NewScanner(cases["bad magic"].in)
	if s.Next() || !errors.Is(s.Err(), ErrUnsupportedMagic) {
		t.Fatalf("scanner: %v", s.Err())
	}
	neg := mut(func(b []byte) []byte { binary.BigEndian.PutUint32(b[offBatchLength:], 0x80000000); return b })
	s = NewScanner(neg)
	if s.Next() || !errors.Is(s.Err(), ErrCorruptBatch) {
		t.Fatalf("scanner negative length: %v", s.Err())
	}
}

func TestDecompressCap(t *testing.T) {
	recs := []Record{{Offset: 1000, Value: make([]byte, 1<<20)}}
	raw, err := AppendBatch(nil, baseHeader(compression.Zstd), 0, recs)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	err = (Decoder{MaxDecompressedSize: 64 << 10}).Decode(&b, raw)
	if !errors.Is(err, ErrDecompress) || !errors.Is(err, compression.ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
}

func TestBuilderErrors(t *testing.T) {
	var bb Builder
	bb.Reset([]byte("keep"), baseHeader(compression.None), 0)
	bb.Append(&Record{Offset: 1001})
	bb.Append(&Record{Offset: 1001})
	out, err := bb.Finish()
	if !errors.Is(err, ErrInvalidRecord) || string(out) != "keep" {
		t.Fatalf("%v %q", err, out)
	}
	bb.Reset(nil, baseHeader(compression.Gzip), 42)
	if _, err := bb.Finish(); !errors.Is(err, ErrInvalidRecord) {
		t.Fatal(err)
	}
}

func TestDecodeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race")
	}
	raw, _ := AppendBatch(nil, baseHeader(compression.None), 0, benchRecords())
	var b Batch
	dec := Decoder{}
	if n := testing.AllocsPerRun(10, func() { _ = dec.Decode(&b, raw) }); n != 0 {
		t.Fatalf("reused batch: %v allocs", n)
	}
	if n := testing.AllocsPerRun(10, func() { var b Batch; _ = dec.Decode(&b, raw) }); n > 3 {
		t.Fatalf("fresh batch: %v allocs", n)
	}
	buf := make([]byte, 0, 2*len(raw))
	if n := testing.AllocsPerRun(10, func() { buf, _ = AppendBatch(buf[:0], baseHeader(compression.None), 0, b.Records) }); n != 0 {
		t.Fatalf("encode: %v allocs", n)
	}
}

func TestAttributes(t *testing.T) {
	a := Attributes(0).WithCodec(compression.Zstd) | AttrDeleteHorizon | AttrControl
	if a.Codec() != compression.Zstd || !a.HasDeleteHorizon() || !a.Control() || a.Transactional() || a.TimestampType() != CreateTime {
		t.Fatal(a)
	}
	if LogAppendTime.String() != "LogAppendTime" || CreateTime.String() != "CreateTime" {
		t.Fatal("names")
	}
	if !reflect.DeepEqual(varintLen(-1), 1) || varintLen(63) != 1 || varintLen(64) != 2 || varintLen(-65) != 2 {
		t.Fatal("varintLen")
	}
	for _, v := range []int64{0, 1, -1, 1 << 20, -(1 << 40), 1<<63 - 1, -1 << 63} {
		if got := len(binary.AppendVarint(nil, v)); got != varintLen(v) {
			t.Fatalf("varintLen(%d)=%d want %d", v, varintLen(v), got)
		}
	}
}

// A record with many headers followed by many header-less records must not
// make the decoder extrapolate an enormous header allocation.
func TestHeaderGuessBounded(t *testing.T) {
	hs := make([]Header, 50_000)
	for i := range hs {
		hs[i] = Header{Key: []byte{}}
	}
	recs := []Record{{Offset: 1000, Headers: hs}}
	for i := 1; i < 50_000; i++ {
		recs = append(recs, Record{Offset: 1000 + int64(i)})
	}
	raw, err := AppendBatch(nil, baseHeader(compression.None), 0, recs)
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	if err := (Decoder{}).Decode(&b, raw); err != nil {
		t.Fatal(err)
	}
	if len(b.Records) != 50_000 || len(b.Records[0].Headers) != 50_000 || cap(b.headers) > len(raw)/2 {
		t.Fatalf("records %d headers %d cap %d", len(b.Records), len(b.Records[0].Headers), cap(b.headers))
	}
}

func TestEmptyCompressedBatchWithoutPayload(t *testing.T) {
	var bb Builder
	bb.Reset(nil, baseHeader(compression.None), 0)
	raw, _ := bb.Finish()
	// Set the gzip bits on a header-only batch and fix the CRC.
	raw[offAttributes+1] |= byte(compression.Gzip)
	binary.BigEndian.PutUint32(raw[offCRC:], crc32.Checksum(raw[offAttributes:], castagnoli))
	var b Batch
	if err := (Decoder{}).Decode(&b, raw); err != nil || len(b.Records) != 0 || b.Attributes.Codec() != compression.Gzip {
		t.Fatalf("%v %+v", err, b.BatchHeader)
	}
}
