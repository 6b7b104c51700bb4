package worker

import (
	"context"
	"log/slog"

	"github.com/riverqueue/river"

	"github.com/rapportcrm/rapport/internal/service"
	"github.com/rapportcrm/rapport/worker/jobargs"
)

// sweepStaleDeals flags stale deals; a second run finds nothing new to flag or notify.
type sweepStaleDeals struct {
	river.WorkerDefaults[jobargs.SweepStaleDeals]
	svc *service.Service
	log *slog.Logger
}

// Work implements river.Worker.
func (w *sweepStaleDeals) Work(ctx context.Context, _ *river.Job[jobargs.SweepStaleDeals]) error {
	n, err := w.svc.SweepStaleDeals(ctx)
	if n > 0 {
		w.log.InfoContext(ctx, "flagged stale deals", "count", n)
	}
	return err
}

// sweepAccountPool pools idle accounts; a second run finds them pooled already.
type sweepAccountPool struct {
	river.WorkerDefaults[jobargs.SweepAccountPool]
	svc *service.Service
	log *slog.Logger
}

// Work implements river.Worker.
func (w *sweepAccountPool) Work(ctx context.Context, _ *river.Job[jobargs.SweepAccountPool]) error {
	n, err := w.svc.SweepAccountPool(ctx)
	if n > 0 {
		w.log.InfoContext(ctx, "returned idle accounts to the pool", "count", n)
	}
	return err
}
