// Command gen writes Gregor's protocol codec (package protocol) from the
// JSON message specs inside the Kafka client jar.
//
// Usage, from the protocol directory (this is what go generate runs):
//
//	go run ../internal/gen [-jar path/to/kafka-clients-4.1.1.jar] [-out dir]
//
// Without -jar the jar is looked up under $GREGOR_KAFKA_HOME/lib, or under
// <user cache dir>/gregor/kafka-4.1.1/lib when that variable is unset.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gregorkafka/gregor/integration"
)

const jarName = "kafka-clients-4.1.1.jar"

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gen: "+format+"\n", args...)
	os.Exit(1)
}

func warnf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "gen: warning: "+format+"\n", args...)
}

// defaultJar finds the client jar following the project's convention.
func defaultJar() (string, error) {
	home, err := integration.KafkaHome()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, "lib", jarName), nil
}

func main() {
	jar := flag.String("jar", "", "path to "+jarName+" (default: $GREGOR_KAFKA_HOME/lib or the user cache)")
	out := flag.String("out", ".", "directory of package protocol")
	flag.Parse()
	if *jar == "" {
		j, err := defaultJar()
		if err != nil {
			fatalf("cannot locate the Kafka jar: %v", err)
		}
		*jar = j
	}
	if _, err := os.Stat(*jar); err != nil {
		fatalf("Kafka client jar not found at %s (%v).\n"+
			"Install Kafka 4.1.1 with: go run ./integration/cmd/kafka-install\n"+
			"or point -jar or GREGOR_KAFKA_HOME at an existing installation.", *jar, err)
	}
	specs, err := readSpecs(*jar)
	if err != nil {
		fatalf("reading specs: %v", err)
	}
	msgs := buildMessages(specs)
	files := plan(msgs)
	if err := writeAll(*out, files); err != nil {
		fatalf("%v", err)
	}
}

// plan groups messages into output files: one per API key, one for the
// headers and one per data schema, plus the API tables and the test-only
// randomizer.
func plan(msgs []*message) map[string][]byte {
	files := map[string][]byte{}
	byKey := map[int][]*message{}
	var keys []int
	var headers, data []*message
	for _, m := range msgs {
		switch m.kind {
		case "request", "response":
			if _, ok := byKey[m.key]; !ok {
				keys = append(keys, m.key)
			}
			byKey[m.key] = append(byKey[m.key], m)
		case "header":
			headers = append(headers, m)
		case "data":
			data = append(data, m)
		}
	}
	sort.Ints(keys)
	var apis []apiInfo
	for _, k := range keys {
		ms := byKey[k]
		sort.Slice(ms, func(i, j int) bool { return ms[i].kind < ms[j].kind }) // request before response
		if len(ms) != 2 || ms[0].kind != "request" || ms[1].kind != "response" {
			fatalf("API key %d needs exactly one request and one response spec", k)
		}
		if ms[0].valid != ms[1].valid || ms[0].flex != ms[1].flex {
			fatalf("API key %d: request and response disagree on versions", k)
		}
		apis = append(apis, apiInfo{key: k, name: ms[0].api, req: ms[0], resp: ms[1]})
		files["gen_"+snake(ms[0].api)+".go"] = render(ms...)
	}
	files["gen_headers.go"] = render(headers...)
	for _, m := range data {
		files["gen_data_"+snake(m.goName)+".go"] = render(m)
	}
	files["gen_apis.go"] = renderAPIs(apis)
	files["gen_random_test.go"] = renderRandom(msgs)
	return files
}

func render(ms ...*message) []byte {
	var g gen
	g.buf.WriteString(header)
	for _, m := range ms {
		g.emitMessage(m)
	}
	g.flushDefaults()
	return gofmt(g.buf.String())
}

func gofmt(src string) []byte {
	b, err := format.Source([]byte(src))
	if err != nil {
		// Write the raw text next to the error for debugging.
		_ = os.WriteFile(filepath.Join(os.TempDir(), "gregor-gen-broken.go"), []byte(src), 0o644)
		fatalf("generated code does not parse (raw text in %s): %v", filepath.Join(os.TempDir(), "gregor-gen-broken.go"), err)
	}
	return b
}

// writeAll replaces the generated files in dir, removing stale ones.
func writeAll(dir string, files map[string][]byte) error {
	old, err := filepath.Glob(filepath.Join(dir, "gen_*.go"))
	if err != nil {
		return err
	}
	for _, p := range old {
		if _, keep := files[filepath.Base(p)]; keep {
			continue
		}
		b, err := os.ReadFile(p)
		if err == nil && bytes.Contains(b, []byte("DO NOT EDIT")) {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		if prev, err := os.ReadFile(p); err == nil && bytes.Equal(prev, files[n]) {
			continue
		}
		if err := os.WriteFile(p, files[n], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// snake turns a Go name into a file name part: DescribeConfigs becomes
// describe_configs.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		upper := r >= 'A' && r <= 'Z'
		if upper && i > 0 {
			prevLower := rs[i-1] >= 'a' && rs[i-1] <= 'z'
			nextLower := i+1 < len(rs) && rs[i+1] >= 'a' && rs[i+1] <= 'z'
			prevUpper := rs[i-1] >= 'A' && rs[i-1] <= 'Z'
			if prevLower || (prevUpper && nextLower) {
				b.WriteByte('_')
			}
		}
		if upper {
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
