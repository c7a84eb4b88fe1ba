package protocol

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// The benchmarks compare Gregor with franz-go's kmsg on the two hot paths
// of a client: encoding a large produce request with its frame header, and
// decoding a fetch response whose record batches stay raw and aliased.
//
//	go test ./protocol/ -run '^$' -bench 'Produce|Fetch' -benchmem

const (
	benchPartitions = 16
	benchBlob       = 64 << 10
	produceVersion  = 11
	fetchVersion    = 16
)

var benchClientID = "gregor-bench"

func benchRecords(seed int) []byte {
	b := make([]byte, benchBlob)
	for i := range b {
		b[i] = byte(i*7 + seed)
	}
	return b
}

func gregorProduce() *ProduceRequest {
	req := NewProduceRequest()
	req.Version = produceVersion
	req.Acks = -1
	req.TimeoutMs = 30000
	t := ProduceRequestTopicProduceData{Name: "bench-topic"}
	for p := 0; p < benchPartitions; p++ {
		t.PartitionData = append(t.PartitionData, ProduceRequestPartitionProduceData{Index: int32(p), Records: benchRecords(p)})
	}
	req.TopicData = []ProduceRequestTopicProduceData{t}
	return req
}

func kmsgProduce() *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version = produceVersion
	req.Acks = -1
	req.TimeoutMillis = 30000
	t := kmsg.NewProduceRequestTopic()
	t.Topic = "bench-topic"
	for p := 0; p < benchPartitions; p++ {
		pp := kmsg.NewProduceRequestTopicPartition()
		pp.Partition = int32(p)
		pp.Records = benchRecords(p)
		t.Partitions = append(t.Partitions, pp)
	}
	req.Topics = []kmsg.ProduceRequestTopic{t}
	return req
}

// appendKmsgFrame frames a kmsg request the way franz-go's client does:
// size, header v1 or v2, body.
func appendKmsgFrame(dst []byte, req kmsg.Request, corr int32, clientID *string) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.Key()))
	dst = binary.BigEndian.AppendUint16(dst, uint16(req.GetVersion()))
	dst = binary.BigEndian.AppendUint32(dst, uint32(corr))
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(*clientID)))
	dst = append(dst, *clientID...)
	if req.IsFlexible() {
		dst = append(dst, 0)
	}
	dst = req.AppendTo(dst)
	binary.BigEndian.PutUint32(dst[start:], uint32(len(dst)-start-4))
	return dst
}

