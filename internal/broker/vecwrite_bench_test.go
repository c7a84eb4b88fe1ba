package broker

import (
	"fmt"
	"io"
	"net"
	"testing"

	"github.com/gregorkafka/gregor/protocol"
)

// BenchmarkVectoredWrite encodes a produce request of 16 partitions and
// writes it to a loopback TCP socket, copying the batches into the buffer
// ("copy") or splicing them in with writev ("writev"), by batch size: the
// crossover is where Segments.Min should sit.
//
//	go test ./internal/broker/ -run '^$' -bench VectoredWrite -benchmem
func BenchmarkVectoredWrite(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.Copy(io.Discard, c)
		c.Close()
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer func() { nc.Close(); <-done }()
	for _, size := range []int{256, 1024, 2048, 4096, 8192, 65536} {
		req := protocol.NewProduceRequest()
		req.Version = 9
		td := protocol.ProduceRequestTopicProduceData{Name: "bench"}
		for i := 0; i < 16; i++ {
			td.PartitionData = append(td.PartitionData, protocol.ProduceRequestPartitionProduceData{Index: int32(i), Records: make([]byte, size)})
		}
		req.TopicData = []protocol.ProduceRequestTopicProduceData{td}
		for _, mode := range []string{"copy", "writev"} {
			b.Run(fmt.Sprintf("%s/%d", mode, size), func(b *testing.B) {
				w := &connWriter{bp: new([]byte)}
				w.segs.Min = 1
				b.SetBytes(int64(16 * size))
				for i := 0; i < b.N; i++ {
					buf := (*w.bp)[:0]
					if mode == "copy" {
						buf, err = req.AppendTo(buf)
					} else {
						buf, err = req.AppendSegmentsTo(buf, &w.segs)
					}
					if err != nil {
						b.Fatal(err)
					}
					*w.bp = buf
					if _, err := w.write(nc, buf); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
