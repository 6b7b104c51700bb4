// Package followup holds the rules of follow-ups: which activities are well formed, which task
// status changes are allowed, and when a task's reminder fires. It is pure: the current time is a
// parameter.
package followup

import (
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
)

// MaxDuration bounds an activity's duration: nothing logged as one call or meeting lasts a week.
const MaxDuration = 7 * 24 * time.Hour

// ClockSkew is how far in the future an activity's time may be, for clients whose clocks run
// slightly ahead of the server's.
const ClockSkew = 5 * time.Minute

// Directions of calls and e-mails.
const (
	Inbound  = "inbound"
	Outbound = "outbound"
)

// CheckActivity validates the shape of an activity logged at now: a known type, a direction only
// on calls and e-mails, a duration of zero to seven days, and a time not in the future.
func CheckActivity(a crm.Activity, now time.Time) error {
	switch a.Type {
	case crm.ActivityCall, crm.ActivityMeeting, crm.ActivityEmail, crm.ActivityNote:
	default:
		return crm.Invalid("type", "Unknown activity type %q: use CALL, MEETING, EMAIL or NOTE.", a.Type)
	}
	switch a.Direction {
	case "":
	case Inbound, Outbound:
		if a.Type != crm.ActivityCall && a.Type != crm.ActivityEmail {
			return crm.Invalid("direction", "Only calls and e-mails have a direction; leave it out for a %s.", a.Type)
		}
	default:
		return crm.Invalid("direction", "Unknown direction %q: use INBOUND or OUTBOUND.", a.Direction)
	}
	if d := a.DurationSeconds; d != nil && (*d < 0 || time.Duration(*d)*time.Second > MaxDuration) {
		return crm.Invalid("durationSeconds", "The duration is between 0 and %d seconds (7 days).", int(MaxDuration/time.Second))
	}
	if a.OccurredAt.After(now.Add(ClockSkew)) {
		return crm.Invalid("occurredAt", "The activity cannot happen in the future: log it once it took place.")
	}
	return nil
}

// CheckStatusChange allows an open task to be done or cancelled, and a done or cancelled one to be
// reopened. Changing a finished task's outcome goes through reopening it.
func CheckStatusChange(from, to crm.TaskStatus) error {
	switch to {
	case crm.TaskOpen, crm.TaskDone, crm.TaskCancelled:
	default:
		return crm.Invalid("status", "Unknown task status %q: use OPEN, DONE or CANCELLED.", to)
	}
	if from == to || from == crm.TaskOpen || to == crm.TaskOpen {
		return nil
	}
	return crm.Invalid("status", "A %s task cannot become %s directly: reopen it first.", from, to)
}

// CheckReminder validates a task's reminder as set by a client at now: at or before the due time,
// and in the future (a reminder in the past would never fire).
func CheckReminder(remindAt, dueAt *time.Time, now time.Time) error {
	if remindAt == nil {
		return nil
	}
	if dueAt != nil && remindAt.After(*dueAt) {
		return crm.Invalid("remindAt", "The reminder must come at or before the due time (%s).", dueAt.UTC().Format(time.RFC3339))
	}
	if !remindAt.After(now) {
		return crm.Invalid("remindAt", "The reminder time has passed: pick a time in the future.")
	}
	return nil
}

// ShiftReminder returns the reminder of a task whose due time moves from oldDue to newDue: a
// pending reminder (still in the future at now) moves by as much as the due time; a reminder that
// already fired, or a due time set or cleared rather than moved, leaves it where it is.
func ShiftReminder(remindAt, oldDue, newDue *time.Time, now time.Time) *time.Time {
	if remindAt == nil || oldDue == nil || newDue == nil || !remindAt.After(now) {
		return remindAt
	}
	shifted := remindAt.Add(newDue.Sub(*oldDue))
	return &shifted
}

// ReminderPending reports whether a task in status with reminder remindAt still has a reminder to
// fire after now, so a job must be scheduled for it.
func ReminderPending(status crm.TaskStatus, remindAt *time.Time, now time.Time) bool {
	return status == crm.TaskOpen && remindAt != nil && remindAt.After(now)
}
