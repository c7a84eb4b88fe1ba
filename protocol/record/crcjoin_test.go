package record

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

// TestCRCJoin checks crcJoin against checksumming the concatenation, for
// every split of random data of lengths around the powers of two, empty
// parts included.
func TestCRCJoin(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lengths := []int{0, 1, 2, 3, 7, 8, 9, 40, 63, 64, 65, 1000, 4096, 16384, 65537, 1 << 20}
	for _, la := range lengths {
		for _, lb := range lengths {
			buf := make([]byte, la+lb)
			for i := range buf {
				buf[i] = byte(rng.Uint32())
			}
			want := crc32.Checksum(buf, castagnoli)
			got := crcJoin(crc32.Checksum(buf[:la], castagnoli), crc32.Checksum(buf[la:], castagnoli), lb)
			if got != want {
				t.Fatalf("len(a)=%d len(b)=%d: joined %08x, whole %08x", la, lb, got, want)
			}
		}
	}
}

// BenchmarkCRCJoin measures the join of a 1 MiB batch's records with its
// header, done once per batch.
func BenchmarkCRCJoin(b *testing.B) {
	for i := 0; i < b.N; i++ {
		crcJoin(0x12345678, 0x9abcdef0, 1<<20+12345)
	}
}

// TestBuilderChunkedCRC checks the CRC a Builder writes for uncompressed
// batches whose records cross the checksum chunk zero, one and several
// times, against checksumming the finished batch in one go.
func TestBuilderChunkedCRC(t *testing.T) {
	value := make([]byte, 1000)
	for i := range value {
		value[i] = byte(i * 7)
	}
	var bb Builder
	for n := 0; n <= 3*crcChunk/len(value)+2; n++ {
		bb.Reset([]byte("prefix"), BatchHeader{ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, 0)
		for i := range n {
			bb.Add(int64(1000+i), []byte{byte(i)}, value[:len(value)-i%3], nil)
		}
		out, err := bb.Finish()
		if err != nil {
			t.Fatal(err)
		}
		batch := out[len("prefix"):]
		if want := crc32.Checksum(batch[offAttributes:], castagnoli); bb.Header().CRC != want {
			t.Fatalf("%d records: CRC %08x, want %08x", n, bb.Header().CRC, want)
		}
	}
}
