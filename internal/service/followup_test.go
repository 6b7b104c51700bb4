package service_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// opportunity inserts a deal (with a pipeline and a stage of its own) directly in SQL, stale since
// it was created, so that follow-ups can hang off deals before the deal service exists.
func (e *env) opportunity(owner crm.ID, acct crm.ID, name string, contacts ...crm.ID) crm.ID {
	e.t.Helper()
	pipeline, stage, id := crm.NewID(), crm.NewID(), crm.NewID()
	var ownerArg any
	if owner != crm.NilID {
		ownerArg = owner
	}
	for _, stmt := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO pipelines (org_id, id, name, created_at, updated_at) VALUES ($1, $2, $3, now(), now())",
			[]any{e.org.ID, pipeline, "Pipeline " + name}},
		{`INSERT INTO pipeline_stages (org_id, id, pipeline_id, name, position, probability, forecast_category)
		  VALUES ($1, $2, $3, 'Initial contact', 0, 10, 'pipeline')`, []any{e.org.ID, stage, pipeline}},
		{`INSERT INTO opportunities (org_id, id, name, account_id, owner_id, pipeline_id, stage_id, currency, probability,
		  forecast_category, stage_entered_at, stale_since, created_at, updated_at)
		  VALUES ($1, $2, $3, $4, $5, $6, $7, 'CNY', 10, 'pipeline', now(), now(), now(), now())`,
			[]any{e.org.ID, id, name, acct, ownerArg, pipeline, stage}},
	} {
		_, err := e.pool.Exec(e.ctx, stmt.sql, stmt.args...)
		require.NoError(e.t, err)
	}
	for _, c := range contacts {
		_, err := e.pool.Exec(e.ctx, "INSERT INTO opportunity_contacts (org_id, opportunity_id, contact_id) VALUES ($1, $2, $3)", e.org.ID, id, c)
		require.NoError(e.t, err)
	}
	return id
}

func (e *env) logActivity(a *crm.Actor, typ string, id crm.ID, occurred time.Time, opts ...func(*service.ActivityInput)) crm.Activity {
	e.t.Helper()
	in := service.ActivityInput{Type: crm.ActivityCall, RecordType: typ, RecordID: id, OccurredAt: &occurred, Subject: "call"}
	for _, o := range opts {
		o(&in)
	}
	act, _, err := e.svc.LogActivity(e.ctx, a, in)
	require.NoError(e.t, err)
	return act
}

func ptrTo[T any](v T) *T { return &v }

func TestLogActivityRejectsBadInputAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.rep1, "Rep1 Co")
	theirs := e.account(e.rep2, "Rep2 Co")
	theirContact := e.contact(e.rep2, "Wang", "Fang")
	now := time.Now()
	base := func(mod func(*service.ActivityInput)) service.ActivityInput {
		in := service.ActivityInput{Type: crm.ActivityCall, RecordType: crm.TypeAccount, RecordID: acct.ID}
		mod(&in)
		return in
	}
	cases := []struct {
		name  string
		in    service.ActivityInput
		code  string
		field string
	}{
		{"unknown type", base(func(in *service.ActivityInput) { in.Type = "fax" }), crm.EINVALID, "type"},
		{"direction on a note", base(func(in *service.ActivityInput) { in.Type, in.Direction = crm.ActivityNote, "inbound" }), crm.EINVALID, "direction"},
		{"negative duration", base(func(in *service.ActivityInput) { in.DurationSeconds = ptrTo(int32(-1)) }), crm.EINVALID, "durationSeconds"},
		{"duration over a week", base(func(in *service.ActivityInput) { in.DurationSeconds = ptrTo(int32(7*24*3600 + 1)) }), crm.EINVALID, "durationSeconds"},
		{"in the future", base(func(in *service.ActivityInput) { in.OccurredAt = ptrTo(now.Add(time.Hour)) }), crm.EINVALID, "occurredAt"},
		{"subject too long", base(func(in *service.ActivityInput) { in.Subject = strings.Repeat("x", 301) }), crm.EINVALID, "subject"},
		{"control character in outcome", base(func(in *service.ActivityInput) { in.Outcome = "left\x00voicemail" }), crm.EINVALID, "outcome"},
		{"a lead", base(func(in *service.ActivityInput) { in.RecordType = crm.TypeLead }), crm.EINVALID, "recordId"},
		{"a user as record", base(func(in *service.ActivityInput) { in.RecordType, in.RecordID = crm.TypeUser, e.rep1.UserID }), crm.EINVALID, "recordId"},
		{"an account rep1 cannot see", base(func(in *service.ActivityInput) { in.RecordID = theirs.ID }), crm.EINVALID, "recordId"},
		{"a missing contact", base(func(in *service.ActivityInput) { in.RecordType, in.RecordID = crm.TypeContact, crm.NewID() }), crm.EINVALID, "recordId"},
		{"owner rep1 may not assign to", base(func(in *service.ActivityInput) { in.OwnerID = service.Some(e.rep2.UserID) }), crm.EINVALID, "ownerId"},
		{"participant not a user", base(func(in *service.ActivityInput) { in.ParticipantUserIDs = []crm.ID{crm.NewID()} }), crm.EINVALID, "participantUserIds"},
		{"participant contact not visible", base(func(in *service.ActivityInput) { in.ParticipantContactIDs = []crm.ID{theirContact.ID} }), crm.EINVALID, "participantContactIds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := e.svc.LogActivity(e.ctx, e.rep1, c.in)
			requireCode(t, err, c.code, c.field)
		})
	}
	_, _, err := e.svc.LogActivity(e.ctx, e.analyst, base(func(*service.ActivityInput) {}))
	requireCode(t, err, crm.EFORBIDDEN)
	require.Zero(t, e.count("SELECT count(*) FROM activities"))
	require.Zero(t, e.count("SELECT count(*) FROM events WHERE record_type = 'Activity'"))
	require.Zero(t, e.count("SELECT count(*) FROM accounts WHERE last_activity_at IS NOT NULL"))
}

