package db

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/rapportcrm/rapport/db/migrations"
)

// migrateLockID is the advisory lock that serialises whole migration runs, because River's
// migrator takes no lock of its own.
const migrateLockID = 0x7261_7070_6f72_74 // "rapport"

// Migrate brings the database at url up to date: Rapport's migrations, then River's. It is
// idempotent and safe to start from several replicas at once (one runs, the others wait and find
// nothing to do). Migrations only add, so replicas of the previous version keep serving meanwhile.
func Migrate(ctx context.Context, url string) error {
	pool, err := Open(ctx, url, PoolOptions{MaxConns: 2})
	if err != nil {
		return err
	}
	defer pool.Close()

	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrateLockID)); err != nil {
		return fmt.Errorf("migrate: take lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrateLockID)) //nolint:errcheck

	provider, sqlDB, err := newGoose(pool)
	if err != nil {
		return err
	}
	defer sqlDB.Close()
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}

	migrator, err := rivermigrate.New(riverpgxv5.New(pool), nil)
	if err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate river: %w", err)
	}
	return nil
}

// MigrationsCurrent reports whether every embedded migration has been applied, for /readyz.
func MigrationsCurrent(ctx context.Context, pool *pgxpool.Pool) (bool, error) {
	provider, sqlDB, err := newGoose(pool)
	if err != nil {
		return false, err
	}
	defer sqlDB.Close()
	pending, err := provider.HasPending(ctx)
	return !pending, err
}

func newGoose(pool *pgxpool.Pool) (*goose.Provider, *sql.DB, error) {
	sqlDB := stdlib.OpenDBFromPool(pool)
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, nil, err
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		sqlDB.Close()
		return nil, nil, fmt.Errorf("migrate: %w", err)
	}
	return provider, sqlDB, nil
}
