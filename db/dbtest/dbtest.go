// Package dbtest gives every test its own real PostgreSQL database: one ephemeral cluster per test
// binary (started from the machine's binaries, or the server at TEST_DATABASE_URL), a template
// database migrated once, and a clone of it per test (CREATE DATABASE ... TEMPLATE ... STRATEGY
// FILE_COPY, tens of milliseconds), dropped when the test ends. Tests using it may run in parallel.
package dbtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/pglocal"
)

// The state of this test binary's database server, set up by the first URL call.
var (
	mainRunning bool // Main is in charge, so the cluster will be cleaned up
	once        sync.Once
	setupErr    error
	tmpDir      string           // holds the ephemeral cluster; empty with TEST_DATABASE_URL
	watchdog    *os.File         // write end of the watchdog's pipe: open as long as this process lives
	cluster     *pglocal.Cluster // nil with TEST_DATABASE_URL
	adminURL    string           // superuser URL of the server's maintenance database
	template    string           // name of the migrated template database
	cloneMu     sync.Mutex       // clones of one template must not overlap; they are fast anyway
)

// Main runs the package's tests, then stops the ephemeral cluster and removes its files (or, with
// TEST_DATABASE_URL, drops the template). Use it from TestMain:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
func Main(m *testing.M) {
	mainRunning = true
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintln(os.Stderr, "dbtest:", err)
	}
	os.Exit(code)
}

// URL returns the connection URL of a fresh database for this test, cloned from the migrated
// template, and drops it (WITH (FORCE), so open connections do not matter) when the test ends. The
// first call starts the server and migrates the template. A missing PostgreSQL fails the test.
func URL(t testing.TB) string {
	t.Helper()
	if !mainRunning {
		t.Fatal("dbtest: the package needs func TestMain(m *testing.M) { dbtest.Main(m) }, which cleans up the test database server")
	}
	once.Do(func() { setupErr = setup(context.Background()) })
	if setupErr != nil {
		t.Fatalf("dbtest: %v", setupErr)
	}
	name := "rapport_t_" + strings.ToLower(rand.Text()[:12])
	cloneMu.Lock()
	err := execSQL(t.Context(), adminURL, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY", name, template))
	cloneMu.Unlock()
	if err != nil {
		t.Fatalf("dbtest: clone the template: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := execSQL(ctx, adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop %s: %v", name, err)
		}
	})
	return withDatabase(adminURL, name)
}

// setup starts the ephemeral cluster (unless TEST_DATABASE_URL names a server) and creates the
// migrated template.
func setup(ctx context.Context) error {
	adminURL = os.Getenv("TEST_DATABASE_URL")
	if u, err := url.Parse(adminURL); adminURL != "" && (err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return fmt.Errorf("TEST_DATABASE_URL must be a postgres:// URL of a superuser")
	}
	if adminURL == "" {
		var err error
		if tmpDir, err = makeTempDir(); err != nil {
			return err
		}
		if err := startWatchdog(filepath.Join(tmpDir, "data"), tmpDir); err != nil {
			return err
		}
		if cluster, err = pglocal.Start(ctx, pglocal.Options{DataDir: filepath.Join(tmpDir, "data")}); err != nil {
			return err
		}
		adminURL = cluster.URL("postgres")
	}
	template = "rapport_tpl_" + strings.ToLower(rand.Text()[:12])
	if err := execSQL(ctx, adminURL, "CREATE DATABASE "+template); err != nil {
		return fmt.Errorf("create the template database: %w", err)
	}
	// Migrate has closed its connections when it returns; no one may connect afterwards, since a
	// session on the template makes CREATE DATABASE fail ("being accessed by other users").
	if err := db.Migrate(ctx, withDatabase(adminURL, template)); err != nil {
		return fmt.Errorf("migrate the template database: %w", err)
	}
	return execSQL(ctx, adminURL, "ALTER DATABASE "+template+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
}

// makeTempDir makes the directory of the ephemeral cluster: in $TMPDIR if set, else in /dev/shm
// when it has room (a RAM disk: cloning the template creates hundreds of files, about 15 ms there
// against 300 ms or more on a busy disk), else in the system's temporary directory.
func makeTempDir() (string, error) {
	const pattern = "rapport-pgtest-*"
	var st syscall.Statfs_t
	if os.Getenv("TMPDIR") == "" && syscall.Statfs("/dev/shm", &st) == nil && uint64(st.Bavail)*uint64(st.Bsize) >= 1<<30 {
		if dir, err := os.MkdirTemp("/dev/shm", pattern); err == nil {
			return dir, nil
		}
	}
	return os.MkdirTemp("", pattern)
}

// teardown stops the ephemeral cluster and removes it, or drops the template from the server at
// TEST_DATABASE_URL.
func teardown() error {
	if cluster != nil {
		err := cluster.Stop()
		if rmErr := os.RemoveAll(tmpDir); err == nil {
			err = rmErr
		}
		return err
	}
	if tmpDir != "" { // the cluster did not start
		return os.RemoveAll(tmpDir)
	}
	if template == "" || adminURL == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := execSQL(ctx, adminURL, "ALTER DATABASE "+template+" IS_TEMPLATE false"); err != nil {
		return fmt.Errorf("drop the template %s: %w", template, err)
	}
	return execSQL(ctx, adminURL, "DROP DATABASE IF EXISTS "+template+" WITH (FORCE)")
}

// startWatchdog makes sure the cluster goes away even if this process never reaches the end of
// Main (a panic, a test timeout, a kill). A shell in its own process group waits on a pipe that
// only this process holds; when the process exits, however it exits, the pipe closes and the shell
// stops a server still running on dataDir (immediate shutdown) and removes dir. After a normal
// Main, dir is already gone and it just exits.
func startWatchdog(dataDir, dir string) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	const script = `read line
if pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null) && kill -QUIT "$pid" 2>/dev/null; then
	n=0; while kill -0 "$pid" 2>/dev/null && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
fi
n=0; until rm -rf "$2" 2>/dev/null || [ $n -ge 100 ]; do sleep 0.1; n=$((n+1)); done`
	cmd := exec.Command("/bin/sh", "-c", script, "rapport-dbtest-watchdog", dataDir, dir)
	// No stdout or stderr, which `go test` would wait for; a process group of its own, so that
	// Ctrl-C leaves it to clean up (the server, in a session of its own, survives Ctrl-C too).
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the cleanup watchdog: %w", err)
	}
	watchdog = w // referenced for the life of the process, so never closed by a finalizer
	return cmd.Process.Release()
}

func execSQL(ctx context.Context, connURL, sql string) error {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns connURL, a postgres:// URL, pointing at database name.
func withDatabase(connURL, name string) string {
	u, _ := url.Parse(connURL) // checked by setup
	u.Path = "/" + name
	return u.String()
}
