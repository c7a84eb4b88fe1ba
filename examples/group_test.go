package examples_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gregorkafka/gregor/admin"
	"github.com/gregorkafka/gregor/internal/leakcheck"
)

// testGroupConsumer runs two members of one group, checks from the output
// that both owned partitions and processed records, that every record was
// processed exactly once, and then asks the broker itself that the group's
// committed offsets equal the partitions' end offsets.
func testGroupConsumer(t *testing.T, rn runner, brokers string) {
	leakcheck.Check(t)
	const topic, group, partitions, records = "examples-group", "examples-group", 6, 200
	res := rn.mustRun(t, "group-consumer", "-brokers", brokers, "-topic", topic, "-group", group,
		"-partitions", strconv.Itoa(partitions), "-members", "2", "-records", strconv.Itoa(records))
	total := 0
	for _, m := range []string{"member-1", "member-2"} {
		if len(linesWith(res.stdout, "["+m+"] assigned "+topic+"[")) == 0 {
			t.Errorf("%s was never assigned partitions", m)
		}
		if len(linesWith(res.stdout, "["+m+"] revoked (processed offsets committed) "+topic+"[")) == 0 {
			t.Errorf("%s never had partitions revoked (on close at least)", m)
		}
		lines := linesWith(res.stdout, "["+m+"] processed ")
		if len(lines) != 1 {
			t.Fatalf("%s: want one processed line, got %q", m, lines)
		}
		n, err := strconv.Atoi(strings.Fields(lines[0])[2])
		mustf(t, err, "parse %q", lines[0])
		if n == 0 {
			t.Errorf("%s processed no records: the group did not share the partitions", m)
		}
		total += n
	}
	if total != records || !strings.Contains(res.stdout, "processed 200 distinct records, 0 duplicates") {
		t.Errorf("members processed %d records in all, want %d, each once", total, records)
	}
	if t.Failed() {
		t.Fatalf("output:\n%s", res.stdout)
	}
	adm, ctx := newAdmin(t, brokers)
	committed, err := adm.FetchOffsets(ctx, group, admin.FetchOffsetsOptions{})
	mustf(t, err, "fetch the group's offsets")
	specs := map[admin.TopicPartition]admin.OffsetSpec{}
	for p := range int32(partitions) {
		specs[admin.TopicPartition{Topic: topic, Partition: p}] = admin.OffsetLatest
	}
	ends, err := adm.ListOffsets(ctx, specs, admin.ListOffsetsOptions{})
	mustf(t, err, "list end offsets")
	var sum int64
	for tp := range specs {
		end, got := ends[tp], committed[tp]
		if end.Err != nil || got.Err != nil {
			t.Fatalf("%s: end %v, committed %v", tp, end.Err, got.Err)
		}
		if got.Offset != end.Offset {
			t.Errorf("%s: committed offset %d, end offset %d", tp, got.Offset, end.Offset)
		}
		sum += end.Offset
	}
	if sum != records {
		t.Errorf("the partitions hold %d records, want %d", sum, records)
	}
}
