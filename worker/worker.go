// Package worker runs Rapport's background and time-based work on River: thin workers that call
// the service as the system, the periodic job table and the River client configuration.
package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/rapportcrm/rapport/internal/service"
	"github.com/rapportcrm/rapport/worker/jobargs"
)

// Options configure the River client.
type Options struct {
	// RunWorkers makes the client work jobs (and, when elected leader, enqueue periodic ones). Without
	// it the client only inserts jobs, for API-only processes.
	RunWorkers bool
	// MaintenanceInterval is how often maintenance jobs run.
	MaintenanceInterval time.Duration
}

// NewClient returns a River client on pool with Rapport's workers and periodic jobs.
func NewClient(pool *pgxpool.Pool, svc *service.Service, log *slog.Logger, opts Options) (*river.Client[pgx.Tx], error) {
	cfg := &river.Config{Logger: log}
	if opts.RunWorkers {
		workers := river.NewWorkers()
		river.AddWorker(workers, &maintenance[jobargs.ExpireIdempotencyKeys]{log: log, done: "expired idempotency keys",
			run: svc.ExpireIdempotencyKeys})
		river.AddWorker(workers, &maintenance[jobargs.SweepStaleDeals]{log: log, done: "flagged stale deals",
			run: svc.SweepStaleDeals})
		river.AddWorker(workers, &maintenance[jobargs.SweepAccountPool]{log: log, done: "returned idle accounts to the pool",
			run: svc.SweepAccountPool})
		river.AddWorker(workers, &maintenance[jobargs.SweepLeadSLAs]{log: log, done: "repaired lead first-touch timers",
			run: svc.SweepLeadSLAs})
		river.AddWorker(workers, &taskRemind{svc: svc})
		river.AddWorker(workers, &leadSLA{svc: svc})
		river.AddWorker(workers, &maintenance[jobargs.DecayScores]{log: log, done: "rescored leads whose points expired",
			run: svc.DecayScores})
		river.AddWorker(workers, &scoreLeads{svc: svc})
		river.AddWorker(workers, &rescoreLeads{svc: svc})
		river.AddWorker(workers, &leadImport{svc: svc})
		cfg.Workers = workers
		cfg.Queues = map[string]river.QueueConfig{
			river.QueueDefault:       {MaxWorkers: 10},
			jobargs.QueueMaintenance: {MaxWorkers: 2},
			jobargs.QueueReminders:   {MaxWorkers: 10},
			jobargs.QueueLeads:       {MaxWorkers: 4},
		}
		cfg.PeriodicJobs = PeriodicJobs(opts.MaintenanceInterval)
	}
	return river.NewClient(riverpgxv5.New(pool), cfg)
}

// PeriodicJobs is the table of jobs River's leader enqueues on a schedule.
func PeriodicJobs(maintenance time.Duration) []*river.PeriodicJob {
	if maintenance <= 0 {
		maintenance = 15 * time.Minute
	}
	return []*river.PeriodicJob{
		river.NewPeriodicJob(river.PeriodicInterval(maintenance),
			func() (river.JobArgs, *river.InsertOpts) { return jobargs.ExpireIdempotencyKeys{}, nil },
			&river.PeriodicJobOpts{ID: "expire_idempotency_keys", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(maintenance),
			func() (river.JobArgs, *river.InsertOpts) { return jobargs.SweepStaleDeals{}, nil },
			&river.PeriodicJobOpts{ID: "sweep_stale_deals", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(maintenance),
			func() (river.JobArgs, *river.InsertOpts) { return jobargs.SweepAccountPool{}, nil },
			&river.PeriodicJobOpts{ID: "sweep_account_pool", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(maintenance),
			func() (river.JobArgs, *river.InsertOpts) { return jobargs.SweepLeadSLAs{}, nil },
			&river.PeriodicJobOpts{ID: "sweep_lead_slas", RunOnStart: true}),
		river.NewPeriodicJob(river.PeriodicInterval(maintenance),
			func() (river.JobArgs, *river.InsertOpts) { return jobargs.DecayScores{}, nil },
			&river.PeriodicJobOpts{ID: "decay_scores", RunOnStart: true}),
	}
}

// maintenance runs one periodic service sweep (expiring idempotency keys, flagging stale deals,
// pooling idle accounts) and logs how much it did; every sweep is harmless to run twice.
type maintenance[T river.JobArgs] struct {
	river.WorkerDefaults[T]
	run  func(context.Context) (int, error)
	log  *slog.Logger
	done string // what a positive count means, for the log
}

// Work implements river.Worker.
func (w *maintenance[T]) Work(ctx context.Context, _ *river.Job[T]) error {
	n, err := w.run(ctx)
	if n > 0 {
		w.log.InfoContext(ctx, w.done, "count", n)
	}
	return err
}

// taskRemind notifies a task's owner when its reminder is due; the service ignores a reminder since
// moved, a finished task and a repeated run.
type taskRemind struct {
	river.WorkerDefaults[jobargs.TaskRemind]
	svc *service.Service
}

// Work implements river.Worker.
func (w *taskRemind) Work(ctx context.Context, job *river.Job[jobargs.TaskRemind]) error {
	return w.svc.RemindTask(ctx, job.Args.OrgID, job.Args.TaskID, job.Args.RemindAt)
}

// leadSLA acts on a stage of a lead's first-touch timer; the service ignores a timer the lead no
// longer has (contacted, reassigned) and a repeated run.
type leadSLA struct {
	river.WorkerDefaults[jobargs.LeadSLA]
	svc *service.Service
}

// Work implements river.Worker.
func (w *leadSLA) Work(ctx context.Context, job *river.Job[jobargs.LeadSLA]) error {
	return w.svc.LeadSLADue(ctx, job.Args.OrgID, job.Args.LeadID, job.Args.DueAt, job.Args.Stage)
}

// scoreLeads recomputes the score ledgers of the leads a capture, an edit or tracked behaviour
// touched; running it twice gives the same ledger.
type scoreLeads struct {
	river.WorkerDefaults[jobargs.ScoreLeads]
	svc *service.Service
}

// Work implements river.Worker.
func (w *scoreLeads) Work(ctx context.Context, job *river.Job[jobargs.ScoreLeads]) error {
	return w.svc.ScoreLeads(ctx, job.Args.OrgID, job.Args.IDs())
}

// rescoreLeads walks every lead of an organization after its rules changed. It commits its cursor
// batch by batch, so a retry after a timeout or a crash resumes where it stopped.
type rescoreLeads struct {
	river.WorkerDefaults[jobargs.RescoreLeads]
	svc *service.Service
}

// Timeout lets a rescore of a large organization run past River's default minute.
func (w *rescoreLeads) Timeout(*river.Job[jobargs.RescoreLeads]) time.Duration { return time.Hour }

// Work implements river.Worker.
func (w *rescoreLeads) Work(ctx context.Context, job *river.Job[jobargs.RescoreLeads]) error {
	return w.svc.RescoreLeads(ctx, job.Args.OrgID, job.Args.RunID)
}
