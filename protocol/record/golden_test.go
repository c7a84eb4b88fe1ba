package record

// Golden interoperability tests against Kafka's Java client (kafka-clients
// 4.1.1). testdata/java/Golden.java is compiled with javac into a temporary
// directory and run twice:
//
//   - "write" prints batches built by Kafka's MemoryRecords builders in every
//     codec and format; Gregor must decode each with the exact field values
//     and describe it exactly as Kafka itself does ("read" below), and
//     re-encode the uncompressed ones byte for byte.
//   - "read" parses batches given on stdin and prints what Kafka sees. Gregor
//     encodes the same logical batches as "write" did, in every codec, and
//     Kafka must read them exactly as it reads its own.
//
// Without javac or the jars the test is skipped with a reason, unless CI=true.

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/compression"
	"github.com/gregorkafka/gregor/integration"
)

const goldenTS = 1_700_000_000_000

func goldenKey(i int) []byte {
	if i%4 == 3 {
		return nil
	}
	return fmt.Appendf(nil, "key-%d", i)
}

func goldenValue(i int) []byte {
	if i%3 == 2 {
		return nil
	}
	return fmt.Appendf(nil, "value-%d-%s", i, strings.Repeat("x", i*7%50))
}

func goldenHeaders(i int) []Header {
	if i%2 == 1 {
		return nil
	}
	return []Header{{Key: []byte("h1"), Value: fmt.Appendf(nil, "hv-%d", i)}, {Key: []byte("h2")}}
}

// goldenRecords returns what Golden.java's batch() appends.
func goldenRecords(magic int8, base int64, n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Offset: base + int64(i), Timestamp: goldenTS + int64(i), Key: goldenKey(i), Value: goldenValue(i)}
		if magic == MagicV2 {
			recs[i].Headers = goldenHeaders(i)
		}
		if magic == MagicV0 {
			recs[i].Timestamp = NoTimestamp
		}
	}
	return recs
}

type javaRunner struct{ cp string }

func setupJava(t *testing.T) javaRunner {
	t.Helper()
	return javaRunner{cp: integration.JavaTest(t, filepath.Join("testdata", "java", "Golden.java"))}
}

func (j javaRunner) run(t *testing.T, mode, stdin string) string {
	t.Helper()
	defer func(start time.Time) { t.Logf("java %s: %v", mode, time.Since(start)) }(time.Now())
	cmd := exec.Command("java", "-cp", j.cp, "Golden", mode)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("java Golden %s: %v\n%s", mode, err, stderr.String())
	}
	return string(out)
}

// parseNamed splits "name hex" lines.
func parseNamed(t *testing.T, s string) (names []string, data map[string][]byte) {
	data = map[string][]byte{}
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		name, h, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		b, err := hex.DecodeString(h)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		names = append(names, name)
		data[name] = b
	}
	return names, data
}

// splitViews splits Golden read output into per-input line blocks.
func splitViews(s string) map[string]string {
	views := map[string]string{}
	var name string
	for _, line := range strings.SplitAfter(s, "\n") {
		if n, ok := strings.CutPrefix(line, "input "); ok {
			name = strings.TrimSpace(n)
			continue
		}
		views[name] += line
	}
	return views
}

func hexOrNull(b []byte) string {
	if b == nil {
		return "null"
	}
	return hex.EncodeToString(b)
}

