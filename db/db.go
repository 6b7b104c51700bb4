// Package db is Rapport's seam to PostgreSQL: the connection pool, the transactions every service
// call runs in (with the tenant set for row-level security), the translation of PostgreSQL errors
// into application errors, and the migrations. The generated sqlc code lives in db/query.
package db

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rapportcrm/rapport/internal/crm"
)

// PoolOptions tune the connection pool.
type PoolOptions struct {
	MaxConns         int32           // 0 keeps pgxpool's default (max(4, GOMAXPROCS))
	StatementTimeout time.Duration   // 0 means no limit; set on every connection
	Tracer           pgx.QueryTracer // optional, e.g. OpenTelemetry or a statement counter in tests
}

// Open connects a pool to the database at url.
func Open(ctx context.Context, url string, opts PoolOptions) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.StatementTimeout > 0 {
		cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(opts.StatementTimeout.Milliseconds())
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "rapport"
	// Plan each prepared statement once per connection. Left to choose, PostgreSQL keeps re-planning
	// our statements on every execution (a custom plan for `viewer_id IS NULL OR ...` looks cheaper
	// than the generic one), and planning was most of its CPU per request; the generic plans of
	// these tenant-scoped, index-led queries are the ones we want anyway.
	cfg.ConnConfig.RuntimeParams["plan_cache_mode"] = "force_generic_plan"
	if opts.Tracer != nil {
		cfg.ConnConfig.Tracer = opts.Tracer
	}
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		registerUUID(conn.TypeMap())
		registerTextArray(conn.TypeMap())
		return nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return pool, nil
}

// The roles transactions switch to; both are created by the first migration.
const (
	appRole    = "rapport_app"
	systemRole = "rapport_system"
)

// beginTenant builds the statement that opens a tenant transaction in one round trip. The org ID is
// a parsed UUID, so its text form is safe to inline; pgx sends argument-less statements with the
// simple protocol, which allows the two statements in one message.
func beginTenant(orgID crm.ID) string {
	return fmt.Sprintf("BEGIN; SELECT set_config('role', '%s', true), set_config('app.org_id', '%s', true)",
		appRole, orgID.String())
}

// InTenant runs fn in one transaction as the application role with the organization set, so that
// row-level security confines every statement to orgID. It commits when fn returns nil and
// translates database errors into application errors.
func InTenant(ctx context.Context, pool *pgxpool.Pool, orgID crm.ID, fn func(pgx.Tx) error) error {
	return run(ctx, pool, beginTenant(orgID), fn)
}

// AsSystem runs fn in one transaction as the system role, which sees every organization. Only
// cross-tenant work uses it: login and API-key lookup, the event relay, maintenance jobs, seeding.
func AsSystem(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return run(ctx, pool, "BEGIN; SELECT set_config('role', '"+systemRole+"', true)", fn)
}

func run(ctx context.Context, pool *pgxpool.Pool, begin string, fn func(pgx.Tx) error) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{BeginQuery: begin})
	if err != nil {
		return Translate(err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return Translate(err)
	}
	return Translate(tx.Commit(ctx))
}
