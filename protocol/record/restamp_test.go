package record

import (
	"bytes"
	"errors"
	"testing"

	"github.com/gregorkafka/gregor/compression"
)

// TestRestamp renumbers an uncompressed and a compressed batch: the
// header carries the new producer fields, the CRC checks, and the
// records decode as they were written.
func TestRestamp(t *testing.T) {
	for _, codec := range []compression.Codec{compression.None, compression.Zstd} {
		var bb Builder
		bb.Reset(nil, BatchHeader{ProducerID: 7, ProducerEpoch: 1, BaseSequence: 40, Attributes: Attributes(codec)}, 0)
		for i := range 5 {
			bb.Add(int64(1000+i), []byte{byte(i)}, bytes.Repeat([]byte{byte('a' + i)}, 100), []Header{{Key: []byte("h"), Value: []byte{byte(i)}}})
		}
		enc, err := bb.Finish()
		if err != nil {
			t.Fatal(err)
		}
		if err := Restamp(enc, 9, 3, 12); err != nil {
			t.Fatalf("%v: %v", codec, err)
		}
		var b Batch
		if err := (Decoder{}).Decode(&b, enc); err != nil {
			t.Fatalf("%v: decode after restamp: %v", codec, err)
		}
		if b.ProducerID != 9 || b.ProducerEpoch != 3 || b.BaseSequence != 12 {
			t.Fatalf("%v: header %+v", codec, b.BatchHeader)
		}
		if len(b.Records) != 5 {
			t.Fatalf("%v: %d records", codec, len(b.Records))
		}
		for i, r := range b.Records {
			if r.Timestamp != int64(1000+i) || !bytes.Equal(r.Key, []byte{byte(i)}) || !bytes.Equal(r.Value, bytes.Repeat([]byte{byte('a' + i)}, 100)) ||
				len(r.Headers) != 1 || string(r.Headers[0].Key) != "h" {
				t.Fatalf("%v: record %d changed: %+v", codec, i, r)
			}
		}
	}
}

// TestRestampRefuses checks that Restamp refuses what is not one whole
// magic 2 batch, with a typed error and nothing written.
func TestRestampRefuses(t *testing.T) {
	var bb Builder
	bb.Reset(nil, BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, 0)
	bb.Add(1, nil, []byte("v"), nil)
	enc, err := bb.Finish()
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{
		"short":     enc[:HeaderSize-1],
		"truncated": enc[:len(enc)-1],
		"longer":    append(append([]byte(nil), enc...), 0),
		"magic 1":   func() []byte { c := append([]byte(nil), enc...); c[offMagic] = 1; return c }(),
	} {
		before := append([]byte(nil), b...)
		err := Restamp(b, 1, 1, 1)
		if !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("%s: %v, want ErrInvalidRecord", name, err)
		}
		if !bytes.Equal(b, before) {
			t.Errorf("%s: refused batch was modified", name)
		}
	}
}
