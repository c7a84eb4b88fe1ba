package integration

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
)

// DefaultKafkaImage is the image StartContainers runs when neither
// ContainerConfig.Image nor the environment variable ImageEnv names one.
const DefaultKafkaImage = "apache/kafka:4.1.1"

// ImageEnv names an environment variable holding the image StartContainers
// runs when ContainerConfig.Image is empty, for example a locally built
// "localhost/gregor-kafka:4.1.1" (see integration/container/engine.sh).
const ImageEnv = "GREGOR_KAFKA_IMAGE"

// Inside a container, the paths and ports the harness uses.
const (
	ctrDir            = "/gregor"
	ctrControllerPort = 9093
	ctrInternalPort   = 19092
	// ctrLabel marks every container and network the harness creates, so
	// that engine.sh can remove those an interrupted run left behind.
	ctrLabel = "org.gregorkafka.harness"
)

//go:embed container/start.sh
var startScript string

// ContainerConfig describes a cluster for StartContainers. The zero value is
// a single plaintext node of the default image.
type ContainerConfig struct {
	// Image is the Kafka image to run. When empty, the value of the
	// environment variable ImageEnv, or else DefaultKafkaImage. The image
	// needs /bin/sh, java on PATH and Kafka's jars in /opt/kafka/libs (as
	// apache/kafka has), or in the directory named by the container
	// environment variable GREGOR_KAFKA_LIBS (see Env).
	Image string
	// Nodes is the number of combined broker+controller nodes (1 when 0);
	// use 1 or 3.
	Nodes int
	// SASL, TLS, Authorizer and BrokerProperties are as in LocalConfig.
	SASL             bool
	TLS              bool
	Authorizer       bool
	BrokerProperties map[string]string
	// JVMOptions are appended to the broker JVM's options (-Xms256m -Xmx512m,
	// G1 and -XX:TieredStopAtLevel=1 by default).
	JVMOptions []string
	// Env is added to every container's environment.
	Env map[string]string
	// StartTimeout bounds the wait for each node to be ready (3 minutes when 0).
	StartTimeout time.Duration
}

func (c ContainerConfig) local() LocalConfig {
	return LocalConfig{Nodes: c.Nodes, SASL: c.SASL, TLS: c.TLS, Authorizer: c.Authorizer,
		BrokerProperties: c.BrokerProperties, JVMOptions: c.JVMOptions, StartTimeout: c.StartTimeout}.normalized()
}

func (c ContainerConfig) image() string {
	if c.Image != "" {
		return c.Image
	}
	if img := os.Getenv(ImageEnv); img != "" {
		return img
	}
	return DefaultKafkaImage
}

// ctrNode runs a node in a container created by testcontainers-go. Client
// listeners listen on the same port inside the container as the host port
// published on 127.0.0.1, so the broker can advertise 127.0.0.1:<port>;
// controller and inter-broker traffic use the node's network alias.
type ctrNode struct {
	n *node

	mu  sync.Mutex
	ctr testcontainers.Container
}

// StartContainers starts cfg.Nodes Kafka nodes in containers through
// testcontainers-go, on one new container network, and waits until every
// node logs "Kafka Server started" and accepts connections on its
// listeners. It offers what StartLocal does: Bootstrap, NodeAddr, the TLS
// material, KillNode, StopNode, StartNode, LogPath and Close; PIDs is empty.
//
// testcontainers-go finds the engine as usual (DOCKER_HOST, for example a
// Podman socket). Set TESTCONTAINERS_RYUK_DISABLED=true where the reaper
// image cannot be pulled, and TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 when
// the engine would report another host. The ports are published on
// 127.0.0.1 only. On error nothing is left running. The caller must Close
// the cluster.
func StartContainers(ctx context.Context, cfg ContainerConfig) (c *Cluster, err error) {
	// testcontainers-go panics when it finds no engine; make that an error.
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, fmt.Errorf("integration: no usable container engine: %v", r)
		}
	}()
	return startContainers(ctx, cfg)
}

