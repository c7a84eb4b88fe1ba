// Command sidebyside runs Gregor and franz-go through the benchmark
// scenarios of bench/kafkabench, alternating the two clients' processes
// (gregor, franz, franz, gregor, ...) for -rounds rounds per scenario, and
// prints a Markdown table of the medians with the ratio Gregor/franz-go.
//
// Without -brokers each scenario gets a fresh kfake broker in a separate
// process (bench/kfakeserver): one that discards produced records for the
// producer scenarios, one seeded with the scenario's records for the
// consumer ones. With -brokers it uses that cluster (for example the one
// `go run ./integration/cmd/kafka-node` starts): each produce run writes
// to a new topic that is deleted after it, and the consumer topics are
// seeded once and deleted at the end.
//
//	go run ./bench/sidebyside -suite consume
//	go run ./bench/sidebyside -suite produce -brokers 127.0.0.1:PORT
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"time"
)

// result is the part of kafkabench's JSON line the tables use.
type result struct {
	Client     string  `json:"client"`
	RecPerSec  float64 `json:"records_per_s"`
	MBPerSec   float64 `json:"mb_per_s"`
	CPUPerM    float64 `json:"cpu_s_per_m"`
	AllocsRec  float64 `json:"allocs_per_rec"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
}

var clients = []string{"gregor", "franz"}

// roundOrder is the order of the clients in round r: reversed every other
// round (gregor, franz, franz, gregor, ...), so that neither client is
// always the one that runs first, on a broker that has just been idle or is
// still finishing the previous run's work.
func roundOrder(r int) []string {
	if r%2 == 0 {
		return clients
	}
	return []string{clients[1], clients[0]}
}

func main() {
	brokers := flag.String("brokers", "", "a running cluster's seed brokers; empty runs kfakeserver per scenario")
	suite := flag.String("suite", "all", "produce, consume or all")
	only := flag.String("only", "", "run only scenarios whose name matches this regexp")
	rounds := flag.Int("rounds", 3, "runs per client per scenario")
	scale := flag.Float64("scale", 1, "multiplies every scenario's record count")
	raw := flag.String("raw", "", "append every run's JSON line to this file")
	extra := flag.String("args", "", "extra kafkabench flags for every run (space-separated)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := mainErr(ctx, *brokers, *suite, *only, *rounds, *scale, *raw, strings.Fields(*extra)); err != nil {
		fmt.Fprintln(os.Stderr, "sidebyside:", err)
		os.Exit(1)
	}
}

func mainErr(ctx context.Context, brokers, suite, only string, rounds int, scale float64, rawPath string, extra []string) error {
	var ss []scenario
	if suite == "produce" || suite == "all" {
		ss = append(ss, produceScenarios(scale)...)
	}
	if suite == "consume" || suite == "all" {
		ss = append(ss, consumeScenarios(scale)...)
	}
	if only != "" {
		re, err := regexp.Compile(only)
		if err != nil {
			return fmt.Errorf("-only: %w", err)
		}
		ss = slices.DeleteFunc(ss, func(s scenario) bool { return !re.MatchString(s.name()) })
	}
	if len(ss) == 0 {
		return errors.New("no scenario selected")
	}
	dir, err := os.MkdirTemp("", "sidebyside")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bench, fakeSrv := filepath.Join(dir, "kafkabench"), filepath.Join(dir, "kfakeserver")
	for bin, pkg := range map[string]string{bench: "kafkabench", fakeSrv: "kfakeserver"} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/gregorkafka/gregor/bench/"+pkg)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s: %w", pkg, err)
		}
	}
	var raw io.Writer = io.Discard
	if rawPath != "" {
		f, err := os.OpenFile(rawPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		raw = f
	}

	target := "kfakeserver (separate process)"
	if brokers != "" {
		target = "brokers " + brokers
	}
	fmt.Printf("Target: %s; %d rounds per client, alternating (ABBA); %s\n\n", target, rounds, machine())
	printHeader()
	runID := time.Now().Unix()
	seeded := map[string]string{} // seed key -> topic, real brokers only
	for _, s := range ss {
		if err := ctx.Err(); err != nil {
			return err
		}
		addr, topic, done, err := prepare(ctx, s, brokers, bench, fakeSrv, runID, seeded)
		if err != nil {
			fmt.Printf("| %s | setup failed: %v |\n", s.name(), err)
			continue
		}
		got := map[string][]result{}
		var failures []string
		for r := 0; r < rounds; r++ {
			for _, c := range roundOrder(r) {
				runTopic, err := runTopicFor(ctx, s, bench, brokers, topic, r, c)
				if err != nil {
					failures = append(failures, fmt.Sprintf("%s: %v", c, err))
					continue
				}
				args := append([]string{"-brokers", addr, "-client", c, "-topic", runTopic}, s.args()...)
				res, line, err := runBench(ctx, bench, append(args, extra...))
				if runTopic != topic {
					dropTopic(ctx, bench, brokers, runTopic)
				}
				if err != nil {
					failures = append(failures, fmt.Sprintf("%s: %v", c, err))
					continue
				}
				fmt.Fprintln(raw, line)
				got[c] = append(got[c], res)
			}
		}
		done()
		printRow(s, got, failures)
	}
	for _, t := range seeded {
		dropTopic(ctx, bench, brokers, t)
	}
	fmt.Printf("\nAfter the run: %s\n", loadAvg())
	return nil
}

// prepare makes the scenario's broker and topic ready: a new kfakeserver
// process (done stops it) or, on real brokers, a new or already seeded
// topic.
func prepare(ctx context.Context, s scenario, brokers, bench, fakeSrv string, runID int64, seeded map[string]string) (addr, topic string, done func(), err error) {
	consume := s.mode != "produce"
	if brokers == "" {
		args := []string{"-partitions", fmt.Sprint(s.partitions), "-topic", "bench"}
		if consume {
			args = append(args, "-seed-records", fmt.Sprint(s.records), "-seed-size", fmt.Sprint(s.size), "-seed-codec", s.codec)
		} else {
			args = append(args, "-discard")
		}
		addr, done, err := startFake(ctx, fakeSrv, args)
		return addr, "bench", done, err
	}
	nothing := func() {}
	if consume {
		if t, ok := seeded[s.seedKey()]; ok {
			return brokers, t, nothing, nil
		}
		topic = fmt.Sprintf("bench-%d-%s", runID, s.seedKey())
		args := append([]string{"-brokers", brokers, "-topic", topic}, s.args()...)
		if _, _, err := runBench(ctx, bench, append(args, "-mode", "seed")); err != nil {
			return "", "", nil, err
		}
		seeded[s.seedKey()] = topic
		return brokers, topic, nothing, nil
	}
	// Each produce run gets a topic of its own (see runTopicFor).
	topic = fmt.Sprintf("bench-%d-p%d-%s", runID, s.partitions, strings.NewReplacer(" ", "-", "@", "", "/", "").Replace(s.name()))
	return brokers, topic, nothing, nil
}

// runTopicFor returns the topic one run uses. On a real broker a produce
// run writes to a new, empty topic that is deleted after the run, so that
// no run pays for the data of the ones before it (a 1 KiB scenario writes
// over a gigabyte a run, and a broker whose log directory keeps growing
// soon spends its time on page cache eviction and disk writeback, whichever
// client is running). Elsewhere it is the scenario's topic.
func runTopicFor(ctx context.Context, s scenario, bench, brokers, topic string, round int, client string) (string, error) {
	if brokers == "" || s.mode != "produce" {
		return topic, nil
	}
	t := fmt.Sprintf("%s-r%d-%s", topic, round, client)
	args := []string{"-brokers", brokers, "-topic", t, "-mode", "seed", "-records", "0", "-partitions", fmt.Sprint(s.partitions)}
	_, _, err := runBench(ctx, bench, args)
	return t, err
}

// dropTopic deletes a benchmark topic from a real broker, reporting a
// failure on stderr only: the results stand either way.
func dropTopic(ctx context.Context, bench, brokers, topic string) {
	if _, _, err := runBench(ctx, bench, []string{"-brokers", brokers, "-topic", topic, "-mode", "delete"}); err != nil {
		fmt.Fprintf(os.Stderr, "sidebyside: deleting %s: %v\n", topic, err)
	}
}

// startFake starts kfakeserver and waits for its "ready <addr>" line.
func startFake(ctx context.Context, bin string, args []string) (string, func(), error) {
	cmd := exec.Command(bin, append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ready "); ok {
				ready <- a
			}
		}
		close(ready)
	}()
	select {
	case a, ok := <-ready:
		if !ok {
			stop()
			return "", nil, errors.New("kfakeserver exited before it was ready")
		}
		return a, stop, nil
	case <-ctx.Done():
		stop()
		return "", nil, ctx.Err()
	}
}

// runBench runs kafkabench once and parses its result line.
func runBench(ctx context.Context, bin string, args []string) (result, string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return result{}, "", fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	line := strings.TrimSpace(string(out))
	if line == "" {
		return result{}, "", nil
	}
	var r result
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return result{}, "", fmt.Errorf("parsing %q: %w", line, err)
	}
	return r, line, nil
}
