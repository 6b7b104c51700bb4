package pglocal_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db/pglocal"
)

func query(t *testing.T, url, sql string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	var out string
	require.NoError(t, conn.QueryRow(ctx, sql).Scan(&out))
	return out
}

func exec(t *testing.T, url, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	require.NoError(t, err)
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	require.NoError(t, err)
}

// A persistent cluster keeps its data across restarts, a second Start attaches to the running
// server instead of starting another, and only the process that started it stops it.
func TestClusterPersistsAttachesAndStops(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "deep", "data")
	first, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = first.Stop() })
	require.NotZero(t, first.Port)
	require.Equal(t, "UTF8", query(t, first.URL("postgres"), "SHOW server_encoding"))
	exec(t, first.URL("postgres"), "CREATE TABLE kept AS SELECT '王小明'::text AS v")

	attached, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir})
	require.NoError(t, err)
	require.Equal(t, first.Port, attached.Port, "attached to the running server")
	require.NoError(t, attached.Stop(), "stopping an attached cluster leaves the server running")
	require.Equal(t, "王小明", query(t, first.URL("postgres"), "SELECT v FROM kept"))

	require.NoError(t, first.Stop())
	_, err = pgx.Connect(ctx, first.URL("postgres"))
	require.Error(t, err, "the server is down after Stop")

	again, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = again.Stop() })
	require.Equal(t, "王小明", query(t, again.URL("postgres"), "SELECT v FROM kept"), "data survives a restart")
}

func TestMissingBinariesSayWhatToInstall(t *testing.T) {
	t.Setenv("RAPPORT_PG_BINDIR", "/nonexistent")
	_, err := pglocal.FindBinaries()
	require.ErrorContains(t, err, "RAPPORT_PG_BINDIR")
	t.Setenv("RAPPORT_PG_BINDIR", "")
	t.Setenv("PATH", t.TempDir())
	if dir, err := pglocal.FindBinaries(); err == nil {
		t.Logf("found binaries outside PATH at %s", dir) // /usr/lib/postgresql fallback on this machine
	} else {
		require.ErrorIs(t, err, pglocal.ErrNoBinaries)
		require.Contains(t, err.Error(), "apt-get install postgresql")
	}
}