func gregorFetchBytes(tb testing.TB) []byte {
	resp := NewFetchResponse()
	resp.Version = fetchVersion
	resp.SessionId = 9
	t := FetchResponseFetchableTopicResponse{TopicId: UUID{1, 2, 3}}
	for p := 0; p < benchPartitions; p++ {
		pd := FetchResponsePartitionData{PartitionIndex: int32(p), HighWatermark: 1 << 40, LastStableOffset: 1 << 40,
			LogStartOffset: 0, PreferredReadReplica: -1, Records: benchRecords(p)}
		pd.DivergingEpoch.Default()
		pd.CurrentLeader.Default()
		pd.SnapshotId.Default()
		t.Partitions = append(t.Partitions, pd)
	}
	resp.Responses = []FetchResponseFetchableTopicResponse{t}
	b, err := resp.AppendTo(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestBenchParity checks that both codecs agree on the benchmark inputs,
// so the benchmarks compare equal work.
func TestBenchParity(t *testing.T) {
	g, err := AppendRequest(nil, gregorProduce(), 7, &benchClientID)
	if err != nil {
		t.Fatal(err)
	}
	k := appendKmsgFrame(nil, kmsgProduce(), 7, &benchClientID)
	if !bytes.Equal(g, k) {
		t.Fatalf("produce frames differ: %d vs %d bytes", len(g), len(k))
	}
	fb := gregorFetchBytes(t)
	kr := kmsg.NewPtrFetchResponse()
	kr.Version = fetchVersion
	if err := kr.ReadFrom(fb); err != nil {
		t.Fatalf("kmsg cannot read Gregor's fetch response: %v", err)
	}
	if !bytes.Equal(kr.AppendTo(nil), fb) {
		t.Fatal("kmsg re-encodes Gregor's fetch response differently")
	}
	if len(kr.Topics[0].Partitions) != benchPartitions || len(kr.Topics[0].Partitions[3].RecordBatches) != benchBlob {
		t.Fatal("kmsg decoded unexpected contents")
	}
}

func BenchmarkProduceEncode(b *testing.B) {
	b.Run("gregor", func(b *testing.B) {
		req := gregorProduce()
		buf, _ := AppendRequest(nil, req, 1, &benchClientID)
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			var err error
			buf, err = AppendRequest(buf[:0], req, int32(i), &benchClientID)
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kmsg", func(b *testing.B) {
		req := kmsgProduce()
		buf := appendKmsgFrame(nil, req, 1, &benchClientID)
		b.SetBytes(int64(len(buf)))
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			buf = appendKmsgFrame(buf[:0], req, int32(i), &benchClientID)
		}
	})
}

func BenchmarkFetchDecode(b *testing.B) {
	data := gregorFetchBytes(b)
	b.Run("gregor", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var resp FetchResponse
			resp.Version = fetchVersion
			if err := resp.DecodeWith(data, DecodeOptions{Alias: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kmsg", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var resp kmsg.FetchResponse
			resp.Default()
			resp.Version = fetchVersion
			if err := resp.ReadFrom(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kmsg-unsafe", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var resp kmsg.FetchResponse
			resp.Default()
			resp.Version = fetchVersion
			if err := resp.UnsafeReadFrom(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The metadata benchmark decodes a field-heavy response (200 topics of 8
// partitions, strings copied) to compare per-field overhead rather than
// memory copies.
const metaTopics, metaPartitions = 200, 8

func gregorMetadataBytes(tb testing.TB) []byte {
	resp := NewMetadataResponse()
	resp.Version = 12
	cid := "cluster"
	resp.ClusterId = &cid
	for b := int32(0); b < 3; b++ {
		resp.Brokers = append(resp.Brokers, MetadataResponseBroker{NodeId: b, Host: "broker.example.com", Port: 9092})
	}
	for i := 0; i < metaTopics; i++ {
		name := "topic-" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		t := MetadataResponseTopic{Name: &name, TopicId: UUID{byte(i)}, TopicAuthorizedOperations: -2147483648}
		for p := int32(0); p < metaPartitions; p++ {
			t.Partitions = append(t.Partitions, MetadataResponsePartition{PartitionIndex: p, LeaderId: p % 3, LeaderEpoch: 4,
				ReplicaNodes: []int32{0, 1, 2}, IsrNodes: []int32{0, 1, 2}, OfflineReplicas: []int32{}})
		}
		resp.Topics = append(resp.Topics, t)
	}
	b, err := resp.AppendTo(nil)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func BenchmarkMetadataDecode(b *testing.B) {
	data := gregorMetadataBytes(b)
	b.Run("gregor", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var resp MetadataResponse
			resp.Version = 12
			if err := resp.Decode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("kmsg", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			var resp kmsg.MetadataResponse
			resp.Default()
			resp.Version = 12
			if err := resp.ReadFrom(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkMetadataEncode(b *testing.B) {
	data := gregorMetadataBytes(b)
	var g MetadataResponse
	g.Version = 12
	if err := g.Decode(data); err != nil {
		b.Fatal(err)
	}
	k := kmsg.NewPtrMetadataResponse()
	k.Version = 12
	if err := k.ReadFrom(data); err != nil {
		b.Fatal(err)
	}
	if !bytes.Equal(k.AppendTo(nil), data) {
		b.Fatal("kmsg encodes the metadata response differently")
	}
	b.Run("gregor", func(b *testing.B) {
		buf := make([]byte, 0, len(data))
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			buf, _ = g.AppendTo(buf[:0])
		}
	})
	b.Run("kmsg", func(b *testing.B) {
		buf := make([]byte, 0, len(data))
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			buf = k.AppendTo(buf[:0])
		}
	})
}
