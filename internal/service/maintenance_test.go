package service_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

func TestExpiredIdempotencyKeysAreSweptAndFreed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first, _, err := e.svc.CreateAccount(e.ctx, e.rep1, service.AccountInput{Name: "Vandelay", IdempotencyKey: "k"})
	require.NoError(t, err)
	n, err := e.svc.ExpireIdempotencyKeys(e.ctx)
	require.NoError(t, err)
	require.Zero(t, n, "keys younger than 24 hours stay")

	_, err = e.pool.Exec(e.ctx, "UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
	require.NoError(t, err)
	// An expired key that was not swept yet is free again.
	second, replayed, err := e.svc.CreateAccount(e.ctx, e.rep1, service.AccountInput{Name: "Vandelay Industries", IdempotencyKey: "k"})
	require.NoError(t, err)
	require.False(t, replayed)
	require.NotEqual(t, first.ID, second.ID)

	_, err = e.pool.Exec(e.ctx, "UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
	require.NoError(t, err)
	n, err = e.svc.ExpireIdempotencyKeys(e.ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.Zero(t, e.count("SELECT count(*) FROM idempotency_keys"))
}

func TestDepartedRepsRecordsStayWithTheirManager(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.rep1, "Left behind")
	_, err := e.svc.UpdateUser(e.ctx, e.admin, service.UserUpdate{ID: e.rep1.UserID, Active: service.Some(false)})
	require.NoError(t, err)
	got, err := e.svc.Account(e.ctx, e.manager, acct.ID)
	require.NoError(t, err, "the manager can still find the departed rep's account")
	moved, err := e.svc.UpdateAccount(e.ctx, e.manager, service.AccountUpdate{ID: acct.ID, ExpectedVersion: got.Version,
		OwnerID: service.Some(e.rep1b.UserID)})
	require.NoError(t, err, "and reassign it")
	require.Equal(t, e.rep1b.UserID, moved.OwnerID)
	_, err = e.svc.Account(e.ctx, e.rep2, acct.ID)
	requireCode(t, err, crm.ENOTFOUND)
}
