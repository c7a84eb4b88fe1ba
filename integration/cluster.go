package integration

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrExternal is returned by node-control methods of a Cluster that points at
// a cluster the harness did not start (see BootstrapEnv).
var ErrExternal = errors.New("integration: the cluster is external; the harness cannot control its nodes")

// readyLine is what a Kafka node logs once it serves requests.
const readyLine = "Kafka Server started"

// Cluster is a running Kafka cluster: either started on loopback by
// StartLocal, or an external one named by BootstrapEnv. Its methods are safe
// for concurrent use.
type Cluster struct {
	cfg      LocalConfig
	dir      string
	pki      *pki
	nodes    []*node
	external []string

	closeOnce sync.Once
	closeErr  error
	// closeHook, when set, releases what Close must free after the nodes
	// are down (containers and their network).
	closeHook func() error
}

type node struct {
	id      int
	dir     string
	logPath string
	props   string
	ports   nodePorts
	java    string
	jvmArgs []string
	timeout time.Duration

	mu   sync.Mutex
	proc *process

	// ctr is set when the node runs in a container (see StartContainers).
	ctr *ctrNode
}

// backend runs one node: a JVM process on this machine, or a container.
type backend interface {
	// start starts the stopped node and waits until it serves its listeners.
	start(ctx context.Context) error
	// halt stops the node, gracefully (Kafka's controlled shutdown) or at
	// once, and waits until it is down.
	halt(ctx context.Context, graceful bool) error
	// alive reports whether the node is running.
	alive() bool
	// pid is the process id of a JVM node on this machine, 0 otherwise.
	pid() int
	// syncLog brings the node's log file (logPath) up to date.
	syncLog()
}

// backend returns what runs node n.
func (n *node) backend() backend {
	if n.ctr != nil {
		return n.ctr
	}
	return jvmBackend{n}
}

// jvmBackend runs a node as a child JVM of the test binary.
type jvmBackend struct{ n *node }

func (b jvmBackend) start(ctx context.Context) error {
	if err := b.n.spawn(); err != nil {
		return err
	}
	return b.n.waitReady(ctx)
}

func (b jvmBackend) halt(ctx context.Context, graceful bool) error {
	if graceful {
		return b.n.stop(ctx, syscall.SIGTERM)
	}
	return b.n.stop(ctx, syscall.SIGKILL)
}

func (b jvmBackend) alive() bool { return b.n.running() != nil }

func (b jvmBackend) pid() int {
	if p := b.n.running(); p != nil {
		return p.pid
	}
	return 0
}

func (b jvmBackend) syncLog() {}

// process is one running JVM; done closes once it has been reaped.
type process struct {
	pid  int
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  *os.File
}