// describe prints what Gregor decodes from buf in Golden.java's read format.
func describe(t *testing.T, buf []byte) string {
	t.Helper()
	var sb strings.Builder
	var b Batch
	s := NewScanner(buf)
	for s.Next() {
		if err := (Decoder{}).Decode(&b, s.Batch()); err != nil {
			t.Fatalf("decode: %v", err)
		}
		count, tstype := fmt.Sprint(b.NumRecords), b.Attributes.TimestampType().String()
		if b.Magic < MagicV2 {
			count = "null"
		}
		if b.Magic == MagicV0 {
			tstype = "NoTimestampType"
		}
		fmt.Fprintf(&sb, "batch base=%d last=%d magic=%d codec=%s count=%s txn=%t control=%t pid=%d epoch=%d seq=%d ple=%d maxts=%d tstype=%s\n",
			b.BaseOffset, b.LastOffset(), b.Magic, b.Attributes.Codec(), count, b.Attributes.Transactional(),
			b.Attributes.Control(), b.ProducerID, b.ProducerEpoch, b.BaseSequence, b.PartitionLeaderEpoch, b.MaxTimestamp, tstype)
		for _, r := range b.Records {
			var hs []string
			for _, h := range r.Headers {
				hs = append(hs, string(h.Key)+":"+hexOrNull(h.Value))
			}
			extra := ""
			if commit, epoch, ok := b.TxnMarker(); ok {
				extra = fmt.Sprintf(" marker=%s/%d", map[bool]string{true: "COMMIT", false: "ABORT"}[commit], epoch)
			}
			fmt.Fprintf(&sb, "record off=%d ts=%d key=%s value=%s headers=[%s]%s\n",
				r.Offset, r.Timestamp, hexOrNull(r.Key), hexOrNull(r.Value), strings.Join(hs, ","), extra)
		}
	}
	if s.Err() != nil || s.Partial() != nil {
		t.Fatalf("scan: %v, %d partial bytes", s.Err(), len(s.Partial()))
	}
	return sb.String()
}

