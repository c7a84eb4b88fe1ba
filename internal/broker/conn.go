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
	br   *bufio.Reader
	log  *slog.Logger

	versions []versionRange   // indexed by API key; set once by the handshake, then read-only
	features map[string]int16 // finalized feature levels (ApiVersions v3+); set once by the handshake

	sem    chan struct{} // in-flight slots
	notify chan struct{} // wakes the writer
	closed chan struct{} // closed when the connection dies

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

	lat   [96]latencyAttrs         // reader-owned cache of metric attributes per API key
	ioOpt metric.MeasurementOption // broker attributes, set before the goroutines start
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
		br:     bufio.NewReaderSize(nc, 32<<10),
		log:    cfg.Logger.With(slog.Int("broker", int(id)), slog.String("addr", addr), slog.String("role", role)),
		sem:    make(chan struct{}, cfg.MaxInFlightPerConn),
		notify: make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	c.lastUse.Store(time.Now().UnixNano())
	c.ioOpt = c.brokerAttrs()
	c.wg.Add(2)
	go c.writeLoop()
	go c.readLoop()
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
func (c *Conn) Do(ctx context.Context, req Request) (Response, error) {
	v, err := c.PickVersion(req)
	if err != nil {
		return Response{}, err
	}
	return c.do(ctx, req, v)
}

func (c *Conn) do(ctx context.Context, req Request, v int16) (Response, error) {
	cl, err := c.enqueue(ctx, req, v)
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
// producer pipeline ordered requests. The caller must call Wait exactly once.
func (c *Conn) Enqueue(ctx context.Context, req Request) (*Pending, error) {
	v, err := c.PickVersion(req)
	if err != nil {
		return nil, err
	}
	cl, err := c.enqueue(ctx, req, v)
	if err != nil {
		return nil, err
	}
	return &Pending{c: c, cl: cl, req: req}, nil
}

// Wait waits for the response of a queued request, as Do does after
// queueing. When ctx ends first and the request was still unwritten, the
// error wraps ErrNotSent as well as ctx's error.
func (p *Pending) Wait(ctx context.Context) (Response, error) {
	return p.c.wait(ctx, p.cl, p.req)
}

// ErrNotSent marks a request dropped before any of it was written.
var ErrNotSent = errors.New("gregor: request not sent")

func (c *Conn) enqueue(ctx context.Context, req Request, v int16) (*call, error) {
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
	cl.req, cl.key, cl.ver = req, req.Key(), v
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
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return cl, nil
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
	} else {
		cl.body, cl.err = body, err
		cl.done <- struct{}{}
	}
	if !noSlot {
		<-c.sem
	}
}

// fail kills the connection: it closes the socket and fails every queued and
// in-flight request with err. Only the first call has an effect.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return
	}
	c.dead, c.deadErr = true, err
	victims := append(c.pending, c.inflight...)
	abandoned := make([]bool, len(victims))
	for i, cl := range victims {
		abandoned[i] = cl.state == stateAbandoned
		cl.state = stateDone
	}
	c.pending, c.inflight = nil, nil
	close(c.closed)
	c.mu.Unlock()
	c.nc.Close()
	for i, cl := range victims {
		c.deliver(cl, abandoned[i], nil, err)
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
}

// Retire closes the connection because the pool no longer wants it (idle,
// or its broker left the cluster). Requests still on it fail with a
// retriable *gregor.NetworkError, so callers retry on a new connection.
func (c *Conn) Retire(reason string) {
	c.fail(c.netErr("retired", errors.New(reason)))
	c.wg.Wait()
}

func (c *Conn) netErr(op string, err error) error {
	return &gregor.NetworkError{Broker: c.id, Addr: c.addr, Op: op, Err: err}
}

// writeLoop takes batches of queued requests, encodes them into one pooled
// buffer and writes them with one system call.
func (c *Conn) writeLoop() {
	defer c.wg.Done()
	bp := bufPool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledBuf {
			bufPool.Put(bp)
		}
	}()
	var timer *time.Timer
	var timerDue int64
	var timerC <-chan time.Time
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if due := c.reauthDue.Load(); due != timerDue {
			timerDue = due
			if timer != nil {
				timer.Stop()
				timerC = nil
			}
			if due != 0 {
				timer = time.NewTimer(time.Until(time.Unix(0, due)))
				timerC = timer.C
			}
		}
		select {
		case <-c.notify:
		case <-timerC:
			timerC = nil
			c.reauthDue.Store(0)
			timerDue = 0
			if err := c.reauthenticate(bp); err != nil {
				c.fail(err)
				return
			}
			continue
		case <-c.closed:
			return
		}
		if until := c.throttleUntil.Load(); until != 0 {
			if d := time.Until(time.Unix(0, until)); d > 0 {
				t := time.NewTimer(d)
				select {
				case <-t.C:
				case <-c.closed:
					t.Stop()
					return
				}
			}
		}
		if !c.writeBatch(bp) {
			return
		}
	}
}

