package broker

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func testConfig(seeds []string, mod func(*gregor.ConnConfig)) *gregor.ConnConfig {
	cfg := gregor.ConnConfig{SeedBrokers: seeds, RequestTimeout: 5 * time.Second, DialTimeout: 5 * time.Second}
	if mod != nil {
		mod(&cfg)
	}
	cfg = cfg.WithDefaults()
	return &cfg
}

func newFake(t *testing.T, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func dial(t *testing.T, cfg *gregor.ConnConfig) *Conn {
	t.Helper()
	c, err := Dial(context.Background(), cfg, NewMetrics(nil), 0, cfg.SeedBrokers[0], "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// metadataReq is a Metadata request for one topic, without creating it.
func metadataReq(topic string) Request {
	req := protocol.NewMetadataRequest()
	req.Topics = []protocol.MetadataRequestTopic{{Name: &topic}}
	req.AllowAutoTopicCreation = false
	return bounded{req, 9, 13}
}

// decodeMetadata decodes the response to a metadataReq.
func decodeMetadata(resp Response) (*protocol.MetadataResponse, error) {
	mr := protocol.NewMetadataResponse()
	mr.Version = resp.Version
	return mr, mr.Decode(resp.Body)
}

func metadataFor(t *testing.T, c *Conn, ctx context.Context, topic string) (*protocol.MetadataResponse, error) {
	t.Helper()
	resp, err := c.Do(ctx, metadataReq(topic))
	if err != nil {
		return nil, err
	}
	return decodeMetadata(resp)
}

func topicName(m *protocol.MetadataResponse, i int) string {
	if i >= len(m.Topics) || m.Topics[i].Name == nil {
		return ""
	}
	return *m.Topics[i].Name
}

func requestedTopic(r kmsg.Request) string {
	m := r.(*kmsg.MetadataRequest)
	if len(m.Topics) == 1 && m.Topics[0].Topic != nil {
		return *m.Topics[0].Topic
	}
	return ""
}

// TestPipelining holds the first Metadata request in the fake broker until
// all N have arrived on the one connection, which proves N were in flight at
// once, and checks each caller got the response to its own request.
func TestPipelining(t *testing.T) {
	leakcheck.Check(t)
	const n = 8
	topics := make([]string, n)
	for i := range topics {
		topics[i] = fmt.Sprintf("t%d", i)
	}
	fake := newFake(t, kfake.SeedTopics(1, topics...), kfake.SleepOutOfOrder())
	cfg := testConfig(fake.ListenAddrs(), func(c *gregor.ConnConfig) { c.MaxInFlightPerConn = n })
	c := dial(t, cfg)

	var arrived atomic.Int32
	all := make(chan struct{})
	fake.ControlKey(3, func(kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		if arrived.Add(1) == n {
			close(all)
		}
		if arrived.Load() == 1 {
			fake.SleepControl(func() {
				select {
				case <-all:
				case <-time.After(5 * time.Second):
				}
			})
		}
		return nil, nil, false
	})
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(topic string) {
			defer wg.Done()
			m, err := metadataFor(t, c, context.Background(), topic)
			if err != nil {
				errs <- err
				return
			}
			if len(m.Topics) != 1 || topicName(m, 0) != topic {
				errs <- fmt.Errorf("asked for %s, got %+v", topic, m.Topics)
			}
		}(topics[i])
		if i == 0 {
			time.Sleep(20 * time.Millisecond) // the held request goes first
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	select {
	case <-all:
	default:
		t.Fatalf("only %d of %d requests reached the broker while the first was held", arrived.Load(), n)
	}
}

// TestCancelInflight cancels a request the broker is holding; the requests
// behind it still get their own responses and the connection stays usable.
func TestCancelInflight(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "slow", "a", "b"))
	cfg := testConfig(fake.ListenAddrs(), nil)
	c := dial(t, cfg)
	release := make(chan struct{})
	held := make(chan struct{})
	fake.ControlKey(3, func(r kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		if requestedTopic(r) == "slow" {
			close(held)
			fake.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	ctx, cancel := context.WithCancel(context.Background())
	slowErr := make(chan error, 1)
	go func() {
		_, err := metadataFor(t, c, ctx, "slow")
		slowErr <- err
	}()
	<-held
	others := make(chan error, 2)
	for _, topic := range []string{"a", "b"} {
		go func(topic string) {
			m, err := metadataFor(t, c, context.Background(), topic)
			if err == nil && (len(m.Topics) != 1 || topicName(m, 0) != topic) {
				err = fmt.Errorf("asked for %s, got %+v", topic, m.Topics)
			}
			others <- err
		}(topic)
	}
	time.Sleep(20 * time.Millisecond)
	cancel()
	if err := <-slowErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled request: got %v, want context.Canceled", err)
	}
	close(release)
	for i := 0; i < 2; i++ {
		if err := <-others; err != nil {
			t.Fatal(err)
		}
	}
	if _, err := metadataFor(t, c, context.Background(), "a"); err != nil {
		t.Fatalf("connection unusable after a cancelled request: %v", err)
	}
	if c.Err() != nil {
		t.Fatalf("connection died: %v", c.Err())
	}
}

// TestCancelBeforeWrite fills the only in-flight slot, so a second request
// waits for it and gives up; it is never written.
func TestCancelBeforeWrite(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "slow", "a"))
	cfg := testConfig(fake.ListenAddrs(), func(c *gregor.ConnConfig) { c.MaxInFlightPerConn = 1 })
	c := dial(t, cfg)
	release := make(chan struct{})
	held := make(chan struct{})
	var seen atomic.Int32
	fake.ControlKey(3, func(r kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		seen.Add(1)
		if requestedTopic(r) == "slow" {
			close(held)
			fake.SleepControl(func() { <-release })
		}
		return nil, nil, false
	})
	slowDone := make(chan error, 1)
	go func() { _, err := metadataFor(t, c, context.Background(), "slow"); slowDone <- err }()
	<-held
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := metadataFor(t, c, ctx, "a"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want deadline exceeded", err)
	}
	close(release)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
	if _, err := metadataFor(t, c, context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	if got := seen.Load(); got != 2 {
		t.Fatalf("broker saw %d Metadata requests, want 2 (the cancelled one must not be written)", got)
	}
}

// TestBrokenConnection has the broker drop the connection while requests
// are in flight: each fails with a retriable *gregor.NetworkError.
func TestBrokenConnection(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a", "boom"))
	cfg := testConfig(fake.ListenAddrs(), nil)
	c := dial(t, cfg)
	held := make(chan struct{})
	fake.ControlKey(3, func(r kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		if requestedTopic(r) == "boom" {
			close(held)
			return nil, errors.New("drop the connection"), true
		}
		return nil, nil, false
	})
	results := make(chan error, 3)
	go func() { _, err := metadataFor(t, c, context.Background(), "boom"); results <- err }()
	for i := 0; i < 2; i++ {
		go func() { _, err := metadataFor(t, c, context.Background(), "a"); results <- err }()
	}
	<-held
	var failed int
	for i := 0; i < 3; i++ {
		err := <-results
		if err == nil {
			continue // answered before the drop
		}
		failed++
		var ne *gregor.NetworkError
		if !errors.As(err, &ne) || !gregor.IsRetriable(err) {
			t.Fatalf("got %v (%T), want a retriable *gregor.NetworkError", err, err)
		}
	}
	if failed == 0 {
		t.Fatal("no request failed")
	}
	select {
	case <-c.Done():
	case <-time.After(time.Second):
		t.Fatal("connection not marked dead")
	}
	if _, err := metadataFor(t, c, context.Background(), "a"); err == nil {
		t.Fatal("request on a dead connection succeeded")
	}
	c2 := dial(t, cfg)
	if _, err := metadataFor(t, c2, context.Background(), "a"); err != nil {
		t.Fatalf("new connection: %v", err)
	}
}

// TestHostileLength answers the first request with an absurd length: the
// dial fails with a typed size error instead of allocating it.
func TestHostileLength(t *testing.T) {
	leakcheck.Check(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		var hdr [4]byte
		if _, err := io.ReadFull(nc, hdr[:]); err != nil {
			return
		}
		io.CopyN(io.Discard, nc, int64(binary.BigEndian.Uint32(hdr[:])))
		nc.Write([]byte{0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1})
		io.Copy(io.Discard, nc)
	}()
	cfg := testConfig([]string{ln.Addr().String()}, nil)
	_, err = Dial(context.Background(), cfg, nil, -1, ln.Addr().String(), "test")
	var se *gregor.ResponseSizeError
	if !errors.As(err, &se) || se.Size != 0x7fffffff {
		t.Fatalf("got %v, want *gregor.ResponseSizeError", err)
	}
}

// TestVersionTooOld asks for an API the broker lacks in any version the
// client can encode.
func TestVersionTooOld(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t)
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	_, err := c.Do(context.Background(), &fakeReq{key: 999, max: 1})
	var ve *gregor.VersionError
	if !errors.As(err, &ve) || ve.Key != 999 || gregor.IsRetriable(err) {
		t.Fatalf("got %v, want a *gregor.VersionError for key 999", err)
	}
}

// TestNoResponse writes a request that expects no answer and then uses the
// connection normally.
func TestNoResponse(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	p := &kmsg.ProduceRequest{Acks: 0, TimeoutMillis: 1000}
	resp, err := c.Do(context.Background(), noResp{p})
	if err != nil || resp.Body != nil {
		t.Fatalf("acks=0 produce: %v %v", resp, err)
	}
	// kfake never answers later requests on a connection that carried an
	// acks=0 produce (its writer waits for the skipped sequence number), so
	// only check that nothing is left in flight.
	c.mu.Lock()
	n, slots := len(c.inflight), len(c.sem)
	c.mu.Unlock()
	if n != 0 || slots != 0 {
		t.Fatalf("acks=0 request left %d in flight, %d slots taken", n, slots)
	}
}

type noResp struct{ *kmsg.ProduceRequest }

func (r noResp) AppendTo(b []byte) ([]byte, error) { return r.ProduceRequest.AppendTo(b), nil }

func (noResp) NoResponse() bool { return true }

type fakeReq struct {
	key, max, v int16
	err         error
}

func (r *fakeReq) Key() int16                        { return r.key }
func (r *fakeReq) MaxVersion() int16                 { return r.max }
func (r *fakeReq) SetVersion(v int16)                { r.v = v }
func (r *fakeReq) GetVersion() int16                 { return r.v }
func (r *fakeReq) IsFlexible() bool                  { return false }
func (r *fakeReq) AppendTo(b []byte) ([]byte, error) { return append(b, 1, 2, 3), r.err }

// TestCloseFailsWaiting closes a connection with a request held by the
// broker: the request fails with gregor.ErrClosed.
func TestCloseFailsWaiting(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "slow"))
	cfg := testConfig(fake.ListenAddrs(), nil)
	c, err := Dial(context.Background(), cfg, nil, 0, cfg.SeedBrokers[0], "test")
	if err != nil {
		t.Fatal(err)
	}
	held := holdFirstMetadata(t, fake)
	done := make(chan error, 1)
	go func() { _, err := metadataFor(t, c, context.Background(), "slow"); done <- err }()
	<-held
	c.Close()
	if err := <-done; !errors.Is(err, gregor.ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}

// holdFirstMetadata has the fake broker hold the first Metadata request
// until the test ends; the returned channel closes when it arrives.
func holdFirstMetadata(t *testing.T, fake *kfake.Cluster) <-chan struct{} {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	held := make(chan struct{})
	fake.ControlKey(3, func(kmsg.Request) (kmsg.Response, error, bool) {
		close(held)
		fake.SleepControl(func() { <-release })
		return nil, nil, false
	})
	return held
}

// TestApiVersionsFallback answers ApiVersions v3 the way an older broker
// does, UNSUPPORTED_VERSION with a v0 body listing v0-v2: the client retries
// at v2 and the connection works.
func TestApiVersionsFallback(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	var versions []int16
	var mu sync.Mutex
	fake.ControlKey(18, func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		fake.KeepControl()
		mu.Lock()
		defer mu.Unlock()
		versions = append(versions, kreq.GetVersion())
		if kreq.GetVersion() >= 3 {
			resp := kmsg.NewPtrApiVersionsResponse()
			resp.SetVersion(0)
			resp.ErrorCode = 35
			resp.ApiKeys = []kmsg.ApiVersionsResponseApiKey{{ApiKey: 18, MinVersion: 0, MaxVersion: 2}}
			return resp, nil, true
		}
		return nil, nil, false
	})
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	if _, err := metadataFor(t, c, context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(versions) != 2 || versions[0] != 3 || versions[1] != 2 {
		t.Fatalf("ApiVersions versions sent: %v, want [3 2]", versions)
	}
}

// TestEncodeError fails one request's encoding: only that request fails,
// nothing partial is written and the connection stays usable.
func TestEncodeError(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	bad := errors.New("cannot encode")
	_, err := c.Do(context.Background(), &fakeReq{key: 3, max: 12, err: bad})
	if !errors.Is(err, bad) {
		t.Fatalf("got %v, want the encode error", err)
	}
	if _, err := metadataFor(t, c, context.Background(), "a"); err != nil {
		t.Fatalf("connection unusable after an encode error: %v", err)
	}
}
