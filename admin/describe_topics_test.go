package admin

import (
	"errors"
	"testing"
	"time"

	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
)

// kfake does not implement DescribeTopicPartitions, so DescribeTopics must
// fall back to Metadata there.
func TestDescribeTopicsFallsBackToMetadata(t *testing.T) {
	c, a := fake(t, kfake.NumBrokers(3), kfake.SeedTopics(4, "t1"))
	var meta seen
	meta.watch(c, 3) // Metadata
	a.onDescribePage = func(*protocol.DescribeTopicPartitionsRequest, *protocol.DescribeTopicPartitionsResponse) {
		t.Error("a DescribeTopicPartitions page arrived from kfake")
	}
	ctx := ctxT(t, 10*time.Second)
	before := len(meta.all())
	ds, err := a.DescribeTopics(ctx, []string{"t1", "nope"}, DescribeTopicsOptions{PartitionPageLimit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(meta.all()) == before {
		t.Fatal("no Metadata request was sent")
	}
	if ds[0].Err != nil || len(ds[0].Partitions) != 4 {
		t.Fatalf("t1: %+v", ds[0])
	}
	for i, p := range ds[0].Partitions {
		if p.Partition != int32(i) || p.Leader < 0 || len(p.Replicas) == 0 {
			t.Fatalf("t1[%d]: %+v", i, p)
		}
	}
	var ie *ItemError
	if !errors.Is(ds[1].Err, protocol.ErrUnknownTopicOrPartition) || !errors.As(ds[1].Err, &ie) || ie.Name != "nope" {
		t.Fatalf("nope: %+v", ds[1])
	}
}

// A broker without share groups fails each group with its own error.
func TestDescribeShareGroupsUnsupported(t *testing.T) {
	_, a := fake(t, kfake.NumBrokers(1))
	ds, err := a.DescribeShareGroups(ctxT(t, 10*time.Second), []string{"g1", "g2"}, DescribeGroupsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range ds {
		var ie *ItemError
		if !errors.Is(d.Err, protocol.ErrUnsupportedVersion) || !errors.As(d.Err, &ie) || ie.Name != d.Group || d.Group != []string{"g1", "g2"}[i] {
			t.Fatalf("%d: %+v", i, d)
		}
		t.Logf("%s: %v", d.Group, d.Err)
	}
}
