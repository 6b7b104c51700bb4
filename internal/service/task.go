package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/followup"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
	"github.com/rapportcrm/rapport/worker/jobargs"
)

// Task priorities, as stored.
const (
	PriorityLow    = "low"
	PriorityNormal = "normal"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent"
)

// Notification kinds of tasks.
const (
	NotifyTaskReminder = "task_reminder"
	NotifyTaskAssigned = "task_assigned"
)

// TaskInput is a task to create.
type TaskInput struct {
	Title          string
	Notes          string
	OwnerID        Opt[crm.ID] // unset: the creating user
	DueAt          *time.Time
	RemindAt       *time.Time // at or before DueAt, in the future
	Priority       string     // "": normal
	RecordType     string     // with RecordID, the record the task is about (optional)
	RecordID       crm.ID
	IdempotencyKey string
}

// TaskUpdate changes the fields that are set, if the task is still at ExpectedVersion.
type TaskUpdate struct {
	ID              crm.ID
	ExpectedVersion int32
	Title           Opt[string]
	Notes           Opt[string]
	OwnerID         Opt[crm.ID]
	DueAt           Opt[*time.Time] // moving it moves a pending reminder by as much, unless RemindAt is set too
	RemindAt        Opt[*time.Time]
	Priority        Opt[string]
	Status          Opt[crm.TaskStatus]
}

// TaskFilter narrows a task list.
type TaskFilter struct {
	OwnerIDs   []crm.ID         // nil: the actor's own (every visible owner for API keys)
	Statuses   []crm.TaskStatus // nil: open
	RecordType string           // with RecordID: tasks about this record
	RecordID   crm.ID
	DueBefore  *time.Time
}

// CreateTask creates a task for its owner (by default the creating user). A reminder is scheduled
// as a River job in the same transaction; the owner is notified when someone else assigns them the
// task.
func (s *Service) CreateTask(ctx context.Context, a *crm.Actor, in TaskInput) (t crm.Task, replayed bool, err error) {
	if err := authorize(a, access.ActivitiesWrite); err != nil {
		return t, false, err
	}
	t = crm.Task{Title: in.Title, Notes: in.Notes, Kind: crm.TaskManual, OwnerID: in.OwnerID.apply(defaultOwner(a)),
		DueAt: in.DueAt, RemindAt: in.RemindAt, Priority: in.Priority, RecordType: in.RecordType, RecordID: in.RecordID}
	err = s.write(ctx, a, func(w *writer) error {
		id, again, err := w.idempotent(in.IdempotencyKey, "createTask", in, s.cfg.IdempotencyTTL, func(id crm.ID) error {
			t.ID = id
			t, err = w.createTask(t)
			return err
		})
		if err != nil || !again {
			return err
		}
		replayed = true
		rows, err := w.q.GetTasks(w.ctx, query.GetTasksParams{OrgID: a.OrgID, Ids: []crm.ID{id}, ViewerID: viewer(a)})
		if err != nil || len(rows) == 0 {
			return errors.Join(err, crm.NotFound("task", id))
		}
		t = taskFromRow(rows[0])
		return nil
	})
	return t, replayed, err
}

