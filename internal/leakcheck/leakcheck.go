// Package leakcheck finds goroutines of this module that outlive a test.
// It stands in for go.uber.org/goleak, which is not a dependency.
package leakcheck

import (
	"bytes"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// modulePath marks stack frames of this module's code.
const modulePath = "github.com/gregorkafka/gregor/"

// Snapshot is the set of goroutines alive when it was taken.
type Snapshot map[uint64]bool

// Take records the goroutines alive now.
func Take() Snapshot {
	s := Snapshot{}
	for id := range stacks() {
		s[id] = true
	}
	return s
}

// Leaked waits up to wait for goroutines started since s that run this
// module's code to exit, and returns the stacks of those still running.
func (s Snapshot) Leaked(wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	for {
		var out []string
		for id, st := range stacks() {
			if !s[id] && strings.Contains(st, modulePath) && !ignored(st) {
				out = append(out, st)
			}
		}
		if len(out) == 0 || time.Now().After(deadline) {
			return out
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// ignored reports whether a goroutine belongs to test infrastructure: this
// package, or the Kafka harness, whose process reapers live as long as the
// shared cluster.
func ignored(stack string) bool {
	return strings.Contains(stack, "leakcheck.") || strings.Contains(stack, modulePath+"integration.")
}

// Check fails t, at its cleanup, if goroutines of this module started during
// the test are still running 3 seconds after it ended. Register it before
// the cleanups that close what the test opened, so that it runs after them.
func Check(t testing.TB) {
	t.Helper()
	s := Take()
	t.Cleanup(func() {
		if leaked := s.Leaked(3 * time.Second); len(leaked) > 0 {
			t.Errorf("%d goroutine(s) leaked:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
	})
}

func stacks() map[uint64]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[uint64]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		rest, ok := bytes.CutPrefix(g, []byte("goroutine "))
		if !ok {
			continue
		}
		sp := bytes.IndexByte(rest, ' ')
		if sp < 0 {
			continue
		}
		id, err := strconv.ParseUint(string(rest[:sp]), 10, 64)
		if err == nil {
			out[id] = string(g)
		}
	}
	return out
}
