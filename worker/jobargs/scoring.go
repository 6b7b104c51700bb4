package jobargs

import (
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// RescoreLeads rescores every lead of an organization after its scoring rules changed. It walks the
// leads in ID order in batches and records its cursor in the scoring run, so a retried job resumes
// where the last one stopped; a newer run supersedes it.
type RescoreLeads struct {
	OrgID uuid.UUID `json:"org_id"`
	RunID uuid.UUID `json:"run_id"`
}

// Kind implements river.JobArgs.
func (RescoreLeads) Kind() string { return "lead.rescore" }

// InsertOpts puts rescoring on the leads queue.
func (RescoreLeads) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueLeads, MaxAttempts: 25}
}

// DecayScores rescores, in every organization, the leads whose behaviour points stopped counting.
type DecayScores struct{}

// Kind implements river.JobArgs.
func (DecayScores) Kind() string { return "maintenance.decay_scores" }

// InsertOpts keeps at most one such job queued per period.
func (DecayScores) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByPeriod: 15 * time.Minute}}
}
