package worker

import (
	"context"
	"time"

	"github.com/riverqueue/river"

	"github.com/rapportcrm/rapport/internal/service"
	"github.com/rapportcrm/rapport/worker/jobargs"
)

// leadImport runs a CSV import of leads. A run resumes after the last committed batch, so a retry
// costs only the batch that was in flight; when the last attempt fails, the import is marked
// failed instead of staying "running" forever.
type leadImport struct {
	river.WorkerDefaults[jobargs.LeadImport]
	svc *service.Service
}

// Timeout lets a large file run past River's default minute; 100,000 rows take well under one.
func (w *leadImport) Timeout(*river.Job[jobargs.LeadImport]) time.Duration { return time.Hour }

// Work implements river.Worker.
func (w *leadImport) Work(ctx context.Context, job *river.Job[jobargs.LeadImport]) error {
	err := w.svc.RunLeadImport(ctx, job.Args.OrgID, job.Args.ImportID)
	if err != nil && job.Attempt >= job.MaxAttempts {
		if ferr := w.svc.FailLeadImport(ctx, job.Args.OrgID, job.Args.ImportID,
			"The import stopped on an internal error; it was logged. The rows before the error were imported."); ferr != nil {
			return ferr
		}
	}
	return err
}
