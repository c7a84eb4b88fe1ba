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
	// hold stops reading requests (once the current read returns), so that
	// the client's writes block; reqBytes counts the bytes forwarded.
	hold     atomic.Bool
	reqBytes atomic.Int64
	quit     chan struct{}
	clients  []*net.TCPConn
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, quit: make(chan struct{})}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) close() {
	close(p.quit)
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
		// A small receive buffer (no autotuning) lets a held connection
		// block the client's writes soon.
		client.(*net.TCPConn).SetReadBuffer(64 << 10)
		p.mu.Lock()
		p.conns = append(p.conns, client, server)
		p.clients = append(p.clients, client.(*net.TCPConn))
		p.mu.Unlock()
		p.wg.Add(2)
		go func() { defer p.wg.Done(); p.requests(client, server); server.Close() }()
		go func() { defer p.wg.Done(); p.responses(client, server); client.Close() }()
	}
}

// requests copies requests from client to server until hold is set.
func (p *proxy) requests(client, server net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		if p.hold.Load() {
			<-p.quit
			return
		}
		n, err := client.Read(buf)
		if n > 0 {
			p.reqBytes.Add(int64(n))
			if _, werr := server.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// endResponses closes the broker-to-client direction of every connection:
// the client reads EOF while its writes still go to the proxy.
func (p *proxy) endResponses() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.clients {
		c.CloseWrite()
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