// StartLocal installs Kafka if needed (see EnsureKafka), then formats and
// starts cfg.Nodes KRaft nodes on free loopback ports and waits until every
// node logs "Kafka Server started" and accepts connections on its listeners.
// On error no process is left running. The caller must Close the cluster.
func StartLocal(ctx context.Context, cfg LocalConfig) (*Cluster, error) {
	cfg = cfg.normalized()
	begin := time.Now()
	home, err := EnsureKafka(ctx)
	if err != nil {
		return nil, err
	}
	java, err := lookTool("java", "run the Kafka broker")
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "gregor-kafka-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: cfg, dir: dir}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	if cfg.TLS {
		if c.pki, err = newPKI(dir); err != nil {
			return nil, fmt.Errorf("integration: generate certificates: %w", err)
		}
	}
	ports, err := pickPorts(cfg)
	if err != nil {
		return nil, err
	}
	clusterID := newClusterID()
	log4j := filepath.Join(dir, "log4j2.properties")
	if err := os.WriteFile(log4j, []byte(log4jConfig), 0o644); err != nil {
		return nil, err
	}
	jvm := append([]string{"-Xms512m", "-Xmx768m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:TieredStopAtLevel=1",
		"-Djava.awt.headless=true", "-Dlog4j2.configurationFile=" + log4j}, cfg.JVMOptions...)
	for i := range cfg.Nodes {
		n := &node{id: i + 1, dir: filepath.Join(dir, fmt.Sprintf("node-%d", i+1)), ports: ports[i],
			java: java, timeout: cfg.StartTimeout}
		n.logPath = filepath.Join(n.dir, "kafka.log")
		n.props = filepath.Join(n.dir, "server.properties")
		n.jvmArgs = append(append([]string{}, jvm...), "-cp", filepath.Join(home, "lib", "*"), "kafka.Kafka", n.props)
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			return nil, err
		}
		text := serverProperties(cfg, n.id, ports, filepath.Join(n.dir, "data"), c.pki)
		if err := os.WriteFile(n.props, []byte(text), 0o644); err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, n)
	}
	// Format every node's storage, concurrently, with the same cluster id;
	// share.version=1 enables share groups (KIP-932, a preview in 4.1).
	if err := forEachNode(ctx, c.nodes, func(ctx context.Context, n *node) error {
		args := []string{"format", "-c", n.props, "-t", clusterID, "--feature", "share.version=1"}
		if cfg.SASL {
			args = append(args, scramArgs()...)
		}
		if _, err := RunTool(ctx, "kafka.tools.StorageTool", args...); err != nil {
			return fmt.Errorf("node %d: %w", n.id, err)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	formatted := time.Now()
	for _, n := range c.nodes {
		if err := n.spawn(); err != nil {
			return nil, err
		}
	}
	if err := forEachNode(ctx, c.nodes, func(ctx context.Context, n *node) error { return n.waitReady(ctx) }); err != nil {
		return nil, err
	}
	logger().Info("Kafka cluster started", "version", KafkaVersion, "nodes", cfg.Nodes,
		"plaintext", strings.Join(c.Bootstrap(Plaintext), ","), "took", time.Since(begin).Round(time.Millisecond),
		"jvm_start", time.Since(formatted).Round(time.Millisecond), "dir", dir)
	ok = true
	return c, nil
}

// RunTool runs a main class from the cached Kafka jars (installing them
// first if needed) with a small heap, waits for it and returns its standard
// output. Examples: "org.apache.kafka.tools.TopicCommand",
// "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
// "kafka.admin.ConfigCommand". The error includes the tool's output.
func RunTool(ctx context.Context, class string, args ...string) (string, error) {
	home, err := EnsureKafka(ctx)
	if err != nil {
		return "", err
	}
	java, err := lookTool("java", "run "+class)
	if err != nil {
		return "", err
	}
	argv := append([]string{"-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
		"-cp", filepath.Join(home, "lib", "*"), class}, args...)
	cmd := exec.CommandContext(ctx, java, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("integration: %s %s: %w\n%s\n%s", class, strings.Join(args, " "), err,
			tail(stdout.String(), 20), tail(stderr.String(), 20))
	}
	return stdout.String(), nil
}

// CreateTopic creates a topic through the PLAINTEXT listener with Kafka's own
// TopicCommand (see RunTool; it works for an external cluster too). A
// replication factor of 0 uses the broker default.
func (c *Cluster) CreateTopic(ctx context.Context, topic string, partitions, replicationFactor int) error {
	args := []string{"--bootstrap-server", strings.Join(c.Bootstrap(Plaintext), ","), "--create", "--topic", topic,
		"--partitions", strconv.Itoa(partitions)}
	if replicationFactor > 0 {
		args = append(args, "--replication-factor", strconv.Itoa(replicationFactor))
	}
	_, err := RunTool(ctx, "org.apache.kafka.tools.TopicCommand", args...)
	return err
}

// forEachNode runs f for every node concurrently and joins the errors. The
// first error cancels the context the other calls get, so that one node
// dying at start-up does not leave the others waiting for a quorum.
func forEachNode(ctx context.Context, nodes []*node, f func(context.Context, *node) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = f(ctx, n); errs[i] != nil {
				cancel()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// newClusterID returns a random KRaft cluster id: 16 random bytes in
// unpadded URL-safe base64, like Kafka's Uuid, never starting with '-'.
func newClusterID() string {
	for {
		var b [16]byte
		_, _ = rand.Read(b[:])
		id := base64.RawURLEncoding.EncodeToString(b[:])
		if id[0] != '-' {
			return id
		}
	}
}

// pickPorts chooses free loopback ports for every node's controller and
// client listeners. It holds each chosen port open until all are chosen, so
// none repeats; another process may still take one before the JVM binds it.
func pickPorts(cfg LocalConfig) ([]nodePorts, error) {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	free := func() (int, error) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("integration: find a free port: %w", err)
		}
		held = append(held, l)
		return l.Addr().(*net.TCPAddr).Port, nil
	}
	ports := make([]nodePorts, cfg.Nodes)
	for i := range ports {
		var err error
		ports[i].client = map[Listener]int{}
		if ports[i].controller, err = free(); err != nil {
			return nil, err
		}
		for _, l := range listeners {
			if !cfg.enabled(l) {
				continue
			}
			if ports[i].client[l], err = free(); err != nil {
				return nil, err
			}
		}
	}
	return ports, nil
}

// Nodes returns the number of nodes the harness started (0 when external).
func (c *Cluster) Nodes() int { return len(c.nodes) }

// External reports whether the cluster was named by BootstrapEnv rather than
// started by the harness.
func (c *Cluster) External() bool { return c.external != nil }

// Has reports whether the cluster exposes listener l.
func (c *Cluster) Has(l Listener) bool {
	if c.External() {
		return l == Plaintext
	}
	return c.cfg.enabled(l)
}

// Bootstrap returns the "127.0.0.1:port" addresses of listener l on every
// node, or nil when the cluster does not expose l (see Has).
func (c *Cluster) Bootstrap(l Listener) []string {
	if c.External() {
		if l == Plaintext {
			return append([]string(nil), c.external...)
		}
		return nil
	}
	if !c.cfg.enabled(l) {
		return nil
	}
	var out []string
	for _, n := range c.nodes {
		out = append(out, n.addr(l))
	}
	return out
}

// NodeAddr returns the address of listener l on node i (0-based), or ""
// when there is no such node or listener.
func (c *Cluster) NodeAddr(i int, l Listener) string {
	n, err := c.nodeAt(i)
	if err != nil || !c.cfg.enabled(l) {
		return ""
	}
	return n.addr(l)
}

func (n *node) addr(l Listener) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(n.ports.client[l]))
}

