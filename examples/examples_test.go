package examples_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/integration"
)

func TestMain(m *testing.M) { integration.Main(m) }

// shape is the one cluster every example runs against: a single node with
// every listener, so that the secure example finds SASL and TLS ones.
var shape = integration.LocalConfig{Nodes: 1, SASL: true, TLS: true}

// programs are the example programs the tests build.
var programs = []string{"quickstart", "keyed-producer", "group-consumer", "admin", "secure", "otel"}

// buildPrograms builds every example program into dir with one go build,
// with the race detector when this test binary has it, so that the
// compiled packages come from the same build cache entries as the test's.
func buildPrograms(t *testing.T, dir string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	if raceEnabled {
		args = append(args, "-race")
	}
	for _, p := range programs {
		args = append(args, "./"+p)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	begin := time.Now()
	out, err := exec.CommandContext(ctx, goBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("built %d example programs in %s (race=%t)", len(programs), time.Since(begin).Round(time.Millisecond), raceEnabled)
}

// result is what one run of an example program did.
type result struct {
	stdout, stderr string
	code           int
}

// output is stdout and stderr together, for messages and searches.
func (r result) output() string { return r.stdout + r.stderr }

// runner runs the built programs.
type runner struct {
	dir string
}

// run runs program with args and extra environment variables, bounded by
// two minutes, and returns its output and exit status.
func (rn runner) run(t *testing.T, env []string, program string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(rn.dir, program), args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	begin := time.Now()
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	default:
		t.Fatalf("run %s: %v", program, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish in time:\n%s", program, strings.Join(args, " "), res.output())
	}
	if strings.Contains(res.stderr, "WARNING: DATA RACE") {
		t.Fatalf("%s has a data race:\n%s", program, res.stderr)
	}
	t.Logf("%s %s: exit status %d after %s", program, strings.Join(args, " "), res.code, time.Since(begin).Round(time.Millisecond))
	return res
}

// mustRun runs program and fails the test unless it exits with status 0.
func (rn runner) mustRun(t *testing.T, program string, args ...string) result {
	t.Helper()
	res := rn.run(t, nil, program, args...)
	if res.code != 0 {
		t.Fatalf("%s %s: exit status %d\n%s", program, strings.Join(args, " "), res.code, res.output())
	}
	return res
}

// TestExamples builds every example program once and runs each against the
// shared real broker, with the flags a user would pass, checking what it
// printed and, where the program changes the cluster, the cluster itself.
// The subtest FakeCluster runs each program as `go run` would, with no
// broker, against its in-process fake cluster.
func TestExamples(t *testing.T) {
	rn := runner{dir: t.TempDir()}
	buildPrograms(t, rn.dir)
	t.Run("FakeCluster", func(t *testing.T) {
		for _, p := range programs {
			t.Run(p, func(t *testing.T) {
				args := []string{}
				if p == "quickstart" {
					args = append(args, "-records", "2000")
				}
				rn.mustRun(t, p, args...)
			})
		}
	})
	// Each real-broker subtest asks for the shared cluster itself, so that
	// -run TestExamples/FakeCluster starts no broker.
	plaintext := func(t *testing.T) string {
		return strings.Join(integration.Shared(t, shape).Bootstrap(integration.Plaintext), ",")
	}
	t.Run("quickstart", func(t *testing.T) { testQuickstart(t, rn, plaintext(t)) })
	t.Run("keyed-producer", func(t *testing.T) { testKeyedProducer(t, rn, plaintext(t)) })
	t.Run("group-consumer", func(t *testing.T) { testGroupConsumer(t, rn, plaintext(t)) })
	t.Run("admin", func(t *testing.T) { testAdmin(t, rn, plaintext(t)) })
	t.Run("secure", func(t *testing.T) { testSecure(t, rn, integration.Shared(t, shape)) })
	t.Run("otel", func(t *testing.T) { testOtel(t, rn, plaintext(t)) })
}

// testQuickstart runs the quickstart twice on one topic: the second run
// finds the topic there and still reads back at least what it wrote.
func testQuickstart(t *testing.T, rn runner, brokers string) {
	for run := 1; run <= 2; run++ {
		res := rn.mustRun(t, "quickstart", "-brokers", brokers, "-topic", "examples-quickstart",
			"-partitions", "3", "-records", "20000")
		if !strings.Contains(res.stdout, "produced 20000 records") || !strings.Contains(res.stdout, "(written 20000, failed 0, outcome unknown 0)") {
			t.Fatalf("run %d: not every record was written:\n%s", run, res.stdout)
		}
		if !strings.Contains(res.stdout, "consumed ") {
			t.Fatalf("run %d: nothing consumed:\n%s", run, res.stdout)
		}
		if want := "exists already"; run == 2 && !strings.Contains(res.stdout, want) {
			t.Fatalf("second run did not find the topic:\n%s", res.stdout)
		}
	}
}

// fields parses "k=v" words of a line into a map.
func fields(line string) map[string]string {
	m := map[string]string{}
	for _, w := range strings.Fields(line) {
		if k, v, ok := strings.Cut(w, "="); ok {
			m[k] = strings.TrimSuffix(v, ":")
		}
	}
	return m
}

// linesWith returns the lines of s that start with prefix.
func linesWith(s, prefix string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return out
}

// mustf fails the test with a formatted message when err is not nil.
func mustf(t *testing.T, err error, format string, args ...any) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", fmt.Sprintf(format, args...), err)
	}
}

// newAdmin returns an admin client of brokers, closed when the test ends,
// and a context for its calls that ends after 30 seconds or with the test.
func newAdmin(t *testing.T, brokers string) (*admin.Client, context.Context) {
	t.Helper()
	adm, err := admin.New(gregor.ConnConfig{SeedBrokers: strings.Split(brokers, ",")})
	mustf(t, err, "new admin client")
	t.Cleanup(func() { adm.Close(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return adm, ctx
}
