package producer

import (
	"context"
	"testing"
	"time"

	"github.com/gregorkafka/gregor"
	"github.com/gregorkafka/gregor/internal/leakcheck"
)

// TestCallbackMayProduceSync calls ProduceSync from inside callbacks. A
// small request's response is handled on its connection's reader, so the
// callback holds that reader while it waits for its own record's
// response, which comes on the same connection: it is read only because
// another reader takes over from the held one. Each nested record must be
// written, and the chain must finish well before its timeout.
func TestCallbackMayProduceSync(t *testing.T) {
	leakcheck.Check(t)
	c := fake(t, 1)
	p := newProducer(t, c, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	type step struct {
		outer Result
		inner []Result
		err   error
	}
	steps := make(chan step, 1)
	var next func(n int) func(*gregor.Record, Result)
	next = func(n int) func(*gregor.Record, Result) {
		return func(_ *gregor.Record, res Result) {
			inner, err := p.ProduceSync(ctx, &gregor.Record{Topic: "t", Value: []byte("inner")})
			steps <- step{outer: res, inner: inner, err: err}
			if n < 10 && err == nil {
				p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte("outer")}, next(n+1))
			}
		}
	}
	p.Produce(ctx, &gregor.Record{Topic: "t", Value: []byte("outer")}, next(1))
	for i := 1; i <= 10; i++ {
		select {
		case s := <-steps:
			if s.outer.Outcome != Written || s.err != nil || len(s.inner) != 1 || s.inner[0].Outcome != Written {
				t.Fatalf("step %d: outer %+v, inner %+v, err %v", i, s.outer, s.inner, s.err)
			}
			if s.inner[0].Offset <= s.outer.Offset {
				t.Fatalf("step %d: inner record at offset %d, not after the outer one at %d", i, s.inner[0].Offset, s.outer.Offset)
			}
		case <-ctx.Done():
			t.Fatalf("ProduceSync inside a callback blocked at step %d", i)
		}
	}
}
