package record_test

import (
	"fmt"

	"github.com/gregorkafka/gregor/compression"
	"github.com/gregorkafka/gregor/protocol/record"
)

// Build a compressed batch the way a producer does: reset a Builder onto a
// buffer, add records, finish.
func ExampleBuilder() {
	var bb record.Builder
	h := record.BatchHeader{
		BaseOffset:    0,
		Attributes:    record.Attributes(0).WithCodec(compression.Zstd),
		ProducerID:    record.NoProducerID,
		ProducerEpoch: record.NoProducerEpoch,
		BaseSequence:  record.NoSequence,
	}
	bb.Reset(nil, h, compression.LevelDefault)
	bb.Add(1700000000000, []byte("user-1"), []byte(`{"n":1}`), []record.Header{{Key: []byte("trace"), Value: []byte("abc")}})
	bb.Add(1700000000005, nil, []byte(`{"n":2}`), nil)
	bb.Add(1700000000007, []byte("user-1"), nil, nil) // tombstone
	buf, err := bb.Finish()
	if err != nil {
		panic(err)
	}
	hdr := bb.Header()
	fmt.Println(hdr.NumRecords, hdr.LastOffsetDelta, hdr.MaxTimestamp, hdr.Attributes.Codec(), len(buf) == int(hdr.BatchLength)+12)
	// Output: 3 2 1700000000007 zstd true
}

// Read every batch of a buffer such as a Fetch response's records field,
// reusing one Batch so decoding does not allocate in the steady state.
func ExampleScanner() {
	var buf []byte
	for i, c := range []compression.Codec{compression.None, compression.LZ4} {
		h := record.BatchHeader{BaseOffset: int64(10 * i), Attributes: record.Attributes(c),
			ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
		recs := []record.Record{
			{Offset: int64(10 * i), Timestamp: 1, Key: []byte("k"), Value: []byte("hello")},
			{Offset: int64(10*i) + 1, Timestamp: 2, Value: []byte("world"),
				Headers: []record.Header{{Key: []byte("h"), Value: nil}}},
		}
		buf, _ = record.AppendBatch(buf, h, 0, recs)
	}
	buf = buf[:len(buf)-5] // a broker may cut the last batch short

	var (
		dec   record.Decoder // zero value: verify CRCs, default size cap
		batch record.Batch
	)
	s := record.NewScanner(buf)
	for s.Next() {
		if err := dec.Decode(&batch, s.Batch()); err != nil {
			fmt.Println("error:", err)
			return
		}
		for _, r := range batch.Records {
			fmt.Printf("%v offset=%d key=%q nullkey=%t value=%q headers=%d\n",
				batch.Attributes.Codec(), r.Offset, r.Key, r.Key == nil, r.Value, len(r.Headers))
		}
	}
	if err := s.Err(); err != nil {
		fmt.Println("error:", err)
	}
	fmt.Println("partial trailing bytes:", len(s.Partial()))
	// Output:
	// none offset=0 key="k" nullkey=false value="hello" headers=0
	// none offset=1 key="" nullkey=true value="world" headers=1
	// partial trailing bytes: 99
}
