package main

// End-to-end tests of the real binary, run as a user would run it: `go build`, then `rapport serve`
// on the embedded PostgreSQL, `rapport token`, GraphQL over HTTP and over both WebSocket
// subprotocols, and a graceful stop on SIGTERM.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"
)

const (
	startTimeout = 90 * time.Second // first start: initdb, migrations, seed
	stopTimeout  = 60 * time.Second
	eventTimeout = 15 * time.Second // a deadline for a hang, not a speed assertion
)

var (
	buildOnce sync.Once
	buildDir  string
	buildBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// binary builds ./cmd/rapport once per test run and returns the executable's path.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "rapport-e2e-bin-"); buildErr != nil {
			return
		}
		buildBin = filepath.Join(buildDir, "rapport")
		start := time.Now()
		out, err := exec.Command("go", "build", "-o", buildBin, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build -o %s . (in cmd/rapport): %w\n%s", buildBin, err, out)
			return
		}
		t.Logf("built %s in %s", buildBin, time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatalf("cannot build the rapport binary: %v", buildErr)
	}
	return buildBin
}

// environ is the inherited environment without anything that would point rapport elsewhere
// (DATABASE_URL, RAPPORT_*, libpq's PG*, OpenTelemetry export), plus extra. RAPPORT_PG_BINDIR is
// kept: it says where this machine's PostgreSQL is.
func environ(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "RAPPORT_PG_BINDIR":
		case k == "DATABASE_URL", strings.HasPrefix(k, "RAPPORT_"), strings.HasPrefix(k, "PG"), strings.HasPrefix(k, "OTEL_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// logLines collects a process's stderr line by line (an io.Writer for exec.Cmd, so that Wait
// waits for the last line) and announces the address of the "listening" log line.
type logLines struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	addr    chan string
}

func newLogLines() *logLines { return &logLines{addr: make(chan string, 1)} }

func (l *logLines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.lines = append(l.lines, line)
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "listening" && rec.Addr != "" {
			select {
			case l.addr <- rec.Addr:
			default:
			}
		}
	}
}

// all returns every line, the unterminated last one included.
func (l *logLines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := append([]string(nil), l.lines...)
	if len(l.partial) > 0 {
		out = append(out, string(l.partial))
	}
	return out
}

