package admin

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/integration"
	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
)

// kcatProduce writes n records to one partition with kcat.
func kcatProduce(t *testing.T, kc *integration.Cluster, topic string, partition, n int) {
	t.Helper()
	var in strings.Builder
	for i := range n {
		fmt.Fprintf(&in, "record-%d\n", i)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "kcat", "-b", strings.Join(kc.Bootstrap(integration.Plaintext), ","), "-P", "-t", topic,
		"-p", fmt.Sprint(partition), "-X", "acks=all")
	cmd.Stdin = strings.NewReader(in.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P: %v %s", err, out)
	}
}

// kcatCount consumes one partition from the beginning with kcat and counts
// the records.
func kcatCount(t *testing.T, kc *integration.Cluster, topic string, partition int) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "kcat", "-b", strings.Join(kc.Bootstrap(integration.Plaintext), ","), "-C", "-t", topic,
		"-p", fmt.Sprint(partition), "-o", "beginning", "-e", "-q").Output()
	if err != nil {
		t.Fatalf("kcat -C: %v", err)
	}
	return strings.Count(string(out), "\n")
}

func TestIntegrationOffsetsAndRecords(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 2*time.Minute)
	topic := uniqueName("offsets")
	mustCreate(t, a, topic, 2, 3)
	before := time.Now().Add(-time.Minute)
	kcatProduce(t, kc, topic, 0, 10)

	p0, p1 := TopicPartition{topic, 0}, TopicPartition{topic, 1}
	missing := TopicPartition{topic, 7}
	lo, err := a.ListOffsets(ctx, map[TopicPartition]OffsetSpec{p0: OffsetEarliest, p1: OffsetLatest, missing: OffsetLatest}, ListOffsetsOptions{})
	if err != nil || lo[p0].Err != nil || lo[p0].Offset != 0 || lo[p1].Err != nil || lo[p1].Offset != 0 || lo[missing].Err == nil {
		t.Fatalf("list offsets: %v %+v", err, lo)
	}
	lo, err = a.ListOffsets(ctx, map[TopicPartition]OffsetSpec{p0: OffsetLatest}, ListOffsetsOptions{ReadCommitted: true})
	if err != nil || lo[p0].Offset != 10 {
		t.Fatalf("latest: %v %+v", err, lo)
	}
	lo, err = a.ListOffsets(ctx, map[TopicPartition]OffsetSpec{p0: OffsetMaxTimestamp}, ListOffsetsOptions{})
	if err != nil || lo[p0].Err != nil || lo[p0].Offset < 0 || lo[p0].Timestamp < before.UnixMilli() {
		t.Fatalf("max timestamp: %v %+v", err, lo)
	}
	lo, err = a.ListOffsets(ctx, map[TopicPartition]OffsetSpec{p0: OffsetAtTime(before)}, ListOffsetsOptions{})
	if err != nil || lo[p0].Offset != 0 {
		t.Fatalf("at time before: %v %+v", err, lo)
	}
	lo, err = a.ListOffsets(ctx, map[TopicPartition]OffsetSpec{p0: OffsetAtTime(time.Now().Add(time.Hour))}, ListOffsetsOptions{})
	if err != nil || lo[p0].Offset != -1 {
		t.Fatalf("at time after: %v %+v", err, lo)
	}

	// Deleting records moves the log start offset; kcat sees the rest.
	dr, err := a.DeleteRecords(ctx, map[TopicPartition]int64{p0: 4, missing: 1})
	if err != nil || dr[p0].Err != nil || dr[p0].LowWatermark != 4 || dr[missing].Err == nil {
		t.Fatalf("delete records: %v %+v", err, dr)
	}
	lo, err = a.ListOffsets(ctx, map[TopicPartition]OffsetSpec{p0: OffsetEarliest}, ListOffsetsOptions{})
	if err != nil || lo[p0].Offset != 4 {
		t.Fatalf("earliest after delete: %v %+v", err, lo)
	}
	if n := kcatCount(t, kc, topic, 0); n != 6 {
		t.Fatalf("kcat reads %d records after deleting 4 of 10", n)
	}
	// Beyond the high watermark.
	dr, err = a.DeleteRecords(ctx, map[TopicPartition]int64{p0: 100})
	if err != nil || !errors.Is(dr[p0].Err, protocol.ErrOffsetOutOfRange) {
		t.Fatalf("delete beyond end: %v %+v", err, dr)
	}
}

