package dbtest_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func connect(t *testing.T, connURL string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), connURL)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// admin connects to the server's maintenance database with the clone's credentials.
func admin(t *testing.T, cloneURL string) *pgx.Conn {
	u, err := url.Parse(cloneURL)
	require.NoError(t, err)
	u.Path = "/postgres"
	return connect(t, u.String())
}

func databaseExists(t *testing.T, conn *pgx.Conn, name string) bool {
	var exists bool
	require.NoError(t, conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT FROM pg_database WHERE datname = $1)", name).Scan(&exists))
	return exists
}

// Each test gets its own migrated database: what one writes, another does not see.
func TestClonesAreMigratedAndIsolated(t *testing.T) {
	a, b := connect(t, dbtest.URL(t)), connect(t, dbtest.URL(t))
	var nameA, nameB string
	require.NoError(t, a.QueryRow(t.Context(), "SELECT current_database()").Scan(&nameA))
	require.NoError(t, b.QueryRow(t.Context(), "SELECT current_database()").Scan(&nameB))
	require.NotEqual(t, nameA, nameB)
	require.True(t, strings.HasPrefix(nameA, "rapport_t_"), nameA)

	for _, conn := range []*pgx.Conn{a, b} {
		var applied int
		require.NoError(t, conn.QueryRow(t.Context(), "SELECT count(*) FROM goose_db_version WHERE version_id > 0").Scan(&applied))
		require.Positive(t, applied, "Rapport's migrations ran")
		var river bool
		require.NoError(t, conn.QueryRow(t.Context(), "SELECT to_regclass('river_job') IS NOT NULL").Scan(&river))
		require.True(t, river, "River's migrations ran")
	}

	_, err := a.Exec(t.Context(), "CREATE TABLE only_in_a (v text); INSERT INTO only_in_a VALUES ('a')")
	require.NoError(t, err)
	var inB bool
	require.NoError(t, b.QueryRow(t.Context(), "SELECT to_regclass('only_in_a') IS NOT NULL").Scan(&inB))
	require.False(t, inB, "a table made in one clone is not in another")
	require.False(t, databaseExists(t, a, "no such database"))
}

// Parallel tests clone the template at the same time without tripping over each other.
func TestParallelClones(t *testing.T) {
	for range 6 {
		t.Run("clone", func(t *testing.T) {
			t.Parallel()
			var one int
			require.NoError(t, connect(t, dbtest.URL(t)).QueryRow(t.Context(), "SELECT 1").Scan(&one))
			require.Equal(t, 1, one)
		})
	}
}

// A test's database is dropped when the test ends, even with a connection still open; the
// template accepts no connections, so nothing can block the next clone.
func TestCloneDroppedAndTemplateClosed(t *testing.T) {
	var name, cloneURL string
	t.Run("test", func(t *testing.T) {
		cloneURL = dbtest.URL(t)
		conn, err := pgx.Connect(context.Background(), cloneURL) // left open: DROP ... WITH (FORCE)
		require.NoError(t, err)
		require.NoError(t, conn.QueryRow(t.Context(), "SELECT current_database()").Scan(&name))
	})
	conn := admin(t, cloneURL)
	require.False(t, databaseExists(t, conn, name), "dropped at the end of the test")

	var template string
	require.NoError(t, conn.QueryRow(t.Context(),
		"SELECT datname FROM pg_database WHERE datname LIKE 'rapport_tpl_%' AND datistemplate AND NOT datallowconn").Scan(&template))
	u, err := url.Parse(cloneURL)
	require.NoError(t, err)
	u.Path = "/" + template
	_, err = pgx.Connect(t.Context(), u.String())
	require.ErrorContains(t, err, "is not currently accepting connections")
}
