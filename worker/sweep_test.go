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

// The periodic stale-deal sweep is enqueued by the elected leader on start and worked by a real
// River client: a deal idle past its stage's period is flagged.
func TestPeriodicSweepFlagsStaleDeals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, err := db.Open(ctx, dbtest.URL(t), db.PoolOptions{})
	require.NoError(t, err)
	defer pool.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := service.New(service.Deps{Pool: pool, Log: log})
	org, err := svc.CreateOrganization(ctx, "acme", "Acme", crm.Settings{})
	require.NoError(t, err)
	acct, _, err := svc.CreateAccount(ctx, crm.SystemActor(org.ID), service.AccountInput{Name: "Acme customer"})
	require.NoError(t, err)
	pipeline, stage, deal := crm.NewID(), crm.NewID(), crm.NewID()
	_, err = pool.Exec(ctx, `INSERT INTO pipelines (org_id, id, name, created_at, updated_at) VALUES ($1, $2, 'Sweep fixture', now(), now())`, org.ID, pipeline)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO pipeline_stages (org_id, id, pipeline_id, name, position, probability, forecast_category)
		VALUES ($1, $2, $3, 'Open', 0, 10, 'pipeline')`, org.ID, stage, pipeline)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO opportunities (org_id, id, name, account_id, pipeline_id, stage_id, currency, probability,
		forecast_category, stage_entered_at, created_at, updated_at)
		VALUES ($1, $2, 'Idle deal', $3, $4, $5, 'CNY', 10, 'pipeline', now() - interval '10 days', now(), now())`,
		org.ID, deal, acct.ID, pipeline, stage)
	require.NoError(t, err)

	client, err := worker.NewClient(pool, svc, log, worker.Options{RunWorkers: true, MaintenanceInterval: time.Hour})
	require.NoError(t, err)
	require.NoError(t, client.Start(ctx))
	defer func() { require.NoError(t, client.Stop(ctx)) }()

	deadline := time.Now().Add(60 * time.Second) // a hang guard, not a speed assertion
	for {
		var flagged bool
		var done int
		require.NoError(t, pool.QueryRow(ctx, "SELECT stale_since IS NOT NULL FROM opportunities WHERE id = $1", deal).Scan(&flagged))
		require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM river_job WHERE kind = 'maintenance.sweep_stale_deals' AND state = 'completed'").Scan(&done))
		if flagged && done == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: flagged %v, %d completed jobs", flagged, done)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