func TestIntegrationGroups(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 3*time.Minute)
	topic := uniqueName("groups")
	mustCreate(t, a, topic, 3, 3)
	kcatProduce(t, kc, topic, 0, 10)
	kcatProduce(t, kc, topic, 1, 5)

	// A classic group: kcat's balanced consumer.
	classic := uniqueName("classic")
	kctx, kcancel := context.WithCancel(ctx)
	defer kcancel()
	cmd := exec.CommandContext(kctx, "kcat", "-b", strings.Join(kc.Bootstrap(integration.Plaintext), ","), "-G", classic, "-q",
		"-X", "session.timeout.ms=6000", "-X", "client.id=kcat-admin-test", "-X", "auto.offset.reset=earliest",
		"-X", "auto.commit.interval.ms=500", topic)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var desc GroupDescription
	waitFor(t, 60*time.Second, func() error {
		ds, err := a.DescribeGroups(ctx, []string{classic}, DescribeGroupsOptions{AuthorizedOperations: true})
		if err != nil {
			return err
		}
		desc = ds[0]
		if desc.Err != nil || desc.State != "Stable" || len(desc.Members) != 1 || len(desc.Members[0].Assignment) != 1 {
			return fmt.Errorf("classic group not stable yet: %+v", desc)
		}
		return nil
	})
	m := desc.Members[0]
	if desc.Type != "classic" || desc.ProtocolType != "consumer" || m.ClientID != "kcat-admin-test" ||
		m.Assignment[0].Topic != topic || len(m.Assignment[0].Partitions) != 3 || !slices.Contains(m.Subscription, topic) ||
		len(desc.AuthorizedOperations) == 0 {
		t.Fatalf("classic group: %+v", desc)
	}
	ls, err := a.ListGroups(ctx, ListGroupsOptions{States: []string{"Stable"}, Types: []string{"classic"}})
	if err != nil || !slices.ContainsFunc(ls, func(g GroupListing) bool { return g.Group == classic && g.Type == "classic" }) {
		t.Fatalf("list stable classic groups: %v %+v", err, ls)
	}
	// An active group refuses deletion, with a typed error.
	dg, err := a.DeleteGroups(ctx, classic)
	if err != nil || !errors.Is(dg[classic], protocol.ErrNonEmptyGroup) {
		t.Fatalf("delete active group: %v %v", err, dg)
	}
	// Offsets of an active group can be neither altered nor deleted from
	// outside, and the refusals are typed.
	p0 := TopicPartition{topic, 0}
	ao, err := a.AlterOffsets(ctx, classic, map[TopicPartition]NewOffset{p0: {Offset: 1, LeaderEpoch: -1}})
	if err != nil || !errors.Is(ao[p0], protocol.ErrUnknownMemberID) {
		t.Fatalf("alter offsets of an active group: %v %v", err, ao)
	}
	waitFor(t, 30*time.Second, func() error { // kcat commits what it read every 500ms
		fo, err := a.FetchOffsets(ctx, classic, FetchOffsetsOptions{})
		if err != nil || fo[p0].Offset != 10 {
			return fmt.Errorf("kcat's committed offsets: %v %+v", err, fo)
		}
		return nil
	})
	do, err := a.DeleteOffsets(ctx, classic, []TopicPartition{p0})
	if err != nil || !errors.Is(do[p0], protocol.ErrGroupSubscribedToTopic) {
		t.Fatalf("delete offsets of a subscribed topic: %v %v", err, do)
	}
	kcancel()
	_ = cmd.Wait()

	// Offsets of an empty group, checked with Kafka's own tool.
	group := uniqueName("offsets-group")
	p1, p2 := TopicPartition{topic, 1}, TopicPartition{topic, 2}
	ao, err = a.AlterOffsets(ctx, group, map[TopicPartition]NewOffset{p0: {Offset: 4, LeaderEpoch: -1, Metadata: "m0"}, p1: {Offset: 1, LeaderEpoch: -1}})
	if err != nil || ao[p0] != nil || ao[p1] != nil {
		t.Fatalf("alter offsets: %v %v", err, ao)
	}
	out, err := integration.RunTool(ctx, "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
		"--bootstrap-server", strings.Join(kc.Bootstrap(integration.Plaintext), ","), "--describe", "--group", group)
	if err != nil {
		t.Fatal(err)
	}
	if !toolRow(out, topic, "0", "4", "10", "6") || !toolRow(out, topic, "1", "1", "5", "4") {
		t.Fatalf("kafka-consumer-groups --describe disagrees:\n%s", out)
	}
	fo, err := a.FetchOffsets(ctx, group, FetchOffsetsOptions{})
	if err != nil || len(fo) != 2 || fo[p0].Offset != 4 || fo[p0].Metadata != "m0" || fo[p1].Offset != 1 {
		t.Fatalf("fetch offsets: %v %+v", err, fo)
	}
	fo, err = a.FetchOffsets(ctx, group, FetchOffsetsOptions{Partitions: []TopicPartition{p1, p2}})
	if err != nil || fo[p1].Offset != 1 || fo[p2].Offset != -1 {
		t.Fatalf("fetch some offsets: %v %+v", err, fo)
	}
	lag, err := a.Lag(ctx, group)
	if err != nil || lag[p0].Lag != 6 || lag[p0].End != 10 || lag[p1].Lag != 4 {
		t.Fatalf("lag: %v %+v", err, lag)
	}
	del, err := a.DeleteOffsets(ctx, group, []TopicPartition{p1})
	if err != nil || del[p1] != nil {
		t.Fatalf("delete offsets: %v %v", err, del)
	}
	fo, err = a.FetchOffsets(ctx, group, FetchOffsetsOptions{})
	if _, still := fo[p1]; err != nil || still || fo[p0].Offset != 4 {
		t.Fatalf("after delete offsets: %v %+v", err, fo)
	}
	ls, err = a.ListGroups(ctx, ListGroupsOptions{States: []string{"Empty"}})
	if err != nil || !slices.ContainsFunc(ls, func(g GroupListing) bool { return g.Group == group }) {
		t.Fatalf("list empty groups: %v %+v", err, ls)
	}
	dg, err = a.DeleteGroups(ctx, group, "no-such-group")
	if err != nil || dg[group] != nil || !errors.Is(dg["no-such-group"], protocol.ErrGroupIDNotFound) {
		t.Fatalf("delete groups: %v %v", err, dg)
	}
	ds, err := a.DescribeGroups(ctx, []string{group, "no-such-group"}, DescribeGroupsOptions{})
	if err != nil || !errors.Is(ds[0].Err, protocol.ErrGroupIDNotFound) || !errors.Is(ds[1].Err, protocol.ErrGroupIDNotFound) {
		t.Fatalf("describe deleted and missing groups: %v %+v", err, ds)
	}
	if _, err := a.FetchOffsets(ctx, group, FetchOffsetsOptions{}); err != nil {
		t.Fatalf("fetch offsets of a deleted group: %v", err)
	}
}

