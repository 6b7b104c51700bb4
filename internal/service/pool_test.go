package service_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// settings changes the organization's settings as the admin.
func (e *env) sweepSettings(in service.SettingsUpdate) {
	e.t.Helper()
	org, err := e.svc.Organization(e.ctx, e.admin)
	require.NoError(e.t, err)
	in.ExpectedVersion = org.Version
	_, err = e.svc.UpdateSettings(e.ctx, e.admin, in)
	require.NoError(e.t, err)
}

func inPool(in *service.AccountInput) { in.OwnerID = service.Some(crm.NilID) }

func TestIdleAccountReturnsToThePoolWithAnEventAndANotice(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc, clk := e.sweepService()
	e.sweepSettings(service.SettingsUpdate{PoolAfterDays: service.Some(ptr(int32(30)))})
	idle := e.account(e.rep1, "Idle")
	followed := e.account(e.rep1, "Followed up")
	newlyOwned := e.account(e.rep2, "Newly owned")
	_, err := e.pool.Exec(e.ctx, "UPDATE accounts SET owner_since = $2 WHERE id = ANY($1)",
		[]crm.ID{idle.ID, followed.ID}, clk.Now().Add(-31*sweepDay))
	require.NoError(t, err)
	_, err = e.pool.Exec(e.ctx, "UPDATE accounts SET last_activity_at = $2 WHERE id = $1", followed.ID, clk.Now().Add(-2*sweepDay))
	require.NoError(t, err)

	n, err := svc.SweepAccountPool(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got, err := e.svc.Account(e.ctx, e.admin, idle.ID)
	require.NoError(t, err)
	require.Equal(t, crm.NilID, got.OwnerID)
	require.Equal(t, idle.Version+1, got.Version, "an ownership change is a new version")
	require.Equal(t, 1, e.count("SELECT count(*) FROM accounts WHERE id = $1 AND owner_since IS NULL", idle.ID))
	for _, a := range []crm.Account{followed, newlyOwned} {
		still, err := e.svc.Account(e.ctx, e.admin, a.ID)
		require.NoError(t, err)
		require.Equal(t, a.OwnerID, still.OwnerID)
	}
	require.Equal(t, 1, e.count(`SELECT count(*) FROM events WHERE type = 'account.pooled' AND record_id = $1
		AND owner_ids = ARRAY[$2::uuid] AND changes @> '[{"field": "ownerId"}]'`, idle.ID, e.rep1.UserID))
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'account_pooled' AND record_id = $2",
		e.rep1.UserID, idle.ID))
	// In the pool, every sales user sees it.
	_, err = e.svc.Account(e.ctx, e.rep2, idle.ID)
	require.NoError(t, err)

	n, err = svc.SweepAccountPool(e.ctx)
	require.NoError(t, err)
	require.Zero(t, n, "a second run finds nothing")
}

func TestWithoutAPoolSettingNoAccountIsPooled(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	svc, clk := e.sweepService()
	old := e.account(e.rep1, "Old")
	_, err := e.pool.Exec(e.ctx, "UPDATE accounts SET owner_since = $2 WHERE id = $1", old.ID, clk.Now().Add(-3000*sweepDay))
	require.NoError(t, err)
	n, err := svc.SweepAccountPool(e.ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	// Turning the pool on, then off again (null), keeps it off.
	e.sweepSettings(service.SettingsUpdate{PoolAfterDays: service.Some(ptr(int32(10)))})
	e.sweepSettings(service.SettingsUpdate{PoolAfterDays: service.Some[*int32](nil)})
	n, err = svc.SweepAccountPool(e.ctx)
	require.NoError(t, err)
	require.Zero(t, n)
	require.Zero(t, e.count("SELECT count(*) FROM accounts WHERE owner_id IS NULL"))
}

func TestConcurrentClaimsOfOnePoolAccountHaveOneWinner(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.admin, "Up for grabs", inPool)
	claimers := []*crm.Actor{e.rep1, e.rep1b, e.rep2, e.manager}
	errs := make([]error, len(claimers))
	var wg sync.WaitGroup
	for i, a := range claimers {
		wg.Go(func() { _, errs[i] = e.svc.ClaimAccount(e.ctx, a, acct.ID) })
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "two claims won")
			winner = i
			continue
		}
		requireCode(t, err, crm.ECONFLICT)
		require.Contains(t, err.Error(), "Someone else claimed this account first")
	}
	require.NotEqual(t, -1, winner, "nobody won")
	got, err := e.svc.Account(e.ctx, e.admin, acct.ID)
	require.NoError(t, err)
	require.Equal(t, claimers[winner].UserID, got.OwnerID)
	require.Equal(t, acct.Version+1, got.Version)
	require.Equal(t, 1, e.count("SELECT count(*) FROM account_claims WHERE account_id = $1 AND user_id = $2", acct.ID, claimers[winner].UserID))
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE type = 'account.claimed' AND record_id = $1 AND actor_id = $2",
		acct.ID, claimers[winner].UserID))
	require.Equal(t, 1, e.count("SELECT count(*) FROM accounts WHERE id = $1 AND owner_since IS NOT NULL", acct.ID))
}

