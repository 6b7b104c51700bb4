// Package pglocal runs a private PostgreSQL cluster from the machine's server binaries: the
// embedded default of `rapport serve` (persistent data) and the ephemeral cluster of the tests. It
// works as root (the server runs as the postgres OS user, since initdb refuses root) and as a normal
// user, listens only on 127.0.0.1 and uses no Unix socket (deep temporary paths exceed the socket
// path limit).
package pglocal

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoBinaries is returned by FindBinaries (and Start) when no PostgreSQL server binaries are found;
// its one-line message says what to install, or how to do without them.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found: install them (apt-get install postgresql, or brew install postgresql) or set DATABASE_URL to use an existing server")

// FindBinaries locates the directory holding initdb, pg_ctl and postgres, so that Rapport runs on
// whatever PostgreSQL the machine has: $RAPPORT_PG_BINDIR if set (an error if it lacks them), then
// PATH, then `pg_config --bindir`, then the highest-versioned /usr/lib/postgresql/*/bin (Debian and
// Ubuntu keep the server binaries off PATH).
func FindBinaries() (string, error) {
	return findBinaries(os.Getenv("RAPPORT_PG_BINDIR"), "/usr/lib/postgresql/*/bin")
}

func findBinaries(envDir, versionedGlob string) (string, error) {
	if envDir != "" {
		if hasServer(envDir) {
			return envDir, nil
		}
		return "", fmt.Errorf("RAPPORT_PG_BINDIR=%s does not hold initdb, pg_ctl and postgres", envDir)
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil && hasServer(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); hasServer(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob(versionedGlob)
	version := func(binDir string) float64 { // 9.6 < 10 < 15
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "pg_ctl", "postgres"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || !st.Mode().IsRegular() || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// Options configure Start.
type Options struct {
	DataDir string       // cluster directory; created and initialised (initdb) when it holds no cluster
	Port    int          // 0 picks a free 127.0.0.1 port
	Durable bool         // false (tests): fsync, synchronous_commit and full_page_writes off
	Logger  *slog.Logger // may be nil
}

// Cluster is a PostgreSQL server on a data directory, either started by this process (Stop stops
// it) or found already running there (Stop leaves it to whoever started it).
type Cluster struct {
	DataDir string // absolute path of the cluster directory
	BinDir  string // directory of the server binaries used
	Port    int    // TCP port on 127.0.0.1

	owned    bool // this process started it, so Stop stops it
	password string
	cred     *syscall.Credential // the postgres OS user's, when we are root
	log      *slog.Logger
}

const (
	superuser    = "postgres"
	passwordFile = "rapport-superuser.password" // inside the data directory, mode 0600
	logFileName  = "postgres.log"               // server log, inside the data directory
)

// Start initialises the cluster if DataDir holds none and starts it, or attaches to the server
// already running on DataDir (started by another rapport process), in which case Stop leaves it
// running. Concurrent Starts on one DataDir are serialised, so exactly one of them starts the
// server. ctx bounds the waits (for that serialisation, initdb and the server's start).
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin, err := FindBinaries()
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dataDir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, err
	}
	c := &Cluster{DataDir: dataDir, BinDir: bin, log: log}
	if os.Geteuid() == 0 {
		if c.cred, err = postgresUser(); err != nil {
			return nil, err
		}
	}
	parent := filepath.Dir(dataDir)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("create %s: %w", parent, err)
	}
	if err := c.letThrough(parent); err != nil {
		return nil, err
	}
	unlock, err := lockDir(ctx, parent)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", parent, err)
	}
	defer unlock()

	if err := c.ensureCluster(ctx, opts.Durable); err != nil {
		return nil, err
	}
	pw, err := os.ReadFile(filepath.Join(dataDir, passwordFile))
	if err != nil {
		return nil, fmt.Errorf("read the cluster password (is %s a cluster made by rapport?): %w", dataDir, err)
	}
	c.password = strings.TrimSpace(string(pw))

	if port, ok := c.running(ctx); ok {
		c.Port = port
		log.Info("attached to running PostgreSQL", "data", dataDir, "port", port)
		return c, nil
	}
	for attempt := 1; ; attempt++ {
		c.Port = opts.Port
		if c.Port == 0 {
			if c.Port, err = freePort(); err != nil {
				return nil, err
			}
		}
		err = c.start(ctx, opts.Durable)
		// A port found free can be taken by someone else before the server binds it: pick another.
		if err == nil || opts.Port != 0 || attempt == 3 || !strings.Contains(err.Error(), "Address already in use") {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	c.owned = true
	log.Info("started PostgreSQL", "data", dataDir, "port", c.Port, "bin", bin)
	return c, nil
}

// URL returns a connection URL for database dbname as the cluster's superuser.
func (c *Cluster) URL(dbname string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(superuser, c.password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)), Path: "/" + dbname, RawQuery: "sslmode=disable"}
	return u.String()
}

