package broker

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/protocol"
	"go.opentelemetry.io/otel/metric"
)

// errProtocol marks responses that break the framing rules, such as an
// unexpected correlation id.
var errProtocol = errors.New("protocol violation")

// Conn is one connection to one broker. Many goroutines may call Do at once;
// up to ConnConfig.MaxInFlightPerConn requests are in flight, written by one
// writer goroutine and matched to their responses, which Kafka sends in
// request order, by one reader goroutine.
type Conn struct {
	cfg  *gregor.ConnConfig
	m    *Metrics
	id   int32
	addr string
	role string
	nc   net.Conn
	raw  *rawSocket // nc's socket for raw reads and writes (plain TCP on Linux), or nil
	br   *bufio.Reader
	log  *slog.Logger

	versions []versionRange   // indexed by API key; set once by the handshake, then read-only
	features map[string]int16 // finalized feature levels (ApiVersions v3+); set once by the handshake

	sem    chan struct{} // in-flight slots
	notify chan struct{} // wakes the writer
	closed chan struct{} // closed when the connection dies

	// wmu is held by whoever writes: the writer goroutine, or a caller of
	// EnqueueNow that found the connection idle. It guards cw.
	wmu sync.Mutex
	cw  *connWriter // nil once the writer goroutine has exited

	mu       sync.Mutex
	pending  []*call
	spare    []*call
	inflight []*call
	corr     int32
	dead     bool
	deadErr  error

	reauthDue     atomic.Int64 // unix nanos of the next re-authentication, 0 for none
	throttleUntil atomic.Int64 // unix nanos before which nothing is written (KIP-219)
	lastUse       atomic.Int64 // unix nanos of the last request or response
	reauths       atomic.Int64
	opened        atomic.Bool // counted in the open-connections metric

	wg sync.WaitGroup

	// Completions on the reader (see completeOnReader): gmu guards which
	// reader goroutine, by number, is running one, and the timer that
	// lets a new reader take over from a completion that takes too long.
	gmu        sync.Mutex
	busyReader uint64
	busySince  time.Time
	readers    uint64
	guard      *time.Timer
	guardArmed bool
	stopped    bool // the connection is closed and its readers gone: no takeover

	testWrote func(segments int) // tests: runs on the writer when a batch's write returns

	lat   [96]latencyAttrs         // reader-owned cache of metric attributes per API key
	ioOpt metric.MeasurementOption // broker attributes, set before the goroutines start
	// ioAdd is ioOpt as the argument list of a counter's Add, built once:
	// a variadic argument made per call would be allocated each time.
	ioAdd []metric.AddOption
}

// Dial connects to the broker at addr and prepares the connection: TLS when
// configured, ApiVersions, then SASL when configured. id is the broker's node
// id (negative for a seed broker); role names the connection's use in logs
// and metrics. cfg must have its defaults applied. The whole preparation is
// bounded by cfg.DialTimeout and ctx.
func Dial(ctx context.Context, cfg *gregor.ConnConfig, m *Metrics, id int32, addr, role string) (*Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	nc, err := cfg.Dial(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil, ctx.Err()
		}
		return nil, &gregor.NetworkError{Broker: id, Addr: addr, Op: "dial", Err: err}
	}
	if cfg.TLS != nil {
		if nc, err = handshakeTLS(ctx, cfg, nc, id, addr); err != nil {
			return nil, err
		}
	}
	c := &Conn{
		cfg: cfg, m: m, id: id, addr: addr, role: role, nc: nc,
		raw:    newRawSocket(nc),
		log:    cfg.Logger.With(slog.Int("broker", int(id)), slog.String("addr", addr), slog.String("role", role)),
		sem:    make(chan struct{}, cfg.MaxInFlightPerConn),
		notify: make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	if c.raw != nil {
		c.br = bufio.NewReaderSize(c.raw, 32<<10)
	} else {
		c.br = bufio.NewReaderSize(nc, 32<<10)
	}
	c.lastUse.Store(time.Now().UnixNano())
	c.cw = &connWriter{bp: bufPool.Get().(*[]byte), raw: c.raw}
	_, c.cw.vectored = nc.(*net.TCPConn)
	c.ioOpt = c.brokerAttrs()
	c.ioAdd = []metric.AddOption{c.ioOpt}
	c.wg.Add(2)
	c.readers = 1
	go c.writeLoop()
	go c.readLoop(1)
	if err := c.handshake(ctx); err != nil {
		c.Close()
		if ctx.Err() != nil && !isTyped(err) {
			err = &gregor.NetworkError{Broker: id, Addr: addr, Op: "handshake", Err: err}
		}
		return nil, err
	}
	m.connOpened(c)
	if c.Err() != nil {
		m.connClosed(c) // died right after the handshake: fail already ran
	}
	c.log.Info("gregor: connected", slog.Int("api_keys", len(c.versions)))
	return c, nil
}

