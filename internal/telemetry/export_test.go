package telemetry

import (
	"context"
	"time"

	"github.com/opengaap/opengaap/internal/store"
)

// For BenchmarkRollup.
var ReferenceRollup = referenceRollup

func Rollup(ctx context.Context, st store.Stats, minutePts []store.Point, minute time.Time) ([]store.Point, error) {
	return (&Recorder{stats: st}).rollup(ctx, minutePts, minute)
}
