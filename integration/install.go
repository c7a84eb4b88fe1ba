package integration

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// KafkaVersion is the Apache Kafka release the harness installs and runs.
const KafkaVersion = "4.1.1"

// KafkaHomeEnv names the environment variable that overrides where the Kafka
// jars are cached. When it is unset, the cache lives in
// <os.UserCacheDir()>/gregor/kafka-<KafkaVersion>.
const KafkaHomeEnv = "GREGOR_KAFKA_HOME"

//go:embed kafka/pom.xml
var kafkaPOM []byte

const markerName = ".installed"

// MissingToolError reports that a program the harness needs is not on PATH.
type MissingToolError struct {
	// Tool is the program looked up, such as "java" or "mvn".
	Tool string
	// Purpose says what the harness wanted the tool for.
	Purpose string
}

// Error describes the missing tool and why it is needed.
func (e *MissingToolError) Error() string {
	msg := fmt.Sprintf("integration: %q not found on PATH (needed to %s); install it", e.Tool, e.Purpose)
	if e.Tool == "mvn" {
		msg += fmt.Sprintf(", or point %s at a complete Kafka %s cache", KafkaHomeEnv, KafkaVersion)
	}
	return msg
}

// KafkaHome returns the directory holding the cached Kafka installation: the
// value of GREGOR_KAFKA_HOME when set, otherwise the per-user cache directory.
// The jars live in its lib subdirectory. It does not install anything.
func KafkaHome() (string, error) {
	if dir := os.Getenv(KafkaHomeEnv); dir != "" {
		return filepath.Abs(dir)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("integration: no user cache directory (set %s): %w", KafkaHomeEnv, err)
	}
	return filepath.Join(cache, "gregor", "kafka-"+KafkaVersion), nil
}

func lookTool(name, purpose string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", &MissingToolError{Tool: name, Purpose: purpose}
	}
	return p, nil
}

func pomDigest() string {
	sum := sha256.Sum256(kafkaPOM)
	return hex.EncodeToString(sum[:])
}

func installed(home string) bool {
	b, err := os.ReadFile(filepath.Join(home, markerName))
	return err == nil && strings.TrimSpace(string(b)) == pomDigest()
}

// EnsureKafka makes sure the Kafka jars are in the cache and returns the
// cache directory. The first caller resolves them with Maven from the
// embedded pom.xml; callers in other processes wait on a file lock and then
// reuse the result. A marker file, written last and atomically, records a
// complete installation, so an interrupted run is simply redone. It returns
// a *MissingToolError when mvn is needed but absent.
func EnsureKafka(ctx context.Context) (string, error) {
	home, err := KafkaHome()
	if err != nil {
		return "", err
	}
	if installed(home) {
		return home, nil
	}
	if err := os.MkdirAll(home, 0o755); err != nil {
		return "", fmt.Errorf("integration: create Kafka cache: %w", err)
	}
	unlock, err := lockFile(ctx, filepath.Join(home, ".lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if installed(home) { // another process finished while we waited
		return home, nil
	}
	if _, err := lookTool("java", "run Maven and the Kafka broker"); err != nil {
		return "", err
	}
	mvn, err := lookTool("mvn", "download the Kafka "+KafkaVersion+" jars from Maven Central")
	if err != nil {
		return "", err
	}
	pom := filepath.Join(home, "pom.xml")
	if err := os.WriteFile(pom, kafkaPOM, 0o644); err != nil {
		return "", fmt.Errorf("integration: write pom.xml: %w", err)
	}
	staging := filepath.Join(home, "lib.partial")
	if err := os.RemoveAll(staging); err != nil {
		return "", err
	}
	start := time.Now()
	cmd := exec.CommandContext(ctx, mvn, "-B", "-q", "-f", pom,
		"dependency:copy-dependencies", "-DoutputDirectory="+staging, "-DincludeScope=runtime")
	cmd.Dir = home
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("integration: mvn dependency:copy-dependencies failed: %w\n%s", err, tail(out.String(), 40))
	}
	if _, err := os.Stat(filepath.Join(staging, "kafka_2.13-"+KafkaVersion+".jar")); err != nil {
		return "", fmt.Errorf("integration: mvn succeeded but the broker jar is missing: %w", err)
	}
	lib := filepath.Join(home, "lib")
	if err := os.RemoveAll(lib); err != nil {
		return "", err
	}
	if err := os.Rename(staging, lib); err != nil {
		return "", err
	}
	if err := writeAtomic(filepath.Join(home, markerName), []byte(pomDigest()+"\n")); err != nil {
		return "", err
	}
	logger().Info("installed Kafka", "version", KafkaVersion, "home", home, "took", time.Since(start).Round(time.Millisecond))
	return home, nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// tail returns at most the last n lines of s.
func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var errLockCanceled = errors.New("integration: gave up waiting for the Kafka install lock")