func isTyped(err error) bool {
	var a *gregor.AuthError
	var t *gregor.TLSError
	var v *gregor.VersionError
	var n *gregor.NetworkError
	return errors.As(err, &a) || errors.As(err, &t) || errors.As(err, &v) || errors.As(err, &n)
}

// ID is the broker's node id (negative for a seed broker).
func (c *Conn) ID() int32 { return c.id }

// Addr is the broker's host:port.
func (c *Conn) Addr() string { return c.addr }

// Done is closed when the connection has died or was closed.
func (c *Conn) Done() <-chan struct{} { return c.closed }

// Err is why the connection died, or nil while it is alive.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.deadErr
}

// Idle reports whether no request is queued or in flight and none has been
// sent or answered for at least d.
func (c *Conn) Idle(d time.Duration) bool {
	if time.Since(time.Unix(0, c.lastUse.Load())) < d {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) == 0 && len(c.inflight) == 0 && len(c.sem) == 0
}

// Reauthentications counts completed SASL re-authentications.
func (c *Conn) Reauthentications() int64 { return c.reauths.Load() }

// Versions returns the broker's supported version range for key; ok is
// false if the broker does not support the API.
func (c *Conn) Versions(key int16) (lo, hi int16, ok bool) {
	if key < 0 || int(key) >= len(c.versions) || c.versions[key].Max < 0 {
		return -1, -1, false
	}
	v := c.versions[key]
	return v.Min, v.Max, true
}

// FinalizedFeature returns the cluster-wide level of feature name (such as
// "transaction.version") as the broker reported it in ApiVersions; ok is
// false when the broker did not report it.
func (c *Conn) FinalizedFeature(name string) (level int16, ok bool) {
	level, ok = c.features[name]
	return level, ok
}

// PickVersion sets req's version to the highest both sides support and
// returns it, or a *gregor.VersionError.
func (c *Conn) PickVersion(req Request) (int16, error) {
	key := req.Key()
	cmin, cmax, cok := ClientVersions(req)
	bmin, bmax, ok := c.Versions(key)
	v := min(cmax, bmax)
	if !ok || !cok || v < max(cmin, bmin) {
		return 0, &gregor.VersionError{Broker: c.id, Addr: c.addr, Key: key, ClientMin: cmin, ClientMax: cmax, BrokerMin: bmin, BrokerMax: bmax}
	}
	req.SetVersion(v)
	return v, nil
}

// ThrottleUntil keeps the writer from sending anything before t, as KIP-219
// asks of a client whose response carried a throttle time.
func (c *Conn) ThrottleUntil(t time.Time) {
	n := t.UnixNano()
	for {
		cur := c.throttleUntil.Load()
		if n <= cur || c.throttleUntil.CompareAndSwap(cur, n) {
			return
		}
	}
}

