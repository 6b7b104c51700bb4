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
