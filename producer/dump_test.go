package producer

import (
	"fmt"
	"strings"
	"time"
)

// dump describes the producer's queues, for failing tests.
func dump(p *Producer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id ready %v pid %d buffered %d\n", p.id.ready.Load(), p.id.pid, p.bufRecs.Load())
	for _, ts := range *p.topics.Load() {
		for _, part := range ts.parts {
			part.mu.Lock()
			fmt.Fprintf(&b, "%s[%d] sink %d needLeader %v nextSeq %d batches %d inflight %d retry %d backoff %v\n", part.topic, part.id, part.sink.id,
				part.needLeader, part.nextSeq, len(part.batches), len(part.inflight), len(part.retry), time.Until(part.backoff))
			for _, bt := range append(append(append([]*batch(nil), part.inflight...), part.retry...), part.batches...) {
				fmt.Fprintf(&b, "  batch seq %d set %v recs %d tries %d sealed %v enc %d\n", bt.seq, bt.seqSet, len(bt.recs), bt.tries, bt.sealed, len(bt.enc))
			}
			part.mu.Unlock()
		}
	}
	return b.String()
}