// toolRow reports whether the output of kafka-consumer-groups --describe
// has a row for topic and partition with the given current offset, log end
// offset and lag.
func toolRow(out, topic, partition, current, end, lag string) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 6 && f[1] == topic && f[2] == partition && f[3] == current && f[4] == end && f[5] == lag {
			return true
		}
	}
	return false
}

// TestIntegrationConsumerGroup describes a KIP-848 consumer group run by
// Kafka's console consumer with group.protocol=consumer.
func TestIntegrationConsumerGroup(t *testing.T) {
	kc := integration.Shared(t, three)
	leakcheck.Check(t)
	a := newAdmin(t, kc)
	ctx := ctxT(t, 3*time.Minute)
	topic := uniqueName("cg")
	mustCreate(t, a, topic, 2, 3)
	group := uniqueName("kip848")
	tctx, tcancel := context.WithCancel(ctx)
	defer tcancel()
	done := make(chan error, 1)
	go func() {
		_, err := integration.RunTool(tctx, "org.apache.kafka.tools.consumer.ConsoleConsumer",
			"--bootstrap-server", strings.Join(kc.Bootstrap(integration.Plaintext), ","), "--topic", topic, "--group", group,
			"--consumer-property", "group.protocol=consumer", "--consumer-property", "client.id=java-848", "--timeout-ms", "90000")
		done <- err
	}()
	var d GroupDescription
	waitFor(t, 90*time.Second, func() error {
		ds, err := a.DescribeGroups(ctx, []string{group}, DescribeGroupsOptions{})
		if err != nil {
			return err
		}
		d = ds[0]
		if d.Err != nil || len(d.Members) != 1 || len(d.Members[0].Assignment) != 1 || len(d.Members[0].Assignment[0].Partitions) != 2 {
			return fmt.Errorf("consumer group not assigned yet: %+v", d)
		}
		return nil
	})
	if d.Type != "consumer" || d.Epoch <= 0 || d.Members[0].ClientID != "java-848" || d.Members[0].Epoch <= 0 ||
		!slices.Contains(d.Members[0].Subscription, topic) || d.Members[0].Assignment[0].Topic != topic {
		t.Fatalf("consumer group: %+v", d)
	}
	ls, err := a.ListGroups(ctx, ListGroupsOptions{Types: []string{"consumer"}})
	if err != nil || !slices.ContainsFunc(ls, func(g GroupListing) bool { return g.Group == group && g.Type == "consumer" }) {
		t.Fatalf("list consumer groups: %v %+v", err, ls)
	}
	tcancel()
	<-done
}
