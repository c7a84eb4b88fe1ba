package producer

import (
	"sync"
	"sync/atomic"
	"time"
)

// stampTick is how often a running stampClock refreshes its time.
const stampTick = time.Millisecond

// stampClock stamps records that come without a timestamp. Kafka keeps
// record timestamps in milliseconds, yet reading the clock costs 30-80 ns
// on common virtual machines, which is a tenth of the producer's whole cost
// for a small record. So while records arrive quickly (more than
// stampBurst within one tick) the clock is read once a tick by a goroutine
// and each record takes that reading: a stamp is then up to one tick, plus
// however late the Go runtime runs the goroutine, behind the moment of the
// Produce call. When records slow down the goroutine stops after
// stampIdleTicks ticks without a read, and each record reads the clock
// itself again.
type stampClock struct {
	cached  atomic.Int64 // Unix nanoseconds as of the last tick
	running atomic.Bool  // the refreshing goroutine is running
	used    atomic.Bool  // a stamp was taken since the last tick

	// Direct reads count off bursts: every stampBurst-th read compares
	// its time with the previous one's.
	direct    atomic.Uint32
	burstMark atomic.Int64

	mu      sync.Mutex // guards starting against stopping
	stopped bool
	quit    chan struct{}
	wg      sync.WaitGroup
}

const (
	// stampBurst direct reads within one tick start the refreshing
	// goroutine. Below that rate (128,000 records a second) a process that
	// idles between records pays more for waking up every tick than for
	// the clock reads the goroutine saves: measured at 50,000 records a
	// second, a threshold of 32 cost about 3% more CPU than this one.
	stampBurst = 128
	// stampIdleTicks ticks without a stamp stop it.
	stampIdleTicks = 16
)

func newStampClock() *stampClock {
	return &stampClock{quit: make(chan struct{})}
}

// now returns the time to stamp a record with.
func (c *stampClock) now() time.Time {
	if c.running.Load() {
		if !c.used.Load() {
			c.used.Store(true)
		}
		return time.Unix(0, c.cached.Load())
	}
	t := time.Now()
	if c.direct.Add(1)%stampBurst == 0 {
		ns := t.UnixNano()
		if prev := c.burstMark.Swap(ns); ns-prev < int64(stampTick) {
			c.start(ns)
		}
	}
	return t
}

// start runs the refreshing goroutine unless it runs or the clock stopped.
func (c *stampClock) start(ns int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped || c.running.Load() {
		return
	}
	c.cached.Store(ns)
	c.used.Store(true)
	c.running.Store(true)
	c.wg.Add(1)
	go c.refresh()
}

// refresh stores the time every tick until the clock is stopped or no stamp
// was taken for stampIdleTicks ticks.
func (c *stampClock) refresh() {
	defer c.wg.Done()
	t := time.NewTicker(stampTick)
	defer t.Stop()
	idle := 0
	for {
		select {
		case <-c.quit:
			c.running.Store(false)
			return
		case <-t.C:
		}
		c.cached.Store(time.Now().UnixNano())
		if c.used.Swap(false) {
			idle = 0
			continue
		}
		if idle++; idle >= stampIdleTicks {
			// A stamp taken while this returns reads the time stored just
			// above, at most one tick old.
			c.mu.Lock()
			c.running.Store(false)
			c.mu.Unlock()
			return
		}
	}
}

// stop ends the refreshing goroutine for good and waits for it; later
// stamps read the clock directly.
func (c *stampClock) stop() {
	c.mu.Lock()
	if !c.stopped {
		c.stopped = true
		close(c.quit)
	}
	c.mu.Unlock()
	c.wg.Wait()
}