// TLSConfig returns a new client configuration that verifies the brokers
// against the generated CA, for the SSL and SASL_SSL listeners. It is nil
// when TLS is off.
func (c *Cluster) TLSConfig() *tls.Config {
	if c.pki == nil {
		return nil
	}
	return &tls.Config{RootCAs: c.pki.pool, MinVersion: tls.VersionTLS12}
}

// MTLSConfig is TLSConfig plus the generated client certificate, for the
// MTLS listener. It is nil when TLS is off.
func (c *Cluster) MTLSConfig() *tls.Config {
	cfg := c.TLSConfig()
	if cfg != nil {
		cfg.Certificates = []tls.Certificate{c.pki.clientTLS}
	}
	return cfg
}

// TLSFiles returns the paths of the generated PEM files; all are empty when
// TLS is off.
func (c *Cluster) TLSFiles() TLSFiles {
	if c.pki == nil {
		return TLSFiles{}
	}
	return c.pki.files
}

// LogPath returns the path of node i's log file (0-based): everything the
// JVM printed, over all of its restarts. It is "" when there is no such node.
// For a container node the file is a copy of the container's output, brought
// up to date by this call.
func (c *Cluster) LogPath(i int) string {
	n, err := c.nodeAt(i)
	if err != nil {
		return ""
	}
	n.backend().syncLog()
	return n.logPath
}

// Dir returns the temporary directory holding configs, data, certificates
// and logs; Close removes it.
func (c *Cluster) Dir() string { return c.dir }

func (c *Cluster) nodeAt(i int) (*node, error) {
	if c.External() {
		return nil, ErrExternal
	}
	if i < 0 || i >= len(c.nodes) {
		return nil, fmt.Errorf("integration: no node %d (cluster has %d)", i, len(c.nodes))
	}
	return c.nodes[i], nil
}

// KillNode sends SIGKILL to node i (0-based) and waits until it has exited.
func (c *Cluster) KillNode(ctx context.Context, i int) error {
	n, err := c.nodeAt(i)
	if err != nil {
		return err
	}
	return n.backend().halt(ctx, false)
}

// StopNode sends SIGTERM to node i (0-based), which makes Kafka shut down in
// a controlled way, and waits for the process to exit. If ctx ends first, or
// after two minutes at most, the node is killed and an error returned.
func (c *Cluster) StopNode(ctx context.Context, i int) error {
	n, err := c.nodeAt(i)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return n.backend().halt(ctx, true)
}

// StartNode restarts node i (0-based) after KillNode or StopNode, with the
// same ports, configuration and data, and waits until it is ready.
func (c *Cluster) StartNode(ctx context.Context, i int) error {
	n, err := c.nodeAt(i)
	if err != nil {
		return err
	}
	return n.backend().start(ctx)
}

// Running reports whether node i's process is alive.
func (c *Cluster) Running(i int) bool {
	n, err := c.nodeAt(i)
	return err == nil && n.backend().alive()
}