func TestLogActivityRecordsEventAndReplaysIdempotently(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.rep1, "Rep1 Co")
	c := e.contact(e.rep1, "Li", "Lei", func(in *service.ContactInput) { in.AccountID = acct.ID })
	in := service.ActivityInput{Type: crm.ActivityCall, RecordType: crm.TypeContact, RecordID: c.ID, Direction: "outbound",
		DurationSeconds: ptrTo(int32(120)), Subject: "  Intro   call ", Body: "Line one\r\nLine two", Outcome: "connected",
		ParticipantUserIDs: []crm.ID{e.rep1.UserID, e.rep1.UserID}, ParticipantContactIDs: []crm.ID{c.ID}, IdempotencyKey: "k1"}
	act, replayed, err := e.svc.LogActivity(e.ctx, e.rep1, in)
	require.NoError(t, err)
	require.False(t, replayed)
	require.Equal(t, "Intro call", act.Subject)
	require.Equal(t, "Line one\nLine two", act.Body)
	require.Equal(t, e.rep1.UserID, act.OwnerID, "the logging user by default")
	require.Equal(t, []crm.ID{e.rep1.UserID}, act.ParticipantUserIDs, "participants are listed once")

	again, replayed, err := e.svc.LogActivity(e.ctx, e.rep1, in)
	require.NoError(t, err)
	require.True(t, replayed)
	require.Equal(t, act.ID, again.ID)
	require.Equal(t, 1, e.count("SELECT count(*) FROM activities"))
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE type = 'activity.logged' AND record_id = $1", act.ID))
	require.Equal(t, 1, e.count("SELECT count(*) FROM accounts WHERE id = $1 AND last_activity_at = $2 AND version = $3",
		acct.ID, act.OccurredAt, acct.Version), "the contact's account clock moves; its version stays")
}

