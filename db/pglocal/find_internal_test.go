package pglocal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Without binaries anywhere, the error is one line saying what to install.
func TestFindBinariesNone(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no pg_ctl, no pg_config
	_, err := findBinaries("", filepath.Join(t.TempDir(), "*", "bin"))
	require.ErrorIs(t, err, ErrNoBinaries)
	require.NotContains(t, err.Error(), "\n")
	require.Contains(t, err.Error(), "apt-get install postgresql")
	require.Contains(t, err.Error(), "DATABASE_URL")
}

// The versioned directories are tried newest first (10 is newer than 9.6), and one without the
// server binaries (a client-only install) is skipped.
func TestFindBinariesNewestVersion(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	root := t.TempDir()
	install := func(version string, names ...string) string {
		dir := filepath.Join(root, version, "bin")
		require.NoError(t, os.MkdirAll(dir, 0o755))
		for _, name := range names {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755))
		}
		return dir
	}
	install("9.6", "initdb", "pg_ctl", "postgres")
	want := install("10", "initdb", "pg_ctl", "postgres")
	install("17", "pg_ctl", "psql") // client only
	dir, err := findBinaries("", filepath.Join(root, "*", "bin"))
	require.NoError(t, err)
	require.Equal(t, want, dir)

	dir, err = findBinaries(filepath.Join(root, "9.6", "bin"), filepath.Join(root, "*", "bin"))
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(dir, "9.6/bin"), "RAPPORT_PG_BINDIR comes first")
}