// createTask validates a task, inserts it, schedules its reminder and emits task.created, in the
// writer's transaction. Kind defaults to manual and Priority to normal; an ID is assigned when t
// has none. The owner must be an active user the actor may assign to, and the record (if any) a
// live one the actor sees. Automatic tasks (first contact on deal assignment, quote follow-up)
// are created through it with their kind; only manual tasks notify an owner other than the actor.
func (w *writer) createTask(t crm.Task) (crm.Task, error) {
	t.OrgID, t.Status = w.actor.OrgID, crm.TaskOpen
	if t.Kind == "" {
		t.Kind = crm.TaskManual
	}
	if err := normalizeTask(&t); err != nil {
		return t, err
	}
	if err := followup.CheckReminder(t.RemindAt, t.DueAt, w.now); err != nil {
		return t, err
	}
	if t.OwnerID == crm.NilID {
		return t, crm.Invalid("ownerId", "A task needs an owner: name the user who must do it.")
	}
	if err := w.checkOwner(t.OwnerID, true); err != nil {
		return t, err
	}
	if t.RecordID != crm.NilID || t.RecordType != "" {
		if _, err := w.recordRef("recordId", t.RecordType, t.RecordID); err != nil {
			return t, err
		}
	}
	if t.ID == crm.NilID {
		t.ID = crm.NewID()
	}
	t.CreatedAt, t.UpdatedAt, t.Version = w.now, w.now, 1
	jobID, err := w.scheduleReminder(t)
	if err != nil {
		return t, err
	}
	if err := w.q.CreateTask(w.ctx, query.CreateTaskParams{
		OrgID: t.OrgID, ID: t.ID, Title: t.Title, Notes: t.Notes, Kind: t.Kind, OwnerID: t.OwnerID, DueAt: t.DueAt,
		RemindAt: t.RemindAt, Priority: t.Priority, Status: string(t.Status), RecordType: strOrNil(t.RecordType),
		RecordID: idOrNil(t.RecordID), ReminderJobID: jobID, Now: w.now,
	}); err != nil {
		return t, err
	}
	w.emit("task.created", crm.TypeTask, t.ID, diff(nil, taskFields(t)), t.OwnerID)
	if t.Kind == crm.TaskManual {
		if err := w.notifyAssigned(t); err != nil {
			return t, err
		}
	}
	return t, nil
}

// UpdateTask applies the set fields to a task the actor sees. Moving the due time moves a pending
// reminder by as much (unless RemindAt is set too); changing the reminder, completing or
// cancelling the task cancels the scheduled job, and a pending reminder gets a new one. A stale
// ExpectedVersion is a CONFLICT; nothing is written on any error.
func (s *Service) UpdateTask(ctx context.Context, a *crm.Actor, in TaskUpdate) (t crm.Task, err error) {
	if err := authorize(a, access.ActivitiesWrite); err != nil {
		return t, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		before, jobID, err := w.lockTask(in.ID, in.ExpectedVersion)
		if err != nil {
			return err
		}
		t = before
		t.Title = in.Title.apply(t.Title)
		t.Notes = in.Notes.apply(t.Notes)
		t.OwnerID = in.OwnerID.apply(t.OwnerID)
		t.Priority = in.Priority.apply(t.Priority)
		if in.DueAt.Set {
			t.DueAt = dbTime(in.DueAt.Value)
		}
		if in.RemindAt.Set {
			t.RemindAt = dbTime(in.RemindAt.Value)
		} else if in.DueAt.Set {
			t.RemindAt = followup.ShiftReminder(before.RemindAt, before.DueAt, t.DueAt, w.now)
		}
		if in.Status.Set {
			if err := followup.CheckStatusChange(before.Status, in.Status.Value); err != nil {
				return err
			}
			t.Status = in.Status.Value
			switch {
			case t.Status == crm.TaskOpen:
				t.CompletedAt = nil
			case before.Status == crm.TaskOpen:
				t.CompletedAt = &w.now
			}
		}
		if err := normalizeTask(&t); err != nil {
			return err
		}
		remindChanged := !sameTime(before.RemindAt, t.RemindAt)
		if err := checkUpdatedReminder(t, remindChanged, in.RemindAt.Set, w.now); err != nil {
			return err
		}
		if t.OwnerID != before.OwnerID {
			if t.OwnerID == crm.NilID {
				return crm.Invalid("ownerId", "A task needs an owner: name the user who must do it.")
			}
			if err := w.checkOwner(t.OwnerID, true); err != nil {
				return err
			}
		}
		changes := diff(taskFields(before), taskFields(t))
		if len(changes) == 0 {
			return nil
		}
		if remindChanged || t.Status != before.Status {
			if jobID != nil {
				if err := w.cancelJob(*jobID); err != nil {
					return err
				}
			}
			if jobID, err = w.scheduleReminder(t); err != nil {
				return err
			}
		}
		res, err := w.q.UpdateTask(w.ctx, query.UpdateTaskParams{
			OrgID: t.OrgID, ID: t.ID, Title: t.Title, Notes: t.Notes, OwnerID: t.OwnerID, DueAt: t.DueAt,
			RemindAt: t.RemindAt, Priority: t.Priority, Status: string(t.Status), ReminderJobID: jobID,
			CompletedAt: t.CompletedAt, Now: w.now,
		})
		if err != nil {
			return err
		}
		t.Version, t.UpdatedAt = res.Version, res.UpdatedAt
		w.emit("task.updated", crm.TypeTask, t.ID, changes, before.OwnerID, t.OwnerID)
		if t.OwnerID != before.OwnerID {
			return w.notifyAssigned(t)
		}
		return nil
	})
	return t, err
}

