package broker

import (
	"context"
	"runtime"
	"testing"

	"github.com/gregorkafka/gregor/internal/leakcheck"
	"github.com/gregorkafka/gregor/protocol"
	"github.com/twmb/franz-go/pkg/kfake"
)

// observingReq is a produce request that records what the connection
// tells it of the socket's unsent bytes.
type observingReq struct {
	produceReq
	told []int
}

func (r *observingReq) WriteStarting(unsent int) { r.told = append(r.told, unsent) }

// TestSendQueueObserved sends a produce of more than observeMin bytes and
// one far below: the large one is told the socket's unsent bytes once
// (nothing was queued: the broker had read everything before), the small
// one is not asked about it.
func TestSendQueueObserved(t *testing.T) {
	leakcheck.Check(t)
	fake := newFake(t, kfake.SeedTopics(1, "a"))
	c := dial(t, testConfig(fake.ListenAddrs(), nil))
	for _, tc := range []struct {
		records int
		told    int
	}{{4000, 1}, {10, 0}} {
		req := protocol.NewProduceRequest()
		req.Acks, req.TimeoutMs = -1, 5000
		req.TopicData = []protocol.ProduceRequestTopicProduceData{{Name: "a",
			PartitionData: []protocol.ProduceRequestPartitionProduceData{{Index: 0, Records: testBatch(t, tc.records, 100)}}}}
		r := &observingReq{produceReq: produceReq{req}}
		if _, err := c.Do(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if len(r.told) != tc.told {
			t.Fatalf("%d records: told %v, want %d report(s)", tc.records, r.told, tc.told)
		}
		want := 0
		if runtime.GOOS != "linux" {
			want = -1
		}
		if tc.told == 1 && r.told[0] != want {
			t.Fatalf("%d records: told %d unsent bytes, want %d", tc.records, r.told[0], want)
		}
	}
}
