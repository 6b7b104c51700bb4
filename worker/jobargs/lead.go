package jobargs

import (
	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// QueueLeads runs lead scoring, routing timers and imports, apart from reminders and maintenance.
const QueueLeads = "leads"

// ScoreLeads recomputes the score ledger of the given leads of one organization. It is inserted in
// the transaction that captured or changed the leads, or recorded their behaviour; re-running it
// gives the same ledger.
type ScoreLeads struct {
	OrgID   uuid.UUID   `json:"org_id"`
	LeadIDs []uuid.UUID `json:"lead_ids"`
}

// Kind implements river.JobArgs.
func (ScoreLeads) Kind() string { return "lead.score" }

// InsertOpts puts scoring on the leads queue.
func (ScoreLeads) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueLeads, MaxAttempts: 10}
}

// LeadImport runs a CSV import of leads: it is inserted in the transaction that queues the
// import, and resumes after the last committed batch when run again.
type LeadImport struct {
	OrgID    uuid.UUID `json:"org_id"`
	ImportID uuid.UUID `json:"import_id"`
}

// Kind implements river.JobArgs.
func (LeadImport) Kind() string { return "lead.import" }

// InsertOpts puts imports on the leads queue; a run resumes where the previous one stopped.
func (LeadImport) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueLeads, MaxAttempts: 5}
}
