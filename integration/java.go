package integration

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// ErrJavaUnavailable is wrapped by CompileJava's error when the JDK or the
// cached Kafka jars are missing, as opposed to a source that fails to
// compile.
var ErrJavaUnavailable = errors.New("integration: Java or the Kafka jars are unavailable")

// CompileJava compiles Java sources against the cached Kafka 4.1.1 jars into
// dir and returns the class path that runs them: dir followed by the jars.
// It does not install Kafka; `make deps` (or EnsureKafka) does that.
//
// Golden tests use it to check Gregor's bytes against the Java client's.
func CompileJava(ctx context.Context, dir string, sources ...string) (string, error) {
	home, err := KafkaHome()
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrJavaUnavailable, err)
	}
	lib := filepath.Join(home, "lib")
	if _, err := os.Stat(filepath.Join(lib, "kafka-clients-"+KafkaVersion+".jar")); err != nil {
		return "", fmt.Errorf("%w: no kafka-clients jar under %s (run `make deps`)", ErrJavaUnavailable, lib)
	}
	for _, tool := range []string{"javac", "java"} {
		if _, err := lookTool(tool, "compile and run Java golden tests"); err != nil {
			return "", fmt.Errorf("%w: %v", ErrJavaUnavailable, err)
		}
	}
	jars := filepath.Join(lib, "*")
	args := append([]string{"-d", dir, "-cp", jars}, sources...)
	if out, err := exec.CommandContext(ctx, "javac", args...).CombinedOutput(); err != nil {
		return "", fmt.Errorf("integration: javac %v: %w\n%s", sources, err, out)
	}
	return dir + string(os.PathListSeparator) + jars, nil
}

// JavaTest compiles Java sources for a test into a temporary directory and
// returns their class path. When Java or the jars are missing it fails the
// test under CI=true and skips it loudly otherwise; a compile error always
// fails it.
func JavaTest(tb testing.TB, sources ...string) string {
	tb.Helper()
	cp, err := CompileJava(context.Background(), tb.TempDir(), sources...)
	if errors.Is(err, ErrJavaUnavailable) {
		SkipOrFail(tb, err)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return cp
}

// SkipOrFail ends a test whose prerequisites are missing: a failure when
// CI=true, a loud skip otherwise.
func SkipOrFail(tb testing.TB, reason error) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("required when CI=true: %v", reason)
	}
	fmt.Fprintf(os.Stderr, "SKIPPING %s: %v\n", tb.Name(), reason)
	tb.Skipf("SKIPPING (set CI=true to make this a failure): %v", reason)
}