// Stop stops the server cleanly (pg_ctl stop -m fast: sessions end, data is safe) if this process
// started it, and does nothing otherwise.
func (c *Cluster) Stop() error {
	if !c.owned {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if out, err := c.run(ctx, "pg_ctl", "stop", "-w", "-t", "60", "-m", "fast", "-D", c.DataDir); err != nil {
		return fmt.Errorf("stop PostgreSQL: %w: %s", err, bytes.TrimSpace(out))
	}
	c.owned = false
	c.log.Info("stopped PostgreSQL", "data", c.DataDir)
	return nil
}

// start runs the server on c.Port. The settings go on the command line, not into the cluster, so a
// persistent cluster can get another port on its next start.
func (c *Cluster) start(ctx context.Context, durable bool) error {
	// random_page_cost: the cluster lives on local (solid-state) storage, where random reads cost
	// about as much as sequential ones; at the default 4 the planner prefers a sequential scan over
	// the covering index of the pipeline board's totals (docs/benchmarks.md). autovacuum_naptime:
	// Rapport's connections plan generically, so a statement planned while a table had no statistics
	// (a new database) keeps a plan for an empty table until ANALYZE invalidates it; a short naptime
	// makes that first ANALYZE come within seconds, not a minute (docs/architecture.md, leads).
	settings := []string{"-p " + strconv.Itoa(c.Port), "-c listen_addresses=127.0.0.1", "-c unix_socket_directories=''",
		"-c max_connections=200", "-c shared_buffers=128MB", "-c random_page_cost=1.1", "-c autovacuum_naptime=5s"}
	if !durable {
		settings = append(settings, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
	}
	logFile := filepath.Join(c.DataDir, logFileName)
	var logStart int64 // the log is appended to: show only this attempt's lines
	if st, err := os.Stat(logFile); err == nil {
		logStart = st.Size()
	}
	out, err := c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", c.DataDir, "-l", logFile, "-o", strings.Join(settings, " "))
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		// pg_ctl was killed, but the server it launched may be coming up: don't leave it behind.
		stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = c.run(stopCtx, "pg_ctl", "stop", "-w", "-m", "immediate", "-D", c.DataDir)
		return fmt.Errorf("start PostgreSQL: %w", ctx.Err())
	}
	return fmt.Errorf("start PostgreSQL on port %d: %w: %s\n%s", c.Port, err, bytes.TrimSpace(out), tail(logFile, logStart, 20))
}

// running reports whether a live server owns the data directory and accepts connections, and its
// port. A stale pid file (a crashed server) reads as not running; pg_ctl start then replaces it.
func (c *Cluster) running(ctx context.Context) (int, bool) {
	pid, err := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	if _, err := c.run(ctx, "pg_ctl", "status", "-D", c.DataDir); err != nil {
		return 0, false
	}
	lines := strings.Split(string(pid), "\n")
	if len(lines) < 4 {
		return 0, false
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	if err != nil {
		return 0, false
	}
	conn, err := (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0, false // not ours to use (or not up): pg_ctl start will say what holds the directory
	}
	conn.Close()
	return port, true
}

// ensureCluster initialises DataDir if it holds no cluster, and as root makes sure an existing one
// belongs to the postgres OS user (PostgreSQL refuses a data directory owned by another user).
func (c *Cluster) ensureCluster(ctx context.Context, durable bool) error {
	entries, err := os.ReadDir(c.DataDir)
	switch {
	case errors.Is(err, os.ErrNotExist) || err == nil && len(entries) == 0:
		return c.initdb(ctx, durable)
	case err != nil:
		return err
	}
	if _, err := os.Stat(filepath.Join(c.DataDir, "PG_VERSION")); err != nil {
		return fmt.Errorf("%s is not empty and holds no PostgreSQL cluster: use an empty or new directory", c.DataDir)
	}
	if c.cred == nil {
		return nil
	}
	if st, err := os.Stat(c.DataDir); err == nil && st.Sys().(*syscall.Stat_t).Uid != c.cred.Uid {
		c.log.Info("giving the PostgreSQL data directory to the postgres OS user", "data", c.DataDir)
		return c.chown(c.DataDir)
	}
	return nil
}

// initdb creates the cluster in a staging directory beside DataDir and renames it into place once
// complete (with its password file), so that an interrupted initdb never leaves a half-made cluster
// at DataDir.
func (c *Cluster) initdb(ctx context.Context, durable bool) error {
	parent, base := filepath.Split(c.DataDir)
	stale, _ := filepath.Glob(filepath.Join(parent, "."+base+".init-*"))
	for _, dir := range stale { // left by an initdb that was killed; we hold the lock
		_ = os.RemoveAll(dir)
	}
	stage, err := os.MkdirTemp(parent, "."+base+".init-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	pwPath := filepath.Join(stage, passwordFile)
	if err := os.WriteFile(pwPath, []byte(rand.Text()+"\n"), 0o600); err != nil {
		return err
	}
	if err := c.chown(stage); err != nil {
		return err
	}
	data := filepath.Join(stage, "data")
	args := []string{"-D", data, "-U", superuser, "--pwfile", pwPath, "--auth-local=scram-sha-256",
		"--auth-host=scram-sha-256", "--encoding=UTF8"}
	if !durable {
		args = append(args, "--no-sync") // a throwaway cluster need not wait for the disk
	}
	out, err := c.run(ctx, "initdb", append(args, "--locale=C.UTF-8")...)
	if err != nil && ctx.Err() == nil && bytes.Contains(out, []byte("locale")) {
		c.log.Info("locale C.UTF-8 is not available: initialising PostgreSQL with locale C")
		out, err = c.run(ctx, "initdb", append(args, "--locale=C")...)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("initdb: %w", ctx.Err())
		}
		return fmt.Errorf("initdb: %w\n%s", err, bytes.TrimSpace(out))
	}
	if err := os.Rename(pwPath, filepath.Join(data, passwordFile)); err != nil {
		return err
	}
	if err := os.Rename(data, c.DataDir); err != nil { // replaces an empty DataDir
		return fmt.Errorf("move the new cluster into place: %w", err)
	}
	c.log.Info("initialised PostgreSQL cluster", "data", c.DataDir)
	return nil
}

// letThrough makes sure that, as root, the postgres OS user can reach dir: search permission (o+x,
// never read) is added to every ancestor that lacks it, /root or a 0700 temporary directory say.
func (c *Cluster) letThrough(dir string) error {
	if c.cred == nil {
		return nil
	}
	for ; ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(dir, st.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("let the postgres OS user reach %s: %w", dir, err)
			}
			c.log.Info("added search permission (o+x) so the postgres OS user can reach the PostgreSQL data directory", "dir", dir)
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}

// chown gives path and everything under it to the postgres OS user, when we are root.
func (c *Cluster) chown(path string) error {
	if c.cred == nil {
		return nil
	}
	return filepath.WalkDir(path, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(c.cred.Uid), int(c.cred.Gid))
	})
}

// run runs a PostgreSQL program, as the postgres OS user when we are root, and returns its output.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Dir = "/" // the postgres OS user may not be allowed into our working directory
	// Its own process group, so that cancelling kills initdb's postgres children too (the server
	// started by pg_ctl is in a session of its own and survives).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// The server started by pg_ctl writes to its log file (-l), not to these pipes; WaitDelay is
	// a guard against a pipe held open all the same.
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	return out.Bytes(), err
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root needs the postgres OS user, since PostgreSQL refuses to run as root: install the postgresql package, or run as a normal user")
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("postgres OS user: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// lockDir takes an exclusive flock on dir, released by the returned func. It polls so that ctx can
// end the wait.
func lockDir(ctx context.Context, dir string) (func(), error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { f.Close() }, nil // closing the descriptor releases the lock
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, err
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the last n lines of the file at path from byte offset on.
func tail(path string, offset int64, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return ""
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