// Do picks req's version, sends it and waits for its response. If ctx ends
// before the request is written, it is dropped; if it ends after, the
// response is discarded when it arrives. Either way the connection and the
// other requests are unaffected. A request whose NoResponse reports true
// returns once written, with an empty Response.
//
// Once Do has returned, the connection no longer reads req's memory, with
// one exception: when ctx ended while req was being written, req is
// abandoned to the connection, which may still be writing it, so the caller
// must not modify or recycle its memory (see SegmentAppender).
func (c *Conn) Do(ctx context.Context, req Request) (Response, error) {
	v, err := c.PickVersion(req)
	if err != nil {
		return Response{}, err
	}
	return c.do(ctx, req, v)
}

func (c *Conn) do(ctx context.Context, req Request, v int16) (Response, error) {
	cl, err := c.enqueueCall(ctx, req, v, false, nil)
	if err != nil {
		return Response{}, err
	}
	return c.wait(ctx, cl, req)
}

// Pending is a request queued on a connection whose response has not been
// collected yet; see Enqueue.
type Pending struct {
	c   *Conn
	cl  *call
	req Request
}

// Enqueue picks req's version and queues it like Do, but returns as soon as
// it is queued (after waiting for an in-flight slot). Requests queued one
// after another from one goroutine are written in that order, which lets a
// producer pipeline ordered requests. The caller must call Wait exactly once,
// and must not modify req until Wait has returned; after that the rules of
// Do apply.
// The Pending is a value, so that queueing allocates nothing of its own.
func (c *Conn) Enqueue(ctx context.Context, req Request) (Pending, error) {
	return c.enqueuePending(ctx, req, false)
}

// EnqueueNow is Enqueue, except that when no write is under way it writes
// the queued requests itself, on the calling goroutine, instead of waking
// the writer goroutine: one hand-over less per request, which is most of
// the cost of a small request when requests are sent one by one. The
// caller blocks for the write, so it suits small requests only; a large
// one is better left to the writer while the caller prepares the next.
func (c *Conn) EnqueueNow(ctx context.Context, req Request) (Pending, error) {
	return c.enqueuePending(ctx, req, true)
}

func (c *Conn) enqueuePending(ctx context.Context, req Request, now bool) (Pending, error) {
	v, err := c.PickVersion(req)
	if err != nil {
		return Pending{}, err
	}
	cl, err := c.enqueueCall(ctx, req, v, now, nil)
	if err != nil {
		return Pending{}, err
	}
	return Pending{c: c, cl: cl, req: req}, nil
}

// Wait waits for the response of a queued request, as Do does after
// queueing. When ctx ends first and the request was still unwritten, the
// error wraps ErrNotSent as well as ctx's error. When Wait returns, the
// connection has stopped reading the request's memory, unless ctx ended
// while it was being written or awaited its response (ctx's error without
// ErrNotSent): then the request is abandoned, and its memory must be left
// alone, as Do explains.
func (p *Pending) Wait(ctx context.Context) (Response, error) {
	return p.c.wait(ctx, p.cl, p.req)
}

// ErrNotSent marks a request dropped before any of it was written.
var ErrNotSent = errors.New("gregor: request not sent")

// enqueueCall queues req; with done set, the call is completed through it
// rather than awaited, and must not be touched once queued.
func (c *Conn) enqueueCall(ctx context.Context, req Request, v int16, now bool, done Completer) (*call, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.closed:
		return nil, c.Err()
	}
	cl := getCall()
	cl.req, cl.key, cl.ver, cl.comp = req, req.Key(), v, done
	// The ApiVersions response header is always v0 (protocol.ResponseHeaderVersion).
	cl.flexResp = req.IsFlexible() && cl.key != protocol.KeyApiVersions
	cl.noResp, cl.noSlot = false, false
	if nr, ok := req.(NoResponder); ok {
		cl.noResp = nr.NoResponse()
	}
	cl.timeout = c.cfg.RequestTimeout
	if t, ok := req.(Timeouter); ok {
		cl.timeout += t.ExtraTimeout()
	}
	cl.start = time.Now()
	c.lastUse.Store(cl.start.UnixNano())

	c.mu.Lock()
	if c.dead {
		err := c.deadErr
		c.mu.Unlock()
		<-c.sem
		putCall(cl)
		return nil, err
	}
	cl.state = statePending
	c.pending = append(c.pending, cl)
	c.mu.Unlock()
	if now && c.mayWriteInline(cl.start.UnixNano()) && c.wmu.TryLock() {
		// Nobody is writing: write what is queued, cl included. A caller
		// that queues meanwhile fails TryLock and wakes the writer.
		if c.cw != nil {
			c.writeBatch(c.cw)
		}
		c.wmu.Unlock()
		return cl, nil
	}
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return cl, nil
}