func TestLogActivityOnDealMovesClocksAndEndsStalePeriodWithoutVersionBump(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.rep1, "Rep1 Co")
	opp := e.opportunity(e.rep1.UserID, acct.ID, "Big deal")
	require.Equal(t, 1, e.count("SELECT count(*) FROM opportunities WHERE stale_since IS NOT NULL"))

	at := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	act := e.logActivity(e.manager, crm.TypeOpportunity, opp, at)
	require.Equal(t, 1, e.count("SELECT count(*) FROM opportunities WHERE id = $1 AND last_activity_at = $2 AND stale_since IS NULL AND version = 1", opp, at))
	require.Equal(t, 1, e.count("SELECT count(*) FROM accounts WHERE id = $1 AND last_activity_at = $2 AND version = $3", acct.ID, at, acct.Version))

	var owners []crm.ID
	require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT owner_ids FROM events WHERE record_id = $1", act.ID).Scan(&owners))
	require.ElementsMatch(t, []crm.ID{e.manager.UserID, e.rep1.UserID}, owners,
		"the viewers of the activity's owner and of the deal's owner see the event")

	// An older activity logged later does not move the clocks back.
	e.logActivity(e.rep1, crm.TypeOpportunity, opp, at.Add(-24*time.Hour))
	require.Equal(t, 1, e.count("SELECT count(*) FROM opportunities WHERE id = $1 AND last_activity_at = $2", opp, at))
	require.Equal(t, 1, e.count("SELECT count(*) FROM accounts WHERE id = $1 AND last_activity_at = $2", acct.ID, at))
}

func TestActivitiesAndTasksAreVisibleByOwnerAndRecord(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.rep1, "Rep1 Co")
	pool := e.account(e.admin, "Pool Co", func(in *service.AccountInput) { in.OwnerID = service.Some(crm.NilID) })
	act := e.logActivity(e.rep1, crm.TypeAccount, acct.ID, time.Now())
	onPool := e.logActivity(e.rep2, crm.TypeAccount, pool.ID, time.Now())
	task, _, err := e.svc.CreateTask(e.ctx, e.rep1, service.TaskInput{Title: "Call back", RecordType: crm.TypeAccount, RecordID: acct.ID})
	require.NoError(t, err)

	seen := func(a *crm.Actor) (acts, tasks []crm.ID) {
		got, err := e.svc.Activities(e.ctx, a, []crm.ID{act.ID, onPool.ID})
		require.NoError(t, err)
		for _, x := range got {
			if x.ID != crm.NilID {
				acts = append(acts, x.ID)
			}
		}
		ts, err := e.svc.Tasks(e.ctx, a, []crm.ID{task.ID})
		require.NoError(t, err)
		for _, x := range ts {
			if x.ID != crm.NilID {
				tasks = append(tasks, x.ID)
			}
		}
		return acts, tasks
	}
	acts, tasks := seen(e.rep2)
	require.Equal(t, []crm.ID{onPool.ID}, acts, "rep2 sees the activity on the pool account, not rep1's")
	require.Empty(t, tasks)
	acts, tasks = seen(e.manager)
	require.Equal(t, []crm.ID{act.ID, onPool.ID}, acts)
	require.Equal(t, []crm.ID{task.ID}, tasks)
	acts, _ = seen(e.rep1)
	require.Equal(t, []crm.ID{act.ID, onPool.ID}, acts, "an activity on a record rep1 sees is visible whoever logged it")

	_, _, err = e.svc.Timeline(e.ctx, e.rep2, crm.TypeAccount, acct.ID, nil, 10, "")
	requireCode(t, err, crm.ENOTFOUND)
	_, err = e.svc.UpdateTask(e.ctx, e.rep2, service.TaskUpdate{ID: task.ID, ExpectedVersion: 1, Title: service.Some("mine")})
	requireCode(t, err, crm.ENOTFOUND)
	list, _, err := e.svc.ListTasks(e.ctx, e.rep2, service.TaskFilter{OwnerIDs: []crm.ID{e.rep1.UserID}}, service.Page{})
	require.NoError(t, err)
	require.Empty(t, list)
	list, _, err = e.svc.ListTasks(e.ctx, e.manager, service.TaskFilter{OwnerIDs: []crm.ID{e.rep1.UserID}}, service.Page{})
	require.NoError(t, err)
	require.Len(t, list, 1)
}

