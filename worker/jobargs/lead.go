package jobargs

import (
	"slices"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// QueueLeads runs lead scoring, routing timers and imports, apart from reminders and maintenance.
const QueueLeads = "leads"

// ScoreLeads recomputes the score ledger of the given leads of one organization. It is inserted in
// the transaction that captured or changed the leads, or recorded their behaviour; re-running it
// gives the same ledger. Make it with NewScoreLeads and read it with IDs.
//
// The IDs travel as one base64 string of their 16-byte forms (encoding/json's []byte), not as a
// JSON array: River indexes job arguments with GIN, one entry per JSON value, and the array of a
// 500-lead capture batch made 500 index entries per job, with the pending-list merges they cause
// (about 4 µs of PostgreSQL's time per captured lead).
type ScoreLeads struct {
	OrgID uuid.UUID `json:"org_id"`
	Leads []byte    `json:"leads,omitempty"`
	// LeadIDs is the array that jobs enqueued before the compact form carry.
	LeadIDs []uuid.UUID `json:"lead_ids,omitempty"`
}

// NewScoreLeads returns the job that scores the leads ids of the organization orgID.
func NewScoreLeads(orgID uuid.UUID, ids []uuid.UUID) ScoreLeads {
	leads := make([]byte, 0, len(ids)*len(uuid.UUID{}))
	for _, id := range ids {
		leads = append(leads, id[:]...)
	}
	return ScoreLeads{OrgID: orgID, Leads: leads}
}

// IDs returns the leads to score.
func (a ScoreLeads) IDs() []uuid.UUID {
	ids := slices.Clone(a.LeadIDs)
	for b := a.Leads; len(b) >= len(uuid.UUID{}); b = b[len(uuid.UUID{}):] {
		ids = append(ids, uuid.UUID(b))
	}
	return ids
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