func startContainers(ctx context.Context, cfg ContainerConfig) (*Cluster, error) {
	lc := cfg.local()
	begin := time.Now()
	dir, err := os.MkdirTemp("", "gregor-kafka-ctr-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{cfg: lc, dir: dir}
	var (
		resMu sync.Mutex
		ctrs  []testcontainers.Container
		nw    *testcontainers.DockerNetwork
	)
	c.closeHook = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		resMu.Lock()
		defer resMu.Unlock()
		var errs []error
		for _, ctr := range ctrs {
			errs = append(errs, testcontainers.TerminateContainer(ctr, testcontainers.StopContext(ctx)))
		}
		if nw != nil {
			errs = append(errs, nw.Remove(ctx))
		}
		ctrs, nw = nil, nil
		return errors.Join(errs...)
	}
	ok := false
	defer func() {
		if !ok {
			c.Close()
		}
	}()
	if lc.TLS {
		if c.pki, err = newPKI(dir); err != nil {
			return nil, fmt.Errorf("integration: generate certificates: %w", err)
		}
	}
	ports, err := pickPorts(lc)
	if err != nil {
		return nil, err
	}
	nw, err = network.New(ctx, network.WithLabels(map[string]string{ctrLabel: "true"}))
	if err != nil {
		return nil, fmt.Errorf("integration: create a container network: %w", err)
	}
	alias := func(id int) string { return fmt.Sprintf("kafka-%d", id) }
	var aliases []string
	for i := range lc.Nodes {
		aliases = append(aliases, alias(i+1))
	}
	clusterID := newClusterID()
	formatArgs := []string{"--feature", "share.version=1"}
	if lc.SASL {
		formatArgs = append(formatArgs, scramArgs()...)
	}
	jvm := append([]string{"-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
		"-XX:TieredStopAtLevel=1", "-Djava.awt.headless=true"}, lc.JVMOptions...)
	tlsFiles := map[string]string{} // container path -> host path
	if c.pki != nil {
		tlsFiles[ctrDir+"/keystore.pem"] = c.pki.keystore
		tlsFiles[ctrDir+"/ca.pem"] = c.pki.files.CA
	}
	for i := range lc.Nodes {
		n := &node{id: i + 1, dir: filepath.Join(dir, fmt.Sprintf("node-%d", i+1)), ports: ports[i], timeout: lc.StartTimeout}
		n.logPath = filepath.Join(n.dir, "kafka.log")
		n.props = filepath.Join(n.dir, "server.properties")
		n.ctr = &ctrNode{n: n}
		if err := os.MkdirAll(n.dir, 0o755); err != nil {
			return nil, err
		}
		lay := netLayout{
			bindHost:       "0.0.0.0",
			controllerBind: fmt.Sprintf("0.0.0.0:%d", ctrControllerPort),
			voter:          func(id int) string { return fmt.Sprintf("%s:%d", alias(id), ctrControllerPort) },
			internal:       fmt.Sprintf("%s:%d", alias(n.id), ctrInternalPort),
			keystore:       ctrDir + "/keystore.pem",
			truststore:     ctrDir + "/ca.pem",
		}
		props := renderProperties(lc, n.id, ports, "/tmp/gregor-data", lay)
		if err := os.WriteFile(n.props, []byte(props), 0o644); err != nil {
			return nil, err
		}
		files := []testcontainers.ContainerFile{
			{Reader: strings.NewReader(startScript), ContainerFilePath: ctrDir + "/start.sh", FileMode: 0o755},
			{Reader: strings.NewReader(props), ContainerFilePath: ctrDir + "/server.properties", FileMode: 0o644},
			{Reader: strings.NewReader(log4jConfig), ContainerFilePath: ctrDir + "/log4j2.properties", FileMode: 0o644},
		}
		for in, host := range tlsFiles {
			b, err := os.ReadFile(host)
			if err != nil {
				return nil, err
			}
			files = append(files, testcontainers.ContainerFile{Reader: bytes.NewReader(b), ContainerFilePath: in, FileMode: 0o644})
		}
		var exposed []string
		for _, l := range listeners {
			if p, on := n.ports.client[l]; on {
				exposed = append(exposed, fmt.Sprintf("127.0.0.1:%d:%d/tcp", p, p))
			}
		}
		env := map[string]string{
			"GREGOR_NODE_ID":     fmt.Sprint(n.id),
			"GREGOR_CLUSTER_ID":  clusterID,
			"GREGOR_FORMAT_ARGS": strings.Join(formatArgs, " "),
			"GREGOR_JVM_OPTS":    strings.Join(jvm, " "),
			"GREGOR_WAIT_HOSTS":  strings.Join(aliases, " "),
		}
		for k, v := range cfg.Env {
			env[k] = v
		}
		req := testcontainers.GenericContainerRequest{ContainerRequest: testcontainers.ContainerRequest{
			Image:          cfg.image(),
			Entrypoint:     []string{"/bin/sh", ctrDir + "/start.sh"},
			Cmd:            []string{},
			Env:            env,
			ExposedPorts:   exposed,
			Networks:       []string{nw.Name},
			NetworkAliases: map[string][]string{nw.Name: {alias(n.id)}},
			Files:          files,
			Labels:         map[string]string{ctrLabel: "true"},
		}}
		// Create every container before starting any: the nodes only become
		// ready together, once a quorum of controllers can vote.
		ctr, err := testcontainers.GenericContainer(ctx, req)
		if ctr != nil {
			resMu.Lock()
			ctrs = append(ctrs, ctr)
			resMu.Unlock()
			n.ctr.ctr = ctr
		}
		if err != nil {
			return nil, fmt.Errorf("integration: create container for node %d (image %s): %w", n.id, cfg.image(), err)
		}
		c.nodes = append(c.nodes, n)
	}
	created := time.Now()
	// Start the containers one at a time: Podman's CNI dnsname plugin can
	// lose a network alias when containers join a network concurrently.
	// Each start.sh waits until every alias resolves, then the JVMs start
	// together and form the quorum.
	for _, n := range c.nodes {
		if err := n.ctr.container().Start(ctx); err != nil {
			return nil, fmt.Errorf("integration: start the container of node %d: %w", n.id, err)
		}
	}
	if err := forEachNode(ctx, c.nodes, func(ctx context.Context, n *node) error { return n.ctr.waitReady(ctx) }); err != nil {
		return nil, err
	}
	logger().Info("Kafka container cluster started", "image", cfg.image(), "nodes", lc.Nodes,
		"plaintext", strings.Join(c.Bootstrap(Plaintext), ","), "took", time.Since(begin).Round(time.Millisecond),
		"start", time.Since(created).Round(time.Millisecond), "dir", dir)
	ok = true
	return c, nil
}

