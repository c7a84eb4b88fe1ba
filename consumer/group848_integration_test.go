package consumer

import (
	"testing"
	"time"
)

func realGroupCfg848(group, topic string) func(*Config) {
	return func(c *Config) {
		c.FetchMaxWait = 200 * time.Millisecond
		c.Group = GroupConfig{GroupID: group, Topics: []string{topic}, Protocol: GroupConsumer,
			RebalanceTimeout: 10 * time.Second, AutoCommitInterval: 200 * time.Millisecond}
	}
}

// TestRealGroup848MembersComeAndGo runs the churn scenario of
// TestRealGroupMembersComeAndGo with KIP-848 members: joins, a clean
// leave and a crash, every record processed exactly once.
func TestRealGroup848MembersComeAndGo(t *testing.T) {
	membersComeAndGo(t, GroupConsumer)
}