func TestTimelineIncludesContactsAndDealsNewestFirstAndPagesWithoutSkips(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.rep1, "Rep1 Co")
	other := e.account(e.rep1, "Other Co")
	c := e.contact(e.rep1, "Li", "Lei", func(in *service.ContactInput) { in.AccountID = acct.ID })
	hidden := e.contact(e.admin, "Zhao", "Yun", func(in *service.ContactInput) {
		in.AccountID, in.OwnerID = acct.ID, service.Some(e.rep2.UserID)
	})
	opp := e.opportunity(e.rep1.UserID, acct.ID, "Deal", c.ID)

	t0 := time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Microsecond)
	var visible, all []crm.Activity
	add := func(a *crm.Actor, typ string, id crm.ID, minutes int, kind crm.ActivityType, seenByRep1 bool) {
		x := e.logActivity(a, typ, id, t0.Add(time.Duration(minutes)*time.Minute), func(in *service.ActivityInput) { in.Type = kind })
		all = append(all, x)
		if seenByRep1 {
			visible = append(visible, x)
		}
	}
	add(e.rep1, crm.TypeAccount, acct.ID, 1, crm.ActivityNote, true)
	add(e.rep1, crm.TypeContact, c.ID, 2, crm.ActivityCall, true)
	add(e.rep1, crm.TypeOpportunity, opp, 3, crm.ActivityMeeting, true)
	add(e.rep1, crm.TypeAccount, acct.ID, 3, crm.ActivityCall, true) // same time: ties break by ID
	add(e.rep1, crm.TypeContact, c.ID, 3, crm.ActivityNote, true)
	add(e.admin, crm.TypeContact, hidden.ID, 4, crm.ActivityCall, false)
	add(e.rep1, crm.TypeOpportunity, opp, 5, crm.ActivityCall, true)
	add(e.rep1, crm.TypeAccount, acct.ID, 6, crm.ActivityEmail, true)
	e.logActivity(e.rep1, crm.TypeAccount, other.ID, t0.Add(7*time.Minute)) // another account: never included

	newestFirst := func(xs []crm.Activity) []crm.ID {
		xs = slices.Clone(xs)
		slices.SortFunc(xs, func(a, b crm.Activity) int {
			if c := b.OccurredAt.Compare(a.OccurredAt); c != 0 {
				return c
			}
			return strings.Compare(b.ID.String(), a.ID.String())
		})
		ids := make([]crm.ID, len(xs))
		for i, x := range xs {
			ids[i] = x.ID
		}
		return ids
	}
	pages := func(a *crm.Actor, typ string, id crm.ID, types []crm.ActivityType, size int) []crm.ID {
		var got []crm.ID
		after := ""
		for range 20 {
			page, info, err := e.svc.Timeline(e.ctx, a, typ, id, types, size, after)
			require.NoError(t, err)
			for _, x := range page {
				got = append(got, x.ID)
			}
			if !info.HasNextPage {
				return got
			}
			after = info.EndCursor
		}
		t.Fatal("paging did not end")
		return nil
	}
	require.Equal(t, newestFirst(visible), pages(e.rep1, crm.TypeAccount, acct.ID, nil, 2),
		"rep1's account timeline: the account's, its contact's and its deal's activities; not the hidden contact's")
	require.Equal(t, newestFirst(all), pages(e.manager, crm.TypeAccount, acct.ID, nil, 3), "the manager sees the hidden contact's too")

	var contactAndDeal, calls []crm.Activity
	for _, x := range visible {
		if x.RecordType != crm.TypeAccount {
			contactAndDeal = append(contactAndDeal, x)
		}
		if x.Type == crm.ActivityCall {
			calls = append(calls, x)
		}
	}
	require.Equal(t, newestFirst(contactAndDeal), pages(e.rep1, crm.TypeContact, c.ID, nil, 1), "a contact's timeline includes its deals'")
	require.Equal(t, newestFirst(calls), pages(e.rep1, crm.TypeAccount, acct.ID, []crm.ActivityType{crm.ActivityCall}, 2))

	_, _, err := e.svc.Timeline(e.ctx, e.rep1, crm.TypeAccount, acct.ID, nil, 2, "garbage")
	requireCode(t, err, crm.EINVALID, "after")
	_, _, err = e.svc.Timeline(e.ctx, e.rep1, crm.TypeAccount, acct.ID, nil, 101, "")
	requireCode(t, err, crm.EINVALID, "first")
}

