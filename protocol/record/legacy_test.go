package record

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"

	"github.com/gregorkafka/gregor/compression"
)

// legacyMessage builds one magic 0 or 1 log entry from the documented layout.
func legacyMessage(offset int64, magic int8, attrs int8, ts int64, key, value []byte) []byte {
	var body []byte
	body = append(body, byte(magic), byte(attrs))
	if magic == MagicV1 {
		body = binary.BigEndian.AppendUint64(body, uint64(ts))
	}
	for _, b := range [][]byte{key, value} {
		if b == nil {
			body = binary.BigEndian.AppendUint32(body, 0xffffffff)
		} else {
			body = binary.BigEndian.AppendUint32(body, uint32(len(b)))
			body = append(body, b...)
		}
	}
	out := binary.BigEndian.AppendUint64(nil, uint64(offset))
	out = binary.BigEndian.AppendUint32(out, uint32(4+len(body)))
	out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(body))
	return append(out, body...)
}

// legacyWrapper compresses inner messages into a wrapper message.
func legacyWrapper(offset int64, magic int8, c compression.Codec, attrs int8, ts int64, inner []byte) []byte {
	v, err := c.Compress(nil, inner)
	if err != nil {
		panic(err)
	}
	return legacyMessage(offset, magic, attrs|int8(c), ts, nil, v)
}

func legacySeeds() [][]byte {
	var v0, v1, inner0, inner1 []byte
	for i := range 3 {
		v0 = append(v0, legacyMessage(10+int64(i), MagicV0, 0, 0, goldenKey(i), goldenValue(i))...)
		v1 = append(v1, legacyMessage(10+int64(i), MagicV1, 0, 1000+int64(i), goldenKey(i), goldenValue(i))...)
		inner0 = append(inner0, legacyMessage(20+int64(i), MagicV0, 0, 0, goldenKey(i), goldenValue(i))...)
		inner1 = append(inner1, legacyMessage(int64(i), MagicV1, 0, 2000+int64(i), goldenKey(i), goldenValue(i))...)
	}
	return [][]byte{
		v0, v1,
		legacyWrapper(22, MagicV0, compression.Gzip, 0, 0, inner0),
		legacyWrapper(42, MagicV1, compression.Snappy, 0, 2002, inner1),
		legacyWrapper(42, MagicV1, compression.LZ4, 0x08, 5555, inner1),
	}
}

func TestLegacy(t *testing.T) {
	seeds := legacySeeds()
	var b Batch
	type want struct {
		offsets []int64
		ts      []int64
		magic   int8
		codec   compression.Codec
	}
	cases := []struct {
		in   []byte
		want []want
	}{
		{seeds[0], []want{{[]int64{10}, []int64{-1}, 0, 0}, {[]int64{11}, []int64{-1}, 0, 0}, {[]int64{12}, []int64{-1}, 0, 0}}},
		{seeds[1], []want{{[]int64{10}, []int64{1000}, 1, 0}, {[]int64{11}, []int64{1001}, 1, 0}, {[]int64{12}, []int64{1002}, 1, 0}}},
		{seeds[2], []want{{[]int64{20, 21, 22}, []int64{-1, -1, -1}, 0, compression.Gzip}}},
		// magic 1: inner offsets 0..2 are relative to wrapper offset 42 (= last)
		{seeds[3], []want{{[]int64{40, 41, 42}, []int64{2000, 2001, 2002}, 1, compression.Snappy}}},
		// LogAppendTime wrapper: inner timestamps become the wrapper's
		{seeds[4], []want{{[]int64{40, 41, 42}, []int64{5555, 5555, 5555}, 1, compression.LZ4}}},
	}
	for ci, c := range cases {
		s := NewScanner(c.in)
		n := 0
		for s.Next() {
			if err := (Decoder{}).Decode(&b, s.Batch()); err != nil {
				t.Fatalf("case %d: %v", ci, err)
			}
			w := c.want[n]
			if b.Magic != w.magic || b.Attributes.Codec() != w.codec || len(b.Records) != len(w.offsets) ||
				b.BaseOffset != w.offsets[0] || b.LastOffset() != w.offsets[len(w.offsets)-1] || b.ProducerID != -1 {
				t.Fatalf("case %d batch %d: %+v", ci, n, b.BatchHeader)
			}
			for i, r := range b.Records {
				k := int(w.offsets[i] % 10)
				if r.Offset != w.offsets[i] || r.Timestamp != w.ts[i] || !sameBytes(r.Key, goldenKey(k)) || !sameBytes(r.Value, goldenValue(k)) {
					t.Fatalf("case %d record %d: %+v", ci, i, r)
				}
			}
			n++
		}
		if n != len(c.want) || s.Err() != nil {
			t.Fatalf("case %d: %d batches, %v", ci, n, s.Err())
		}
	}
	// CRC-32 (IEEE) is checked on legacy messages.
	bad := append([]byte(nil), seeds[1]...)
	bad[len(legacyMessage(10, 1, 0, 1000, goldenKey(0), goldenValue(0)))-1] ^= 0xff
	if err := (Decoder{}).Decode(&b, bad); !errors.Is(err, ErrCRCMismatch) {
		t.Fatalf("legacy crc: %v", err)
	}
	// Nested compression is rejected.
	nested := legacyWrapper(50, MagicV1, compression.Gzip, 0, 1, seeds[3])
	if err := (Decoder{}).Decode(&b, nested); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("nested: %v", err)
	}
	// Empty wrapper is rejected.
	if err := (Decoder{}).Decode(&b, legacyWrapper(50, MagicV1, compression.Gzip, 0, 1, nil)); !errors.Is(err, ErrCorruptBatch) {
		t.Fatalf("empty wrapper: %v", err)
	}
	// Partial trailing legacy message.
	s := NewScanner(seeds[0][:len(seeds[0])-3])
	for s.Next() {
	}
	if s.Err() != nil || s.Partial() == nil {
		t.Fatal("partial legacy message not reported")
	}
}
