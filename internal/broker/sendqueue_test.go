package broker

import (
	"context"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
)

// TestUnsentBytes reads a socket's unsent bytes: none on a fresh
// connection, and some once the peer stops reading and the writes have
// filled its window.
func TestUnsentBytes(t *testing.T) {
	leakcheck.Check(t)
	if runtime.GOOS != "linux" {
		if n := unsentBytes(nil); n != -1 {
			t.Fatalf("unsentBytes: %d, want -1 off Linux", n)
		}
		t.Skip("the kernel tells the unsent bytes on Linux only")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c // never read
		}
		close(accepted)
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	peer := <-accepted
	if peer == nil {
		t.Fatal("no connection accepted")
	}
	defer peer.Close()
	sc, err := nc.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	if n := unsentBytes(sc); n != 0 {
		t.Fatalf("fresh connection: %d unsent bytes", n)
	}
	if n := unsentBytes(syscall.RawConn(nil)); n != -1 {
		t.Fatalf("no socket: %d, want -1", n)
	}
	// Write until the peer's window and our send buffer are full.
	buf := make([]byte, 1<<20)
	for {
		nc.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := nc.Write(buf); err != nil {
			break
		}
	}
	if n := unsentBytes(sc); n <= 0 {
		t.Fatalf("peer not reading: %d unsent bytes, want some", n)
	}
}

// observingReq is a produce request that records what the connection
// tells it of the socket's unsent bytes.
type observingReq struct {
	produceReq
	told []int
}

func (r *observingReq) WriteStarting(unsent int) { r.told = append(r.told, unsent) }

// TestSendQueueObserved sends a produce of more than observeMin bytes and
// one far below: the large one is told the socket's unsent bytes once
// (nothing was queued: the broker had read everything before), the small
// one is not asked about it.
func TestSendQueueObserved(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	for _, tc := range []struct {
		records int
		told    int
	}{{4000, 1}, {10, 0}} {
		req := protocol.NewProduceRequest()
		req.Acks, req.TimeoutMs = -1, 5000
		req.TopicData = []protocol.ProduceRequestTopicProduceData{{Name: "a",
			PartitionData: []protocol.ProduceRequestPartitionProduceData{{Index: 0, Records: testBatch(t, tc.records, 100)}}}}
		r := &observingReq{produceReq: produceReq{req}}
		if _, err := c.Do(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if len(r.told) != tc.told {
			t.Fatalf("%d records: told %v, want %d report(s)", tc.records, r.told, tc.told)
		}
		want := 0
		if runtime.GOOS != "linux" {
			want = -1
		}
		if tc.told == 1 && r.told[0] != want {
			t.Fatalf("%d records: told %d unsent bytes, want %d", tc.records, r.told[0], want)
		}
	}
}
