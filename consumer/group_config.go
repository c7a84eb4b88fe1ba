package consumer

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/gregorkafka/gregor/consumer/assign"
)

// GroupProtocol picks the consumer-group protocol.
type GroupProtocol int8

const (
	// GroupClassic is the JoinGroup/SyncGroup protocol in which one member
	// (the leader) runs the assignor. It is the default.
	GroupClassic GroupProtocol = 0
	// GroupConsumer is the KIP-848 protocol (Kafka 4.0 and later) in
	// which the group coordinator assigns partitions and members only send
	// ConsumerGroupHeartbeat. Rebalances are incremental: a member gives up
	// only the partitions that move, and keeps consuming the others.
	GroupConsumer GroupProtocol = 1
)

// ServerAssignor picks the broker-side assignor of a GroupConsumer group.
type ServerAssignor int8

const (
	// ServerAssignorDefault leaves the choice to the broker (its
	// group.consumer.assignors setting; "uniform" unless changed).
	ServerAssignorDefault ServerAssignor = 0
	// ServerAssignorUniform spreads partitions evenly over the members,
	// keeping existing owners where it can.
	ServerAssignorUniform ServerAssignor = 1
	// ServerAssignorRange gives each member contiguous ranges of each
	// topic's partitions, co-partitioning topics of equal size.
	ServerAssignorRange ServerAssignor = 2
)

// name is the assignor's name on the wire ("" for the broker default).
func (a ServerAssignor) name() string {
	switch a {
	case ServerAssignorUniform:
		return "uniform"
	case ServerAssignorRange:
		return "range"
	}
	return ""
}

// String names the assignor as the broker does ("default" for
// ServerAssignorDefault).
func (a ServerAssignor) String() string {
	if n := a.name(); n != "" || a == ServerAssignorDefault {
		return cmp.Or(n, "default")
	}
	return "ServerAssignor(" + strconv.Itoa(int(a)) + ")"
}

// String names the protocol as Java's group.protocol setting does.
func (p GroupProtocol) String() string {
	switch p {
	case GroupClassic:
		return "classic"
	case GroupConsumer:
		return "consumer"
	}
	return "GroupProtocol(" + strconv.Itoa(int(p)) + ")"
}

// Defaults of GroupConfig's zero fields.
const (
	// DefaultSessionTimeout is the default GroupConfig.SessionTimeout
	// (Java's session.timeout.ms).
	DefaultSessionTimeout = 45 * time.Second
	// DefaultHeartbeatInterval is the default GroupConfig.HeartbeatInterval.
	DefaultHeartbeatInterval = 3 * time.Second
	// DefaultRebalanceTimeout is the default GroupConfig.RebalanceTimeout
	// (Java's max.poll.interval.ms, which Java sends as the rebalance timeout).
	DefaultRebalanceTimeout = 5 * time.Minute
	// DefaultAutoCommitInterval is the default GroupConfig.AutoCommitInterval.
	DefaultAutoCommitInterval = 5 * time.Second
)

// PartitionsFunc is a rebalance callback. It runs on the group's own
// goroutine, never concurrently with another callback; ctx ends when the
// step it belongs to must give up (the rebalance timeout, or Close's
// deadline). Poll may keep running while it does.
type PartitionsFunc func(ctx context.Context, c *Consumer, parts []TopicPartition)

// GroupConfig configures consumer-group membership. Every zero field takes
// the default named in its comment.
type GroupConfig struct {
	// GroupID names the group. Empty means no group.
	GroupID string

	// Topics are the topics to subscribe to by name. Exactly one of
	// Topics and TopicRegex must be set when GroupID is.
	Topics []string
	// TopicRegex subscribes to every non-internal topic whose whole name
	// matches (Go regexp syntax), resolved from metadata at each rebalance.
	// A stable member checks every 10 seconds for new matching topics (and,
	// for both Topics and TopicRegex, for partitions added to its topics)
	// and rejoins when it finds any, so that they get assigned.
	TopicRegex string

	// Protocol picks the group protocol. Default GroupClassic.
	Protocol GroupProtocol

	// Assignors are offered to the group in order of preference (classic
	// protocol only; must be empty under GroupConsumer). Default [assign.Range, assign.CooperativeSticky], the
	// Java 4.x default: a group made of such members agrees on "range" and
	// rebalances eagerly, and can later move to cooperative rebalancing by
	// rolling out members that list only CooperativeSticky. Set
	// [assign.CooperativeSticky] to rebalance cooperatively from the start.
	Assignors []assign.Assignor

	// ServerAssignor picks the broker's assignor under GroupConsumer (must
	// be zero under GroupClassic). Default ServerAssignorDefault.
	ServerAssignor ServerAssignor

	// SessionTimeout is how long the coordinator waits without a heartbeat
	// before it removes the member. Default 45s. Classic protocol only:
	// under GroupConsumer the broker sets it
	// (group.consumer.session.timeout.ms) and this must be zero.
	SessionTimeout time.Duration
	// HeartbeatInterval is the time between heartbeats. Default 3s; it must
	// be below SessionTimeout. Classic protocol only: under GroupConsumer
	// the coordinator tells the member how often to heartbeat
	// (group.consumer.heartbeat.interval.ms) and this must be zero.
	HeartbeatInterval time.Duration
	// RebalanceTimeout is how long the coordinator waits for every member
	// to rejoin in a rebalance, and so how long revoking partitions may
	// take (waiting for in-flight records to be marked processed). Default
	// 5m.
	RebalanceTimeout time.Duration

	// InstanceID makes the member static (KIP-345): it keeps its
	// partitions across a restart within the session timeout, without a
	// rebalance, and does not leave the group on Close (under
	// GroupConsumer it tells the coordinator it will come back).
	InstanceID string

	// DisableAutoCommit turns off committing processed offsets every
	// AutoCommitInterval. Offsets are still committed on revoke and Close.
	DisableAutoCommit bool
	// AutoCommitInterval is the time between automatic commits. Default 5s.
	AutoCommitInterval time.Duration

	// OnAssigned runs after partitions are added to the member, before any
	// of their records is handed out.
	OnAssigned PartitionsFunc
	// OnRevoked runs when partitions are taken away in a rebalance, after
	// their in-flight records were marked (or the wait timed out) and the
	// processed offsets were committed.
	OnRevoked PartitionsFunc
	// OnLost runs instead of OnRevoked when the member lost its partitions
	// without a rebalance (session expired, fenced generation): nothing is
	// committed for them, since another member may own them already.
	OnLost PartitionsFunc
}