func TestCreateAndUpdateTaskRejectBadInputAndWriteNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.rep1, "Rep1 Co")
	now := time.Now()
	due := now.Add(48 * time.Hour)
	cases := []struct {
		name  string
		in    service.TaskInput
		field string
	}{
		{"no title", service.TaskInput{Title: "  "}, "title"},
		{"reminder after due", service.TaskInput{Title: "x", DueAt: &due, RemindAt: ptrTo(due.Add(time.Minute))}, "remindAt"},
		{"reminder in the past", service.TaskInput{Title: "x", RemindAt: ptrTo(now.Add(-time.Minute))}, "remindAt"},
		{"unknown priority", service.TaskInput{Title: "x", Priority: "someday"}, "priority"},
		{"owner rep1 may not assign to", service.TaskInput{Title: "x", OwnerID: service.Some(e.rep2.UserID)}, "ownerId"},
		{"no owner", service.TaskInput{Title: "x", OwnerID: service.Some(crm.NilID)}, "ownerId"},
		{"a lead", service.TaskInput{Title: "x", RecordType: crm.TypeLead, RecordID: crm.NewID()}, "recordId"},
		{"a missing account", service.TaskInput{Title: "x", RecordType: crm.TypeAccount, RecordID: crm.NewID()}, "recordId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := e.svc.CreateTask(e.ctx, e.rep1, c.in)
			requireCode(t, err, crm.EINVALID, c.field)
		})
	}
	require.Zero(t, e.count("SELECT count(*) FROM tasks"))
	require.Zero(t, e.count("SELECT count(*) FROM river_job"))

	task, _, err := e.svc.CreateTask(e.ctx, e.rep1, service.TaskInput{Title: "Send deck", DueAt: &due,
		RemindAt: ptrTo(due.Add(-time.Hour)), RecordType: crm.TypeAccount, RecordID: acct.ID})
	require.NoError(t, err)
	updates := []struct {
		name  string
		in    service.TaskUpdate
		code  string
		field string
	}{
		{"stale version", service.TaskUpdate{ExpectedVersion: 7, Title: service.Some("y")}, crm.ECONFLICT, ""},
		{"reminder after due", service.TaskUpdate{ExpectedVersion: 1, RemindAt: service.Some(ptrTo(due.Add(time.Hour)))}, crm.EINVALID, "remindAt"},
		{"due moved so the reminder passed", service.TaskUpdate{ExpectedVersion: 1, DueAt: service.Some(ptrTo(now.Add(30 * time.Minute)))}, crm.EINVALID, "dueAt"},
		{"empty title", service.TaskUpdate{ExpectedVersion: 1, Title: service.Some("")}, crm.EINVALID, "title"},
		{"unknown status", service.TaskUpdate{ExpectedVersion: 1, Status: service.Some(crm.TaskStatus("later"))}, crm.EINVALID, "status"},
	}
	for _, c := range updates {
		t.Run(c.name, func(t *testing.T) {
			c.in.ID = task.ID
			_, err := e.svc.UpdateTask(e.ctx, e.rep1, c.in)
			if c.field == "" {
				requireCode(t, err, c.code)
			} else {
				requireCode(t, err, c.code, c.field)
			}
		})
	}
	done, err := e.svc.UpdateTask(e.ctx, e.rep1, service.TaskUpdate{ID: task.ID, ExpectedVersion: 1, Status: service.Some(crm.TaskDone)})
	require.NoError(t, err)
	require.NotNil(t, done.CompletedAt)
	_, err = e.svc.UpdateTask(e.ctx, e.rep1, service.TaskUpdate{ID: task.ID, ExpectedVersion: 2, Status: service.Some(crm.TaskCancelled)})
	requireCode(t, err, crm.EINVALID, "status")
	reopened, err := e.svc.UpdateTask(e.ctx, e.rep1, service.TaskUpdate{ID: task.ID, ExpectedVersion: 2, Status: service.Some(crm.TaskOpen)})
	require.NoError(t, err)
	require.Nil(t, reopened.CompletedAt)
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE type = 'task.created'"))
	require.Equal(t, 2, e.count("SELECT count(*) FROM events WHERE type = 'task.updated'"))
}