// mayWriteInline reports whether a caller may write at unix nanos t: not
// while the broker throttles the connection, nor once a re-authentication
// is due, which the writer goroutine must do before anything else goes
// out.
func (c *Conn) mayWriteInline(t int64) bool {
	if u := c.throttleUntil.Load(); u != 0 && u > t {
		return false
	}
	due := c.reauthDue.Load()
	return due == 0 || due > t
}

func (c *Conn) wait(ctx context.Context, cl *call, req Request) (Response, error) {
	notSent := false
	select {
	case <-cl.done:
		return c.finish(cl)
	case <-ctx.Done():
	}
	c.mu.Lock()
	switch cl.state {
	case statePending:
		for i, p := range c.pending {
			if p == cl {
				c.pending = append(c.pending[:i], c.pending[i+1:]...)
				break
			}
		}
		c.mu.Unlock()
		<-c.sem
		putCall(cl)
		notSent = true
	case stateWriting, stateInflight:
		cl.state = stateAbandoned
		c.mu.Unlock()
	default: // done: the result is on its way
		c.mu.Unlock()
		<-cl.done
		return c.finish(cl)
	}
	if notSent {
		return Response{}, fmt.Errorf("gregor: broker %d (%s): API key %d: %w: %w", c.id, c.addr, req.Key(), ErrNotSent, ctx.Err())
	}
	return Response{}, fmt.Errorf("gregor: broker %d (%s): API key %d: %w", c.id, c.addr, req.Key(), ctx.Err())
}

func (c *Conn) finish(cl *call) (Response, error) {
	resp, err := Response{Version: cl.ver, Body: cl.body}, cl.err
	putCall(cl)
	return resp, err
}

// deliver hands a result to a call's caller, or recycles an abandoned call,
// and frees its in-flight slot. The caller of deliver has already moved the
// call to stateDone or seen it abandoned, under c.mu.
func (c *Conn) deliver(cl *call, abandoned bool, body []byte, err error) {
	noSlot := cl.noSlot
	if abandoned {
		putCall(cl)
	} else if cl.comp != nil {
		completeAsync(cl, body, err)
	} else {
		cl.body, cl.err = body, err
		cl.done <- struct{}{}
	}
	if !noSlot {
		<-c.sem
	}
}

// fail kills the connection: it closes the socket and fails every queued and
// in-flight request with err (queued ones with ErrNotSent as well, as none
// of them was written), except those the writer is still writing,
// whose failure the writer delivers after its write returns (closing the
// socket makes that quick). Only the first call has an effect.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead, c.deadErr = true, err
	victims := c.pending
	unsent := len(victims) // the queued ones: nothing of them was written
	for _, cl := range c.inflight {
		if cl.writing {
			// The writer may be writing it from the caller's memory right
			// now; it delivers this result once its write has returned.
			cl.body, cl.err, cl.parked = nil, err, true
			continue
		}
		victims = append(victims, cl)
	}
	abandoned := make([]bool, len(victims))
	for i, cl := range victims {
		abandoned[i] = cl.state == stateAbandoned
		cl.state = stateDone
	}
	c.pending, c.inflight = nil, nil
	close(c.closed)
	c.mu.Unlock()
	c.nc.Close()
	var notSent error
	if unsent > 0 {
		notSent = fmt.Errorf("%w: %w", ErrNotSent, err)
	}
	for i, cl := range victims {
		if i < unsent {
			c.deliver(cl, abandoned[i], nil, notSent)
		} else {
			c.deliver(cl, abandoned[i], nil, err)
		}
	}
	if errors.Is(err, gregor.ErrClosed) {
		c.log.Debug("gregor: connection closed")
	} else {
		c.log.Info("gregor: disconnected", slog.Any("err", err), slog.Int("failed_requests", len(victims)))
	}
	c.m.connClosed(c)
}