func (b *ctrNode) container() testcontainers.Container {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ctr
}

// start starts the container and waits until the broker is ready.
func (b *ctrNode) start(ctx context.Context) error {
	ctr := b.container()
	if ctr == nil {
		return fmt.Errorf("integration: node %d has no container", b.n.id)
	}
	if err := ctr.Start(ctx); err != nil {
		return fmt.Errorf("integration: start the container of node %d: %w", b.n.id, err)
	}
	return b.waitReady(ctx)
}

// halt stops the container: SIGTERM with up to two minutes for Kafka's
// controlled shutdown, or SIGKILL at once.
func (b *ctrNode) halt(ctx context.Context, graceful bool) error {
	ctr := b.container()
	if ctr == nil || !b.alive() {
		return nil
	}
	timeout := time.Duration(0)
	if graceful {
		timeout = 2 * time.Minute
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < timeout {
			timeout = time.Until(dl)
		}
	}
	b.syncLog()
	if err := ctr.Stop(ctx, &timeout); err != nil {
		return fmt.Errorf("integration: stop the container of node %d: %w", b.n.id, err)
	}
	b.syncLog()
	return nil
}

func (b *ctrNode) alive() bool {
	ctr := b.container()
	if ctr == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := ctr.State(ctx)
	return err == nil && st.Running
}

func (b *ctrNode) pid() int { return 0 }

// syncLog copies the container's output, over all of its starts, into the
// node's log file. Errors leave the file as it was.
func (b *ctrNode) syncLog() {
	ctr := b.container()
	if ctr == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rc, err := ctr.Logs(ctx)
	if err != nil {
		return
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if len(data) == 0 && err != nil {
		return
	}
	_ = os.WriteFile(b.n.logPath, data, 0o644)
}

// waitReady polls the container's output for the ready line after the
// latest start marker of start.sh, then checks every published listener.
func (b *ctrNode) waitReady(ctx context.Context) error {
	n := b.n
	ctx, cancel := context.WithTimeout(ctx, n.timeout)
	defer cancel()
	start := time.Now()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for {
		b.syncLog()
		if n.startedInLog() && n.listening() {
			logger().Debug("Kafka container node ready", "node", n.id, "took", time.Since(start).Round(time.Millisecond))
			return nil
		}
		if !b.alive() {
			return n.failure("container exited during start-up", nil)
		}
		select {
		case <-ctx.Done():
			_ = b.halt(context.Background(), false)
			return n.failure(fmt.Sprintf("not ready after %s", time.Since(start).Round(time.Millisecond)), ctx.Err())
		case <-tick.C:
		}
	}
}
