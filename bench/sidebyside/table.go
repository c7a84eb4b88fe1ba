package main

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
)

// metric is one column of the table.
type metric struct {
	title string
	get   func(result) float64
}

var metrics = []metric{
	{"records/s", func(r result) float64 { return r.RecPerSec }},
	{"MB/s", func(r result) float64 { return r.MBPerSec }},
	{"CPU s per M records", func(r result) float64 { return r.CPUPerM }},
	{"allocs/record", func(r result) float64 { return r.AllocsRec }},
	{"peak RSS MiB", func(r result) float64 { return r.PeakRSSMiB }},
	{"p50 ms", func(r result) float64 { return r.P50Ms }},
	{"p99 ms", func(r result) float64 { return r.P99Ms }},
}

func printHeader() {
	fmt.Println("Each cell: Gregor / franz-go (ratio Gregor/franz-go), medians of the rounds.")
	fmt.Println()
	var b strings.Builder
	b.WriteString("| scenario |")
	for _, m := range metrics {
		b.WriteString(" " + m.title + " |")
	}
	b.WriteString("\n|---|")
	for range metrics {
		b.WriteString("---|")
	}
	fmt.Println(b.String())
}

// printRow prints one scenario's medians; failures go in the last cell.
func printRow(s scenario, got map[string][]result, failures []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s |", s.name())
	for _, m := range metrics {
		g, gok := median(got["gregor"], m.get)
		f, fok := median(got["franz"], m.get)
		switch {
		case !gok || !fok || (g == 0 && f == 0):
			b.WriteString(" – |")
		case f == 0:
			fmt.Fprintf(&b, " %s / %s |", num(g), num(f))
		default:
			fmt.Fprintf(&b, " %s / %s (%.2f) |", num(g), num(f), g/f)
		}
	}
	if len(failures) > 0 {
		fmt.Fprintf(&b, " FAILED: %s |", strings.Join(failures, "; "))
	}
	fmt.Println(b.String())
}

// median returns the median of get over rs.
func median(rs []result, get func(result) float64) (float64, bool) {
	if len(rs) == 0 {
		return 0, false
	}
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = get(r)
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

// num formats a value with three significant digits and a k/M suffix.
func num(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.3gk", v/1e3)
	case v >= 1:
		return fmt.Sprintf("%.3g", v)
	}
	return fmt.Sprintf("%.2g", v)
}

// machine describes the host: CPU model, cores and load average.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s, %s", model, runtime.NumCPU(), runtime.Version(), loadAvg())
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load average unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "load average unknown"
	}
	return "load average " + strings.Join(f[:3], " ")
}
