package pglocal_test

import (
	"context"
	"errors"
	"net"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db/pglocal"
)

// start starts a cluster and stops it when the test ends.
func start(t *testing.T, opts pglocal.Options) *pglocal.Cluster {
	t.Helper()
	c, err := pglocal.Start(context.Background(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

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

func requireDown(t *testing.T, c *pglocal.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err == nil {
		conn.Close(ctx)
	}
	require.Error(t, err, "the server is down")
	_, err = os.Stat(filepath.Join(c.DataDir, "postmaster.pid"))
	require.ErrorIs(t, err, os.ErrNotExist, "no server holds the data directory")
}

// A persistent cluster keeps its data across restarts, a second Start attaches to the running
// server instead of starting another, and only the process that started it stops it.
func TestClusterPersistsAttachesAndStops(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "deep", "data")
	first := start(t, pglocal.Options{DataDir: dir})
	require.NotZero(t, first.Port)
	require.Equal(t, "UTF8", query(t, first.URL("postgres"), "SHOW server_encoding"))
	exec(t, first.URL("postgres"), "CREATE TABLE kept AS SELECT '王小明'::text AS v")

	attached, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir})
	require.NoError(t, err)
	require.Equal(t, first.Port, attached.Port, "attached to the running server")
	require.Equal(t, first.URL("postgres"), attached.URL("postgres"))
	require.NoError(t, attached.Stop(), "stopping an attached cluster leaves the server running")
	require.Equal(t, "王小明", query(t, first.URL("postgres"), "SELECT v FROM kept"))

	require.NoError(t, first.Stop())
	requireDown(t, first)
	require.NoError(t, first.Stop(), "a second Stop does nothing")

	again := start(t, pglocal.Options{DataDir: dir})
	require.Equal(t, "王小明", query(t, again.URL("postgres"), "SELECT v FROM kept"), "data survives a restart")
}

