package broker

import (
	"encoding/binary"
	"fmt"
	"net"
	"time"

	"github.com/gregorkafka/gregor/protocol"
)

// writeLoop takes batches of queued requests, encodes them into one pooled
// buffer and writes them with one system call. On a plain TCP connection,
// the record batches of requests that implement SegmentAppender stay where
// they are and go out with the buffer in one vectored write (writev);
// elsewhere (TLS, where each piece would become a TLS record of its own, or
// any other net.Conn) everything is copied into the buffer.
func (c *Conn) writeLoop() {
	defer c.wg.Done()
	defer func() {
		c.wmu.Lock()
		if bp := c.cw.bp; cap(*bp) <= maxPooledBuf {
			bufPool.Put(bp)
		}
		c.cw = nil
		c.wmu.Unlock()
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
			c.wmu.Lock()
			err := c.reauthenticate(c.cw.bp)
			c.wmu.Unlock()
			if err != nil {
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
		c.wmu.Lock()
		ok := c.writeBatch(c.cw)
		c.wmu.Unlock()
		if !ok {
			return
		}
	}
}

// connWriter is the writer goroutine's reusable state.
type connWriter struct {
	bp       *[]byte           // the pooled write buffer
	vectored bool              // record batches may go out in place (plain TCP)
	segs     protocol.Segments // the batches left out of *bp
	vec      [][]byte          // the pieces of a vectored write
	nb       net.Buffers       // what WriteTo consumes: a field, so that taking its address allocates nothing
	raw      *rawSocket        // writes go through it when set (see rawSocket)
	one      [1][]byte         // a single buffer as a vector for raw
}

// writeBatch writes every pending request; it returns false once the
// connection is dead.
//
// The calls it takes are marked writing until the write has returned, and
// until then nobody else hands them their result: fail and the reader park
// it in the call (see settleWritten), and the writer delivers it after the
// write. A caller therefore never has its result while the connection may
// still read its request's memory, which a vectored write reads in place
// during the system call rather than while encoding.
func (c *Conn) writeBatch(w *connWriter) bool {
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
		cl.writing = true
	}
	c.mu.Unlock()
	if len(batch) == 0 {
		c.mu.Lock()
		c.spare = batch
		c.mu.Unlock()
		return true
	}

	buf := (*w.bp)[:0]
	w.segs.Reset()
	var bad []int // calls whose encoding failed
	for i, cl := range batch {
		var segs *protocol.Segments
		if w.vectored {
			if _, ok := cl.req.(SegmentAppender); ok {
				segs = &w.segs
			}
		}
		var err error
		if buf, err = c.appendRequest(buf, cl.req, cl.key, cl.ver, cl.corr, segs); err != nil {
			cl.err = fmt.Errorf("gregor: broker %d (%s): encoding API key %d v%d: %w", c.id, c.addr, cl.key, cl.ver, err)
			bad = append(bad, i)
		}
	}
	*w.bp = buf
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
			w.segs.Reset()
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
		w.segs.Reset()
		return false
	}
	for _, cl := range batch {
		if cl.noResp {
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
	segs := len(w.segs.List())
	n, err := w.write(c.nc, buf)
	c.m.wrote(c, n)
	if c.testWrote != nil {
		c.testWrote(segs)
	}
	for _, cl := range batch {
		if wn, ok := cl.req.(WriteNotifier); ok {
			wn.Written()
		}
	}
	if err != nil {
		err = c.netErr("write", err)
	}

	// The write has returned: from here on nothing reads the requests'
	// memory, so their results may go to their callers.
	c.mu.Lock()
	for _, cl := range batch {
		cl.writing = false
		switch {
		case cl.noResp:
			ab := cl.state == stateAbandoned
			cl.state = stateDone
			c.deliver(cl, ab, nil, err)
		case cl.parked:
			ab := cl.state == stateAbandoned
			cl.state = stateDone
			c.deliver(cl, ab, cl.body, cl.err)
		}
		// Any other call is in c.inflight and belongs to the reader (or
		// to fail) from now on: it must not be touched after this loop.
	}
	c.mu.Unlock()
	clear(batch)
	if err != nil {
		c.fail(err)
		return false
	}
	c.mu.Lock()
	c.spare = batch[:0]
	c.mu.Unlock()
	return true
}

// write writes buf with the collected segments spliced in, with one
// vectored write when there are segments (net.Buffers issues more than one
// system call only past 1024 pieces or after a short write). It returns
// the bytes of the whole batch, written or not, for the metrics, and
// forgets the segments.
func (w *connWriter) write(nc net.Conn, buf []byte) (int, error) {
	list := w.segs.List()
	if len(list) == 0 {
		if w.raw != nil {
			w.one[0] = buf
			err := w.raw.writev(w.one[:])
			w.one[0] = nil
			return len(buf), err
		}
		_, err := nc.Write(buf)
		return len(buf), err
	}
	total := len(buf) + w.segs.Size()
	vec, at := w.vec[:0], 0
	for _, sg := range list {
		if sg.Offset > at {
			vec = append(vec, buf[at:sg.Offset])
		}
		vec = append(vec, sg.Data)
		at = sg.Offset
	}
	if at < len(buf) {
		vec = append(vec, buf[at:])
	}
	var err error
	if w.raw != nil {
		err = w.raw.writev(vec)
	} else {
		w.nb = vec // WriteTo consumes w.nb; vec keeps the backing array
		_, err = w.nb.WriteTo(nc)
	}
	clear(vec)
	w.vec = vec[:0]
	w.segs.Reset()
	return total, err
}

// appendRequest appends one framed request: size, header and body. With
// segs (req is then a SegmentAppender), the body's large record batches are
// added to segs instead of b, and the frame's size counts them. On error b
// (and segs) are returned unchanged.
func (c *Conn) appendRequest(b []byte, req Request, key, ver int16, corr int32, segs *protocol.Segments) ([]byte, error) {
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
	var err error
	left := 0 // bytes left out of b, in segs
	if segs != nil {
		before := segs.Size()
		b, err = req.(SegmentAppender).AppendSegmentsTo(b, segs)
		left = segs.Size() - before
	} else {
		b, err = req.AppendTo(b)
	}
	if err != nil {
		return b[:start], err
	}
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4+left))
	return b, nil
}
