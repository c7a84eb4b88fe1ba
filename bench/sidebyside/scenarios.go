package main

import (
	"fmt"
	"time"
)

// scenario is one line of a results table: the kafkabench flags both
// clients run with.
type scenario struct {
	mode       string // produce, consume-direct, consume-group
	partitions int
	size       int
	codec      string
	linger     time.Duration
	rate       int
	records    int
}

// name labels the scenario in the table.
func (s scenario) name() string {
	n := fmt.Sprintf("%s %dB p%d %s", s.mode, s.size, s.partitions, s.codec)
	if s.mode == "produce" {
		n += fmt.Sprintf(" linger %s", s.linger)
		if s.rate > 0 {
			n += fmt.Sprintf(" @%d/s", s.rate)
		}
	}
	return n
}

// args are the kafkabench flags for the scenario (brokers, client and
// topic come on top).
func (s scenario) args() []string {
	return []string{
		"-mode", s.mode,
		"-partitions", fmt.Sprint(s.partitions),
		"-size", fmt.Sprint(s.size),
		"-codec", s.codec,
		"-linger", s.linger.String(),
		"-rate", fmt.Sprint(s.rate),
		"-records", fmt.Sprint(s.records),
	}
}

// produceScenarios are the producer issue's: 100-byte records on 1 and 16
// partitions, 1 KiB records, each codec, linger 0 and 5 ms, and the latency
// at a fixed rate; always acks=all and idempotent. scale multiplies the
// record counts.
func produceScenarios(scale float64) []scenario {
	n := func(k int) int { return max(1000, int(float64(k)*scale)) }
	ss := []scenario{
		{mode: "produce", partitions: 1, size: 100, codec: "none", records: n(1_000_000)},
		{mode: "produce", partitions: 16, size: 100, codec: "none", records: n(1_000_000)},
		{mode: "produce", partitions: 16, size: 100, codec: "none", linger: 5 * time.Millisecond, records: n(1_000_000)},
		{mode: "produce", partitions: 16, size: 1024, codec: "none", records: n(300_000)},
	}
	for _, c := range []string{"gzip", "snappy", "lz4", "zstd"} {
		ss = append(ss, scenario{mode: "produce", partitions: 16, size: 100, codec: c, linger: 5 * time.Millisecond, records: n(500_000)})
	}
	for _, l := range []time.Duration{0, 5 * time.Millisecond} {
		ss = append(ss, scenario{mode: "produce", partitions: 16, size: 100, codec: "none", linger: l, rate: 50_000, records: n(250_000)}) // the fixed rate for p99
	}
	return ss
}

// consumeScenarios are the consumer issue's: direct and group, 100-byte and
// 1 KiB records, 16 partitions, none/lz4/zstd.
func consumeScenarios(scale float64) []scenario {
	var ss []scenario
	for _, mode := range []string{"consume-direct", "consume-group"} {
		for _, size := range []int{100, 1024} {
			records := 2_000_000
			if size > 100 {
				records = 400_000
			}
			for _, c := range []string{"none", "lz4", "zstd"} {
				ss = append(ss, scenario{mode: mode, partitions: 16, size: size, codec: c, records: max(1000, int(float64(records)*scale))})
			}
		}
	}
	return ss
}

// seedKey names the data a consume scenario reads, shared by the direct and
// group scenarios.
func (s scenario) seedKey() string {
	return fmt.Sprintf("c-%d-%s-%d", s.size, s.codec, s.records)
}