func TestTaskRemindersAreScheduledMovedAndCancelledWithTheTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	due, remind := now.Add(3*time.Hour), now.Add(2*time.Hour)
	task, _, err := e.svc.CreateTask(e.ctx, e.manager, service.TaskInput{Title: "Prepare QBR", OwnerID: service.Some(e.rep1.UserID),
		DueAt: &due, RemindAt: &remind, Priority: service.PriorityHigh})
	require.NoError(t, err)
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'task_assigned'", e.rep1.UserID),
		"the owner learns that the manager gave them a task")
	job := func() (id int64, state string, remindAt time.Time) {
		require.NoError(t, e.pool.QueryRow(e.ctx, `SELECT j.id, j.state, (j.args->>'remind_at')::timestamptz FROM tasks t
			JOIN river_job j ON j.id = t.reminder_job_id WHERE t.id = $1`, task.ID).Scan(&id, &state, &remindAt))
		return id, state, remindAt
	}
	first, state, at := job()
	require.Equal(t, "scheduled", state)
	require.True(t, remind.Equal(at))

	// Moving the due time moves the pending reminder by as much and replaces the job.
	task, err = e.svc.UpdateTask(e.ctx, e.rep1, service.TaskUpdate{ID: task.ID, ExpectedVersion: task.Version,
		DueAt: service.Some(ptrTo(due.Add(24 * time.Hour)))})
	require.NoError(t, err)
	require.True(t, remind.Add(24*time.Hour).Equal(*task.RemindAt))
	second, state, at := job()
	require.Equal(t, "scheduled", state)
	require.True(t, task.RemindAt.Equal(at))
	require.Equal(t, 1, e.count("SELECT count(*) FROM river_job WHERE id = $1 AND state = 'cancelled'", first))

	// A run of the replaced job does nothing; the current one notifies once, however often it runs.
	require.NoError(t, e.svc.RemindTask(e.ctx, e.org.ID, task.ID, remind))
	require.Zero(t, e.count("SELECT count(*) FROM notifications WHERE kind = 'task_reminder'"))
	for range 2 {
		require.NoError(t, e.svc.RemindTask(e.ctx, e.org.ID, task.ID, *task.RemindAt))
	}
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE kind = 'task_reminder' AND user_id = $1 AND record_id = $2", e.rep1.UserID, task.ID))

	// Completing cancels the job; a late run does nothing.
	_, err = e.svc.UpdateTask(e.ctx, e.rep1, service.TaskUpdate{ID: task.ID, ExpectedVersion: task.Version, Status: service.Some(crm.TaskDone)})
	require.NoError(t, err)
	require.Equal(t, 1, e.count("SELECT count(*) FROM river_job WHERE id = $1 AND state = 'cancelled'", second))
	require.Equal(t, 1, e.count("SELECT count(*) FROM tasks WHERE id = $1 AND reminder_job_id IS NULL", task.ID))
	require.Zero(t, e.count("SELECT count(*) FROM river_job WHERE state = 'scheduled'"))
}

func TestQuoteFollowUpTaskGoesToTheDealOwnerAfterTheOrganizationsDelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	org, err := e.svc.Organization(e.ctx, e.admin)
	require.NoError(t, err)
	_, err = e.svc.UpdateSettings(e.ctx, e.admin, service.SettingsUpdate{ExpectedVersion: org.Version, QuoteFollowUpDays: service.Some(int32(5))})
	require.NoError(t, err)
	acct := e.account(e.rep1, "Rep1 Co")
	opp := e.opportunity(e.rep1.UserID, acct.ID, "Deal")
	sent := time.Now().UTC().Truncate(time.Microsecond)

	task, err := e.svc.ScheduleQuoteFollowUp(e.ctx, e.manager, opp, sent)
	require.NoError(t, err)
	require.Equal(t, crm.TaskFollowUp, task.Kind)
	require.Equal(t, e.rep1.UserID, task.OwnerID)
	require.True(t, sent.AddDate(0, 0, 5).Equal(*task.DueAt))
	require.True(t, task.DueAt.Equal(*task.RemindAt))
	require.Equal(t, crm.TypeOpportunity, task.RecordType)
	require.Equal(t, opp, task.RecordID)
	require.Equal(t, 1, e.count("SELECT count(*) FROM tasks t JOIN river_job j ON j.id = t.reminder_job_id WHERE t.id = $1 AND j.state = 'scheduled'", task.ID))
	require.Zero(t, e.count("SELECT count(*) FROM notifications"), "automatic tasks do not announce themselves")

	unowned := e.opportunity(crm.NilID, acct.ID, "Unowned deal")
	none, err := e.svc.ScheduleQuoteFollowUp(e.ctx, e.manager, unowned, sent)
	require.NoError(t, err)
	require.Equal(t, crm.NilID, none.ID, "a deal without owner gets no follow-up task")
}