// checkUpdatedReminder validates the reminder of an updated task: never after the due time, and,
// when it changed, in the future. A reminder moved along with the due time names dueAt.
func checkUpdatedReminder(t crm.Task, changed, explicit bool, now time.Time) error {
	if !changed {
		if t.RemindAt != nil && t.DueAt != nil && t.RemindAt.After(*t.DueAt) {
			return crm.Invalid("dueAt", "The task's reminder (%s) would come after the new due time: move or clear remindAt too.",
				t.RemindAt.Format(time.RFC3339))
		}
		return nil
	}
	err := followup.CheckReminder(t.RemindAt, t.DueAt, now)
	if err != nil && !explicit {
		return crm.Invalid("dueAt", "Moving the due time moves the reminder to %s, which has passed: set remindAt too.",
			t.RemindAt.Format(time.RFC3339))
	}
	return err
}

// scheduleReminder inserts the reminder job of a task whose reminder is pending, returning its ID
// (nil when there is nothing to remind).
func (w *writer) scheduleReminder(t crm.Task) (*int64, error) {
	if !followup.ReminderPending(t.Status, t.RemindAt, w.now) {
		return nil, nil
	}
	res, err := w.jobs.InsertTx(w.ctx, w.tx, jobargs.TaskRemind{OrgID: t.OrgID, TaskID: t.ID, RemindAt: *t.RemindAt},
		&river.InsertOpts{ScheduledAt: *t.RemindAt})
	if err != nil {
		return nil, err
	}
	return &res.Job.ID, nil
}

// cancelJob cancels a scheduled job in the writer's transaction; a job already finished or gone is
// left as it is.
func (w *writer) cancelJob(id int64) error {
	_, err := w.jobs.JobCancelTx(w.ctx, w.tx, id)
	if errors.Is(err, rivertype.ErrNotFound) {
		return nil
	}
	return err
}

// notifyAssigned tells a task's owner that someone else gave them the task.
func (w *writer) notifyAssigned(t crm.Task) error {
	if w.actor.Kind == crm.ActorUser && t.OwnerID == w.actor.UserID {
		return nil
	}
	_, err := w.notify(crm.Notification{UserID: t.OwnerID, Kind: NotifyTaskAssigned, Title: "New task: " + t.Title,
		Body: dueText(t), RecordType: crm.TypeTask, RecordID: t.ID}, "")
	return err
}

// RemindTask is the reminder job's work, run as the system: it notifies the task's owner if the task
// is still open and still due to be reminded at remindAt. A run for a reminder since moved,
// a finished task or a second run of the same job does nothing.
func (s *Service) RemindTask(ctx context.Context, orgID, taskID crm.ID, remindAt time.Time) error {
	return s.write(ctx, crm.SystemActor(orgID), func(w *writer) error {
		t, _, err := w.lockTask(taskID, 0)
		if crm.ErrorCode(err) == crm.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if t.Status != crm.TaskOpen || t.RemindAt == nil || !t.RemindAt.Equal(remindAt) {
			return nil
		}
		key := fmt.Sprintf("task_reminder:%s:%s", t.ID, remindAt.UTC().Format(time.RFC3339Nano))
		_, err = w.notify(crm.Notification{UserID: t.OwnerID, Kind: NotifyTaskReminder, Title: "Reminder: " + t.Title,
			Body: dueText(t), RecordType: crm.TypeTask, RecordID: t.ID}, key)
		return err
	})
}

// ScheduleQuoteFollowUp creates the automatic follow-up task of a quote sent at sentAt on a deal:
// due the organization's QuoteFollowUpDays later, owned by the deal's owner, with a reminder at the
// due time. A deal without owner gets no task (zero Task, no error). The quotes issue calls it
// when a quote is sent.
func (s *Service) ScheduleQuoteFollowUp(ctx context.Context, a *crm.Actor, opportunityID crm.ID, sentAt time.Time) (t crm.Task, err error) {
	if err := authorize(a, access.ActivitiesWrite); err != nil {
		return t, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		t, err = w.scheduleQuoteFollowUp(opportunityID, sentAt)
		return err
	})
	return t, err
}

