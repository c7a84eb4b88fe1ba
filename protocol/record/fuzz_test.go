package record

import (
	"errors"
	"testing"

	"github.com/gregorkafka/gregor/compression"
)

// FuzzDecode feeds arbitrary buffers through the Scanner and Decoder as a
// consumer would. Nothing may panic, every error must be a *BatchError with
// one of the sentinels, and whatever decodes must re-encode and decode to
// the same records. See FUZZING.md.
func FuzzDecode(f *testing.F) {
	for _, c := range codecs {
		var buf []byte
		for name, recs := range shapes() {
			if name == "many" {
				continue
			}
			buf, _ = AppendBatch(buf, baseHeader(c), 0, recs)
		}
		f.Add(buf)
		one, _ := AppendBatch(nil, baseHeader(c), 0, shapes()["headers"])
		f.Add(one)
	}
	marker, _ := AppendEndTxnBatch(nil, baseHeader(compression.None), true, 3, 4)
	f.Add(marker)
	for _, m := range legacySeeds() {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, skip := range []bool{false, true} {
			dec := Decoder{SkipCRC: skip, MaxDecompressedSize: 1 << 20}
			var b Batch
			// Decode directly too: callers may pass a buffer that did not
			// come from a Scanner.
			if err := dec.Decode(&b, in); err != nil {
				var be *BatchError
				if !errors.As(err, &be) {
					t.Fatalf("untyped error %T: %v", err, err)
				}
			}
			s := NewScanner(in)
			for s.Next() {
				err := dec.Decode(&b, s.Batch())
				if err != nil {
					var be *BatchError
					if !errors.As(err, &be) || !(errors.Is(err, ErrCorruptBatch) || errors.Is(err, ErrCRCMismatch) ||
						errors.Is(err, ErrDecompress) || errors.Is(err, ErrUnsupportedMagic) || errors.Is(err, ErrTruncated)) {
						t.Fatalf("untyped error %T: %v", err, err)
					}
					continue
				}
				if b.Magic != MagicV2 || !skip {
					continue
				}
				// A v2 batch that decoded must survive a round trip.
				h := b.BatchHeader
				if h.Attributes.Codec() != compression.None && !h.Attributes.Codec().Valid() {
					continue
				}
				recs := append([]Record(nil), b.Records...)
				out, err := AppendBatch(nil, h, 0, recs)
				if err != nil {
					continue // e.g. offsets out of order, which the decoder accepts
				}
				var b2 Batch
				if err := (Decoder{}).Decode(&b2, out); err != nil {
					t.Fatalf("re-encoded batch does not decode: %v", err)
				}
				if len(b2.Records) != len(recs) {
					t.Fatalf("round trip lost records")
				}
				for i := range recs {
					if !sameBytes(b2.Records[i].Key, recs[i].Key) || !sameBytes(b2.Records[i].Value, recs[i].Value) ||
						len(b2.Records[i].Headers) != len(recs[i].Headers) {
						t.Fatalf("record %d changed in round trip", i)
					}
				}
			}
		}
	})
}