func TestNotificationInboxIsPrivatePagedAndMarkedRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for i := range 5 {
		_, _, err := e.svc.CreateTask(e.ctx, e.manager, service.TaskInput{Title: "Task " + string(rune('A'+i)), OwnerID: service.Some(e.rep1.UserID)})
		require.NoError(t, err)
	}
	_, _, err := e.svc.CreateTask(e.ctx, e.manager, service.TaskInput{Title: "For rep2", OwnerID: service.Some(e.rep2.UserID)})
	require.NoError(t, err)

	var ids []crm.ID
	after := ""
	for {
		page, info, err := e.svc.ListNotifications(e.ctx, e.rep1, false, 2, after)
		require.NoError(t, err)
		for _, n := range page {
			require.Equal(t, e.rep1.UserID, n.UserID)
			ids = append(ids, n.ID)
		}
		if !info.HasNextPage {
			break
		}
		after = info.EndCursor
	}
	require.Len(t, ids, 5)
	require.Len(t, slices.Compact(slices.Clone(ids)), 5, "no notification repeats across pages")

	rep2Inbox, _, err := e.svc.ListNotifications(e.ctx, e.rep2, false, 10, "")
	require.NoError(t, err)
	require.Len(t, rep2Inbox, 1)
	got, err := e.svc.Notifications(e.ctx, e.rep2, ids[:1])
	require.NoError(t, err)
	require.Equal(t, crm.NilID, got[0].ID, "nobody reads another's inbox")

	marked, unread, err := e.svc.MarkNotificationsRead(e.ctx, e.rep2, ids[:2])
	require.NoError(t, err)
	require.Zero(t, marked, "marking another's notifications does nothing")
	require.Equal(t, 1, unread)

	marked, unread, err = e.svc.MarkNotificationsRead(e.ctx, e.rep1, ids[:2])
	require.NoError(t, err)
	require.Equal(t, 2, marked)
	require.Equal(t, 3, unread)
	onlyUnread, _, err := e.svc.ListNotifications(e.ctx, e.rep1, true, 10, "")
	require.NoError(t, err)
	require.Len(t, onlyUnread, 3)
	marked, unread, err = e.svc.MarkNotificationsRead(e.ctx, e.rep1, nil)
	require.NoError(t, err)
	require.Equal(t, 3, marked)
	require.Zero(t, unread)

	key := &crm.Actor{Kind: crm.ActorAPIKey, OrgID: e.org.ID, Scopes: []string{"activities:read"}}
	_, _, err = e.svc.ListNotifications(e.ctx, key, false, 10, "")
	requireCode(t, err, crm.EFORBIDDEN)
}

func TestNotificationSubscriptionDeliversOnlyTheRecipientsNotifications(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second) // a hang guard
	defer cancel()
	go func() { _ = e.hub.Run(ctx) }()
	go func() { _ = e.relay.Run(ctx) }()
	e.publish()

	first, _, err := e.svc.CreateTask(e.ctx, e.manager, service.TaskInput{Title: "Before subscribing", OwnerID: service.Some(e.rep1.UserID)})
	require.NoError(t, err)
	e.publish()
	var start int64
	require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT s.seq FROM events e JOIN event_seqs s ON s.id = e.id WHERE e.type = 'notification.created' AND e.record_id IN (SELECT id FROM notifications WHERE record_id = $1)", first.ID).Scan(&start))
	from := service.EventCursor(start - 1)
	in, err := e.svc.SubscribeNotifications(ctx, e.rep1, &from)
	require.NoError(t, err)

	_, _, err = e.svc.CreateTask(e.ctx, e.manager, service.TaskInput{Title: "For rep2", OwnerID: service.Some(e.rep2.UserID)})
	require.NoError(t, err)
	_, _, err = e.svc.CreateTask(e.ctx, e.manager, service.TaskInput{Title: "Live one", OwnerID: service.Some(e.rep1.UserID)})
	require.NoError(t, err)

	var titles []string
	for d := range in {
		require.Equal(t, e.rep1.UserID, d.Notification.UserID)
		require.Positive(t, d.Seq)
		titles = append(titles, d.Notification.Title)
		if len(titles) == 2 {
			break
		}
	}
	require.Equal(t, []string{"New task: Before subscribing", "New task: Live one"}, titles,
		"catch-up from the cursor, then live; rep2's notification is not delivered")
}
