package service_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// sweepClock is a service clock a test moves by hand.
type sweepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *sweepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *sweepClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sweepService returns a service on the env's database whose clock the test controls, starting now.
func (e *env) sweepService() (*service.Service, *sweepClock) {
	c := &sweepClock{now: time.Now().UTC().Truncate(time.Microsecond)}
	return service.New(service.Deps{Pool: e.pool, Clock: c.Now, Relay: e.relay}), c
}

// sweepFixture is a pipeline written with SQL (the pipeline service is built elsewhere): an
// open stage on the organization's stale period, a slow one (10 days), one that never goes stale
// and a closed-won one.
type sweepFixture struct {
	id, open, slow, never, won crm.ID
	account                    crm.ID
}

func (e *env) sweepPipeline() sweepFixture {
	e.t.Helper()
	p := sweepFixture{id: crm.NewID(), open: crm.NewID(), slow: crm.NewID(), never: crm.NewID(), won: crm.NewID()}
	_, err := e.pool.Exec(e.ctx, `
		INSERT INTO pipelines (org_id, id, name, is_default, created_at, updated_at) VALUES ($1, $2, 'Sweep fixture', false, now(), now());
		`, e.org.ID, p.id)
	require.NoError(e.t, err)
	for i, st := range []struct {
		id     crm.ID
		name   string
		days   *int32
		closed bool
	}{{p.open, "Open", nil, false}, {p.slow, "Slow", ptr(int32(10)), false}, {p.never, "Never", ptr(int32(0)), false}, {p.won, "Won", nil, true}} {
		_, err := e.pool.Exec(e.ctx, `
			INSERT INTO pipeline_stages (org_id, id, pipeline_id, name, position, probability, forecast_category, closed, won, stale_after_days)
			VALUES ($1, $2, $3, $4, $5, 50, 'pipeline', $6, $6, $7)`, e.org.ID, st.id, p.id, st.name, i, st.closed, st.days)
		require.NoError(e.t, err)
	}
	p.account = e.account(e.admin, "Deal account").ID
	return p
}

// deal inserts an open opportunity that entered stage at entered.
func (e *env) sweepDeal(p sweepFixture, owner, stage crm.ID, entered time.Time) crm.ID {
	e.t.Helper()
	id := crm.NewID()
	var ownerID *crm.ID
	if owner != crm.NilID {
		ownerID = &owner
	}
	_, err := e.pool.Exec(e.ctx, `
		INSERT INTO opportunities (org_id, id, name, account_id, owner_id, pipeline_id, stage_id, currency, probability,
		                           forecast_category, stage_entered_at, created_at, updated_at)
		VALUES ($1, $2, $8, $3, $4, $5, $6, 'CNY', 50, 'pipeline', $7, $7, $7)`,
		e.org.ID, id, p.account, ownerID, p.id, stage, entered, "Deal "+id.String()[:8])
	require.NoError(e.t, err)
	return id
}

func (e *env) sweepStaleSince(deal crm.ID) *time.Time {
	e.t.Helper()
	var t *time.Time
	require.NoError(e.t, e.pool.QueryRow(e.ctx, "SELECT stale_since FROM opportunities WHERE id = $1", deal).Scan(&t))
	return t
}

const sweepDay = 24 * time.Hour

