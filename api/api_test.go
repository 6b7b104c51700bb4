package api_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/api"
	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/dbtest"
	"github.com/rapportcrm/rapport/internal/auth"
	"github.com/rapportcrm/rapport/internal/eventlog"
	"github.com/rapportcrm/rapport/internal/service"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// statementCounter counts the SQL statements a pool sends and, during capture, records them.
type statementCounter struct {
	n         atomic.Int64
	mu        sync.Mutex
	recording bool
	sql       []string
}

func (c *statementCounter) add(sql string) {
	c.n.Add(1)
	c.mu.Lock()
	if c.recording {
		c.sql = append(c.sql, sql)
	}
	c.mu.Unlock()
}

// capture returns the SQL of the statements the pool sends while fn runs, in order.
func (c *statementCounter) capture(fn func()) []string {
	c.mu.Lock()
	c.recording, c.sql = true, nil
	c.mu.Unlock()
	fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recording = false
	return c.sql
}

func (c *statementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.add(d.SQL)
	return ctx
}

func (c *statementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Pipelined reads (db.Read) are batches: pgx reports their statements to a BatchTracer.
func (c *statementCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (c *statementCounter) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	c.add(d.SQL)
}

func (c *statementCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// server is the real HTTP stack on a fresh database with the demo organization seeded.
type server struct {
	t          testing.TB
	url        string
	handler    http.Handler // what ts serves, for benchmarks without the network
	svc        *service.Service
	pool       *pgxpool.Pool
	relay      *eventlog.Relay
	hub        *eventlog.Hub
	statements *statementCounter
	tokens     map[string]string // by demo user e-mail prefix: admin, manager, rep1, rep2, support, analyst
}

func newServer(t testing.TB) *server {
	t.Helper()
	ctx := context.Background()
	counter := &statementCounter{}
	pool, err := db.Open(ctx, dbtest.URL(t), db.PoolOptions{MaxConns: 10, Tracer: counter, StatementTimeout: 5 * time.Second})
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tokens, err := auth.NewTokens([]byte("api-test-secret-api-test-secret-0123"), time.Hour)
	require.NoError(t, err)
	relay := eventlog.NewRelay(pool, log, time.Now, time.Second)
	hub := eventlog.NewHub(pool, log)
	svc := service.New(service.Deps{Pool: pool, Log: log, Tokens: tokens, Relay: relay, Hub: hub})
	_, err = svc.SeedDemo(ctx)
	require.NoError(t, err)
	h := api.New(api.Config{Development: true, Introspection: true, MaxBodyBytes: 64 << 10, MaxComplexity: 3000, MaxDepth: 8,
		MaxAliases: 10, MaxRootFields: 10, APIKeyRate: 1000, APIKeyBurst: 1000, AnonymousPerMinute: 1000},
		api.Deps{Service: svc, Pool: pool, Log: log, Registry: prometheus.NewRegistry(), Version: "test"})
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	s := &server{t: t, url: ts.URL, handler: h, svc: svc, pool: pool, relay: relay, hub: hub, statements: counter, tokens: map[string]string{}}
	for _, who := range []string{"admin", "manager", "rep1", "rep2", "support", "analyst"} {
		sess, err := svc.IssueToken(ctx, service.DemoOrg, who+"@demo.test", time.Hour)
		require.NoError(t, err)
		s.tokens[who] = sess.Token
	}
	return s
}

type gqlResponse struct {
	Status int
	Data   map[string]any
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	}
}

// do posts a GraphQL request as the given demo user ("" for anonymous).
func (s *server) do(who, query string, vars map[string]any) gqlResponse {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, s.url+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if who != "" {
		req.Header.Set("Authorization", "Bearer "+s.tokens[who])
	}
	return s.send(req)
}

func (s *server) send(req *http.Request) gqlResponse {
	s.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := gqlResponse{Status: resp.StatusCode}
	require.NoError(s.t, json.Unmarshal(raw, &out), "body: %s", raw)
	return out
}

// code returns the extensions.code of the first error.
func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// relayAll publishes every appended event, so the change feed sees them.
func (s *server) relayAll(t testing.TB) {
	for {
		n, err := s.relay.PublishOnce(context.Background())
		require.NoError(t, err)
		if n == 0 {
			return
		}
	}
}

func TestErrorsCarryCodesAndFields(t *testing.T) {
	s := newServer(t)
	r := s.do("", `{ accounts(first: 1) { edges { node { id } } } }`, nil)
	require.Equal(t, "UNAUTHENTICATED", r.code())

	req, _ := http.NewRequest(http.MethodPost, s.url+"/graphql", strings.NewReader(`{"query":"{ viewer { id } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+s.tokens["rep1"]+"tampered")
	r = s.send(req)
	require.Equal(t, "UNAUTHENTICATED", r.code())
	require.Contains(t, r.Errors[0].Message, "not valid")

	r = s.do("analyst", `{ accounts(first: 1) { edges { node { id } } } }`, nil)
	require.Equal(t, "FORBIDDEN", r.code())

	r = s.do("rep1", `mutation { createAccount(input: {name: "x", domain: "not a domain"}) { account { id } } }`, nil)
	require.Equal(t, "BAD_USER_INPUT", r.code())
	require.Equal(t, "domain", r.Errors[0].Extensions["field"])

	r = s.do("rep1", `mutation { updateAccount(input: {id: "bm9wZQ", expectedVersion: 1, name: "x"}) { account { id } } }`, nil)
	require.Equal(t, "BAD_USER_INPUT", r.code())
	require.Equal(t, "id", r.Errors[0].Extensions["field"])

	r = s.do("rep1", `{ accounts(first: "ten") { edges { node { id } } } }`, nil)
	require.NotEmpty(t, r.code(), "validation errors carry a code too")

	r = s.do("rep1", `mutation($in: CreateAccountInput!) { createAccount(input: $in) { account { id } } }`,
		map[string]any{"in": map[string]any{"name": "x", "unknownField": 1}})
	require.NotEmpty(t, r.code())

	r = s.do("rep1", `mutation { createAccount(input: {name: "杭州云栖科技有限公司", registrationCode: "91330100MA2B3C4D5N"}) { account { id } } }`, nil)
	require.Equal(t, "CONFLICT", r.code(), "the demo data already has this registration code")
	require.NotEmpty(t, r.Errors[0].Extensions["existingId"])
	existing, _ := r.Errors[0].Extensions["existingId"].(string)
	r = s.do("rep1", `query($id: ID!) { node(id: $id) { ... on Account { name } } }`, map[string]any{"id": existing})
	require.Equal(t, "杭州云栖科技有限公司", dig(r.Data, "node", "name"), "existingId is a global ID that node() resolves")
}

func TestVisibilityAndMaskingThroughNestedFieldsAndNode(t *testing.T) {
	s := newServer(t)
	const q = `{ contacts(first: 50) { edges { node { id name phones emails account { name } } } } }`
	rep1 := s.do("rep1", q, nil)
	require.Empty(t, rep1.Errors)
	rep2 := s.do("rep2", q, nil)
	require.Empty(t, rep2.Errors)
	names := func(r gqlResponse) map[string]any {
		out := map[string]any{}
		for _, e := range dig(r.Data, "contacts", "edges").([]any) {
			out[dig(e, "node", "name").(string)] = dig(e, "node")
		}
		return out
	}
	require.Contains(t, names(rep1), "陈晓明")
	require.NotContains(t, names(rep2), "陈晓明", "rep2 does not see rep1's contacts")
	chen := names(rep1)["陈晓明"].(map[string]any)
	require.Equal(t, "+8613800138000", dig(chen, "phones", 0))

	support := names(s.do("support", q, nil))
	require.Equal(t, "+86*******8000", dig(support["陈晓明"], "phones", 0), "support sees phones masked")
	require.Equal(t, "c***@yunqi-tech.cn", dig(support["陈晓明"], "emails", 0))

	id := dig(chen, "id")
	r := s.do("rep2", `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id})
	require.Empty(t, r.Errors)
	require.Nil(t, r.Data["node"], "an invisible record is null, as if it did not exist")

	accounts := s.do("support", `{ accounts(first: 10, filter: {search: "云栖"}) { totalCount edges { node { contacts { name phones } } } } }`, nil)
	require.Empty(t, accounts.Errors)
	require.EqualValues(t, 1, dig(accounts.Data, "accounts", "totalCount"))
	nested := dig(accounts.Data, "accounts", "edges", 0, "node", "contacts").([]any)
	require.Len(t, nested, 2)
	for _, c := range nested {
		require.Regexp(t, `^\+86\*+\d{4}$`, dig(c, "phones", 0), "masked through account.contacts too")
	}
}

func TestHTTPHardening(t *testing.T) {
	s := newServer(t)
	get := func(query string) *http.Response {
		req, _ := http.NewRequest(http.MethodGet, s.url+"/graphql?query="+url.QueryEscape(query), nil)
		req.Header.Set("Authorization", "Bearer "+s.tokens["admin"])
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp
	}
	require.Equal(t, http.StatusOK, get(`{ viewer { name } }`).StatusCode)
	require.Equal(t, http.StatusMethodNotAllowed, get(`mutation { createAccount(input: {name: "via GET"}) { account { id } } }`).StatusCode)

	// A simple (CSRF-able) request is not a GraphQL request.
	resp, err := http.Post(s.url+"/graphql", "text/plain", strings.NewReader(`{"query":"mutation { createAccount(input: {name: \"csrf\"}) { account { id } } }"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.GreaterOrEqual(t, resp.StatusCode, 400)

	big := `{"query":"{ viewer { name } }","variables":{"pad":"` + strings.Repeat("x", 70<<10) + `"}}`
	resp, err = http.Post(s.url+"/graphql", "application/json", strings.NewReader(big))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	deep := `{ accounts { edges { node { owner { team { parent { parent { parent { parent { name } } } } } } } } } }`
	require.Equal(t, "BAD_USER_INPUT", s.do("admin", deep, nil).code())
	expensive := `{ accounts(first: 100) { edges { node { contacts(first: 100) { name } } } } }`
	require.Equal(t, "COMPLEXITY_LIMIT_EXCEEDED", s.do("admin", expensive, nil).code())
	aliases := "{"
	for i := range 12 {
		aliases += fmt.Sprintf(" v%d: organization { name }", i)
	}
	require.Equal(t, "BAD_USER_INPUT", s.do("admin", aliases+" }", nil).code(), "too many aliases and root fields")

	for _, path := range []string{"/healthz", "/readyz", "/metrics"} {
		resp, err := http.Get(s.url + path)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
}

func TestMutationsRoundTripWithIdempotencyHeaderAndVersions(t *testing.T) {
	s := newServer(t)
	create := func(key string) gqlResponse {
		body, _ := json.Marshal(map[string]any{"query": `mutation { createAccount(input: {name: "Pied Piper", domain: "piedpiper.example", custom: {tier: "gold"}}) { replayed account { id version name domain custom owner { email } } } }`})
		req, _ := http.NewRequest(http.MethodPost, s.url+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.tokens["rep2"])
		req.Header.Set("Idempotency-Key", key)
		return s.send(req)
	}
	first := create("abc")
	require.Empty(t, first.Errors)
	require.Equal(t, false, dig(first.Data, "createAccount", "replayed"))
	require.Equal(t, "rep2@demo.test", dig(first.Data, "createAccount", "account", "owner", "email"))
	require.Equal(t, map[string]any{"tier": "gold"}, dig(first.Data, "createAccount", "account", "custom"))
	again := create("abc")
	require.Empty(t, again.Errors)
	require.Equal(t, true, dig(again.Data, "createAccount", "replayed"))
	id := dig(first.Data, "createAccount", "account", "id")
	require.Equal(t, id, dig(again.Data, "createAccount", "account", "id"))

	upd := `mutation($id: ID!, $v: Int!) { updateAccount(input: {id: $id, expectedVersion: $v, industry: "Compression"}) { account { version industry } } }`
	r := s.do("rep2", upd, map[string]any{"id": id, "v": 1})
	require.Empty(t, r.Errors)
	require.EqualValues(t, 2, dig(r.Data, "updateAccount", "account", "version"))
	r = s.do("rep2", upd, map[string]any{"id": id, "v": 1})
	require.Equal(t, "CONFLICT", r.code())
	require.EqualValues(t, 2, r.Errors[0].Extensions["currentVersion"])

	trail := s.do("rep2", `query($id: ID!) { auditTrail(recordId: $id) { edges { node { type actor { email } changes { field before after } } } } }`,
		map[string]any{"id": id})
	require.Empty(t, trail.Errors)
	require.Equal(t, "account.updated", dig(trail.Data, "auditTrail", "edges", 1, "node", "type"))
	require.Equal(t, "industry", dig(trail.Data, "auditTrail", "edges", 1, "node", "changes", 0, "field"))
	require.Equal(t, "Compression", dig(trail.Data, "auditTrail", "edges", 1, "node", "changes", 0, "after"))
}

// Request errors follow the GraphQL-over-HTTP spec: 200 with application/json, 400 with
// application/graphql-response+json, never a "data" entry, 400 for what is not a GraphQL request.
func TestRequestErrorStatusesPerMediaType(t *testing.T) {
	s := newServer(t)
	post := func(body, accept string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, s.url+"/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.tokens["admin"])
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}
	for _, body := range []string{`{"query":"{ viewer { "}`, `{"query":"{ noSuchField }"}`} {
		status, out := post(body, "")
		require.Equal(t, http.StatusOK, status, body)
		require.NotContains(t, out, "data", body)
		require.NotEmpty(t, dig(out, "errors", 0, "extensions", "code"), body)
		status, out = post(body, "application/graphql-response+json")
		require.Equal(t, http.StatusBadRequest, status, body)
		require.NotContains(t, out, "data", body)
	}
	status, out := post(`{"qeury":"{ viewer { name } }"}`, "")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "BAD_USER_INPUT", dig(out, "errors", 0, "extensions", "code"))
	status, out = post(`{"query":"mutation { login(input: {email: \"a@b.c\", password: \"secret-password\"}) { token } }", "variables": 7}`, "")
	require.Equal(t, http.StatusBadRequest, status)
	raw, _ := json.Marshal(out)
	require.NotContains(t, string(raw), "secret-password", "a rejected body is never echoed back")
}

// Subscriptions also work over server-sent events: POST with Accept: text/event-stream.
// sse starts a subscription over Server-Sent Events as who and returns the stream's lines until it
// ends (with ctx or the server).
func (s *server) sse(ctx context.Context, who, body string) <-chan string {
	s.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/graphql", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+s.tokens[who])
	resp, err := http.DefaultClient.Do(req)
	require.NoError(s.t, err)
	s.t.Cleanup(func() { resp.Body.Close() })
	require.Equal(s.t, http.StatusOK, resp.StatusCode)
	require.Contains(s.t, resp.Header.Get("Content-Type"), "text/event-stream")
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	return lines
}

func TestSubscriptionOverSSE(t *testing.T) {
	s := newServer(t)
	s.relayAll(t)                                                            // the seed's events: a subscription without a cursor starts after them
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang guard
	defer cancel()
	go func() { _ = s.hub.Run(ctx) }()
	go func() { _ = s.relay.Run(ctx) }()

	lines := s.sse(ctx, "admin", `{"query":"subscription { recordChanged(types: [ACCOUNT]) { type recordType record { ... on Account { name } } } }"}`)
	created := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond) // let the subscription register; a later event is caught up anyway
		r := s.do("admin", `mutation { createAccount(input: {name: "SSE 实时公司"}) { account { id } } }`, nil)
		if len(r.Errors) > 0 {
			created <- fmt.Errorf("%v", r.Errors)
		}
		close(created)
	}()
	for line := range lines {
		if data, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(data, "account.created") {
			require.Contains(t, data, "SSE 实时公司")
			require.NoError(t, <-created)
			return
		}
	}
	t.Fatal("the event stream ended without the account.created event")
}
