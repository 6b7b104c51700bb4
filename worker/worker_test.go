package worker_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/dbtest"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
	"github.com/rapportcrm/rapport/worker"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// The periodic maintenance job is enqueued by the elected leader on start and worked by a real
// River client: expired idempotency keys disappear.
func TestPeriodicMaintenanceExpiresIdempotencyKeys(t *testing.T) {
	ctx := context.Background()
	pool, err := db.Open(ctx, dbtest.URL(t), db.PoolOptions{})
	require.NoError(t, err)
	defer pool.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := service.New(service.Deps{Pool: pool, Log: log})
	org, err := svc.CreateOrganization(ctx, "acme", "Acme", crm.Settings{})
	require.NoError(t, err)
	_, _, err = svc.CreateAccount(ctx, crm.SystemActor(org.ID), service.AccountInput{Name: "x", IdempotencyKey: "k"})
	require.NoError(t, err)
	_, err = pool.Exec(ctx, "UPDATE idempotency_keys SET expires_at = now() - interval '1 hour'")
	require.NoError(t, err)

	client, err := worker.NewClient(pool, svc, log, worker.Options{RunWorkers: true, MaintenanceInterval: time.Hour})
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	defer func() { require.NoError(t, client.Stop(ctx)) }()

	deadline := time.Now().Add(60 * time.Second) // a hang guard, not a speed assertion
	for {
		var keys, done int
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM idempotency_keys").Scan(&keys))
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'maintenance.expire_idempotency_keys' AND state = 'completed'").Scan(&done))
		if keys == 0 && done == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: %d keys left, %d completed jobs", keys, done)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Task reminders run on a real River client: the due job notifies the owner exactly once, a job
// replaced by rescheduling is cancelled (and does nothing even if it runs anyway), and completing
// the task cancels its job.
func TestTaskReminderFiresOnceAndFollowsTheTask(t *testing.T) {
	ctx := context.Background()
	pool, err := db.Open(ctx, dbtest.URL(t), db.PoolOptions{})
	require.NoError(t, err)
	defer pool.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := service.New(service.Deps{Pool: pool, Log: log})
	org, err := svc.CreateOrganization(ctx, "acme", "Acme", crm.Settings{})
	require.NoError(t, err)
	u, err := svc.CreateUser(ctx, crm.SystemActor(org.ID), service.UserInput{Email: "rep@acme.test", Name: "Rep", Role: crm.RoleSalesRep})
	require.NoError(t, err)
	rep := &crm.Actor{Kind: crm.ActorUser, OrgID: org.ID, UserID: u.ID, Role: crm.RoleSalesRep}

	client, err := worker.NewClient(pool, svc, log, worker.Options{RunWorkers: true, MaintenanceInterval: time.Hour})
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	defer func() { require.NoError(t, client.Stop(ctx)) }()

	count := func(sql string, args ...any) int {
		var n int
		require.NoError(t, pool.QueryRow(ctx, sql, args...).Scan(&n))
		return n
	}
	jobOf := func(task crm.ID) int64 {
		var id int64
		require.NoError(t, pool.QueryRow(ctx, "SELECT reminder_job_id FROM tasks WHERE id = $1", task).Scan(&id))
		return id
	}
	// runNow makes a job due at once, as if its time had come, and waits until River finished it.
	runNow := func(job int64) {
		_, err := pool.Exec(ctx, "UPDATE river_job SET state = 'available', scheduled_at = now(), finalized_at = NULL WHERE id = $1", job)
		require.NoError(t, err)
		deadline := time.Now().Add(60 * time.Second) // a hang guard, not a speed assertion
		for count("SELECT count(*) FROM river_job WHERE id = $1 AND state = 'completed'", job) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("job %d did not complete within 60 s", job)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	remind := time.Now().Add(time.Hour)
	task, _, err := svc.CreateTask(ctx, rep, service.TaskInput{Title: "Call Li Lei", RemindAt: &remind})
	require.NoError(t, err)
	old := jobOf(task.ID)
	task, err = svc.UpdateTask(ctx, rep, service.TaskUpdate{ID: task.ID, ExpectedVersion: task.Version,
		RemindAt: service.Some(ptr(remind.Add(time.Hour)))})
	require.NoError(t, err)
	current := jobOf(task.ID)
	require.NotEqual(t, old, current)
	require.Equal(t, 1, count("SELECT count(*) FROM river_job WHERE id = $1 AND state = 'cancelled'", old))

	runNow(current)
	require.Equal(t, 1, count("SELECT count(*) FROM notifications WHERE kind = 'task_reminder' AND user_id = $1 AND record_id = $2", u.ID, task.ID))
	require.Equal(t, 1, count("SELECT count(*) FROM events WHERE type = 'notification.created' AND $1 = ANY(owner_ids)", u.ID))
	runNow(old) // the replaced job, had its cancellation lost a race
	require.Equal(t, 1, count("SELECT count(*) FROM notifications"), "the replaced reminder does nothing")

	other, _, err := svc.CreateTask(ctx, rep, service.TaskInput{Title: "Send deck", RemindAt: &remind})
	require.NoError(t, err)
	job := jobOf(other.ID)
	_, err = svc.UpdateTask(ctx, rep, service.TaskUpdate{ID: other.ID, ExpectedVersion: other.Version, Status: service.Some(crm.TaskDone)})
	require.NoError(t, err)
	require.Equal(t, 1, count("SELECT count(*) FROM river_job WHERE id = $1 AND state = 'cancelled'", job))
	runNow(job)
	require.Equal(t, 1, count("SELECT count(*) FROM notifications"), "a completed task is not reminded")
}

func ptr[T any](v T) *T { return &v }
