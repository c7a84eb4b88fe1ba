package main

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// measurement is what a mode hands back to run.
type measurement struct {
	records, failed int
	bytes           int64
	elapsed, cpu    time.Duration
	mallocs         uint64
	allocBytes      uint64
	lat             []time.Duration // sorted, produce with -rate only
}

// meter takes the process's CPU time and allocation counters at start and
// at stop.
type meter struct {
	cpu     time.Duration
	mallocs uint64
	bytes   uint64
}

func (m *meter) start() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m.mallocs, m.bytes = ms.Mallocs, ms.TotalAlloc
	m.cpu = cpuTime()
}

// stop fills out's cpu and allocation fields with the differences since
// start.
func (m *meter) stop(out *measurement) {
	out.cpu = cpuTime() - m.cpu
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	out.mallocs, out.allocBytes = ms.Mallocs-m.mallocs, ms.TotalAlloc-m.bytes
}

// cpuTime returns the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// peakRSS returns the process's peak resident set in bytes: VmHWM from
// /proc/self/status, else getrusage's maxrss (kilobytes on Linux).
func peakRSS() int64 {
	if f, err := os.Open("/proc/self/status"); err == nil {
		defer f.Close()
		s := bufio.NewScanner(f)
		for s.Scan() {
			line := s.Bytes()
			if rest, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
				kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(rest, []byte("kB")))), 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss) << 10
}