// PIDs returns the process ids of the running nodes' JVMs.
func (c *Cluster) PIDs() []int {
	var pids []int
	for _, n := range c.nodes {
		if pid := n.backend().pid(); pid != 0 {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Close kills every node, waits for the processes to exit and removes the
// cluster's temporary directory. It is idempotent, and a no-op for an
// external cluster.
func (c *Cluster) Close() error {
	c.closeOnce.Do(func() {
		var errs []error
		for _, n := range c.nodes {
			if err := n.backend().halt(context.Background(), false); err != nil {
				errs = append(errs, err)
			}
		}
		if c.closeHook != nil {
			errs = append(errs, c.closeHook())
		}
		if c.dir != "" && os.Getenv(KeepEnv) == "" {
			errs = append(errs, os.RemoveAll(c.dir))
		}
		c.closeErr = errors.Join(errs...)
	})
	return c.closeErr
}

// KeepEnv names an environment variable that, when non-empty, makes Close
// keep the cluster's temporary directory (configs, data and logs) for inspection.
const KeepEnv = "GREGOR_KEEP_KAFKA_DIR"

func (n *node) running() *process {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return nil
	}
	select {
	case <-n.proc.done:
		return nil
	default:
		return n.proc
	}
}

// spawn starts the node's JVM, appending its output to the node's log file.
func (n *node) spawn() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc != nil {
		select {
		case <-n.proc.done:
		default:
			return fmt.Errorf("integration: node %d is already running (pid %d)", n.id, n.proc.pid)
		}
	}
	f, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(f, "==== gregor harness: starting node %d at %s ====\n", n.id, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(n.java, n.jvmArgs...)
	cmd.Dir = n.dir
	cmd.Stdout, cmd.Stderr = f, f
	p := &process{cmd: cmd, done: make(chan struct{}), log: f}
	if err := startTied(cmd, p); err != nil {
		f.Close()
		return fmt.Errorf("integration: start node %d: %w", n.id, err)
	}
	n.proc = p
	return nil
}

// reap waits for the process and records its end; run by startTied's goroutine.
func (p *process) reap() {
	p.err = p.cmd.Wait()
	p.log.Close()
	close(p.done)
}

// stop signals the node's process, if any, and waits for it to exit.
func (n *node) stop(ctx context.Context, sig syscall.Signal) error {
	p := n.running()
	if p == nil {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("integration: signal node %d: %w", n.id, err)
	}
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		_ = p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("integration: node %d did not stop in time, killed it: %w", n.id, ctx.Err())
	}
}

// waitReady polls the node's log for the ready line written after the
// current start, then checks that every listener accepts connections.
func (n *node) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	p := n.running()
	if p == nil {
		return n.failure("is not running", nil)
	}
	start := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if n.startedInLog() && n.listening() {
			logger().Debug("Kafka node ready", "node", n.id, "took", time.Since(start).Round(time.Millisecond))
			return nil
		}
		select {
		case <-p.done:
			return n.failure(fmt.Sprintf("exited during start-up (%v)", p.err), nil)
		case <-ctx.Done():
			_ = n.stop(context.Background(), syscall.SIGKILL)
			return n.failure(fmt.Sprintf("not ready after %s", time.Since(start).Round(time.Millisecond)), ctx.Err())
		case <-tick.C:
		}
	}
}

func (n *node) startedInLog() bool {
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		return false
	}
	// Only the output of the latest start counts.
	if i := bytes.LastIndex(b, []byte("==== gregor harness: starting node")); i >= 0 {
		b = b[i:]
	}
	return bytes.Contains(b, []byte(readyLine))
}

func (n *node) listening() bool {
	for _, port := range n.ports.client {
		conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
		if err != nil {
			return false
		}
		conn.Close()
	}
	return true
}

// failure builds an error that carries the tail of the node's log.
func (n *node) failure(what string, cause error) error {
	msg := fmt.Sprintf("integration: Kafka node %d %s; log %s ends with:\n%s", n.id, what, n.logPath, n.logTail(40))
	if cause != nil {
		return fmt.Errorf("%s\n%w", msg, cause)
	}
	return errors.New(msg)
}

func (n *node) logTail(lines int) string {
	n.backend().syncLog()
	b, err := os.ReadFile(n.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log: %v)", err)
	}
	return tail(string(b), lines)
}

var logMu sync.Mutex
var pkgLogger *slog.Logger

// SetLogger sets the logger the harness reports installs and start-ups to;
// the default is slog.Default().
func SetLogger(l *slog.Logger) {
	logMu.Lock()
	defer logMu.Unlock()
	pkgLogger = l
}

func logger() *slog.Logger {
	logMu.Lock()
	defer logMu.Unlock()
	if pkgLogger == nil {
		return slog.Default()
	}
	return pkgLogger
}