// scheduleQuoteFollowUp is ScheduleQuoteFollowUp inside a transaction that sends the quote.
func (w *writer) scheduleQuoteFollowUp(opportunityID crm.ID, sentAt time.Time) (crm.Task, error) {
	ref, err := w.recordRef("opportunityId", crm.TypeOpportunity, opportunityID)
	if err != nil || ref.OwnerID == crm.NilID {
		return crm.Task{}, err
	}
	org, err := w.q.GetOrganization(w.ctx, w.actor.OrgID)
	if err != nil {
		return crm.Task{}, err
	}
	due := sentAt.UTC().Truncate(time.Microsecond).AddDate(0, 0, int(org.QuoteFollowUpDays))
	t := crm.Task{Title: "Follow up on the quote for " + ref.Name, Kind: crm.TaskFollowUp, OwnerID: ref.OwnerID,
		DueAt: &due, Priority: PriorityNormal, RecordType: crm.TypeOpportunity, RecordID: opportunityID}
	if due.After(w.now) {
		t.RemindAt = &due
	}
	return w.createTask(t)
}

// Tasks returns the tasks with the given IDs that the actor may see, in the order of ids; missing
// or invisible ones are zero Tasks.
func (s *Service) Tasks(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.Task, error) {
	if err := authorize(a, access.ActivitiesRead); err != nil {
		return nil, err
	}
	var rows []query.Task
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.GetTasks(ctx, query.GetTasksParams{OrgID: a.OrgID, Ids: ids, ViewerID: viewer(a)})
		return err
	})
	ts := make([]crm.Task, len(rows))
	for i, r := range rows {
		ts[i] = taskFromRow(r)
	}
	return inOrder(ts, ids, func(x crm.Task) crm.ID { return x.ID }), err
}

const taskColumns = `org_id, id, title, notes, kind, owner_id, due_at, remind_at, priority, status, record_type, record_id,
reminder_job_id, completed_at, created_at, updated_at, version`

// taskDueKey sorts tasks by due time, those without one last.
var taskDueKey = sortKey{column: "coalesce(due_at, 'infinity'::timestamptz)",
	decode: func(s string) (any, error) {
		if s == "infinity" {
			return pgtype.Timestamptz{InfinityModifier: pgtype.Infinity, Valid: true}, nil
		}
		return time.Parse(time.RFC3339Nano, s)
	},
	encode: func(v any) string {
		if t, ok := v.(*time.Time); ok && t != nil {
			return t.UTC().Format(time.RFC3339Nano)
		}
		return "infinity"
	}}

// TaskCursor returns the position of a task in a task list.
func TaskCursor(t crm.Task) string { return encodeCursor("DUE_AT", taskDueKey.encode(t.DueAt), t.ID) }

// ListTasks returns a page of the tasks the actor sees, by due time (none last), then ID.
func (s *Service) ListTasks(ctx context.Context, a *crm.Actor, f TaskFilter, p Page) ([]crm.Task, PageInfo, error) {
	if err := authorize(a, access.ActivitiesRead); err != nil {
		return nil, PageInfo{}, err
	}
	q := &listQuery{table: "tasks", columns: taskColumns}
	q.cond("org_id = %s", a.OrgID)
	q.visibleTo(a.OrgID, viewer(a))
	switch {
	case f.OwnerIDs != nil:
		q.cond("owner_id = ANY(%s)", f.OwnerIDs)
	case a.Kind == crm.ActorUser:
		q.cond("owner_id = %s", a.UserID)
	}
	statuses := []string{string(crm.TaskOpen)}
	if f.Statuses != nil {
		statuses = make([]string, len(f.Statuses))
		for i, st := range f.Statuses {
			statuses[i] = string(st)
		}
	}
	q.cond("status = ANY(%s)", statuses)
	if f.RecordID != crm.NilID {
		q.cond("record_type = %s AND record_id = %s", f.RecordType, f.RecordID)
	}
	if f.DueBefore != nil {
		q.cond("due_at < %s", *f.DueBefore)
	}
	sql, limit, backward, err := q.build(p, "DUE_AT", taskDueKey, false)
	if err != nil {
		return nil, PageInfo{}, err
	}
	var out []crm.Task
	err = db.Read(ctx, s.pool, a.OrgID, func(dbtx query.DBTX) error {
		rows, err := dbtx.Query(ctx, sql, q.args...)
		if err != nil {
			return err
		}
		recs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[query.Task])
		out = make([]crm.Task, len(recs))
		for i, r := range recs {
			out[i] = taskFromRow(r)
		}
		return err
	})
	if err != nil {
		return nil, PageInfo{}, err
	}
	out, info := finishPage(out, limit, backward, p, TaskCursor)
	return out, info, nil
}

