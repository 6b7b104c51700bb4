// Package jobargs holds the arguments of Rapport's River jobs. It imports nothing of ours, so the
// service can enqueue jobs (InsertTx, in the transaction of the change that makes them meaningful)
// without depending on the workers.
package jobargs

import (
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
)

// Queue names.
const (
	QueueMaintenance = "maintenance"
)

// ExpireIdempotencyKeys deletes idempotency keys past their expiry in every organization.
type ExpireIdempotencyKeys struct{}

// Kind implements river.JobArgs.
func (ExpireIdempotencyKeys) Kind() string { return "maintenance.expire_idempotency_keys" }

// InsertOpts keeps at most one such job queued per period.
func (ExpireIdempotencyKeys) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByPeriod: 15 * time.Minute}}
}

// QueueReminders runs the reminders users wait for, apart from maintenance.
const QueueReminders = "reminders"

// TaskRemind reminds a task's owner at RemindAt. The job is scheduled for RemindAt in the
// transaction that sets it; changing the reminder cancels the job and schedules another. The
// worker notifies only if the task is still open and still due to be reminded at RemindAt, so a
// stale or repeated run does nothing.
type TaskRemind struct {
	OrgID    uuid.UUID `json:"org_id"`
	TaskID   uuid.UUID `json:"task_id"`
	RemindAt time.Time `json:"remind_at"`
}

// Kind implements river.JobArgs.
func (TaskRemind) Kind() string { return "task.remind" }

// InsertOpts puts reminders on their own queue; a few retries cover a database hiccup.
func (TaskRemind) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueReminders, MaxAttempts: 5}
}
