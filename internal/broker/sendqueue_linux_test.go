package broker

import (
	"syscall"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/internal/leakcheck"
)

// TestUnsentBytes reads a socket's unsent bytes: none on a fresh
// connection, and some once the peer stops reading and the writes have
// filled its window.
func TestUnsentBytes(t *testing.T) {
	leakcheck.Check(t)
	c, _ := tcpPair(t) // the server end never reads
	sc, err := c.SyscallConn()
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
		c.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Write(buf); err != nil {
			break
		}
	}
	if n := unsentBytes(sc); n <= 0 {
		t.Fatalf("peer not reading: %d unsent bytes, want some", n)
	}
}
