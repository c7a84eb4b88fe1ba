package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/twmb/franz-go/pkg/kfake"
)

// proxy forwards one TCP connection to a broker and can fault the
// broker-to-client direction: swallow responses, or rewrite the next
// response's correlation id.
type proxy struct {
	ln      net.Listener
	target  string
	stall   atomic.Bool
	corrupt atomic.Bool
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			client.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); io.Copy(server, client); server.Close() }()
		go func() { defer p.wg.Done(); p.responses(client, server); client.Close() }()
	}
}

// responses copies framed responses from server to client, applying faults.
func (p *proxy) responses(client, server net.Conn) {
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(server, hdr[:]); err != nil {
			return
		}
		body := make([]byte, binary.BigEndian.Uint32(hdr[:]))
		if _, err := io.ReadFull(server, body); err != nil {
			return
		}
		if p.stall.Load() {
			continue
		}
		if p.corrupt.CompareAndSwap(true, false) {
			binary.BigEndian.PutUint32(body, 0x7eadbeef)
		}
		if _, err := client.Write(append(hdr[:], body...)); err != nil {
			return
		}
	}
}

// TestStalledBroker stops the broker's responses: the request times out
// after RequestTimeout with a retriable timeout error and the connection is
// closed, failing the other in-flight requests the same way.
func TestStalledBroker(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	p := newProxy(t, fake.ListenAddrs()[0])
	cfg := testConfig([]string{p.addr()}, func(c *gregor.ConnConfig) { c.RequestTimeout = 300 * time.Millisecond })
	c := dial(t, cfg)
	if _, err := metadataFor(t, c, context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	p.stall.Store(true)
	start := time.Now()
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		go func() { _, err := metadataFor(t, c, context.Background(), "a"); errs <- err }()
	}
	for i := 0; i < 3; i++ {
		err := <-errs
		var ne *gregor.NetworkError
		if !errors.As(err, &ne) || ne.Op != "timeout" || !gregor.IsRetriable(err) {
			t.Fatalf("got %v, want a retriable timeout *gregor.NetworkError", err)
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("timeouts took %s with a 300ms request timeout", d)
	}
	<-c.Done()
}

// TestWrongCorrelationID rewrites a response's correlation id: the
// connection is closed with a network error instead of handing the
// response to the wrong caller.
func TestWrongCorrelationID(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	p := newProxy(t, fake.ListenAddrs()[0])
	c := dial(t, testConfig([]string{p.addr()}, nil))
	p.corrupt.Store(true)
	_, err := metadataFor(t, c, context.Background(), "a")
	var ne *gregor.NetworkError
	if !errors.As(err, &ne) || !errors.Is(err, errProtocol) {
		t.Fatalf("got %v, want a *gregor.NetworkError wrapping the protocol violation", err)
	}
	<-c.Done()
}
