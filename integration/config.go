package integration

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Listener names one of the client listeners a local cluster can expose.
type Listener int

// The client listeners. Plaintext is always present; the SASL and TLS ones
// only when LocalConfig asks for them (see Cluster.Has).
const (
	// Plaintext is an unauthenticated, unencrypted listener (principal User:ANONYMOUS).
	Plaintext Listener = iota
	// SASLPlaintext accepts SASL PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 without TLS.
	SASLPlaintext
	// SSL is TLS with server authentication only; clients need no certificate.
	SSL
	// SASLSSL is SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) inside TLS.
	SASLSSL
	// MTLS is TLS that requires a client certificate signed by the test CA.
	MTLS
)

// listeners lists every client listener, in declaration order.
var listeners = []Listener{Plaintext, SASLPlaintext, SSL, SASLSSL, MTLS}

// String returns the Kafka listener name, such as "SASL_SSL".
func (l Listener) String() string {
	switch l {
	case Plaintext:
		return "PLAINTEXT"
	case SASLPlaintext:
		return "SASL_PLAINTEXT"
	case SSL:
		return "SSL"
	case SASLSSL:
		return "SASL_SSL"
	case MTLS:
		return "MTLS"
	}
	return fmt.Sprintf("Listener(%d)", int(l))
}

// protocol is the Kafka security protocol behind the listener.
func (l Listener) protocol() string {
	if l == MTLS {
		return "SSL"
	}
	return l.String()
}

// SASL mechanisms every SASL listener of a local cluster enables.
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
)

// Credential is a SASL user name and password known to a local cluster for
// all three mechanisms.
type Credential struct {
	// Username is the SASL user name (also the principal, User:<Username>).
	Username string
	// Password is the user's password for PLAIN and both SCRAM mechanisms.
	Password string
}

// The users a local cluster with SASL enabled knows. Admin is a super user
// when the authorizer is on; Alice is an ordinary user, for ACL tests.
var (
	AdminUser = Credential{Username: "admin", Password: "admin-secret"}
	AliceUser = Credential{Username: "alice", Password: "alice-secret"}
)

// LocalConfig describes a cluster for StartLocal. The zero value is a single
// plaintext node.
type LocalConfig struct {
	// Nodes is the number of combined broker+controller nodes (1 when 0).
	// Every node votes in the KRaft quorum, so use 1 or 3.
	Nodes int
	// SASL adds the SASL_PLAINTEXT listener (and SASL_SSL with TLS).
	SASL bool
	// TLS adds the SSL and mutual-TLS listeners (and SASL_SSL with SASL).
	TLS bool
	// Authorizer turns on KRaft's StandardAuthorizer with super users
	// User:admin and User:ANONYMOUS (the principal of plaintext and
	// inter-broker traffic) and no allow-everyone fallback.
	Authorizer bool
	// BrokerProperties are added to every node's server.properties and win
	// over the harness's defaults.
	BrokerProperties map[string]string
	// JVMOptions are appended to the JVM command line, after the defaults
	// (-Xms512m -Xmx768m, G1, and -XX:TieredStopAtLevel=1, which saves JIT
	// work at start-up; pass -XX:TieredStopAtLevel=4 for full C2 speed).
	JVMOptions []string
	// StartTimeout bounds the wait for each node to be ready (3 minutes when 0).
	StartTimeout time.Duration
}

func (c LocalConfig) normalized() LocalConfig {
	if c.Nodes <= 0 {
		c.Nodes = 1
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 3 * time.Minute
	}
	return c
}

// key identifies the cluster shape for sharing between tests.
func (c LocalConfig) key() string {
	c = c.normalized()
	var b strings.Builder
	fmt.Fprintf(&b, "n=%d sasl=%t tls=%t authz=%t jvm=%q", c.Nodes, c.SASL, c.TLS, c.Authorizer, c.JVMOptions)
	for _, k := range slices.Sorted(maps.Keys(c.BrokerProperties)) {
		fmt.Fprintf(&b, " %s=%s", k, c.BrokerProperties[k])
	}
	return b.String()
}