func (g *GroupConfig) validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Config: "consumer.Config", Field: "Group." + field, Reason: fmt.Sprintf(format, args...)}
	}
	if g.GroupID == "" {
		if len(g.Topics) > 0 || g.TopicRegex != "" || g.InstanceID != "" {
			return bad("GroupID", "empty while topics or an instance id are set")
		}
		return nil
	}
	switch {
	case g.Protocol != GroupClassic && g.Protocol != GroupConsumer:
		return bad("Protocol", "unknown protocol %d", g.Protocol)
	case g.ServerAssignor < ServerAssignorDefault || g.ServerAssignor > ServerAssignorRange:
		return bad("ServerAssignor", "unknown assignor %d", g.ServerAssignor)
	case g.Protocol == GroupClassic && g.ServerAssignor != ServerAssignorDefault:
		return bad("ServerAssignor", "set under the classic protocol, whose members assign (see Assignors)")
	case g.Protocol == GroupConsumer && len(g.Assignors) > 0:
		return bad("Assignors", "set under the consumer protocol, whose broker assigns (see ServerAssignor)")
	case g.Protocol == GroupConsumer && g.SessionTimeout != 0:
		return bad("SessionTimeout", "set under the consumer protocol; the broker's group.consumer.session.timeout.ms applies")
	case g.Protocol == GroupConsumer && g.HeartbeatInterval != 0:
		return bad("HeartbeatInterval", "set under the consumer protocol; the coordinator sets the interval")
	case len(g.Topics) == 0 && g.TopicRegex == "":
		return bad("Topics", "neither Topics nor TopicRegex is set")
	case len(g.Topics) > 0 && g.TopicRegex != "":
		return bad("TopicRegex", "set together with Topics")
	case g.SessionTimeout < 0:
		return bad("SessionTimeout", "negative (%v)", g.SessionTimeout)
	case g.HeartbeatInterval < 0:
		return bad("HeartbeatInterval", "negative (%v)", g.HeartbeatInterval)
	case g.RebalanceTimeout < 0:
		return bad("RebalanceTimeout", "negative (%v)", g.RebalanceTimeout)
	case g.AutoCommitInterval < 0:
		return bad("AutoCommitInterval", "negative (%v)", g.AutoCommitInterval)
	}
	for _, t := range g.Topics {
		if t == "" {
			return bad("Topics", "empty topic name")
		}
	}
	if g.TopicRegex != "" {
		if _, err := regexp.Compile(g.TopicRegex); err != nil {
			return bad("TopicRegex", "%v", err)
		}
	}
	seen := map[string]bool{}
	for i, a := range g.Assignors {
		if a == nil {
			return bad("Assignors", "entry %d is nil", i)
		}
		if seen[a.Name()] {
			return bad("Assignors", "%q listed twice", a.Name())
		}
		seen[a.Name()] = true
	}
	d := g.withDefaults()
	const maxDur = time.Duration(1<<31-1) * time.Millisecond
	switch {
	case d.SessionTimeout > maxDur:
		return bad("SessionTimeout", "above the protocol's int32 milliseconds")
	case d.RebalanceTimeout > maxDur:
		return bad("RebalanceTimeout", "above the protocol's int32 milliseconds")
	case d.HeartbeatInterval >= d.SessionTimeout:
		return bad("HeartbeatInterval", "%v is not below SessionTimeout (%v)", d.HeartbeatInterval, d.SessionTimeout)
	}
	return nil
}

func (g GroupConfig) withDefaults() GroupConfig {
	if g.SessionTimeout == 0 {
		g.SessionTimeout = DefaultSessionTimeout
	}
	if g.HeartbeatInterval == 0 {
		g.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if g.RebalanceTimeout == 0 {
		g.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if g.AutoCommitInterval == 0 {
		g.AutoCommitInterval = DefaultAutoCommitInterval
	}
	if len(g.Assignors) == 0 {
		g.Assignors = []assign.Assignor{assign.Range, assign.CooperativeSticky}
	}
	return g
}