// gregorEquivalent encodes with Gregor the batch Golden.java writes as name.
func gregorEquivalent(t *testing.T, name string) []byte {
	h := BatchHeader{BaseOffset: 100, PartitionLeaderEpoch: 5, ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}
	n := 10
	switch name {
	case "v2-commit", "v2-abort":
		h = BatchHeader{BaseOffset: 200, PartitionLeaderEpoch: 5, ProducerID: 4242, ProducerEpoch: 7}
		epoch := int32(33)
		if name == "v2-abort" {
			h.BaseOffset, epoch = 201, 34
		}
		out, err := AppendEndTxnBatch(nil, h, name == "v2-commit", epoch, goldenTS)
		if err != nil {
			t.Fatal(err)
		}
		return out
	case "v2-txn", "v2-txn-zstd":
		h.ProducerID, h.ProducerEpoch, h.BaseSequence, h.Attributes, n = 4242, 7, 11, AttrTransactional, 5
		if name == "v2-txn-zstd" {
			h.Attributes = h.Attributes.WithCodec(compression.Zstd)
		}
	case "v2-logappend":
		h.Attributes, h.MaxTimestamp, n = AttrLogAppendTime, goldenTS+999, 4
	case "v2-simple": // MemoryRecords.withRecords defaults
		h.BaseOffset, h.PartitionLeaderEpoch, n = 0, NoLeaderEpoch, 3
	default:
		c, err := compression.ParseCodec(strings.TrimPrefix(name, "v2-"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		h.Attributes = Attributes(c)
	}
	var bb Builder
	bb.Reset(nil, h, 0)
	for i := range n {
		bb.Add(goldenTS+int64(i), goldenKey(i), goldenValue(i), goldenHeaders(i))
	}
	out, err := bb.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGoldenJava(t *testing.T) {
	j := setupJava(t)
	golden := j.run(t, "write", "")
	names, data := parseNamed(t, golden)
	if len(names) < 19 {
		t.Fatalf("Golden write produced %d batches", len(names))
	}
	javaViews := splitViews(j.run(t, "read", golden))

	// 1. Gregor decodes Kafka's batches exactly as Kafka reads them.
	for _, name := range names {
		if got, want := describe(t, data[name]), javaViews[name]; got != want {
			t.Errorf("%s: Gregor's view differs from Kafka's\n--- gregor\n%s--- kafka\n%s", name, got, want)
		}
	}

	// 2. Exact field values against the generator.
	var b Batch
	for _, name := range names {
		magic := int8(name[1] - '0')
		var recs []Record
		s := NewScanner(data[name])
		for s.Next() {
			if err := (Decoder{}).Decode(&b, s.Batch()); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			recs = append(recs, b.Records...)
		}
		var want []Record
		switch name {
		case "v2-commit", "v2-abort":
			commit, epoch, ok := b.TxnMarker()
			if !ok || commit != (name == "v2-commit") || epoch != map[bool]int32{true: 33, false: 34}[commit] ||
				b.ProducerID != 4242 || b.ProducerEpoch != 7 || !b.Attributes.Transactional() {
				t.Errorf("%s: marker %v %v %v, header %+v", name, commit, epoch, ok, b.BatchHeader)
			}
			continue
		case "v2-txn", "v2-txn-zstd":
			want = goldenRecords(magic, 100, 5)
			if b.ProducerID != 4242 || b.ProducerEpoch != 7 || b.BaseSequence != 11 || !b.Attributes.Transactional() {
				t.Errorf("%s: header %+v", name, b.BatchHeader)
			}
		case "v2-simple":
			want = goldenRecords(magic, 0, 3)
		case "v2-logappend":
			want = goldenRecords(magic, 100, 4)
			for i := range want {
				want[i].Timestamp = goldenTS + 999
			}
		default:
			if magic == MagicV2 {
				want = goldenRecords(magic, 100, 10)
			} else {
				want = goldenRecords(magic, 300, 6)
			}
		}
		equalRecords(t, recs, want)
	}

	// 3. Uncompressed batches re-encode byte for byte, both from decoded
	// records and from scratch through the producer path.
	for _, name := range []string{"v2-none", "v2-txn", "v2-simple", "v2-commit", "v2-abort", "v2-logappend"} {
		if err := (Decoder{}).Decode(&b, data[name]); err != nil {
			t.Fatal(err)
		}
		if name != "v2-logappend" { // decoded timestamps are the append time, not the stored deltas
			again, err := AppendBatch(nil, b.BatchHeader, 0, b.Records)
			if err != nil || !bytes.Equal(again, data[name]) {
				t.Errorf("%s: re-encoding decoded records differs (%v)\n got %x\nwant %x", name, err, again, data[name])
			}
		}
		if fresh := gregorEquivalent(t, name); !bytes.Equal(fresh, data[name]) {
			t.Errorf("%s: Gregor's encoding differs from Kafka's\n got %x\nwant %x", name, fresh, data[name])
		}
	}

	// 4. Kafka reads Gregor's batches, in every codec, exactly as it reads
	// its own; also as one concatenated buffer.
	var in strings.Builder
	var all []byte
	var v2 []string
	for _, name := range names {
		if strings.HasPrefix(name, "v2-") {
			enc := gregorEquivalent(t, name)
			all = append(all, enc...)
			v2 = append(v2, name)
			fmt.Fprintf(&in, "%s %x\n", name, enc)
		}
	}
	fmt.Fprintf(&in, "all %x\n", all)
	// Large batches: several xerial snappy chunks (32 KiB) and LZ4 blocks
	// (64 KiB), which the small golden batches never reach.
	big := map[string][]byte{}
	for _, c := range []compression.Codec{compression.Gzip, compression.Snappy, compression.LZ4, compression.Zstd} {
		var bb Builder
		bb.Reset(nil, BatchHeader{BaseOffset: 5000, Attributes: Attributes(c), ProducerID: -1, ProducerEpoch: -1, BaseSequence: -1}, 0)
		for i := range 300 {
			v := bytes.Repeat(fmt.Appendf(nil, "%d-", i*i), 1+i%200)
			bb.Add(goldenTS+int64(i%7), goldenKey(i), v, goldenHeaders(i))
		}
		enc, err := bb.Finish()
		if err != nil {
			t.Fatal(err)
		}
		name := "big-" + c.String()
		big[name] = enc
		fmt.Fprintf(&in, "%s %x\n", name, enc)
	}
	gregorViews := splitViews(j.run(t, "read", in.String()))
	var allWant string
	for _, name := range v2 {
		if gregorViews[name] != javaViews[name] {
			t.Errorf("%s: Kafka reads Gregor's batch differently\n--- from gregor\n%s--- from kafka\n%s", name, gregorViews[name], javaViews[name])
		}
		allWant += javaViews[name]
	}
	for name, enc := range big {
		if got, want := gregorViews[name], describe(t, enc); got != want || !strings.Contains(got, "count=300") {
			t.Errorf("%s: Kafka reads Gregor's large batch differently (%d vs %d bytes of output)", name, len(got), len(want))
		}
	}
	if gregorViews["all"] != allWant {
		t.Errorf("concatenated batches read differently:\n%s", gregorViews["all"])
	}
}