// enabled reports whether the configuration exposes listener l.
func (c LocalConfig) enabled(l Listener) bool {
	switch l {
	case Plaintext:
		return true
	case SASLPlaintext:
		return c.SASL
	case SSL, MTLS:
		return c.TLS
	case SASLSSL:
		return c.SASL && c.TLS
	}
	return false
}

// nodePorts are the loopback ports of one node, fixed for its lifetime.
type nodePorts struct {
	controller int
	client     map[Listener]int
}

// serverProperties renders server.properties for node id (1-based) of a
// cluster whose JVMs run on this machine: every listener on 127.0.0.1.
func serverProperties(cfg LocalConfig, id int, all []nodePorts, dataDir string, p *pki) string {
	lay := netLayout{
		bindHost:       "127.0.0.1",
		controllerBind: fmt.Sprintf("127.0.0.1:%d", all[id-1].controller),
		voter:          func(i int) string { return fmt.Sprintf("127.0.0.1:%d", all[i-1].controller) },
	}
	if p != nil {
		lay.keystore, lay.truststore = p.keystore, p.files.CA
	}
	return renderProperties(cfg, id, all, dataDir, lay)
}

// netLayout is where a node's listeners bind and how the nodes reach one
// another: all on loopback for JVMs on this machine, or on a container
// network, where clients still use 127.0.0.1 and published ports.
type netLayout struct {
	// bindHost is the host part of the client listeners; they are always
	// advertised as 127.0.0.1 with the same port.
	bindHost string
	// controllerBind is the host:port of the node's CONTROLLER listener.
	controllerBind string
	// voter returns the host:port of node i's (1-based) controller.
	voter func(i int) string
	// internal, when set, is the host:port of an extra PLAINTEXT listener
	// named INTERNAL that carries inter-broker traffic; it binds on bindHost.
	internal string
	// keystore and truststore are the broker's PEM files, as the broker sees them.
	keystore, truststore string
}