// Close closes the connection, failing queued and in-flight requests with
// gregor.ErrClosed, and waits for its goroutines to exit.
func (c *Conn) Close() {
	c.fail(fmt.Errorf("gregor: broker %d (%s): %w", c.id, c.addr, gregor.ErrClosed))
	c.wg.Wait()
	c.stopGuard()
}

// stopGuard stops the reader's takeover timer once the readers are gone.
func (c *Conn) stopGuard() {
	c.gmu.Lock()
	c.stopped = true
	if c.guard != nil {
		c.guard.Stop()
	}
	c.gmu.Unlock()
}

// Retire closes the connection because the pool no longer wants it (idle,
// or its broker left the cluster). Requests still on it fail with a
// retriable *gregor.NetworkError, so callers retry on a new connection.
func (c *Conn) Retire(reason string) {
	c.fail(c.netErr("retired", errors.New(reason)))
	c.wg.Wait()
	c.stopGuard()
}

func (c *Conn) netErr(op string, err error) error {
	return &gregor.NetworkError{Broker: c.id, Addr: c.addr, Op: op, Err: err}
}

// responseBuf returns the buffer for a response of size bytes: from the
// request's ResponseAllocator when the next response belongs to a request
// that has one, else a new slice.
func (c *Conn) responseBuf(size int) []byte {
	if peek, err := c.br.Peek(4); err == nil {
		corr := int32(binary.BigEndian.Uint32(peek))
		var alloc ResponseAllocator
		c.mu.Lock()
		if len(c.inflight) > 0 && c.inflight[0].corr == corr && c.inflight[0].state != stateAbandoned {
			alloc, _ = c.inflight[0].req.(ResponseAllocator)
		}
		c.mu.Unlock()
		if alloc != nil {
			if b := alloc.AllocResponse(size); len(b) == size {
				return b
			}
		}
	}
	return make([]byte, size)
}

