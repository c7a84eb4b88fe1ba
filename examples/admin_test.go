package examples_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
)

// testAdmin runs the admin walkthrough and checks its steps' answers, then
// that the topic and the group it deleted are gone from the broker.
func testAdmin(t *testing.T, rn runner, brokers string) {
	leakcheck.Check(t)
	const topic, group = "examples-admin", "examples-admin-group"
	res := rn.mustRun(t, "admin", "-brokers", brokers, "-topic", topic, "-group", group)
	for _, want := range []string{
		"step 1: cluster ",
		"step 2: created topic " + topic + " (id ",
		"): 3 partitions, replication factor 1",
		"step 3: described topic " + topic + ": 3 partitions",
		"step 4: altered config retention.ms of " + topic + ": now 3600000",
		"step 5: grew " + topic + " to 6 partitions",
		"step 6: described topic " + topic + ": 6 partitions",
		"step 7: wrote 12 records round robin",
		"step 9: groups: ",
		group + "(Empty)",
		"step 10: group " + group + " lags 6 records behind",
		"step 11: deleted group " + group,
		"step 12: deleted topic " + topic,
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", res.stdout)
	}
	adm, ctx := newAdmin(t, brokers)
	// The deletion reaches every broker's metadata shortly after the
	// controller accepted it.
	for {
		descs, err := adm.DescribeTopics(ctx, []string{topic}, admin.DescribeTopicsOptions{})
		mustf(t, err, "describe topics")
		if errors.Is(descs[0].Err, protocol.ErrUnknownTopicOrPartition) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("topic %s still described after the walkthrough deleted it: %+v", topic, descs[0])
		case <-time.After(100 * time.Millisecond):
		}
	}
	groups, err := adm.ListGroups(ctx, admin.ListGroupsOptions{})
	mustf(t, err, "list groups")
	for _, g := range groups {
		if g.Group == group {
			t.Fatalf("group %s still listed after the walkthrough deleted it: %+v", group, g)
		}
	}
}
