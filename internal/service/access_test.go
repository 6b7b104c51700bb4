package service_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// visibleNames lists the names of the accounts an actor sees.
func (e *env) visibleNames(a *crm.Actor) []string {
	e.t.Helper()
	accts, _, err := e.svc.ListAccounts(e.ctx, a, service.AccountFilter{}, service.Order{Field: service.OrderName}, service.Page{})
	require.NoError(e.t, err)
	names := make([]string, len(accts))
	for i, x := range accts {
		names[i] = x.Name
	}
	return names
}

func TestRecordVisibilityPerRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a1 := e.account(e.rep1, "A rep1")
	e.account(e.rep1b, "B rep1b")
	e.account(e.rep2, "C rep2")
	e.account(e.admin, "D pool", func(in *service.AccountInput) { in.OwnerID = service.Some(crm.NilID) })
	e.account(e.admin, "E admin")

	require.Equal(t, []string{"A rep1", "D pool"}, e.visibleNames(e.rep1), "a rep sees own and pool records")
	require.Equal(t, []string{"C rep2", "D pool"}, e.visibleNames(e.rep2))
	require.Equal(t, []string{"A rep1", "B rep1b", "C rep2", "D pool"}, e.visibleNames(e.manager), "a manager sees the subtree")
	require.Equal(t, []string{"A rep1", "B rep1b", "C rep2", "D pool", "E admin"}, e.visibleNames(e.admin))
	require.Equal(t, []string{"A rep1", "B rep1b", "C rep2", "D pool", "E admin"}, e.visibleNames(e.support))

	_, _, err := e.svc.ListAccounts(e.ctx, e.analyst, service.AccountFilter{}, service.Order{}, service.Page{})
	requireCode(t, err, crm.EFORBIDDEN)

	// Invisible records look absent, by ID too, and cannot be changed.
	_, err = e.svc.Account(e.ctx, e.rep2, a1.ID)
	requireCode(t, err, crm.ENOTFOUND)
	_, err = e.svc.UpdateAccount(e.ctx, e.rep2, service.AccountUpdate{ID: a1.ID, Name: service.Some("mine now")})
	requireCode(t, err, crm.ENOTFOUND)
	_, err = e.svc.UpdateAccount(e.ctx, e.support, service.AccountUpdate{ID: a1.ID, Name: service.Some("x")})
	requireCode(t, err, crm.EFORBIDDEN)

	// With team visibility, reps also see their team mates' records.
	_, err = e.svc.UpdateSettings(e.ctx, e.admin, service.SettingsUpdate{ExpectedVersion: e.org.Version,
		RecordVisibility: service.Some(crm.VisibilityTeam)})
	require.NoError(t, err)
	require.Equal(t, []string{"A rep1", "B rep1b", "D pool"}, e.visibleNames(e.rep1))
	require.Equal(t, []string{"C rep2", "D pool"}, e.visibleNames(e.rep2))
}

func TestOwnerAssignmentIsLimitedToVisibleUsers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, _, err := e.svc.CreateAccount(e.ctx, e.rep1, service.AccountInput{Name: "x", OwnerID: service.Some(e.rep2.UserID)})
	requireCode(t, err, crm.EINVALID, "ownerId")
	acct, _, err := e.svc.CreateAccount(e.ctx, e.manager, service.AccountInput{Name: "y", OwnerID: service.Some(e.rep2.UserID)})
	require.NoError(t, err, "a manager assigns within the subtree")
	require.Equal(t, e.rep2.UserID, acct.OwnerID)
	_, err = e.svc.UpdateUser(e.ctx, e.admin, service.UserUpdate{ID: e.rep2.UserID, Active: service.Some(false)})
	require.NoError(t, err)
	_, _, err = e.svc.CreateAccount(e.ctx, e.admin, service.AccountInput{Name: "z", OwnerID: service.Some(e.rep2.UserID)})
	requireCode(t, err, crm.EINVALID, "ownerId")
}

func TestAPIKeyScopesAndRevocation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.contact(e.rep1, "Wang", "Wei", func(in *service.ContactInput) { in.Emails = []string{"wang.wei@example.cn"} })
	_, _, err := e.svc.CreateAPIKey(e.ctx, e.rep1, service.APIKeyInput{Name: "x", Scopes: []string{"accounts:read"}})
	requireCode(t, err, crm.EFORBIDDEN)
	_, _, err = e.svc.CreateAPIKey(e.ctx, e.admin, service.APIKeyInput{Name: "x", Scopes: []string{"accounts:fly"}})
	requireCode(t, err, crm.EINVALID, "scopes")

	key, secret, err := e.svc.CreateAPIKey(e.ctx, e.admin, service.APIKeyInput{Name: "BI export", Scopes: []string{"contacts:read"}})
	require.NoError(t, err)
	a, err := e.svc.Authenticate(e.ctx, secret)
	require.NoError(t, err)
	require.Equal(t, crm.ActorAPIKey, a.Kind)
	require.Equal(t, e.org.ID, a.OrgID)

	contacts, _, err := e.svc.ListContacts(e.ctx, a, service.ContactFilter{}, service.Order{}, service.Page{})
	require.NoError(t, err)
	require.Len(t, contacts, 1)
	require.Equal(t, []string{"w***@example.cn"}, contacts[0].Emails, "without the pii scope e-mails are masked")
	_, _, err = e.svc.CreateAccount(e.ctx, a, service.AccountInput{Name: "nope"})
	requireCode(t, err, crm.EFORBIDDEN)

	tampered := secret[:len(secret)-1] + "X"
	if tampered == secret { // the secret is random: one in 62 already ends in X
		tampered = secret[:len(secret)-1] + "Y"
	}
	_, err = e.svc.Authenticate(e.ctx, tampered)
	requireCode(t, err, crm.EUNAUTHENTICATED)
	_, err = e.svc.RevokeAPIKey(e.ctx, e.admin, key.ID)
	require.NoError(t, err)
	_, err = e.svc.Authenticate(e.ctx, secret)
	requireCode(t, err, crm.EUNAUTHENTICATED)
}

