package worker_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/dbtest"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
	"github.com/rapportcrm/rapport/worker"
)

// River runs the import job that startLeadImport enqueued, as the uploading user.
func TestLeadImportJobRunsOnTheLeadsQueue(t *testing.T) {
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

	imp, err := svc.UploadLeadImport(ctx, rep, service.LeadImportUpload{FileName: "leads.csv"},
		strings.NewReader("姓名,手机\n王小明,13800138000\n,\n李雷,not a phone\n"))
	require.NoError(t, err)
	_, err = svc.StartLeadImport(ctx, rep, imp.ID, nil, nil, nil)
	require.NoError(t, err)
	deadline := time.Now().Add(60 * time.Second) // a hang guard, not a speed assertion
	for {
		got, err := svc.LeadImport(ctx, rep, imp.ID)
		require.NoError(t, err)
		if got.Status.Final() {
			require.Equal(t, crm.ImportDone, got.Status, got.Error)
			require.EqualValues(t, 2, got.RowsImported, "the blank line is no row; the bad phone is dropped")
			var owner crm.ID
			require.NoError(t, pool.QueryRow(ctx, "SELECT actor_id FROM events WHERE type = 'lead.created' LIMIT 1").Scan(&owner))
			require.Equal(t, u.ID, owner, "the uploader is the actor")
			return
		}
		require.True(t, time.Now().Before(deadline), "the import did not end within 60 s")
		time.Sleep(50 * time.Millisecond)
	}
}