// renderProperties renders server.properties for node id (1-based) in layout lay.
func renderProperties(cfg LocalConfig, id int, all []nodePorts, dataDir string, lay netLayout) string {
	props := map[string]string{}
	set := func(k, v string) { props[k] = v }
	me := all[id-1]

	var voters, lis, adv, protoMap []string
	for i := range all {
		voters = append(voters, fmt.Sprintf("%d@%s", i+1, lay.voter(i+1)))
	}
	protoMap = append(protoMap, "CONTROLLER:PLAINTEXT")
	for _, l := range listeners {
		if !cfg.enabled(l) {
			continue
		}
		lis = append(lis, fmt.Sprintf("%s://%s:%d", l, lay.bindHost, me.client[l]))
		adv = append(adv, fmt.Sprintf("%s://127.0.0.1:%d", l, me.client[l]))
		protoMap = append(protoMap, l.String()+":"+l.protocol())
	}
	interBroker := "PLAINTEXT"
	if lay.internal != "" {
		_, port, _ := strings.Cut(lay.internal, ":")
		lis = append(lis, fmt.Sprintf("INTERNAL://%s:%s", lay.bindHost, port))
		adv = append(adv, "INTERNAL://"+lay.internal)
		protoMap = append(protoMap, "INTERNAL:PLAINTEXT")
		interBroker = "INTERNAL"
	}
	lis = append(lis, "CONTROLLER://"+lay.controllerBind)

	set("process.roles", "broker,controller")
	set("node.id", fmt.Sprint(id))
	set("controller.quorum.voters", strings.Join(voters, ","))
	set("controller.listener.names", "CONTROLLER")
	set("listeners", strings.Join(lis, ","))
	set("advertised.listeners", strings.Join(adv, ","))
	set("inter.broker.listener.name", interBroker)
	set("listener.security.protocol.map", strings.Join(protoMap, ","))
	set("log.dirs", dataDir)
	set("num.network.threads", "2")
	set("num.io.threads", "4")
	set("log.cleaner.dedupe.buffer.size", "33554432")

	rf, minISR := "1", "1"
	if cfg.Nodes >= 3 {
		rf, minISR = "3", "2"
		set("default.replication.factor", "3")
		set("min.insync.replicas", "2")
	}
	set("offsets.topic.replication.factor", rf)
	set("transaction.state.log.replication.factor", rf)
	set("transaction.state.log.min.isr", minISR)
	set("share.coordinator.state.topic.replication.factor", rf)
	set("share.coordinator.state.topic.min.isr", minISR)

	// Failure detection fast enough for failover tests, yet loose enough
	// that a busy 2-core CI machine does not make the quorum churn while
	// three JVMs start at once.
	set("broker.heartbeat.interval.ms", "1000")
	set("broker.session.timeout.ms", "6000")
	set("controller.quorum.election.timeout.ms", "2000")
	set("controller.quorum.fetch.timeout.ms", "8000")
	set("controller.quorum.request.timeout.ms", "5000")

	// Groups: no initial delay, short timeouts (min <= value <= max, heartbeat < session).
	set("group.initial.rebalance.delay.ms", "0")
	set("group.min.session.timeout.ms", "1000")
	set("group.consumer.min.session.timeout.ms", "1000")
	set("group.consumer.session.timeout.ms", "6000")
	set("group.consumer.min.heartbeat.interval.ms", "100")
	set("group.consumer.heartbeat.interval.ms", "500")
	set("group.share.min.session.timeout.ms", "1000")
	set("group.share.session.timeout.ms", "6000")
	set("group.share.min.heartbeat.interval.ms", "100")
	set("group.share.heartbeat.interval.ms", "500")

	if cfg.SASL {
		set("sasl.enabled.mechanisms", strings.Join([]string{MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512}, ","))
		plain := fmt.Sprintf(`org.apache.kafka.common.security.plain.PlainLoginModule required username=%q password=%q user_%s=%q user_%s=%q;`,
			AdminUser.Username, AdminUser.Password, AdminUser.Username, AdminUser.Password, AliceUser.Username, AliceUser.Password)
		scram := `org.apache.kafka.common.security.scram.ScramLoginModule required;`
		for _, l := range []Listener{SASLPlaintext, SASLSSL} {
			if !cfg.enabled(l) {
				continue
			}
			prefix := "listener.name." + strings.ToLower(l.String()) + "."
			set(prefix+"plain.sasl.jaas.config", plain)
			set(prefix+"scram-sha-256.sasl.jaas.config", scram)
			set(prefix+"scram-sha-512.sasl.jaas.config", scram)
		}
	}
	if cfg.TLS {
		set("ssl.keystore.type", "PEM")
		set("ssl.keystore.location", lay.keystore)
		set("ssl.truststore.type", "PEM")
		set("ssl.truststore.location", lay.truststore)
		set("listener.name.mtls.ssl.client.auth", "required")
	}
	if cfg.Authorizer {
		set("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer")
		set("super.users", "User:"+AdminUser.Username+";User:ANONYMOUS")
		set("allow.everyone.if.no.acl.found", "false")
	}
	maps.Copy(props, cfg.BrokerProperties)

	var b strings.Builder
	b.WriteString("# Written by the Gregor integration harness.\n")
	for _, k := range slices.Sorted(maps.Keys(props)) {
		fmt.Fprintf(&b, "%s=%s\n", k, escapeProperty(props[k]))
	}
	return b.String()
}

// escapeProperty escapes the characters java.util.Properties treats specially in values.
func escapeProperty(v string) string {
	r := strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	return r.Replace(v)
}

// scramArgs are the StorageTool arguments that create the SCRAM users.
func scramArgs() []string {
	var args []string
	for _, mech := range []string{MechanismSCRAMSHA256, MechanismSCRAMSHA512} {
		for _, u := range []Credential{AdminUser, AliceUser} {
			args = append(args, "--add-scram", fmt.Sprintf("%s=[name=%s,password=%s]", mech, u.Username, u.Password))
		}
	}
	return args
}

const log4jConfig = `# Written by the Gregor integration harness: everything to stdout, which the harness writes to the node's log file.
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.kafka.name = org.apache.kafka
logger.kafka.level = INFO
# The full dumps of every config object would crowd out the useful lines in
# log tails; the node's server.properties sits next to its log.
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = WARN
`