func TestStaleDealIsFlaggedAndNotifiedOncePerStalePeriod(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc, clk := e.sweepService()
	p := e.sweepPipeline()
	old := e.sweepDeal(p, e.rep1.UserID, p.open, clk.Now().Add(-4*sweepDay))
	fresh := e.sweepDeal(p, e.rep1.UserID, p.open, clk.Now().Add(-2*sweepDay))

	n, err := svc.SweepStaleDeals(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NotNil(t, e.sweepStaleSince(old))
	require.True(t, e.sweepStaleSince(old).Equal(clk.Now()))
	require.Nil(t, e.sweepStaleSince(fresh))
	require.Equal(t, 1, e.count("SELECT version FROM opportunities WHERE id = $1", old), "a derived flag is not a new version")

	// The owner, and the manager of the team above the owner's (East has none; Sales has one).
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'deal_stale' AND record_id = $2", e.rep1.UserID, old))
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'deal_stale_team' AND record_id = $2", e.manager.UserID, old))
	require.Equal(t, 2, e.count("SELECT count(*) FROM notifications"))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM events WHERE type = 'opportunity.stale' AND record_type = 'Opportunity'
		AND record_id = $1 AND container_id = $2 AND owner_ids = ARRAY[$3::uuid] AND actor_kind = 'system'`, old, p.id, e.rep1.UserID))
	require.Equal(t, 2, e.count("SELECT count(*) FROM events WHERE type = 'notification.created'"))

	// Running again (a retried job, the next period) changes nothing and notifies nobody.
	clk.advance(time.Hour)
	n, err = svc.SweepStaleDeals(e.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Equal(t, 2, e.count("SELECT count(*) FROM notifications"))

	// Activity resumes (the activity service clears the flag), then stops again: a new stale period
	// notifies again.
	_, err = e.pool.Exec(e.ctx, "UPDATE opportunities SET stale_since = NULL, last_activity_at = $2 WHERE id = $1", old, clk.Now())
	require.NoError(t, err)
	n, err = svc.SweepStaleDeals(e.ctx)
	require.NoError(t, err)
	require.Zero(t, n, "touched just now")
	clk.advance(3*sweepDay + time.Minute)
	n, err = svc.SweepStaleDeals(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 2, n, "both deals are stale now")
	require.Equal(t, 2, e.count("SELECT count(*) FROM notifications WHERE user_id = $1 AND record_id = $2", e.rep1.UserID, old))
	require.Equal(t, 2, e.count("SELECT count(*) FROM notifications WHERE user_id = $1 AND record_id = $2", e.manager.UserID, old))
	require.Equal(t, 6, e.count("SELECT count(*) FROM notifications"))
}

func TestStalePeriodComesFromTheStageOrTheOrganizationAndClosedDealsNeverGoStale(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc, clk := e.sweepService()
	p := e.sweepPipeline()
	now := clk.Now()
	orgDefault := e.sweepDeal(p, e.rep2.UserID, p.open, now.Add(-4*sweepDay))
	slowYoung := e.sweepDeal(p, e.rep2.UserID, p.slow, now.Add(-5*sweepDay))
	slowOld := e.sweepDeal(p, e.rep2.UserID, p.slow, now.Add(-11*sweepDay))
	never := e.sweepDeal(p, e.rep2.UserID, p.never, now.Add(-400*sweepDay))
	won := e.sweepDeal(p, e.rep2.UserID, p.won, now.Add(-40*sweepDay))
	closed := e.sweepDeal(p, e.rep2.UserID, p.open, now.Add(-40*sweepDay))
	deleted := e.sweepDeal(p, e.rep2.UserID, p.open, now.Add(-40*sweepDay))
	recentActivity := e.sweepDeal(p, e.rep2.UserID, p.open, now.Add(-40*sweepDay))
	unowned := e.sweepDeal(p, crm.NilID, p.open, now.Add(-40*sweepDay))
	_, err := e.pool.Exec(e.ctx, `
		UPDATE opportunities SET closed_at = now() WHERE id = $1 OR id = $2;
		`, won, closed)
	require.NoError(t, err)
	_, err = e.pool.Exec(e.ctx, "UPDATE opportunities SET deleted_at = now() WHERE id = $1", deleted)
	require.NoError(t, err)
	_, err = e.pool.Exec(e.ctx, "UPDATE opportunities SET last_activity_at = $2 WHERE id = $1", recentActivity, now.Add(-time.Hour))
	require.NoError(t, err)

	n, err := svc.SweepStaleDeals(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 3, n)
	for _, id := range []crm.ID{orgDefault, slowOld, unowned} {
		require.NotNil(t, e.sweepStaleSince(id))
	}
	for _, id := range []crm.ID{slowYoung, never, won, closed, deleted, recentActivity} {
		require.Nil(t, e.sweepStaleSince(id))
	}
	require.Zero(t, e.count("SELECT count(*) FROM notifications WHERE record_id = $1", unowned), "nobody to tell")

	// The organization's setting moves the default.
	org, err := e.svc.Organization(e.ctx, e.admin)
	require.NoError(t, err)
	_, err = e.svc.UpdateSettings(e.ctx, e.admin, service.SettingsUpdate{ExpectedVersion: org.Version, StaleAfterDays: service.Some(int32(1))})
	require.NoError(t, err)
	young := e.sweepDeal(p, e.rep2.UserID, p.open, now.Add(-2*sweepDay))
	n, err = svc.SweepStaleDeals(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.NotNil(t, e.sweepStaleSince(young))
	require.Nil(t, e.sweepStaleSince(slowYoung), "the stage's own period still wins")
}

func TestStaleSweepSkipsADealAnotherTransactionHoldsInsteadOfWaiting(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc, clk := e.sweepService()
	p := e.sweepPipeline()
	held := e.sweepDeal(p, e.rep1.UserID, p.open, clk.Now().Add(-5*sweepDay))
	free := e.sweepDeal(p, e.rep1.UserID, p.open, clk.Now().Add(-4*sweepDay))

	tx, err := e.pool.Begin(e.ctx)
	require.NoError(t, err)
	defer tx.Rollback(e.ctx) //nolint:errcheck // committed below
	_, err = tx.Exec(e.ctx, "UPDATE opportunities SET next_step = 'call back' WHERE id = $1", held)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second) // a hang guard: waiting would hit it
	defer cancel()
	n, err := svc.SweepStaleDeals(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Nil(t, e.sweepStaleSince(held))
	require.NotNil(t, e.sweepStaleSince(free))

	require.NoError(t, tx.Commit(e.ctx))
	n, err = svc.SweepStaleDeals(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "the next run takes the deal it skipped")
	require.NotNil(t, e.sweepStaleSince(held))
}

func TestStaleSweepWalksPastOneBatchAndDigestsABacklog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc, clk := e.sweepService()
	p := e.sweepPipeline()
	// 2,500 stale deals and 500 fresh ones, interleaved by last touch, owned by a rep with a manager.
	_, err := e.pool.Exec(e.ctx, `
		INSERT INTO opportunities (org_id, id, name, account_id, owner_id, pipeline_id, stage_id, currency, probability,
		                           forecast_category, stage_entered_at, created_at, updated_at)
		SELECT $1, gen_random_uuid(), 'Deal ' || i, $2, $3, $4, $5, 'CNY', 50, 'pipeline',
		       $6::timestamptz - CASE WHEN i % 6 = 0 THEN interval '1 day' ELSE interval '4 days' + i * interval '1 second' END,
		       $6, $6
		FROM generate_series(1, 3000) AS i`, e.org.ID, p.account, e.rep2.UserID, p.id, p.open, clk.Now())
	require.NoError(t, err)
	n, err := svc.SweepStaleDeals(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 2500, n)
	require.Equal(t, 2500, e.count("SELECT count(*) FROM opportunities WHERE stale_since IS NOT NULL"))
	// A backlog is told as one digest per recipient and batch (1,000, 1,000, 500), not 5,000 notices.
	require.Equal(t, 3, e.count("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'deal_stale' AND record_id IS NULL", e.rep2.UserID))
	require.Equal(t, 3, e.count("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'deal_stale_team' AND record_id IS NULL", e.manager.UserID))
	require.Equal(t, 6, e.count("SELECT count(*) FROM notifications"))
	require.Equal(t, 2, e.count("SELECT count(*) FROM notifications WHERE title = '1000 of your deals are going stale'"))
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE title = '500 deals in your team went stale'"))
	require.Equal(t, 2500, e.count("SELECT count(*) FROM events WHERE type = 'opportunity.stale'"))
}