// tail returns the last n lines, for failure messages.
func (l *logLines) tail(n int) string {
	lines := l.all()
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// has reports whether a JSON log line has this msg.
func (l *logLines) has(msg string) bool {
	for _, line := range l.all() {
		var rec struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == msg {
			return true
		}
	}
	return false
}

// server is a running `rapport serve`.
type server struct {
	t        *testing.T
	bin      string
	dataDir  string
	env      []string
	cmd      *exec.Cmd
	log      *logLines
	exited   chan struct{} // closed when the process has exited; then waitErr is set
	waitErr  error
	logShown bool   // a failure message already showed the log
	base     string // http://127.0.0.1:port
	ws       string // ws://127.0.0.1:port/graphql
}

// startServer runs `rapport serve` on a fresh data directory and waits for it to listen.
func startServer(t *testing.T) *server {
	t.Helper()
	s := &server{t: t, bin: binary(t), dataDir: filepath.Join(t.TempDir(), "data"), log: newLogLines(), exited: make(chan struct{})}
	s.env = environ("RAPPORT_DATA_DIR="+s.dataDir, "RAPPORT_ADDR=127.0.0.1:0", "RAPPORT_ENV=development")
	s.cmd = exec.Command(s.bin, "serve")
	s.cmd.Env = s.env
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	s.cmd.WaitDelay = 10 * time.Second // in case a child holds the log pipe open
	start := time.Now()
	require.NoError(t, s.cmd.Start(), "start %s serve", s.bin)
	go func() {
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	// On failure, show what the server said, after it was stopped (cleanups run last first).
	t.Cleanup(func() {
		if t.Failed() && !s.logShown {
			t.Logf("server log (last 60 lines):\n%s", s.log.tail(60))
		}
	})
	t.Cleanup(s.cleanup)

	select {
	case addr := <-s.log.addr:
		s.base, s.ws = "http://"+addr, "ws://"+addr+"/graphql"
		t.Logf("rapport serve listening on %s after %s", addr, time.Since(start).Round(time.Millisecond))
	case <-s.exited:
		t.Fatalf("rapport serve exited before listening (%v); log:\n%s", s.waitErr, s.log.tail(60))
	case <-time.After(startTimeout):
		t.Fatalf("rapport serve did not log \"listening\" within %s; log:\n%s", startTimeout, s.log.tail(60))
	}
	return s
}

// cleanup makes sure nothing outlives a failed test: the server is stopped (killed if it does not
// stop), and so is an embedded PostgreSQL it left running.
func (s *server) cleanup() {
	select {
	case <-s.exited:
	default:
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	pidFile := filepath.Join(s.dataDir, "pgdata", "postmaster.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil || pid <= 0 {
		return
	}
	s.t.Logf("PostgreSQL (pid %d) outlived rapport serve: stopping it", pid)
	_ = syscall.Kill(pid, syscall.SIGINT) // fast shutdown
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(pidFile); errors.Is(err, os.ErrNotExist) {
			return
		}
	}
	_ = syscall.Kill(pid, syscall.SIGQUIT)
}

// fatalf fails the test with the server log's tail.
func (s *server) fatalf(format string, args ...any) {
	s.t.Helper()
	s.logShown = true
	s.t.Fatalf("%s\nserver log (last 40 lines):\n%s", fmt.Sprintf(format, args...), s.log.tail(40))
}

// rapport runs another rapport command with the server's environment and returns its stdout and
// stderr.
func (s *server) rapport(args ...string) (string, string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.bin, args...)
	cmd.Env = s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		s.fatalf("rapport %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

// get returns the status and body of GET path.
func (s *server) get(path string) (int, string) {
	s.t.Helper()
	resp, err := http.Get(s.base + path)
	if err != nil {
		s.fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// gql posts a GraphQL request with a bearer token ("" for none), requires a 200 without errors and
// returns data.
func (s *server) gql(token, query string, vars map[string]any) map[string]any {
	s.t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(s.t, err)
	req, err := http.NewRequest(http.MethodPost, s.base+"/graphql", bytes.NewReader(body))
	require.NoError(s.t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.fatalf("POST /graphql: %v\nquery: %s", err, query)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		Data   map[string]any    `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil || resp.StatusCode != http.StatusOK || len(out.Errors) > 0 {
		s.fatalf("POST /graphql: status %d, body %s\nquery: %s\nvariables: %v", resp.StatusCode, raw, query, vars)
	}
	return out.Data
}

func (s *server) createAccount(token string, input map[string]any) map[string]any {
	s.t.Helper()
	data := s.gql(token, `mutation($input: CreateAccountInput!) {
		createAccount(input: $input) { replayed account { id name domain employees owner { email } } } }`,
		map[string]any{"input": input})
	require.Equal(s.t, false, dig(data, "createAccount", "replayed"))
	return dig(data, "createAccount", "account").(map[string]any)
}

// dig walks decoded JSON by object keys and array indexes; nil when the path is absent.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k < 0 || k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// wsMessage is a message of either GraphQL WebSocket subprotocol.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsClient is a real WebSocket client. A goroutine reads every message into msgs (answering the
// server's pings and dropping keep-alives), so that waiting with a deadline never closes the
// connection (coder/websocket closes it when a Read's context ends).
type wsClient struct {
	s       *server
	conn    *websocket.Conn
	msgs    chan wsMessage
	readErr error // set before msgs is closed
}

func (s *server) dialWS(subprotocol, token string) *wsClient {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, s.ws, &websocket.DialOptions{Subprotocols: []string{subprotocol}})
	if err != nil {
		s.fatalf("WebSocket dial %s (%s): %v", s.ws, subprotocol, err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	require.Equal(s.t, subprotocol, conn.Subprotocol(), "the server must accept subprotocol %s", subprotocol)
	c := &wsClient{s: s, conn: conn, msgs: make(chan wsMessage, 64)}
	s.t.Cleanup(func() { conn.Close(websocket.StatusNormalClosure, "test done") })
	go func() {
		defer close(c.msgs)
		for {
			var m wsMessage
			if err := wsjson.Read(context.Background(), conn, &m); err != nil {
				c.readErr = err
				return
			}
			switch m.Type {
			case "ping":
				_ = c.send(wsMessage{Type: "pong"})
				continue
			case "pong", "ka":
				continue
			}
			c.msgs <- m
		}
	}()
	c.mustSend(wsMessage{Type: "connection_init", Payload: mustJSON(s.t, map[string]any{"Authorization": "Bearer " + token})})
	if m := c.next("connection_ack"); m.Type != "connection_ack" {
		s.fatalf("%s: expected connection_ack after connection_init, got %s %s", subprotocol, m.Type, m.Payload)
	}
	return c
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func (c *wsClient) send(m wsMessage) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return wsjson.Write(ctx, c.conn, m)
}

func (c *wsClient) mustSend(m wsMessage) {
	c.s.t.Helper()
	if err := c.send(m); err != nil {
		c.s.fatalf("WebSocket send %s: %v", m.Type, err)
	}
}

// next returns the next message, failing the test when none comes within eventTimeout.
func (c *wsClient) next(waitingFor string) wsMessage {
	c.s.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.s.fatalf("WebSocket closed while waiting for %s: %v", waitingFor, c.readErr)
		}
		return m
	case <-time.After(eventTimeout):
		c.s.fatalf("no WebSocket message within %s while waiting for %s", eventTimeout, waitingFor)
	}
	panic("unreachable")
}

// event is a recordChanged event as the subscription below selects it.
type event struct {
	Cursor     string `json:"cursor"`
	Type       string `json:"type"`
	RecordType string `json:"recordType"`
	Changes    []struct {
		Field string `json:"field"`
		After any    `json:"after"`
	} `json:"changes"`
	Record struct {
		Name string `json:"name"`
	} `json:"record"`
}

const recordChanged = `subscription($after: String) { recordChanged(types: [ACCOUNT], after: $after) {
	cursor type recordType changes { field after } record { ... on Account { name } } } }`

// subscribe starts recordChanged for accounts (after a cursor, or from now on when after is "").
// start is "subscribe" (graphql-transport-ws) or "start" (graphql-ws).
func (c *wsClient) subscribe(id, start, after string) {
	c.s.t.Helper()
	vars := map[string]any{}
	if after != "" {
		vars["after"] = after
	}
	c.mustSend(wsMessage{ID: id, Type: start, Payload: mustJSON(c.s.t, map[string]any{"query": recordChanged, "variables": vars})})
}

// event decodes a data message ("next" or legacy "data") of subscription id.
func (c *wsClient) event(m wsMessage, id, dataType string) event {
	c.s.t.Helper()
	if m.ID != id || m.Type != dataType {
		c.s.fatalf("expected a %q message of subscription %q, got %q of %q: %s", dataType, id, m.Type, m.ID, m.Payload)
	}
	var p struct {
		Data   struct{ RecordChanged event } `json:"data"`
		Errors []json.RawMessage             `json:"errors"`
	}
	if err := json.Unmarshal(m.Payload, &p); err != nil || len(p.Errors) > 0 {
		c.s.fatalf("subscription %q: bad payload %s (%v)", id, m.Payload, err)
	}
	return p.Data.RecordChanged
}

// waitLive returns once subscription id, started without after, is known to be live.
//
// Without after, a subscription starts after the last event published when the server handles
// subscribe, which the protocol does not acknowledge. So wait until an account created now reaches
// it, creating another if the first was published before the subscription began; from then on
// every event must arrive, in order. The caller waited for everything before to be published, so
// nothing else may arrive.
func (c *wsClient) waitLive(id, token string) {
	c.s.t.Helper()
	var probes, delivered []string
	for {
		if len(probes) == 5 {
			c.s.fatalf("subscription %q delivered none of the accounts %q", id, probes)
		}
		probes = append(probes, fmt.Sprintf("E2E probe %d", len(probes)+1))
		c.s.createAccount(token, map[string]any{"name": probes[len(probes)-1]})
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.s.fatalf("WebSocket closed: %v", c.readErr)
			}
			for {
				e := c.event(m, id, "next")
				if !slices.Contains(probes, e.Record.Name) || e.Type != "account.created" {
					c.s.fatalf("subscription %q, started after the accounts created so far were published, delivered an event "+
						"that is not about the probe accounts %q created since (delivered before: %q): %s\nchange feed: %v",
						id, probes, delivered, m.Payload, c.s.accountFeed(token))
				}
				delivered = append(delivered, e.Record.Name)
				if e.Record.Name == probes[len(probes)-1] { // later probes follow, in order
					c.s.t.Logf("subscription live: created %q, delivered %q", probes, delivered)
					return
				}
				m = c.next("the last probe's event")
			}
		case <-time.After(2 * time.Second):
		}
	}
}

// feedEntry is an account event of the change feed.
type feedEntry struct {
	Seq, Type, Name string
}

// accountFeed returns the account events of the change feed (published events only), oldest first.
func (s *server) accountFeed(token string) []feedEntry {
	s.t.Helper()
	data := s.gql(token, `{ changes(types: [ACCOUNT], first: 100) { edges { cursor node { type record { ... on Account { name } } } } } }`, nil)
	var out []feedEntry
	edges, _ := dig(data, "changes", "edges").([]any)
	for _, e := range edges {
		seq, _ := base64.RawURLEncoding.DecodeString(fmt.Sprint(dig(e, "cursor")))
		name, _ := dig(e, "node", "record", "name").(string)
		out = append(out, feedEntry{Seq: string(seq), Type: fmt.Sprint(dig(e, "node", "type")), Name: name})
	}
	return out
}

// waitPublished waits until the relay has published the creation of account name, so that it lies
// before the start of a subscription made from now on.
func (s *server) waitPublished(token, name string) {
	s.t.Helper()
	deadline := time.Now().Add(eventTimeout)
	for {
		feed := s.accountFeed(token)
		if slices.ContainsFunc(feed, func(e feedEntry) bool { return e.Type == "account.created" && e.Name == name }) {
			return
		}
		if time.Now().After(deadline) {
			s.fatalf("the creation of account %q did not reach the change feed within %s: %v", name, eventTimeout, feed)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func requireCreated(t *testing.T, e event, name string) {
	t.Helper()
	require.Equal(t, "account.created", e.Type)
	require.Equal(t, "ACCOUNT", e.RecordType)
	require.Equal(t, name, e.Record.Name)
	require.NotEmpty(t, e.Cursor)
	var nameAfter any
	for _, ch := range e.Changes {
		if ch.Field == "name" {
			nameAfter = ch.After
		}
	}
	require.Equal(t, name, nameAfter, "changes of account.created must carry the name: %+v", e.Changes)
}

func TestServeEndToEnd(t *testing.T) {
	s := startServer(t)

	// Operations endpoints.
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := s.get(path); code != http.StatusOK {
			s.fatalf("GET %s: %d %s", path, code, body)
		}
	}

	// A token from the operator command, which attaches to the server's running PostgreSQL.
	stdout, stderr := s.rapport("token", "--org", "demo", "--user", "admin@demo.test")
	require.Contains(t, stderr, `"msg":"attached to running PostgreSQL"`, "rapport token must use the server's cluster")
	out := strings.Split(strings.TrimSpace(stdout), "\n")
	admin := strings.TrimSpace(out[len(out)-1])
	require.NotEmpty(t, admin, "rapport token printed nothing")
	require.NotContains(t, admin, " ", "the last line of rapport token must be the bare token, got %q", admin)
	viewer := s.gql(admin, `{ viewer { email role } }`, nil)
	require.Equal(t, map[string]any{"email": "admin@demo.test", "role": "ADMIN"}, viewer["viewer"])
	if code, body := s.get("/readyz"); code != http.StatusOK { // rapport token left the database running
		s.fatalf("GET /readyz after rapport token: %d %s", code, body)
	}

	// A sign-in through GraphQL.
	login := s.gql("", `mutation { login(input: {email: "rep1@demo.test", password: "rapport-demo"}) { token user { email role } } }`, nil)
	rep1, _ := dig(login, "login", "token").(string)
	require.NotEmpty(t, rep1, "login returned no token: %v", login)
	require.Equal(t, map[string]any{"email": "rep1@demo.test", "role": "SALES_REP"}, dig(login, "login", "user"))

	// Records over HTTP, with CJK text and phone normalization.
	const nameA = "测试科技有限公司"
	a := s.createAccount(admin, map[string]any{"name": nameA, "domain": "https://www.ceshi-keji.cn/", "employees": 88})
	require.Equal(t, nameA, a["name"])
	require.Equal(t, "ceshi-keji.cn", a["domain"], "a URL is stored as the bare domain")
	require.EqualValues(t, 88, a["employees"])
	require.Equal(t, "admin@demo.test", dig(a, "owner", "email"), "without ownerId the creator owns the account")
	idA := a["id"].(string)

	node := s.gql(admin, `query($id: ID!) { node(id: $id) { id ... on Account { name domain employees } } }`, map[string]any{"id": idA})
	require.Equal(t, map[string]any{"id": idA, "name": nameA, "domain": "ceshi-keji.cn", "employees": float64(88)}, node["node"])

	list := s.gql(admin, `query($search: String) { accounts(first: 10, filter: {search: $search}) {
		totalCount edges { node { id name owner { email } } } } }`, map[string]any{"search": "测试科技"})
	require.EqualValues(t, 1, dig(list, "accounts", "totalCount"), "search: %v", list)
	require.Equal(t, map[string]any{"id": idA, "name": nameA, "owner": map[string]any{"email": "admin@demo.test"}},
		dig(list, "accounts", "edges", 0, "node"))

	// A sales rep does not see the admin's account: visibility holds through the real stack.
	hidden := s.gql(rep1, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": idA})
	require.Nil(t, hidden["node"], "rep1 must not see an account the admin owns")

	contact := s.gql(admin, `mutation($input: CreateContactInput!) { createContact(input: $input) {
		contact { id name phones emails account { id name } } } }`, map[string]any{"input": map[string]any{
		"lastName": "李", "firstName": "小红", "phones": []string{"138 0013 8001"}, "emails": []string{"Li.XiaoHong@Ceshi-Keji.cn"},
		"accountId": idA}})
	c := dig(contact, "createContact", "contact")
	require.Equal(t, "李小红", dig(c, "name"), "CJK names: family name first")
	require.Equal(t, []any{"+8613800138001"}, dig(c, "phones"), "a national number is read in the demo org's region (CN)")
	require.Equal(t, []any{"li.xiaohong@ceshi-keji.cn"}, dig(c, "emails"))
	require.Equal(t, map[string]any{"id": idA, "name": nameA}, dig(c, "account"))

	// Live updates over graphql-transport-ws.
	// From now on means from the last published event: wait until the relay has published the
	// creation of the account above, or the subscription may rightly deliver it.
	s.waitPublished(admin, nameA)
	ws := s.dialWS("graphql-transport-ws", admin)
	ws.subscribe("1", "subscribe", "")
	ws.waitLive("1", admin)
	const nameB = "实时推送贸易有限公司"
	s.createAccount(admin, map[string]any{"name": nameB})
	eventB := ws.event(ws.next("account.created of "+nameB), "1", "next")
	requireCreated(t, eventB, nameB)

	// Resume: unsubscribe, miss an event, subscribe again after the last cursor received.
	ws.mustSend(wsMessage{ID: "1", Type: "complete"})
	if m := ws.next("complete of subscription 1"); m.ID != "1" || m.Type != "complete" {
		s.fatalf("after unsubscribing, expected complete of subscription 1, got %q of %q: %s", m.Type, m.ID, m.Payload)
	}
	const nameC = "断点续传物流有限公司"
	s.createAccount(admin, map[string]any{"name": nameC})
	ws.subscribe("2", "subscribe", eventB.Cursor)
	eventC := ws.event(ws.next("the missed account.created of "+nameC), "2", "next")
	requireCreated(t, eventC, nameC) // first: no duplicate of B before it
	require.NotEqual(t, eventB.Cursor, eventC.Cursor)

	// The legacy graphql-ws subprotocol: connection_init -> connection_ack, and a catch-up.
	legacy := s.dialWS("graphql-ws", admin)
	legacy.subscribe("1", "start", eventB.Cursor)
	requireCreated(t, legacy.event(legacy.next("graphql-ws data of "+nameC), "1", "data"), nameC)

	// The live pipeline board: a deal created and moved over HTTP reaches a pipelineChanged
	// subscriber with the deal's new state, resuming after a known cursor.
	board := s.dialWS("graphql-transport-ws", admin)
	pipes := s.gql(admin, `{ pipelines { id stages { id name } } }`, nil)
	pipelineID := dig(pipes, "pipelines", 0, "id").(string)
	needsAnalysis := dig(pipes, "pipelines", 0, "stages", 1, "id").(string)
	board.mustSend(wsMessage{ID: "b", Type: "subscribe", Payload: mustJSON(t, map[string]any{
		"query": `subscription($p: ID!, $after: String) { pipelineChanged(pipelineId: $p, after: $after) {
			cursor kind fromStage { name } opportunity { name stage { name } amount { amount currency } account { name } } } }`,
		"variables": map[string]any{"p": pipelineID, "after": eventC.Cursor}})})
	deal := s.gql(admin, `mutation($in: CreateOpportunityInput!) { createOpportunity(input: $in) { opportunity { id version } } }`,
		map[string]any{"in": map[string]any{"name": "实时看板商机", "accountId": idA, "amount": "88000.00"}})
	s.gql(admin, `mutation($in: MoveOpportunityInput!) { moveOpportunity(input: $in) { opportunity { version } } }`,
		map[string]any{"in": map[string]any{"id": dig(deal, "createOpportunity", "opportunity", "id"), "toStageId": needsAnalysis,
			"expectedVersion": dig(deal, "createOpportunity", "opportunity", "version")}})
	for _, want := range []struct{ kind, stage, from string }{{"CREATED", "Initial contact", ""}, {"MOVED", "Needs analysis", "Initial contact"}} {
		m := board.next("pipelineChanged " + want.kind)
		var p struct {
			Data struct {
				PipelineChanged struct {
					Kind        string
					FromStage   *struct{ Name string }
					Opportunity struct {
						Name    string
						Stage   struct{ Name string }
						Amount  struct{ Amount, Currency string }
						Account struct{ Name string }
					}
				}
			}
		}
		require.NoError(t, json.Unmarshal(m.Payload, &p), "%s", m.Payload)
		c := p.Data.PipelineChanged
		require.Equal(t, want.kind, c.Kind, "%s", m.Payload)
		require.Equal(t, "实时看板商机", c.Opportunity.Name)
		require.Equal(t, want.stage, c.Opportunity.Stage.Name)
		require.Equal(t, "88000", c.Opportunity.Amount.Amount)
		require.Equal(t, nameA, c.Opportunity.Account.Name)
		if want.from != "" {
			require.Equal(t, want.from, c.FromStage.Name)
		}
	}

	// A WebSocket with a bad token gets no connection_ack.
	s.requireWSRejected("graphql-transport-ws", admin+"tampered")
	s.requireWSRejected("graphql-ws", admin+"tampered")

	// Graceful stop on SIGTERM, with subscriptions still open on both WebSockets: exit status 0,
	// "stopped" logged, the WebSockets closed, the embedded PostgreSQL stopped.
	stopAt := time.Now()
	require.NoError(t, s.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		s.fatalf("rapport serve did not exit within %s of SIGTERM", stopTimeout)
	}
	t.Logf("rapport serve stopped %s after SIGTERM", time.Since(stopAt).Round(time.Millisecond))
	if s.waitErr != nil {
		s.fatalf("rapport serve exited with %v after SIGTERM, want status 0", s.waitErr)
	}
	require.Equal(t, 0, s.cmd.ProcessState.ExitCode())
	if !s.log.has("stopped") {
		s.fatalf(`no "stopped" in the log after SIGTERM`)
	}
	for _, c := range []*wsClient{ws, legacy, board} {
		select {
		case m, ok := <-c.msgs:
			if ok {
				s.fatalf("%s: unexpected message at shutdown: %s %s", c.conn.Subprotocol(), m.Type, m.Payload)
			}
			t.Logf("%s at shutdown: %v", c.conn.Subprotocol(), c.readErr)
		case <-time.After(eventTimeout):
			s.fatalf("%s: the WebSocket stayed open after the server exited", c.conn.Subprotocol())
		}
	}
	if _, err := os.Stat(filepath.Join(s.dataDir, "pgdata", "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
		s.fatalf("the embedded PostgreSQL is still running after rapport serve exited (postmaster.pid: %v)", err)
	}
}

// requireWSRejected checks that connection_init with a bad token gets no connection_ack and that
// the server ends the connection.
func (s *server) requireWSRejected(subprotocol, token string) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, s.ws, &websocket.DialOptions{Subprotocols: []string{subprotocol}})
	if err != nil {
		s.fatalf("WebSocket dial: %v", err)
	}
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	defer conn.CloseNow()
	require.NoError(s.t, wsjson.Write(ctx, conn, wsMessage{Type: "connection_init",
		Payload: mustJSON(s.t, map[string]any{"Authorization": "Bearer " + token})}))
	for {
		var m wsMessage
		err := wsjson.Read(ctx, conn, &m)
		if err != nil {
			if ctx.Err() != nil {
				s.fatalf("%s: the server neither acknowledged nor closed a connection with a bad token within %s", subprotocol, eventTimeout)
			}
			s.t.Logf("%s with a bad token: closed (status %d: %v)", subprotocol, websocket.CloseStatus(err), err)
			if subprotocol == "graphql-transport-ws" {
				require.Equal(s.t, websocket.StatusCode(4403), websocket.CloseStatus(err), "graphql-transport-ws rejects with 4403 Forbidden")
				require.Contains(s.t, err.Error(), "token", "the close reason says what is wrong")
			}
			return
		}
		if m.Type != "ka" {
			s.t.Logf("%s with a bad token: %s %s", subprotocol, m.Type, m.Payload)
		}
		if m.Type == "connection_ack" {
			s.fatalf("%s: connection_ack for a bad token", subprotocol)
		}
	}
}

// Without PostgreSQL server binaries, serve fails at once with one line that says what to do.
func TestServeFailsClearlyWithoutPostgresBinaries(t *testing.T) {
	bin := binary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dataDir := filepath.Join(t.TempDir(), "data")
	cmd := exec.CommandContext(ctx, bin, "serve")
	cmd.Env = environ("RAPPORT_DATA_DIR="+dataDir, "RAPPORT_ADDR=127.0.0.1:0",
		"RAPPORT_ENV=development", "RAPPORT_PG_BINDIR=/nonexistent")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	require.Error(t, err, "rapport serve must fail without PostgreSQL binaries; stderr:\n%s", stderr.String())
	require.NoError(t, ctx.Err(), "rapport serve did not exit within 30 s; stderr:\n%s", stderr.String())
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	require.NotEqual(t, 0, exit.ExitCode())
	require.Less(t, took, 10*time.Second, "failing should be quick")
	const want = "rapport: RAPPORT_PG_BINDIR=/nonexistent does not hold initdb, pg_ctl and postgres"
	var found []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "RAPPORT_PG_BINDIR") {
			found = append(found, line)
		}
	}
	require.Equal(t, []string{want}, found, "stderr:\n%s", stderr.String())
	_, err = os.Stat(filepath.Join(dataDir, "pgdata"))
	require.True(t, errors.Is(err, os.ErrNotExist), "no cluster may be made without binaries: %v", err)
}

func TestVersion(t *testing.T) {
	out, err := exec.Command(binary(t), "version").CombinedOutput()
	require.NoError(t, err, "%s", out)
	require.True(t, strings.HasPrefix(string(out), "rapport "), "rapport version printed %q", out)
}