// writeBatch writes every pending request; it returns false once the
// connection is dead.
func (c *Conn) writeBatch(bp *[]byte) bool {
	c.mu.Lock()
	if c.dead {
		c.mu.Unlock()
		return false
	}
	batch := c.pending
	c.pending, c.spare = c.spare[:0], nil
	for _, cl := range batch {
		c.corr++
		cl.corr = c.corr
		cl.state = stateWriting
	}
	c.mu.Unlock()
	if len(batch) == 0 {
		c.mu.Lock()
		c.spare = batch
		c.mu.Unlock()
		return true
	}

	buf := (*bp)[:0]
	var bad []int // calls whose encoding failed
	for i, cl := range batch {
		var err error
		if buf, err = c.appendRequest(buf, cl.req, cl.key, cl.ver, cl.corr); err != nil {
			cl.err = fmt.Errorf("gregor: broker %d (%s): encoding API key %d v%d: %w", c.id, c.addr, cl.key, cl.ver, err)
			bad = append(bad, i)
		}
	}
	*bp = buf
	if len(bad) > 0 {
		// Settle the calls that could not be encoded; they were never written.
		c.mu.Lock()
		for _, i := range bad {
			cl := batch[i]
			ab := cl.state == stateAbandoned
			cl.state = stateDone
			c.deliver(cl, ab, nil, cl.err)
		}
		kept := batch[:0]
		for i, cl := range batch {
			if len(bad) > 0 && bad[0] == i {
				bad = bad[1:]
				continue
			}
			kept = append(kept, cl)
		}
		clear(batch[len(kept):])
		batch = kept
		c.mu.Unlock()
		if len(batch) == 0 {
			return true
		}
	}

	now := time.Now()
	c.mu.Lock()
	if c.dead {
		// fail ran while we encoded: these calls are ours to finish.
		err := c.deadErr
		for _, cl := range batch {
			ab := cl.state == stateAbandoned
			cl.state = stateDone
			c.deliver(cl, ab, nil, err)
		}
		c.mu.Unlock()
		return false
	}
	var noResp bool
	for _, cl := range batch {
		if cl.noResp {
			noResp = true
			continue
		}
		if cl.state == stateWriting {
			cl.state = stateInflight
		}
		cl.deadline = now.Add(cl.timeout)
		if len(c.inflight) == 0 {
			c.nc.SetReadDeadline(cl.deadline)
		}
		c.inflight = append(c.inflight, cl)
	}
	c.mu.Unlock()

	c.nc.SetWriteDeadline(now.Add(c.cfg.RequestTimeout))
	_, err := c.nc.Write(buf)
	c.m.wrote(c, len(buf))
	if err != nil {
		err = c.netErr("write", err)
	}
	if noResp {
		c.mu.Lock()
		for _, cl := range batch {
			if cl.noResp {
				ab := cl.state == stateAbandoned
				cl.state = stateDone
				c.deliver(cl, ab, nil, err)
			}
		}
		c.mu.Unlock()
	}
	if err != nil {
		c.fail(err)
		return false
	}
	clear(batch)
	c.mu.Lock()
	c.spare = batch[:0]
	c.mu.Unlock()
	return true
}

// appendRequest appends one framed request: size, header and body. On error
// b is returned unchanged.
func (c *Conn) appendRequest(b []byte, req Request, key, ver int16, corr int32) ([]byte, error) {
	start := len(b)
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(ver))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, uint16(len(c.cfg.ClientID)))
	b = append(b, c.cfg.ClientID...)
	if req.IsFlexible() {
		b = append(b, 0) // no tagged fields in the header
	}
	b, err := req.AppendTo(b)
	if err != nil {
		return b[:start], err
	}
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b, nil
}

// readLoop reads responses and hands each to the oldest in-flight request,
// checking that the correlation ids match.
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

func (c *Conn) readLoop() {
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
		c.inflight[0] = nil
		c.inflight = c.inflight[1:]
		if len(c.inflight) == 0 {
			c.nc.SetReadDeadline(time.Time{})
		} else {
			c.nc.SetReadDeadline(c.inflight[0].deadline)
		}
		abandoned := cl.state == stateAbandoned
		cl.state = stateDone
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
		c.deliver(cl, abandoned, body, err)
		if err != nil {
			c.fail(err)
			return
		}
	}
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
