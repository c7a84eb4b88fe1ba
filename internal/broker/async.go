package broker

import (
	"context"
	"time"
)

// Completer takes the result of a request queued with EnqueueAsync.
type Completer interface {
	// Complete is called exactly once per queued request, with what Wait
	// would have returned; the connection no longer reads the request's
	// memory by then. A response read without error is completed on the
	// connection's reader goroutine itself, so Complete should be quick:
	// while it runs, no other response of the connection is read, until
	// it has run for readerGuard and another reader takes over. Every other
	// result (connection failures, requests that could not be written, a
	// response that came before its request's write returned) is completed
	// on a goroutine of its own.
	Complete(resp Response, err error)
}

// readerGuard is how long a completion may hold the reader before a new
// reader goroutine goes on reading the connection's responses. A quick
// completion never reaches it; one that blocks (a callback producing into
// a full buffer, or waiting for a response on this same connection) then
// delays the others by at most about twice this. The timer that checks is
// armed by a completion only when it is not armed already, so that it
// fires at most once per readerGuard however many responses come: arming
// a timer per response cost a thread wake-up per response.
const readerGuard = 10 * time.Millisecond

// EnqueueAsync queues req like EnqueueNow (written on the calling
// goroutine when no write is under way), and hands its result to done
// instead of to a Wait: one goroutine hand-over less per request, and none
// at all for a quick completion. done may run before EnqueueAsync returns.
// When EnqueueAsync returns an error, req was not queued and done is not
// called. Nothing abandons a queued request: the caller that stops caring
// closes the connection, which completes it with the connection's error.
func (c *Conn) EnqueueAsync(ctx context.Context, req Request, done Completer) error {
	v, err := c.PickVersion(req)
	if err != nil {
		return err
	}
	_, err = c.enqueueCall(ctx, req, v, true, done)
	return err
}

// completeAsync hands an async call's result to its completer on a new
// goroutine, for every path but the reader's: those run with c.mu held,
// or on a caller's goroutine that must not run another's completion.
// cl must be done (an async call is never abandoned); it is recycled here.
func completeAsync(cl *call, body []byte, err error) {
	done, resp := cl.comp, Response{Version: cl.ver, Body: body}
	putCall(cl)
	go done.Complete(resp, err)
}

// completeOnReader runs an async call's completion on reader id (see
// readLoop); now is when the response was read. It reports whether this
// reader goes on reading: not when the completion held it past
// readerGuard and another reader took over.
func (c *Conn) completeOnReader(id uint64, cl *call, body []byte, now time.Time) bool {
	done, resp, noSlot := cl.comp, Response{Version: cl.ver, Body: body}, cl.noSlot
	putCall(cl)
	if !noSlot {
		<-c.sem
	}
	c.gmu.Lock()
	c.busyReader, c.busySince = id, now
	if !c.guardArmed {
		c.guardArmed = true
		if c.guard == nil {
			c.guard = time.AfterFunc(readerGuard, c.takeOver)
		} else {
			c.guard.Reset(readerGuard)
		}
	}
	c.gmu.Unlock()
	done.Complete(resp, nil)
	c.gmu.Lock()
	defer c.gmu.Unlock()
	if c.busyReader != id {
		return false // retired: another reader reads now
	}
	c.busyReader = 0
	return true
}

// takeOver runs when the guard timer fires. If a completion has held the
// reader for readerGuard, a new reader starts, and the held one exits once
// its completion returns. While a completion runs the timer is armed
// again for the moment it would become overdue; otherwise it stays
// unarmed until the next completion.
func (c *Conn) takeOver() {
	c.gmu.Lock()
	defer c.gmu.Unlock()
	if c.busyReader == 0 || c.stopped {
		c.guardArmed = false
		return
	}
	if held := time.Since(c.busySince); held < readerGuard {
		c.guard.Reset(readerGuard - held)
		return
	}
	// The held reader counts in wg until it sees busyReader changed, which
	// it checks under gmu: the count cannot reach zero before this Add.
	c.readers++
	c.busyReader = 0
	c.guardArmed = false
	c.wg.Add(1)
	go c.readLoop(c.readers)
}
