package assign

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/integration"
)

// javaProc is a running AssignServer answering requests over pipes.
type javaProc struct {
	t         *testing.T
	classpath string
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	in        *bufio.Writer
	lines     chan string // the server's stdout, closed when it ends
	stderr    *tailBuffer
	request   string   // the last request, for failure messages
	failures  []string // requests Java's assignor failed on
}

// javaAnswerTimeout bounds the wait for one answer, so a Java assignor
// that loops forever fails the test instead of hanging it.
// The server itself stops an assignor after 1 s of CPU time; this wall
// clock limit is the fallback.
const javaAnswerTimeout = 90 * time.Second

// tailBuffer keeps the last few KiB written to it (the server's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > 8192 {
		b.buf = b.buf[len(b.buf)-8192:]
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// startJava compiles testdata/java/AssignServer.java and starts it for the
// duration of the test.
func startJava(t *testing.T) *javaProc {
	t.Helper()
	j := &javaProc{t: t, classpath: integration.JavaTest(t, "testdata/java/AssignServer.java")}
	j.start()
	t.Cleanup(j.stop)
	return j
}

// start launches the server process.
func (j *javaProc) start() {
	j.t.Helper()
	cmd := exec.Command("java", "-XX:+UseSerialGC", "-Dlog4j2.level=OFF", "-cp", j.classpath, "AssignServer")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		j.t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		j.t.Fatal(err)
	}
	j.stderr = &tailBuffer{}
	cmd.Stderr = j.stderr
	if err := cmd.Start(); err != nil {
		j.t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	j.cmd, j.stdin, j.in, j.lines = cmd, stdin, bufio.NewWriter(stdin), lines
}

// stop ends the server process this test started, killing it (by its own
// pid) if it does not exit promptly, e.g. because an assignor is looping.
func (j *javaProc) stop() {
	j.stdin.Close()
	done := make(chan struct{})
	go func() { j.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		j.cmd.Process.Kill()
		<-done
	}
}

// errJavaTimeout reports a Java assignor that did not answer in time.
var errJavaTimeout = errors.New("no answer from Java in time")

// answer waits for the next line of the current request's answer.
func (j *javaProc) answer() (string, error) {
	select {
	case l, ok := <-j.lines:
		if !ok {
			j.t.Fatalf("AssignServer stopped\n%s", j.stderr)
		}
		return l, nil
	case <-time.After(javaAnswerTimeout):
		return "", errJavaTimeout
	}
}

func (j *javaProc) line() string {
	j.t.Helper()
	l, err := j.answer()
	if err != nil {
		j.t.Fatalf("%v to:\n%s", err, j.request)
	}
	return l
}

func (j *javaProc) send(s string) {
	j.t.Helper()
	j.request = s
	if _, err := j.in.WriteString(s); err != nil {
		j.t.Fatalf("%v\n%s", err, j.stderr)
	}
	if err := j.in.Flush(); err != nil {
		j.t.Fatalf("%v\n%s", err, j.stderr)
	}
}

// javaMember is a member as sent to Java: ud is "-", "java" or "hex:...".
type javaMember struct {
	Member
	ud        string
	sendOwned bool
}

// assign asks Java's assignor for an assignment, returning each member's
// partitions in formatTP form and Java's average time per assignment. It
// fails the test if Java's assignor throws.
func (j *javaProc) assign(assignor string, repeat int, topics map[string]Topic, members []javaMember) (map[string]string, int64) {
	j.t.Helper()
	out, ns, err := j.tryAssign(assignor, repeat, topics, members)
	if err != nil {
		j.t.Fatal(err)
	}
	return out, ns
}

// tryAssign is assign, returning Java's exception as an error.
func (j *javaProc) tryAssign(assignor string, repeat int, topics map[string]Topic, members []javaMember) (map[string]string, int64, error) {
	j.t.Helper()
	var sb strings.Builder
	fmt.Fprintf(&sb, "assign %s %d\n", assignor, repeat)
	names := make([]string, 0, len(topics))
	for n := range topics {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(&sb, "topic %s %d %s\n", n, topics[n].Partitions, formatRacks(topics[n].Racks))
	}
	for _, m := range members {
		inst, rack, subs := dash(m.GroupInstanceID), dash(m.RackID), dash(strings.Join(m.Topics, ","))
		send := "0"
		if m.sendOwned {
			send = "1"
		}
		fmt.Fprintf(&sb, "member %s %s %s %s %s %d %s %s\n", m.MemberID, inst, rack, subs, formatTP(m.OwnedPartitions), m.Generation, m.ud, send)
	}
	sb.WriteString("end\n")
	j.send(sb.String())
	out := make(map[string]string, len(members))
	for {
		l, err := j.answer()
		if err != nil {
			// The assignor is stuck: replace the server and report it.
			j.stop()
			j.start()
			return nil, 0, err
		}
		f := strings.Fields(l)
		switch f[0] {
		case "m":
			out[f[1]] = f[2]
		case "done":
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			return out, ns, nil
		case "error":
			return nil, 0, fmt.Errorf("java %s: %s", assignor, strings.Join(f[1:], " "))
		default:
			j.t.Fatalf("unexpected answer %q", f)
		}
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func formatRacks(racks [][]string) string {
	if racks == nil {
		return "-"
	}
	parts := make([]string, len(racks))
	for i, rs := range racks {
		parts[i] = strings.Join(rs, ",")
		if parts[i] == "" {
			parts[i] = "."
		}
	}
	return strings.Join(parts, "/")
}

// formatTP renders partitions as "t:0,1;u:2" (sorted), or "-" when empty.
func formatTP(parts []TopicPartitions) string {
	byTopic := map[string][]int32{}
	for _, tp := range parts {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], tp.Partitions...)
	}
	var topics []string
	for t, ps := range byTopic {
		if len(ps) > 0 {
			topics = append(topics, t)
		}
	}
	if len(topics) == 0 {
		return "-"
	}
	slices.SortFunc(topics, javaCompare)
	var sb strings.Builder
	for i, t := range topics {
		if i > 0 {
			sb.WriteByte(';')
		}
		sb.WriteString(t)
		sb.WriteByte(':')
		for k, p := range sortedPartitions(byTopic[t]) {
			if k > 0 {
				sb.WriteByte(',')
			}
			sb.WriteString(strconv.Itoa(int(p)))
		}
	}
	return sb.String()
}

// parseTP is the inverse of formatTP.
func parseTP(s string) []TopicPartitions {
	if s == "-" || s == "" {
		return nil
	}
	var out []TopicPartitions
	for _, part := range strings.Split(s, ";") {
		c := strings.LastIndexByte(part, ':')
		tp := TopicPartitions{Topic: part[:c]}
		for _, p := range strings.Split(part[c+1:], ",") {
			n, _ := strconv.Atoi(p)
			tp.Partitions = append(tp.Partitions, int32(n))
		}
		out = append(out, tp)
	}
	return out
}