// readLoop reads responses and hands each to the oldest in-flight request,
// checking that the correlation ids match. id numbers the reader: one
// reads at a time, and a new one takes over when a completion holds the
// current one too long (see completeOnReader).
func (c *Conn) readLoop(id uint64) {
	defer c.wg.Done()
	var hdr [4]byte
	for {
		if _, err := io.ReadFull(c.br, hdr[:]); err != nil {
			c.fail(c.readErr(err))
			return
		}
		size := int32(binary.BigEndian.Uint32(hdr[:]))
		if size < 4 || size > c.cfg.MaxResponseSize {
			c.fail(&gregor.NetworkError{Broker: c.id, Addr: c.addr, Op: "read",
				Err: &gregor.ResponseSizeError{Broker: c.id, Addr: c.addr, Size: size, Max: c.cfg.MaxResponseSize}})
			return
		}
		buf := c.responseBuf(int(size))
		if _, err := io.ReadFull(c.br, buf); err != nil {
			c.fail(c.readErr(err))
			return
		}
		corr := int32(binary.BigEndian.Uint32(buf))
		now := time.Now()
		c.lastUse.Store(now.UnixNano())
		c.mu.Lock()
		if len(c.inflight) == 0 || c.inflight[0].corr != corr {
			c.mu.Unlock()
			c.fail(c.netErr("read", fmt.Errorf("%w: response with unexpected correlation id %d", errProtocol, corr)))
			return
		}
		cl := c.inflight[0]
		// Shift rather than reslice, so that the list keeps its capacity
		// and appending the next call allocates nothing.
		n := copy(c.inflight, c.inflight[1:])
		c.inflight[n] = nil
		c.inflight = c.inflight[:n]
		if len(c.inflight) == 0 {
			c.nc.SetReadDeadline(time.Time{})
		} else {
			c.nc.SetReadDeadline(c.inflight[0].deadline)
		}
		// A response may come before the write of its request has
		// returned: the broker had all of the request, so the kernel had
		// copied it from the request's memory, and that part of a vectored
		// write is not read again. The result is held back all the same
		// (settleWritten), so that the caller's guarantee does not rest on
		// that reasoning, or on writev, which the race detector does not
		// see, and a call is only ever delivered by one goroutine.
		writing := cl.writing
		abandoned := cl.state == stateAbandoned
		if !writing {
			cl.state = stateDone
		}
		c.mu.Unlock()

		body := buf[4:]
		var err error
		if cl.flexResp {
			if body, err = skipHeaderTags(body); err != nil {
				err = c.netErr("decode", err)
			}
		}
		c.m.read(c, int(size)+4)
		c.m.latency(c, cl.key, now.Sub(cl.start))
		if c.log.Enabled(context.Background(), slog.LevelDebug) {
			c.log.Debug("gregor: response", slog.Int("api_key", int(cl.key)), slog.Int("version", int(cl.ver)),
				slog.Int("correlation_id", int(corr)), slog.Duration("latency", now.Sub(cl.start)), slog.Bool("abandoned", abandoned))
		}
		parked := false
		if writing {
			parked, abandoned = c.settleWritten(cl, body, err)
		}
		if !parked {
			if cl.comp != nil && !abandoned && err == nil {
				if !c.completeOnReader(id, cl, body, now) {
					return
				}
				continue
			}
			c.deliver(cl, abandoned, body, err)
		}
		if err != nil {
			c.fail(err)
			return
		}
	}
}

// settleWritten settles the reader's call cl, which the writer was still
// writing when its response came: if the write has not returned yet, it
// parks the result for the writer and reports parked. Otherwise cl is the
// reader's to deliver: it is marked done, and abandoned reports whether its
// caller gave up meanwhile.
func (c *Conn) settleWritten(cl *call, body []byte, err error) (parked, abandoned bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl.writing {
		cl.body, cl.err, cl.parked = body, err, true
		return true, false
	}
	abandoned = cl.state == stateAbandoned
	cl.state = stateDone
	return false, abandoned
}

func (c *Conn) readErr(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return c.netErr("timeout", fmt.Errorf("no response within the request timeout: %w", err))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return c.netErr("read", fmt.Errorf("connection closed by broker: %w", err))
	}
	return c.netErr("read", err)
}

// skipHeaderTags removes response header v1's tagged fields.
//
// protocol.ReadResponseHeader does the same for codec requests, but it
// derives the header version from the codec's own version table, and this
// connection also carries requests the codec does not describe (raw.Wrap of
// another library's types, API keys newer than the codec), whose header
// version follows their IsFlexible. The correlation id has already been
// read and checked by the caller.
func skipHeaderTags(b []byte) ([]byte, error) {
	uvarint := func() (uint64, error) {
		v, w := binary.Uvarint(b)
		switch {
		case w == 0:
			return 0, errHeaderTruncated
		case w < 0 || v > 1<<32-1:
			return 0, errHeaderMalformed
		}
		b = b[w:]
		return v, nil
	}
	n, err := uvarint()
	for i := uint64(0); i < n && err == nil; i++ {
		var size uint64
		if _, err = uvarint(); err != nil { // tag
			break
		}
		if size, err = uvarint(); err == nil && size > uint64(len(b)) {
			err = errHeaderTruncated
		}
		if err == nil {
			b = b[size:]
		}
	}
	if err != nil {
		return nil, err
	}
	return b, nil
}

var (
	errHeaderTruncated = fmt.Errorf("response header tagged fields: %w", protocol.ErrTruncated)
	errHeaderMalformed = fmt.Errorf("response header tagged fields: %w", protocol.ErrMalformed)
)
