package jobargs

import (
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// Stages of a lead's first-touch timer.
const (
	SLAStageBreach   = "breach"   // the first-touch deadline: notify the owner and their manager
	SLAStageReassign = "reassign" // the second period: route the lead again, without its owner
)

// LeadSLA is one stage of a lead's first-touch timer, scheduled for the moment it is due in the
// transaction that starts the timer (or reaches the stage). DueAt is the lead's first-touch
// deadline, which names the timer: the worker acts only while the lead's timer still has it, so a
// lead contacted or assigned again since makes the job a no-op.
type LeadSLA struct {
	OrgID  uuid.UUID `json:"org_id"`
	LeadID uuid.UUID `json:"lead_id"`
	DueAt  time.Time `json:"due_at"`
	Stage  string    `json:"stage"`
}

// Kind implements river.JobArgs.
func (LeadSLA) Kind() string { return "lead.sla" }

// InsertOpts puts timers on the leads queue, once per lead, deadline and stage.
func (LeadSLA) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueLeads, MaxAttempts: 10, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// SweepLeadSLAs acts on first-touch timers whose job was lost (running or breached leads past
// due), in every organization.
type SweepLeadSLAs struct{}

// Kind implements river.JobArgs.
func (SweepLeadSLAs) Kind() string { return "maintenance.sweep_lead_slas" }

// InsertOpts keeps at most one such job queued per period.
func (SweepLeadSLAs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByPeriod: 15 * time.Minute}}
}
