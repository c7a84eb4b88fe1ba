//go:build unix

package record

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user+system) used by the whole process,
// garbage collector threads included. Benchmarks report it per operation as
// "cpu-ns/op", which, unlike ns/op, does not grow when a shared machine keeps
// the benchmark waiting for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
