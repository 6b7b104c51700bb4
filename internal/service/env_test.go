package service_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/dbtest"
	"github.com/rapportcrm/rapport/internal/auth"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/eventlog"
	"github.com/rapportcrm/rapport/internal/service"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// env is one test's world: a fresh database, a service, and an organization with a user of every
// role. The sales team tree is: Sales (managed by manager) -> East (rep1, rep1b), West (rep2).
type env struct {
	t       testing.TB
	ctx     context.Context
	url     string // the test's database
	pool    *pgxpool.Pool
	svc     *service.Service
	relay   *eventlog.Relay
	hub     *eventlog.Hub
	org     crm.Organization
	sys     *crm.Actor
	admin   *crm.Actor
	manager *crm.Actor
	rep1    *crm.Actor
	rep1b   *crm.Actor // rep1's team mate
	rep2    *crm.Actor
	support *crm.Actor
	analyst *crm.Actor
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	opts := db.PoolOptions{MaxConns: 10}
	if statementTimes != nil {
		opts.Tracer = statementTimes
	}
	url := dbtest.URL(t)
	pool, err := db.Open(ctx, url, opts)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tokens, err := auth.NewTokens([]byte("test-secret-test-secret-test-secret!!"), time.Hour)
	require.NoError(t, err)
	e := &env{t: t, ctx: ctx, url: url, pool: pool}
	e.relay = eventlog.NewRelay(pool, log, time.Now, 20*time.Millisecond)
	e.hub = eventlog.NewHub(pool, log)
	e.svc = service.New(service.Deps{Pool: pool, Log: log, Tokens: tokens, Relay: e.relay, Hub: e.hub})
	e.org = e.newOrg("acme")
	e.sys = crm.SystemActor(e.org.ID)
	e.admin = e.user("admin@acme.test", crm.RoleAdmin, crm.NilID)
	e.manager = e.user("manager@acme.test", crm.RoleSalesManager, crm.NilID)
	sales := e.team("Sales", crm.NilID, e.manager.UserID)
	east := e.team("East", sales.ID, crm.NilID)
	west := e.team("West", sales.ID, crm.NilID)
	e.rep1 = e.user("rep1@acme.test", crm.RoleSalesRep, east.ID)
	e.rep1b = e.user("rep1b@acme.test", crm.RoleSalesRep, east.ID)
	e.rep2 = e.user("rep2@acme.test", crm.RoleSalesRep, west.ID)
	e.support = e.user("support@acme.test", crm.RoleSupportAgent, crm.NilID)
	e.analyst = e.user("analyst@acme.test", crm.RoleAnalyst, crm.NilID)
	return e
}

func (e *env) newOrg(slug string) crm.Organization {
	e.t.Helper()
	org, err := e.svc.CreateOrganization(e.ctx, slug, "Org "+slug, crm.Settings{})
	require.NoError(e.t, err)
	return org
}

func (e *env) user(email string, role crm.Role, team crm.ID) *crm.Actor {
	e.t.Helper()
	u, err := e.svc.CreateUser(e.ctx, e.sys, service.UserInput{Email: email, Name: email, Role: role, TeamID: team, Password: "correct horse battery"})
	require.NoError(e.t, err)
	return &crm.Actor{Kind: crm.ActorUser, OrgID: e.org.ID, UserID: u.ID, Role: role}
}

func (e *env) team(name string, parent, manager crm.ID) crm.Team {
	e.t.Helper()
	t, err := e.svc.CreateTeam(e.ctx, e.sys, service.TeamInput{Name: name, ParentID: parent, ManagerID: manager})
	require.NoError(e.t, err)
	return t
}

func (e *env) account(a *crm.Actor, name string, opts ...func(*service.AccountInput)) crm.Account {
	e.t.Helper()
	in := service.AccountInput{Name: name}
	for _, o := range opts {
		o(&in)
	}
	acct, _, err := e.svc.CreateAccount(e.ctx, a, in)
	require.NoError(e.t, err)
	return acct
}

func (e *env) contact(a *crm.Actor, last, first string, opts ...func(*service.ContactInput)) crm.Contact {
	e.t.Helper()
	in := service.ContactInput{LastName: last, FirstName: first}
	for _, o := range opts {
		o(&in)
	}
	c, _, err := e.svc.CreateContact(e.ctx, a, in)
	require.NoError(e.t, err)
	return c
}

// requireCode asserts an application error code (and the field, when given).
func requireCode(t testing.TB, err error, code string, field ...string) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, crm.ErrorCode(err), "error: %v", err)
	if len(field) > 0 {
		var appErr *crm.Error
		require.ErrorAs(t, err, &appErr)
		require.Equal(t, field[0], appErr.Field, "error: %v", err)
	}
}

// count runs a COUNT(*) as the superuser, bypassing row-level security, to see what was written.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.pool.QueryRow(e.ctx, sql, args...).Scan(&n))
	return n
}
