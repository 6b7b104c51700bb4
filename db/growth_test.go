package db_test

import (
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/dbtest"
)

func TestTableGrowthAnalyzesATableThatDoubled(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url := dbtest.URL(t)
	pool, err := db.Open(ctx, url, db.PoolOptions{})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	// Autovacuum is off for the table, so only the checks analyze it. The writer flushes its
	// statistics before each answer, so the checks see every row it added.
	writer, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	t.Cleanup(func() { _ = writer.Close(ctx) })
	_, err = writer.Exec(ctx, "CREATE TABLE growing (n integer) WITH (autovacuum_enabled = false)")
	require.NoError(t, err)
	add := func(from, to int) {
		t.Helper()
		_, err := writer.Exec(ctx, fmt.Sprintf("INSERT INTO growing SELECT generate_series(%d, %d)", from, to))
		require.NoError(t, err)
		_, err = writer.Exec(ctx, "SELECT pg_stat_force_next_flush()")
		require.NoError(t, err)
	}
	rows := func() int64 {
		t.Helper()
		var n int64
		require.NoError(t, pool.QueryRow(ctx, "SELECT reltuples::bigint FROM pg_class WHERE oid = 'growing'::regclass").Scan(&n))
		return n
	}
	g := db.NewTableGrowth(pool, "growing", slog.New(slog.DiscardHandler))

	// Never analyzed: analyzed at once.
	add(1, 100)
	due, err := db.AnalyzeIfDoubled(ctx, g)
	require.NoError(t, err)
	require.Equal(t, int64(100), rows())
	require.Equal(t, int64(100), due, "the next look comes after as many rows as the table holds")

	// Grown by less than the larger of its size and 500 rows: left as it is.
	add(101, 400)
	due, err = db.AnalyzeIfDoubled(ctx, g)
	require.NoError(t, err)
	require.Equal(t, int64(100), rows())
	require.Equal(t, int64(200), due, "300 of the 500 rows are there")

	// Then doubled (and more): analyzed.
	add(401, 700)
	due, err = db.AnalyzeIfDoubled(ctx, g)
	require.NoError(t, err)
	require.Equal(t, int64(700), rows())
	require.Equal(t, int64(700), due)

	add(701, 1000)
	due, err = db.AnalyzeIfDoubled(ctx, g)
	require.NoError(t, err)
	require.Equal(t, int64(700), rows())
	require.Equal(t, int64(400), due)
}

func TestTableGrowthChecksInTheBackgroundOnceEnoughRowsWereAdded(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool, err := db.Open(ctx, dbtest.URL(t), db.PoolOptions{})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	_, err = pool.Exec(ctx, "CREATE TABLE growing (n integer) WITH (autovacuum_enabled = false); INSERT INTO growing SELECT generate_series(1, 600)")
	require.NoError(t, err)
	analyzed := func() bool {
		var n int64
		require.NoError(t, pool.QueryRow(ctx, "SELECT reltuples::bigint FROM pg_class WHERE oid = 'growing'::regclass").Scan(&n))
		return n == 600
	}
	g := db.NewTableGrowth(pool, "growing", slog.New(slog.DiscardHandler))

	g.Added(499)
	time.Sleep(100 * time.Millisecond) // a check that should not start would have had time to
	require.False(t, analyzed(), "499 rows are not enough to look at the table")
	g.Added(1)
	require.Eventually(t, analyzed, time.Minute, 10*time.Millisecond)
}
