// Package dbtest gives every test its own real PostgreSQL database: one ephemeral cluster per test
// binary (started from the machine's binaries, or the server at TEST_DATABASE_URL), a template
// database migrated once, and a clone of it per test (CREATE DATABASE ... TEMPLATE ... STRATEGY
// FILE_COPY, about 30 ms), dropped when the test ends. Tests using it may run in parallel.
package dbtest

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/pglocal"
)

var (
	once     sync.Once
	setupErr error
	cluster  *pglocal.Cluster
	tmpDir   string
	adminURL string // superuser URL of the maintenance database
	template string
	cloneMu  sync.Mutex // concurrent clones of one template fail; they are fast anyway
)

// Main runs the package's tests, then stops the ephemeral cluster and removes its files. Use it
// from TestMain: func TestMain(m *testing.M) { dbtest.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if cluster != nil {
		_ = cluster.Stop()
	}
	if tmpDir != "" {
		_ = os.RemoveAll(tmpDir)
	}
	os.Exit(code)
}

// URL returns the connection URL of a fresh, migrated database for this test, dropped at its end.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if setupErr != nil {
		t.Fatalf("test database: %v", setupErr)
	}
	name := "rapport_t_" + strings.ToLower(rand.Text()[:12])
	ctx := context.Background()
	cloneMu.Lock()
	err := exec(ctx, adminURL, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s STRATEGY FILE_COPY", name, template))
	cloneMu.Unlock()
	if err != nil {
		t.Fatalf("clone test database: %v", err)
	}
	t.Cleanup(func() {
		if err := exec(context.Background(), adminURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("drop test database %s: %v", name, err)
		}
	})
	return withDatabase(adminURL, name)
}

func setup() {
	ctx := context.Background()
	adminURL = os.Getenv("TEST_DATABASE_URL")
	if adminURL == "" {
		if tmpDir, setupErr = os.MkdirTemp("", "rapport-pgtest-*"); setupErr != nil {
			return
		}
		cluster, setupErr = pglocal.Start(ctx, pglocal.Options{DataDir: tmpDir + "/data"})
		if setupErr != nil {
			return
		}
		adminURL = cluster.URL("postgres")
	}
	template = "rapport_tpl_" + strings.ToLower(rand.Text()[:12])
	if setupErr = exec(ctx, adminURL, "CREATE DATABASE "+template); setupErr != nil {
		return
	}
	// Migrate closes its connections when it returns, so the template is free to clone.
	setupErr = db.Migrate(ctx, withDatabase(adminURL, template))
}

func exec(ctx context.Context, connURL, sql string) error {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// withDatabase returns connURL pointing at database name.
func withDatabase(connURL, name string) string {
	u, err := url.Parse(connURL)
	if err != nil {
		return connURL
	}
	u.Path = "/" + name
	return u.String()
}