func TestLogin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	s, err := e.svc.Login(e.ctx, " REP1@acme.test ", "correct horse battery", "")
	require.NoError(t, err)
	a, err := e.svc.Authenticate(e.ctx, s.Token)
	require.NoError(t, err)
	require.Equal(t, e.rep1.UserID, a.UserID)
	require.Equal(t, crm.RoleSalesRep, a.Role)

	_, err = e.svc.Login(e.ctx, "rep1@acme.test", "wrong password!", "")
	requireCode(t, err, crm.EUNAUTHENTICATED)
	_, err = e.svc.Login(e.ctx, "nobody@acme.test", "correct horse battery", "")
	requireCode(t, err, crm.EUNAUTHENTICATED)
	_, err = e.svc.Authenticate(e.ctx, s.Token+"x")
	requireCode(t, err, crm.EUNAUTHENTICATED)

	_, err = e.svc.UpdateUser(e.ctx, e.admin, service.UserUpdate{ID: e.rep1.UserID, Active: service.Some(false)})
	require.NoError(t, err)
	_, err = e.svc.Login(e.ctx, "rep1@acme.test", "correct horse battery", "")
	requireCode(t, err, crm.EUNAUTHENTICATED)
}

// The second wall: even a query that forgets its org filter cannot reach another organization.
func TestRowLevelSecurityConfinesQueriesWithoutOrgFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.account(e.admin, "Ours")
	other := e.newOrg("other")
	otherAdmin := crm.SystemActor(other.ID)
	theirs := e.account(otherAdmin, "Theirs")

	var names []string
	allNames := func(q query.DBTX) (err error) { // no org filter on purpose
		rows, err := q.Query(e.ctx, "SELECT name FROM accounts")
		if err == nil {
			names, err = pgx.CollectRows(rows, pgx.RowTo[string])
		}
		return err
	}
	err := db.InTenant(e.ctx, e.pool, e.org.ID, func(tx pgx.Tx) error { return allNames(tx) })
	require.NoError(t, err)
	require.Equal(t, []string{"Ours"}, names)

	// The pipelined single-round-trip reads are confined the same way, and on a one-connection pool
	// the next statement shows that neither the role nor the tenant outlives the read.
	single, err := db.Open(e.ctx, e.pool.Config().ConnString(), db.PoolOptions{MaxConns: 1})
	require.NoError(t, err)
	defer single.Close()
	names = nil
	err = db.Read(e.ctx, single, e.org.ID, allNames)
	require.NoError(t, err)
	require.Equal(t, []string{"Ours"}, names)
	var current, role string
	require.NoError(t, single.QueryRow(e.ctx, "SELECT coalesce(current_setting('app.org_id', true), ''), current_user::text").Scan(&current, &role))
	require.Empty(t, current, "the tenant setting does not outlive the read")
	require.NotEqual(t, "rapport_app", role)

	err = db.InTenant(e.ctx, e.pool, e.org.ID, func(tx pgx.Tx) error {
		tag, err := tx.Exec(e.ctx, "UPDATE accounts SET name = 'hacked'") // no org filter
		require.EqualValues(t, 1, tag.RowsAffected(), "only our own row is reachable")
		return err
	})
	require.NoError(t, err)
	err = db.InTenant(e.ctx, e.pool, e.org.ID, func(tx pgx.Tx) error {
		_, err := tx.Exec(e.ctx, "INSERT INTO accounts (org_id, id, name, created_at, updated_at) VALUES ($1, $2, 'planted', now(), now())",
			other.ID, crm.NewID())
		return err
	})
	require.Error(t, err, "writing a row of another organization violates the policy")
	got, err := e.svc.Account(e.ctx, otherAdmin, theirs.ID)
	require.NoError(t, err)
	require.Equal(t, "Theirs", got.Name)

	// A transaction without a tenant sees nothing at all.
	err = pgx.BeginFunc(context.Background(), e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(e.ctx, "SET LOCAL ROLE rapport_app"); err != nil {
			return err
		}
		var n int
		require.NoError(t, tx.QueryRow(e.ctx, "SELECT count(*) FROM accounts").Scan(&n))
		require.Zero(t, n)
		return nil
	})
	require.NoError(t, err)

	// A foreign organization's ID in an argument is simply not found.
	_, err = e.svc.Account(e.ctx, e.admin, theirs.ID)
	requireCode(t, err, crm.ENOTFOUND)
	_, _, err = e.svc.CreateContact(e.ctx, e.admin, service.ContactInput{LastName: "x", AccountID: theirs.ID})
	requireCode(t, err, crm.EINVALID, "accountId")
}
