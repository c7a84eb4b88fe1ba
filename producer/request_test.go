package producer

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/gregorkafka/gregor/internal/broker"
	"github.com/gregorkafka/gregor/internal/leakcheck"
)

// TestAbandonedRequestKeepsBuffers checks which ends of a wait count as
// abandoning a request that the connection may still be writing: only the
// producer's context ending while the request was on the connection. Then
// the batches' buffers are marked never to be pooled.
func TestAbandonedRequestKeepsBuffers(t *testing.T) {
	leakcheck.Check(t)
	p := newProducer(t, fake(t, 2), nil)
	part := &partition{topic: "t", id: 1}
	req := p.newRequest()
	b := &batch{p: part, enc: make([]byte, 4096)}
	req.add(b)

	notSent := fmt.Errorf("broker: %w: %w", broker.ErrNotSent, context.Canceled)
	for _, err := range []error{nil, errors.New("network"), context.Canceled} {
		if p.abandoned(req, err) || b.encShared {
			t.Fatalf("%v while the producer runs counted as abandoned", err)
		}
	}
	p.cancel() // what Close does once it stops waiting
	if p.abandoned(req, nil) || p.abandoned(req, notSent) || p.abandoned(req, errors.New("network")) || b.encShared {
		t.Fatal("a result, or a request never written, counted as abandoned")
	}
	if !p.abandoned(req, fmt.Errorf("broker: API key 0: %w", context.Canceled)) || !b.encShared {
		t.Fatal("the producer's context ending during the wait did not mark the batch")
	}
}
