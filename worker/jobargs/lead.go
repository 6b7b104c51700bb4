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
