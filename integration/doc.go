// Package integration runs real Apache Kafka 4.1.1 brokers on the local
// machine for tests: Gregor's own, and those of programs that use Gregor.
//
// # What it needs
//
// Java 17 or newer on PATH to run the brokers, and Maven on PATH the first
// time, to fetch the Kafka jars from Maven Central. The jars are cached in
// $GREGOR_KAFKA_HOME/lib, or by default in <user cache dir>/gregor/kafka-4.1.1/lib
// (~/.cache/gregor/kafka-4.1.1/lib on Linux). EnsureKafka fills the cache
// once, under a file lock, so parallel test binaries share one download;
// `go run github.com/gregorkafka/gregor/integration/cmd/kafka-install` does
// the same ahead of time.
//
// # Using it from a test package
//
// Route TestMain through Main, then ask Shared for a cluster of the shape a
// test needs. Each shape starts once per test binary, on first use, and Main
// stops it after the last test:
//
//	func TestMain(m *testing.M) { integration.Main(m) }
//
//	func TestProduce(t *testing.T) {
//		c := integration.Shared(t, integration.LocalConfig{Nodes: 1, SASL: true, TLS: true})
//		brokers := c.Bootstrap(integration.SASLSSL)  // []string{"127.0.0.1:port"}
//		tlsConfig := c.TLSConfig()                   // trusts the generated CA
//		user := integration.AliceUser                // PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
//		...
//	}
//
// A cluster listens only on 127.0.0.1, on ports chosen at start-up. Every
// node runs broker and KRaft controller in one JVM. Listeners: Plaintext
// always; SASLPlaintext with SASL; SSL and MTLS (client certificate required)
// with TLS; SASLSSL with both. The CA, broker and client certificates are
// generated at start-up; TLSConfig, MTLSConfig and TLSFiles hand them out.
// The brokers use short group timeouts (KIP-848 sessions down to 1 s),
// no initial rebalance delay, and share groups (share.version=1).
// LocalConfig.Authorizer turns on ACLs with super users admin and ANONYMOUS;
// LocalConfig.BrokerProperties adds or overrides any broker setting.
//
// Tests that change a shared cluster (KillNode, StopNode, topics they rely
// on) must leave it usable for the next test, for example by restarting the
// node with StartNode. A test that needs a private cluster calls StartLocal
// and Close itself.
//
// When a test fails, the tail of every node's log is attached to its output
// (LogOnFailure, which Shared registers), and Main prints it again if the
// binary fails. Each node's full log is in its own file, LogPath.
//
// # Kafka in containers
//
// StartContainers starts the same kinds of cluster (ContainerConfig: Nodes,
// SASL, TLS, Authorizer, BrokerProperties) in containers, through
// testcontainers-go, and returns the same *Cluster: Bootstrap and NodeAddr
// give 127.0.0.1 addresses, and KillNode, StopNode, StartNode, LogPath and
// Close work as for local nodes (a container node has no PID). Each client
// listener uses the same port number inside the container as on the host,
// where it is published on 127.0.0.1 only, so the broker can advertise
// 127.0.0.1:<port>. The nodes share one new container network; controllers
// and replication talk over the network aliases kafka-1, kafka-2, ... The
// harness copies server.properties (rendered as for local nodes), the
// certificates and container/start.sh into /gregor in each container and
// runs that script, which formats storage on first start and then execs
// the broker. The image is ContainerConfig.Image, else $GREGOR_KAFKA_IMAGE,
// else apache/kafka:4.1.1; it needs /bin/sh, java on PATH and the Kafka jars
// in /opt/kafka/libs.
//
// On a Debian machine without Docker, integration/container/engine.sh (run
// by `make containers-up` and `make test`) installs Podman, serves its
// Docker-compatible API on a private socket, builds the local image
// localhost/gregor-kafka:4.1.1 from debootstrap, Java 17 and the cached jars
// (only when those inputs change) and prints the environment the tests need:
// DOCKER_HOST, TESTCONTAINERS_RYUK_DISABLED=true (no reaper image can be
// pulled), TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 and GREGOR_KAFKA_IMAGE.
// Without a usable engine or image, StartContainers returns an error; pass
// it to Unavailable to fail under CI=true and skip otherwise.
//
// # Environment variables
//
//   - GREGOR_KAFKA_HOME: where the Kafka jars are cached (see above).
//   - GREGOR_TEST_BOOTSTRAP: host:port[,host:port...] of an existing
//     cluster's PLAINTEXT listener. Shared then returns that cluster for
//     every shape and starts nothing; only the Plaintext listener is
//     available, and KillNode, StopNode and StartNode return ErrExternal.
//   - CI: when "true", a test that needs Kafka fails if the broker cannot be
//     started (java missing, start-up error), with the broker's log in the
//     output. Otherwise such tests are skipped, with the reason printed.
//   - GREGOR_KAFKA_IMAGE: the image StartContainers runs by default.
//   - GREGOR_KEEP_KAFKA_DIR: when non-empty, Close keeps the cluster's
//     temporary directory (configurations, data, certificates, logs).
//
// No JVM outlives the test binary: Close and Main kill and reap them, and on
// Linux each JVM also receives SIGKILL if the test binary itself dies.
package integration
