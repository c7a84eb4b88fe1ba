package producer

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/gregorkafka/gregor/integration"
)

// TestKeyPartitionMatchesJava checks Gregor's key partitioning against the
// Java client's BuiltInPartitioner for thousands of keys and partition counts.
func TestKeyPartitionMatchesJava(t *testing.T) {
	classpath := integration.JavaTest(t, "testdata/java/KeyPartitions.java")

	rng := rand.New(rand.NewPCG(1, 2))
	type probe struct {
		key []byte
		n   int
	}
	var probes []probe
	counts := []int{1, 2, 3, 7, 12, 16, 100, 1000, 2147483647}
	for length := 0; length <= 40; length++ {
		for _, n := range counts {
			key := make([]byte, length)
			for i := range key {
				key[i] = byte(rng.UintN(256)) // high bytes probe Java's signed bytes
			}
			probes = append(probes, probe{key, n})
		}
	}
	for i := 0; i < 2000; i++ {
		probes = append(probes, probe{[]byte("user-" + strconv.Itoa(i)), 12})
	}
	var in bytes.Buffer
	for _, p := range probes {
		h := hex.EncodeToString(p.key)
		if h == "" {
			h = "-"
		}
		fmt.Fprintf(&in, "%s %d\n", h, p.n)
	}
	java := exec.Command("java", "-cp", classpath, "KeyPartitions")
	java.Stdin = &in
	out, err := java.Output()
	if err != nil {
		t.Fatalf("java: %v", err)
	}
	lines := strings.Fields(string(out))
	if len(lines) != len(probes) {
		t.Fatalf("java printed %d partitions for %d keys", len(lines), len(probes))
	}
	spread := map[int32]int{}
	for i, p := range probes {
		want, err := strconv.Atoi(lines[i])
		if err != nil {
			t.Fatal(err)
		}
		got := KeyPartition(p.key, p.n)
		if int(got) != want {
			t.Fatalf("key %x over %d partitions: Gregor %d, Java %d", p.key, p.n, got, want)
		}
		if p.n == 12 && bytes.HasPrefix(p.key, []byte("user-")) {
			spread[got]++
		}
	}
	if len(spread) != 12 {
		t.Fatalf("2000 keys used only %d of 12 partitions", len(spread))
	}
}

func TestKeyPartitionKnownValues(t *testing.T) {
	// Partitions printed by the Java client's BuiltInPartitioner.partitionForKey
	// (testdata/java/KeyPartitions.java) for 12 and 1000 partitions, so this
	// check runs even where no JDK is installed.
	cases := []struct {
		key        string
		p12, p1000 int32
	}{
		{"a", 4, 524},
		{"hello", 9, 229},
		{"key-1", 0, 640},
		{"orders/2026", 10, 598},
		{"", 9, 681},
	}
	for _, c := range cases {
		if got := KeyPartition([]byte(c.key), 12); got != c.p12 {
			t.Errorf("%q over 12: %d, Java says %d", c.key, got, c.p12)
		}
		if got := KeyPartition([]byte(c.key), 1000); got != c.p1000 {
			t.Errorf("%q over 1000: %d, Java says %d", c.key, got, c.p1000)
		}
	}
}

func TestStickyChooserSwitchesAtBatchBoundary(t *testing.T) {
	s := newStickyChooser(100)
	p := s.partition(8, nil, nil)
	for i := 0; i < 9; i++ {
		s.appended(p, 10, false)
		if got := s.partition(8, nil, nil); got != p {
			t.Fatalf("switched after %d bytes", (i+1)*10)
		}
	}
	s.appended(p, 10, false) // 100 bytes, but no batch boundary yet
	if got := s.partition(8, nil, nil); got != p {
		t.Fatal("switched before a batch boundary")
	}
	s.appended(p, 1, true) // batch boundary past the threshold
	seen := map[int32]bool{}
	for i := 0; i < 200; i++ {
		q := s.partition(8, nil, nil)
		seen[q] = true
		s.appended(q, 250, false) // twice the batch size forces a switch
	}
	if len(seen) < 6 {
		t.Fatalf("200 switches reached only %d of 8 partitions", len(seen))
	}
}

func TestStickyChooserPrefersShortQueues(t *testing.T) {
	queued := func(p int32) int {
		if p == 0 {
			return 1_000_000 // a slow broker's partition
		}
		return 0
	}
	available := []int32{0, 1, 2, 3}
	hits := map[int32]int{}
	for i := 0; i < 3000; i++ {
		hits[pickPartition(4, available, queued)]++
	}
	if hits[0] > 5 {
		t.Fatalf("slow partition picked %d of 3000 times", hits[0])
	}
	for _, p := range available[1:] {
		if hits[p] < 800 {
			t.Fatalf("partition %d picked only %d times: %v", p, hits[p], hits)
		}
	}
	only := map[int32]bool{}
	for i := 0; i < 100; i++ {
		only[pickPartition(10, []int32{4, 7}, nil)] = true
	}
	if len(only) != 2 || !only[4] || !only[7] {
		t.Fatalf("picked outside the available partitions: %v", only)
	}
}

func BenchmarkKeyPartition(b *testing.B) {
	key := []byte("customer-4711-order-key")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		KeyPartition(key, 16)
	}
}
