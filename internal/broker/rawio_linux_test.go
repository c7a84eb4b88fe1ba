//go:build linux && !race

package broker

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/internal/leakcheck"
)

// TestRawSocketWritevAndRead writes 3,000 pieces of random sizes (more
// than the kernel takes in one writev; two of them larger than rawChunk,
// so that both raw and ordinary calls write)
// through a small send buffer to a peer that reads slowly, so that the
// writes come back partial and wait for room; the peer must see exactly
// the bytes in order. It then reads what the peer sends back until EOF.
func TestRawSocketWritevAndRead(t *testing.T) {
	leakcheck.Check(t)
	client, server := tcpPair(t)
	if err := client.SetWriteBuffer(64 << 10); err != nil {
		t.Fatal(err)
	}
	raw := newRawSocket(client)
	if raw == nil {
		t.Fatal("no raw socket for a TCP connection")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var want bytes.Buffer
	var vec [][]byte
	for i := range 3000 {
		n := rng.IntN(1 << 10)
		if i%1500 == 7 {
			n = rawChunk + rng.IntN(rawChunk) // larger than a raw call takes
		}
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		want.Write(b)
		vec = append(vec, b)
	}
	got := make(chan []byte, 1)
	server.SetReadDeadline(time.Now().Add(10 * time.Second)) // fail, not hang, if bytes go missing
	go func() {
		var buf bytes.Buffer
		chunk := make([]byte, 48<<10)
		for buf.Len() < want.Len() {
			n, err := server.Read(chunk)
			buf.Write(chunk[:n])
			if err != nil {
				break
			}
		}
		got <- buf.Bytes()
	}()
	if err := raw.writev(vec); err != nil {
		t.Fatal(err)
	}
	if g := <-got; !bytes.Equal(g, want.Bytes()) {
		t.Fatalf("peer read %d bytes, differing from the %d written", len(g), want.Len())
	}

	back := bytes.Repeat([]byte("kafka"), 700_000)
	go func() {
		server.Write(back)
		server.CloseWrite()
	}()
	read, err := io.ReadAll(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(read, back) {
		t.Fatalf("read %d bytes, want %d", len(read), len(back))
	}
}

// TestRawSocketDeadlinesAndClose checks that the connection's deadlines
// bound raw reads and writes with a timeout error, as net.Conn's own do,
// and that a closed connection gives an error rather than blocking.
func TestRawSocketDeadlinesAndClose(t *testing.T) {
	leakcheck.Check(t)
	client, _ := tcpPair(t)
	raw := newRawSocket(client)
	client.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	var ne net.Error
	if _, err := raw.Read(make([]byte, 10)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past its deadline: %v", err)
	}
	client.SetWriteDeadline(time.Now().Add(20 * time.Millisecond))
	// Nobody reads the other end: the socket buffers fill and the write
	// waits for room until its deadline.
	big := [][]byte{make([]byte, 64<<20)}
	if err := raw.writev(big); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("write past its deadline: %v", err)
	}
	client.SetDeadline(time.Time{})
	client.Close()
	if _, err := raw.Read(make([]byte, 10)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}
	if err := raw.writev([][]byte{[]byte("x")}); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}
