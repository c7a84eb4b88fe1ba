package producer

import (
	"context"
	"time"

	"github.com/gregorkafka/gregor"
)

// telemetry holds the producer's instruments; nil when none are configured.
type telemetry struct{}

func newTelemetry(cfg *gregor.ConnConfig) *telemetry { return nil }

// request records one answered Produce request.
func (t *telemetry) request(ctx context.Context, batches, bytes int, d time.Duration) {}

// batchDone records a written batch.
func (t *telemetry) batchDone(b *batch) {}