func TestClaimLimitHoldsUnderConcurrentClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.sweepSettings(service.SettingsUpdate{PoolClaimLimit: service.Some(int32(2))})
	accts := make([]crm.Account, 5)
	for i := range accts {
		accts[i] = e.account(e.admin, "Pool "+string(rune('A'+i)), inPool)
	}
	errs := make([]error, len(accts))
	var wg sync.WaitGroup
	for i, a := range accts {
		wg.Go(func() { _, errs[i] = e.svc.ClaimAccount(e.ctx, e.rep1, a.ID) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
			continue
		}
		requireCode(t, err, crm.ECONFLICT)
		var appErr *crm.Error
		require.ErrorAs(t, err, &appErr)
		require.EqualValues(t, 2, appErr.Details["claimLimit"])
		next, perr := time.Parse(time.RFC3339, appErr.Details["nextClaimAt"].(string))
		require.NoError(t, perr)
		require.True(t, next.After(time.Now().Add(23*time.Hour)), "the first claim leaves the window in about 24 hours")
		require.Contains(t, appErr.Message, "limit of 2 claims")
	}
	require.Equal(t, 2, won)
	require.Equal(t, 2, e.count("SELECT count(*) FROM accounts WHERE owner_id = $1", e.rep1.UserID))
	require.Equal(t, 2, e.count("SELECT count(*) FROM account_claims WHERE user_id = $1", e.rep1.UserID))

	// Another user has their own allowance; claims older than 24 hours no longer count.
	_, err := e.svc.ClaimAccount(e.ctx, e.rep2, firstInPool(t, e, accts).ID)
	require.NoError(t, err)
	_, err = e.pool.Exec(e.ctx, "UPDATE account_claims SET claimed_at = claimed_at - interval '25 hours' WHERE user_id = $1", e.rep1.UserID)
	require.NoError(t, err)
	_, err = e.svc.ClaimAccount(e.ctx, e.rep1, firstInPool(t, e, accts).ID)
	require.NoError(t, err)
}

func firstInPool(t *testing.T, e *env, accts []crm.Account) crm.Account {
	t.Helper()
	for _, a := range accts {
		got, err := e.svc.Account(e.ctx, e.admin, a.ID)
		require.NoError(t, err)
		if got.OwnerID == crm.NilID {
			return got
		}
	}
	t.Fatal("no pool account left")
	return crm.Account{}
}

func TestClaimRejectsOwnedDeletedInvisibleAndNonUserClaims(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mine := e.account(e.rep1, "Mine")
	theirs := e.account(e.rep1b, "Team mate's")
	gone := e.account(e.admin, "Gone", inPool)
	_, err := e.svc.DeleteAccount(e.ctx, e.admin, gone.ID, gone.Version)
	require.NoError(t, err)

	_, err = e.svc.ClaimAccount(e.ctx, e.rep1, mine.ID)
	requireCode(t, err, crm.ECONFLICT)
	require.Contains(t, err.Error(), "You already own this account")
	_, err = e.svc.ClaimAccount(e.ctx, e.manager, theirs.ID)
	requireCode(t, err, crm.ECONFLICT)
	require.Contains(t, err.Error(), "not in the shared pool")
	_, err = e.svc.ClaimAccount(e.ctx, e.rep2, theirs.ID)
	requireCode(t, err, crm.ENOTFOUND) // rep2 cannot see it: its existence does not leak
	_, err = e.svc.ClaimAccount(e.ctx, e.rep1, gone.ID)
	requireCode(t, err, crm.ECONFLICT)
	require.Contains(t, err.Error(), "deleted")
	// A pool account claimed by someone the loser cannot see is still "someone else was first".
	grabbed := e.account(e.admin, "Grabbed", inPool)
	_, err = e.svc.ClaimAccount(e.ctx, e.rep1, grabbed.ID)
	require.NoError(t, err)
	_, err = e.svc.ClaimAccount(e.ctx, e.rep2, grabbed.ID)
	requireCode(t, err, crm.ECONFLICT)
	require.Contains(t, err.Error(), "Someone else claimed this account first")
	_, err = e.svc.ClaimAccount(e.ctx, e.sys, gone.ID)
	requireCode(t, err, crm.EFORBIDDEN)
	_, err = e.svc.ClaimAccount(e.ctx, e.analyst, gone.ID)
	requireCode(t, err, crm.EFORBIDDEN)
	require.Equal(t, 1, e.count("SELECT count(*) FROM account_claims"))
}
