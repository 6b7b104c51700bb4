package scaleseed_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/dbtest"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/scaleseed"
	"github.com/rapportcrm/rapport/internal/service"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func seeded(t *testing.T, opts scaleseed.Options) (*pgxpool.Pool, *service.Service, scaleseed.Result) {
	t.Helper()
	ctx := context.Background()
	pool, err := db.Open(ctx, dbtest.URL(t), db.PoolOptions{MaxConns: 4})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	svc := service.New(service.Deps{Pool: pool, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	res, err := scaleseed.Run(ctx, svc, pool, opts)
	require.NoError(t, err)
	return pool, svc, res
}

// fingerprint is what must not change between two runs of the same options: the row counts and
// the first rows of each table in a stable order, without the IDs the service chose.
func fingerprint(t *testing.T, pool *pgxpool.Pool) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT count(*)::text FROM accounts", "SELECT count(*)::text FROM contacts", "SELECT count(*)::text FROM leads",
		"SELECT count(*)::text FROM lead_events", "SELECT count(*)::text FROM lead_touches",
		"SELECT count(*)::text FROM opportunities", "SELECT count(*)::text FROM stage_history",
		"SELECT count(*)::text FROM activities", "SELECT count(*)::text FROM tasks", "SELECT count(*)::text FROM notifications",
		"SELECT concat_ws('|', id, name, registration_code, domain, employees, created_at, last_activity_at) FROM accounts ORDER BY id LIMIT 5",
		"SELECT concat_ws('|', id, name, emails, phones, account_id) FROM contacts ORDER BY id LIMIT 5",
		"SELECT concat_ws('|', id, name, email, phone, status, touch_count, last_touch_at, score_total) FROM leads ORDER BY id LIMIT 5",
		"SELECT concat_ws('|', id, name, amount, currency, probability, forecast_category, close_date) FROM opportunities ORDER BY id LIMIT 5",
		"SELECT concat_ws('|', id, type, record_type, record_id, occurred_at) FROM activities ORDER BY id LIMIT 5",
	} {
		rows, err := pool.Query(context.Background(), q)
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out = append(out, s)
		}
		require.NoError(t, rows.Err())
	}
	return out
}

func TestSameSeedGivesTheSameData(t *testing.T) {
	t.Parallel()
	opts := scaleseed.Options{Scale: 0.005, Seed: 7}
	a, _, _ := seeded(t, opts)
	b, _, _ := seeded(t, opts)
	fa := fingerprint(t, a)
	require.Equal(t, fa, fingerprint(t, b))
	require.Equal(t, "100", fa[0], "accounts at scale 0.005")

	other, _, _ := seeded(t, scaleseed.Options{Scale: 0.005, Seed: 8})
	require.NotEqual(t, fa, fingerprint(t, other))
}

func TestSeededDataIsConsistentAndVisibleToTheAdmin(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, svc, res := seeded(t, scaleseed.Options{Scale: 0.005, Seed: 11, Orgs: 2})
	require.Len(t, res.Orgs, 2)
	require.Equal(t, "scale-11-1", res.Orgs[1].Organization.Slug)

	o := res.Orgs[0]
	admin := &crm.Actor{Kind: crm.ActorUser, OrgID: o.Organization.ID, UserID: o.AdminID, Role: crm.RoleAdmin}
	leads, _, err := svc.ListLeads(ctx, admin, service.LeadFilter{}, service.Order{}, service.Page{})
	require.NoError(t, err)
	require.NotEmpty(t, leads)
	deals, _, err := svc.ListOpportunities(ctx, admin, service.OpportunityFilter{}, service.Order{}, service.Page{})
	require.NoError(t, err)
	require.NotEmpty(t, deals)
	pipelines, err := svc.ListPipelines(ctx, admin)
	require.NoError(t, err)
	require.Len(t, pipelines, 2)
	contacts, _, err := svc.ListContacts(ctx, admin, service.ContactFilter{}, service.Order{}, service.Page{})
	require.NoError(t, err)
	var withAccount crm.Contact
	for _, c := range contacts {
		if c.AccountID != crm.NilID {
			withAccount = c
			break
		}
	}
	require.NotEqual(t, crm.NilID, withAccount.AccountID, "a contact with an account on the first page")
	acct, err := svc.Account(ctx, admin, withAccount.AccountID)
	require.NoError(t, err)
	require.NotEmpty(t, acct.Name)

	// A forecast over every deal converts each one: the deals' currencies have rates into CNY.
	from := crm.DateOf(time.Now().UTC().AddDate(-2, 0, 0))
	fc, err := svc.Forecast(ctx, admin, service.ForecastInput{From: from, To: crm.DateOf(time.Now().UTC().AddDate(0, 11, 0))})
	require.NoError(t, err)
	require.NotEmpty(t, fc.Rows)

	// The organizations split the total: 100 accounts at 0.005, 50 each.
	var n int
	require.NoError(t, pool.QueryRow(ctx, "SELECT count(*) FROM accounts WHERE org_id = $1", o.Organization.ID).Scan(&n))
	require.Equal(t, 50, n)

	// Derived columns agree with the rows they are derived from.
	for name, q := range map[string]string{
		"touch_count":   `SELECT count(*) FROM leads l WHERE touch_count <> (SELECT count(*) FROM lead_touches t WHERE t.org_id = l.org_id AND t.lead_id = l.id)`,
		"deal stage":    `SELECT count(*) FROM opportunities o WHERE stage_id <> (SELECT to_stage_id FROM stage_history h WHERE h.org_id = o.org_id AND h.opportunity_id = o.id ORDER BY changed_at DESC, from_stage_id IS NULL LIMIT 1)`,
		"probability":   `SELECT count(*) FROM opportunities o JOIN pipeline_stages s ON s.org_id = o.org_id AND s.id = o.stage_id WHERE o.probability <> s.probability OR o.forecast_category <> s.forecast_category OR (o.closed_at IS NULL) = s.closed`,
		"last activity": `SELECT count(*) FROM opportunities o WHERE last_activity_at IS DISTINCT FROM (SELECT max(occurred_at) FROM activities a WHERE a.org_id = o.org_id AND a.record_id = o.id)`,
	} {
		require.NoError(t, pool.QueryRow(ctx, q).Scan(&n), name)
		require.Zero(t, n, name)
	}

	// The same seed again is refused before anything is written.
	_, err = scaleseed.Run(ctx, svc, pool, scaleseed.Options{Scale: 0.005, Seed: 11})
	require.Equal(t, crm.ECONFLICT, crm.ErrorCode(err), fmt.Sprint(err))
}