// The server runs with the settings the package promises: loopback only, no Unix socket, password
// authentication, sized for a small box, and fast but not crash-safe unless Durable.
func TestSettings(t *testing.T) {
	t.Parallel()
	c := start(t, pglocal.Options{DataDir: filepath.Join(t.TempDir(), "data")})
	url := c.URL("postgres")
	for setting, want := range map[string]string{
		"listen_addresses": "127.0.0.1", "unix_socket_directories": "", "password_encryption": "scram-sha-256",
		"max_connections": "200", "shared_buffers": "128MB", "server_encoding": "UTF8",
		"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off",
	} {
		require.Equal(t, want, query(t, url, "SHOW "+setting), setting)
	}
	require.Equal(t, "scram-sha-256", query(t, url,
		"SELECT string_agg(DISTINCT auth_method, ',') FROM pg_hba_file_rules WHERE type <> 'local'"))

	pw, err := os.ReadFile(filepath.Join(c.DataDir, "rapport-superuser.password"))
	require.NoError(t, err)
	require.Contains(t, url, ":"+strings.TrimSpace(string(pw))+"@", "the URL carries the generated password")
	require.Contains(t, url, "sslmode=disable")
	_, err = pgx.Connect(context.Background(), "postgres://postgres:wrong@127.0.0.1:"+strconv.Itoa(c.Port)+"/postgres?sslmode=disable")
	require.ErrorContains(t, err, "password authentication failed")

	st, err := os.Stat(filepath.Join(c.DataDir, "rapport-superuser.password"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "only the owner reads the password")
	if os.Geteuid() == 0 {
		pg, err := user.Lookup("postgres")
		require.NoError(t, err)
		for _, name := range []string{"", "rapport-superuser.password", "PG_VERSION", "postgres.log"} {
			st, err := os.Stat(filepath.Join(c.DataDir, name))
			require.NoError(t, err)
			require.Equal(t, pg.Uid, strconv.Itoa(int(st.Sys().(*syscall.Stat_t).Uid)), "owner of %s", name)
		}
	}
}

// Clusters started with Port 0 each get a free port; a given Port is used; Durable keeps PostgreSQL's
// crash safety.
func TestPorts(t *testing.T) {
	t.Parallel()
	a := start(t, pglocal.Options{DataDir: filepath.Join(t.TempDir(), "a")})
	b := start(t, pglocal.Options{DataDir: filepath.Join(t.TempDir(), "b")})
	require.NotEqual(t, a.Port, b.Port)
	require.Equal(t, "off", query(t, a.URL("postgres"), "SHOW fsync"))
	require.Equal(t, "off", query(t, b.URL("postgres"), "SHOW fsync"))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	durable := start(t, pglocal.Options{DataDir: filepath.Join(t.TempDir(), "durable"), Port: port, Durable: true})
	require.Equal(t, port, durable.Port)
	require.Equal(t, "on", query(t, durable.URL("postgres"), "SHOW fsync"))
	require.Equal(t, "on", query(t, durable.URL("postgres"), "SHOW full_page_writes"))

	// A port in use fails with the server's own explanation.
	require.NoError(t, durable.Stop())
	_, err = pglocal.Start(context.Background(), pglocal.Options{DataDir: durable.DataDir, Port: a.Port})
	require.ErrorContains(t, err, "Address already in use")
}

// A pid file left by a server that died does not block the next start.
func TestStalePidFile(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	c := start(t, pglocal.Options{DataDir: dir})
	pidFile := filepath.Join(dir, "postmaster.pid")
	stale, err := os.ReadFile(pidFile)
	require.NoError(t, err)
	st, err := os.Stat(pidFile)
	require.NoError(t, err)
	require.NoError(t, c.Stop())
	// Put it back as if the server had crashed, naming a process that has surely exited (the real
	// postmaster may linger as a zombie where PID 1 is slow to reap orphans, as on this CI).
	gone := osexec.Command("true")
	require.NoError(t, gone.Run())
	_, rest, _ := strings.Cut(string(stale), "\n")
	require.NoError(t, os.WriteFile(pidFile, []byte(strconv.Itoa(gone.Process.Pid)+"\n"+rest), 0o600))
	owner := st.Sys().(*syscall.Stat_t)
	require.NoError(t, os.Chown(pidFile, int(owner.Uid), int(owner.Gid)))

	again := start(t, pglocal.Options{DataDir: dir})
	require.Equal(t, "1", query(t, again.URL("postgres"), "SELECT 1::text"))
	require.NoError(t, again.Stop(), "this process started it")
	requireDown(t, again)
}

// Processes starting the same cluster at once end up on one server, started by exactly one of them.
func TestConcurrentStarts(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	clusters := make([]*pglocal.Cluster, 3)
	var wg sync.WaitGroup
	for i := range clusters {
		wg.Go(func() {
			c, err := pglocal.Start(context.Background(), pglocal.Options{DataDir: dir})
			if err == nil {
				t.Cleanup(func() { _ = c.Stop() })
			}
			require.NoError(t, err)
			clusters[i] = c
		})
	}
	wg.Wait()
	for _, c := range clusters {
		require.Equal(t, clusters[0].Port, c.Port)
	}
	for _, c := range clusters {
		require.NoError(t, c.Stop())
	}
	requireDown(t, clusters[0])
}

// A Start cancelled during initdb leaves no half-made cluster behind: the next Start initialises
// one from scratch.
func TestCancelledStartLeavesNothing(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := pglocal.Start(ctx, pglocal.Options{DataDir: dir})
	require.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Empty(t, entries, "no data directory, no staging directory")

	c := start(t, pglocal.Options{DataDir: dir})
	require.Equal(t, "1", query(t, c.URL("postgres"), "SELECT 1::text"))
}

// A directory holding something other than a cluster is left alone.
func TestRefusesForeignDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o600))
	_, err := pglocal.Start(context.Background(), pglocal.Options{DataDir: dir})
	require.ErrorContains(t, err, "holds no PostgreSQL cluster")
	b, err := os.ReadFile(filepath.Join(dir, "notes.txt"))
	require.NoError(t, err)
	require.Equal(t, "mine", string(b))
}

func TestMissingBinariesSayWhatToInstall(t *testing.T) {
	t.Setenv("RAPPORT_PG_BINDIR", "/nonexistent")
	_, err := pglocal.FindBinaries()
	require.ErrorContains(t, err, "RAPPORT_PG_BINDIR=/nonexistent")

	t.Setenv("RAPPORT_PG_BINDIR", "")
	dir, err := pglocal.FindBinaries()
	require.NoError(t, err, "this machine has PostgreSQL server binaries")
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		require.FileExists(t, filepath.Join(dir, name))
	}
}
