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

// ErrNoBinaries says what to install when no PostgreSQL server binaries are found.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found: install them (apt-get install postgresql, or brew install postgresql) or set DATABASE_URL to use an existing server")

// FindBinaries locates the directory holding initdb, pg_ctl and postgres: $RAPPORT_PG_BINDIR, then
// PATH, then `pg_config --bindir`, then the newest /usr/lib/postgresql/*/bin.
func FindBinaries() (string, error) {
	has := func(dir string) bool {
		for _, b := range []string{"initdb", "pg_ctl", "postgres"} {
			if st, err := os.Stat(filepath.Join(dir, b)); err != nil || st.IsDir() {
				return false
			}
		}
		return true
	}
	if dir := os.Getenv("RAPPORT_PG_BINDIR"); dir != "" {
		if has(dir) {
			return dir, nil
		}
		return "", fmt.Errorf("RAPPORT_PG_BINDIR=%s does not hold initdb, pg_ctl and postgres", dir)
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil && has(filepath.Dir(p)) {
		return filepath.Dir(p), nil
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		if dir := strings.TrimSpace(string(out)); has(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func version(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// Options configure a cluster.
type Options struct {
	DataDir string       // cluster directory; initialised (initdb) when it holds no cluster
	Port    int          // 0 picks a free 127.0.0.1 port
	Durable bool         // false (tests): fsync, synchronous_commit and full_page_writes off
	Logger  *slog.Logger // may be nil
}

// Cluster is a running PostgreSQL server.
type Cluster struct {
	DataDir string
	BinDir  string
	Port    int

	owned    bool // this process started it, so Stop stops it
	password string
	cred     *syscall.Credential
	log      *slog.Logger
}

const (
	superuser    = "postgres"
	passwordFile = "rapport-superuser.password"
)

// Start initialises the cluster if needed and starts it, or attaches to the server already running
// on DataDir (started by another rapport process), in which case Stop leaves it running.
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
	if err := c.prepareDir(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dataDir, "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := c.initdb(ctx); err != nil {
			return nil, err
		}
	}
	pw, err := os.ReadFile(filepath.Join(dataDir, passwordFile))
	if err != nil {
		return nil, fmt.Errorf("read the cluster password: %w", err)
	}
	c.password = strings.TrimSpace(string(pw))

	if port, ok := c.running(ctx); ok {
		c.Port = port
		log.Info("attached to running PostgreSQL", "data", dataDir, "port", port)
		return c, nil
	}
	c.Port = opts.Port
	if c.Port == 0 {
		if c.Port, err = freePort(); err != nil {
			return nil, err
		}
	}
	settings := []string{"-c listen_addresses=127.0.0.1", "-c unix_socket_directories=''", "-p " + strconv.Itoa(c.Port),
		"-c max_connections=200", "-c shared_buffers=128MB"}
	if !opts.Durable {
		settings = append(settings, "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off")
	}
	logFile := filepath.Join(dataDir, "postgres.log")
	if out, err := c.run(ctx, "pg_ctl", "start", "-w", "-t", "60", "-D", dataDir, "-l", logFile, "-o", strings.Join(settings, " ")); err != nil {
		return nil, fmt.Errorf("start PostgreSQL: %w\n%s\n%s", err, out, tail(logFile, 20))
	}
	c.owned = true
	log.Info("started embedded PostgreSQL", "data", dataDir, "port", c.Port, "bin", bin)
	return c, nil
}

// URL returns a connection URL for database dbname as the cluster's superuser.
func (c *Cluster) URL(dbname string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(superuser, c.password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)), Path: "/" + dbname, RawQuery: "sslmode=disable"}
	return u.String()
}

// Stop stops the server (fast shutdown: sessions end, data is safe) if this process started it.
func (c *Cluster) Stop() error {
	if !c.owned {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := c.run(ctx, "pg_ctl", "stop", "-w", "-m", "fast", "-D", c.DataDir); err != nil {
		return fmt.Errorf("stop PostgreSQL: %w: %s", err, out)
	}
	c.owned = false
	c.log.Info("stopped embedded PostgreSQL", "data", c.DataDir)
	return nil
}

// running reports whether a live server owns the data directory, and its port.
func (c *Cluster) running(ctx context.Context) (int, bool) {
	pid, err := os.ReadFile(filepath.Join(c.DataDir, "postmaster.pid"))
	if err != nil {
		return 0, false
	}
	if _, err := c.run(ctx, "pg_ctl", "status", "-D", c.DataDir); err != nil {
		return 0, false // a stale pid file: pg_ctl start handles it
	}
	lines := strings.Split(string(pid), "\n")
	if len(lines) < 4 {
		return 0, false
	}
	port, err := strconv.Atoi(strings.TrimSpace(lines[3]))
	return port, err == nil
}

func (c *Cluster) initdb(ctx context.Context) error {
	pw := rand.Text()
	pwPath := filepath.Join(c.DataDir, passwordFile)
	// initdb wants an empty directory: keep the password beside it until it has run.
	staged := c.DataDir + ".pw"
	if err := os.WriteFile(staged, []byte(pw+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(staged)
	if err := c.chown(staged); err != nil {
		return err
	}
	args := []string{"-D", c.DataDir, "-U", superuser, "--pwfile", staged, "--auth-local=scram-sha-256",
		"--auth-host=scram-sha-256", "--encoding=UTF8", "--no-instructions"}
	out, err := c.run(ctx, "initdb", append(args, "--locale=C.UTF-8")...)
	if err != nil && bytes.Contains(out, []byte("locale")) {
		out, err = c.run(ctx, "initdb", append(args, "--locale=C")...)
	}
	if err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := os.WriteFile(pwPath, []byte(pw+"\n"), 0o600); err != nil {
		return err
	}
	c.log.Info("initialised PostgreSQL cluster", "data", c.DataDir)
	return c.chown(pwPath)
}

// prepareDir creates the data directory (mode 0700, as PostgreSQL requires) owned by the user the
// server runs as. As root, every ancestor must let that user through: search permission (o+x, never
// read) is added where missing.
func (c *Cluster) prepareDir() error {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", c.DataDir, err)
	}
	if c.cred == nil {
		return nil
	}
	if err := c.chown(c.DataDir); err != nil {
		return err
	}
	for dir := filepath.Dir(c.DataDir); ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		if err != nil {
			return err
		}
		if st.Mode().Perm()&0o001 == 0 {
			if err := os.Chmod(dir, st.Mode().Perm()|0o001); err != nil {
				return fmt.Errorf("let the postgres user reach %s: %w", c.DataDir, err)
			}
			c.log.Info("added search permission so the postgres user can reach the data directory", "dir", dir)
		}
		if dir == filepath.Dir(dir) {
			return nil
		}
	}
}

func (c *Cluster) chown(path string) error {
	if c.cred == nil {
		return nil
	}
	return filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(c.cred.Uid), int(c.cred.Gid))
	})
}

// run runs a PostgreSQL program, as the postgres OS user when we are root.
func (c *Cluster) run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(c.BinDir, name), args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C", "PGDATA="+c.DataDir)
	cmd.Dir = "/"
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	// pg_ctl start leaves the server running with our pipes unless its output goes to a file (-l).
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, errors.New("running as root needs the postgres OS user (PostgreSQL refuses to run as root): install the postgresql package or run as a normal user")
	}
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