// lockTask reads a task the actor sees FOR UPDATE, with its reminder job, and checks its version
// (0 skips the check).
func (w *writer) lockTask(id crm.ID, expectedVersion int32) (crm.Task, *int64, error) {
	row, err := w.q.GetTaskForUpdate(w.ctx, query.GetTaskForUpdateParams{OrgID: w.actor.OrgID, ID: id, ViewerID: viewer(w.actor)})
	if errors.Is(err, pgx.ErrNoRows) {
		return crm.Task{}, nil, crm.NotFound("task", id)
	} else if err != nil {
		return crm.Task{}, nil, err
	}
	t := taskFromRow(row)
	return t, row.ReminderJobID, checkVersion("task", t.Version, expectedVersion)
}

// normalizeTask validates and normalizes a task's own fields in place.
func normalizeTask(t *crm.Task) (err error) {
	if t.Title, err = normalize.Text("title", t.Title, 300); err != nil {
		return err
	}
	if t.Title == "" {
		return crm.Invalid("title", "The task needs a title.")
	}
	if t.Notes, err = normalize.Note("notes", t.Notes, 10000); err != nil {
		return err
	}
	if t.Priority == "" {
		t.Priority = PriorityNormal
	}
	switch t.Priority {
	case PriorityLow, PriorityNormal, PriorityHigh, PriorityUrgent:
	default:
		return crm.Invalid("priority", "Unknown priority %q: use LOW, NORMAL, HIGH or URGENT.", t.Priority)
	}
	switch t.Kind {
	case crm.TaskManual, crm.TaskFirstContact, crm.TaskFollowUp:
	default:
		return crm.Invalid("kind", "Unknown task kind %q.", t.Kind)
	}
	t.DueAt, t.RemindAt = dbTime(t.DueAt), dbTime(t.RemindAt)
	if t.DueAt != nil && t.DueAt.Year() > 9000 {
		return crm.Invalid("dueAt", "The due time is too far in the future.")
	}
	return nil
}

func taskFromRow(r query.Task) crm.Task {
	return crm.Task{
		ID: r.ID, OrgID: r.OrgID, Title: r.Title, Notes: r.Notes, Kind: r.Kind, OwnerID: r.OwnerID, DueAt: r.DueAt,
		RemindAt: r.RemindAt, Priority: r.Priority, Status: crm.TaskStatus(r.Status), RecordType: strOf(r.RecordType),
		RecordID: idOf(r.RecordID), CompletedAt: r.CompletedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Version: r.Version,
	}
}

// taskFields are the task's fields as events show them.
func taskFields(t crm.Task) fields {
	return fields{
		"title": t.Title, "notes": t.Notes, "kind": t.Kind, "ownerId": idOrNil(t.OwnerID), "dueAt": t.DueAt,
		"remindAt": t.RemindAt, "priority": t.Priority, "status": t.Status, "recordType": t.RecordType,
		"recordId": idOrNil(t.RecordID), "completedAt": t.CompletedAt,
	}
}

// dueText describes when a task is due, for notifications.
func dueText(t crm.Task) string {
	if t.DueAt == nil {
		return "No due time."
	}
	return "Due " + t.DueAt.UTC().Format("2006-01-02 15:04 MST") + "."
}

// dbTime returns t in UTC at the database's microsecond precision (nil stays nil).
func dbTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := t.UTC().Truncate(time.Microsecond)
	return &v
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}
