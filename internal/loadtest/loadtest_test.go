package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheckResponse(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		ok     bool
	}{
		{"data", 200, `{"data":{"node":{"id":"x"}}}`, true},
		{"data with whitespace", 200, " {\n \"data\" : { \"a\": 1 } }\n", true},
		{"errors first", 200, `{"errors":[{"message":"no","extensions":{"code":"NOT_FOUND"}}],"data":null}`, false},
		{"errors after data", 200, `{"data":{"a":1},"errors":[{"message":"no"}]}`, false},
		{"errors with space before colon", 200, `{"data":null, "errors" : [{"message":"no"}]}`, false},
		{"errors null", 200, `{"errors":null,"data":{"a":1}}`, true},
		{"errors empty", 200, `{"errors":[ ],"data":{"a":1}}`, true},
		{"errors as a nested field", 200, `{"data":{"errors":[1],"x":{"errors":"y"}}}`, true},
		{"errors as a string value", 200, `{"data":{"title":"errors"},"x":"errors"}`, true},
		{"errors in a string with quotes", 200, `{"data":{"title":"a \"errors\": [1] \\"}}`, true},
		{"errors in an array of objects", 200, `{"data":[{"errors":[1]}]}`, true},
		{"status", 500, `{"data":{"a":1}}`, false},
		{"rate limited", 429, `{"errors":[{"message":"slow down"}]}`, false},
		{"not json", 200, `<html>oops</html>`, false},
		{"truncated", 200, `{"data":{"a":"}`, false},
		{"empty", 200, ``, false},
		{"unbalanced", 200, `{"data":{"a":1}}}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := CheckResponse(c.status, []byte(c.body))
			if c.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

const metricsSample = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 42
# HELP process_resident_memory_bytes_total a metric whose name merely starts alike
process_resident_memory_bytes_total 1
# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes 7.3428992e+07
# HELP process_virtual_memory_bytes Virtual memory size in bytes.
# TYPE process_virtual_memory_bytes gauge
process_virtual_memory_bytes 1.470484480e+09
http_requests_total{code="200",path="/graphql"} 1027 1700000000000
`

func TestParseMetric(t *testing.T) {
	v, ok, err := ParseMetric(strings.NewReader(metricsSample), RSSMetric)
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 73428992.0, v)

	v, ok, err = ParseMetric(strings.NewReader(metricsSample), "http_requests_total")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 1027.0, v)

	_, ok, err = ParseMetric(strings.NewReader(metricsSample), "process_open_fds")
	require.NoError(t, err)
	require.False(t, ok)

	_, _, err = ParseMetric(strings.NewReader("process_resident_memory_bytes lots\n"), RSSMetric)
	require.Error(t, err)
}

func TestRecorderSummarizes(t *testing.T) {
	var rec recorder
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 1; i <= 100; i++ { // latencies 1..100 ms, one request sent every 10 ms
		var err error
		if i%25 == 0 {
			err = io.ErrUnexpectedEOF
		}
		rec.add(start.Add(time.Duration(i-1)*10*time.Millisecond), time.Duration(i)*time.Millisecond, err)
	}
	r := rec.result()
	require.Equal(t, 100, r.Requests)
	require.Equal(t, 4, r.Errors)
	require.Equal(t, io.ErrUnexpectedEOF.Error(), r.FirstError)
	require.Equal(t, 50*time.Millisecond, r.P50)
	require.Equal(t, 90*time.Millisecond, r.P90)
	require.Equal(t, 99*time.Millisecond, r.P99)
	require.Equal(t, 100*time.Millisecond, r.Max)
	// The last request was sent at 990 ms and took 100 ms.
	require.Equal(t, 1090*time.Millisecond, r.Elapsed)
	require.InDelta(t, 96/1.09, r.Throughput, 0.001)

	require.Equal(t, Result{}, (&recorder{}).result())
}

func TestWriteTableAndJSON(t *testing.T) {
	results := []Result{
		{Scenario: "contacts-page", Connections: 32, Requests: 16000, Elapsed: 5 * time.Second, Throughput: 3200,
			P50: 9500 * time.Microsecond, P90: 14 * time.Millisecond, P99: 31250 * time.Microsecond, Max: 1200 * time.Millisecond,
			ServerRSS: 96 << 20, GoalRPS: 3000},
		{Scenario: "record-by-id", Rate: 9000, Connections: 32, Requests: 45000, Errors: 2, Elapsed: 5 * time.Second,
			Throughput: 8999.6, P50: 800 * time.Microsecond, P90: time.Millisecond, P99: 2 * time.Millisecond, Max: 3 * time.Millisecond,
			GoalRPS: 8000, FirstError: "HTTP 500: boom"},
		{Scenario: "accounts-page", Connections: 8, Requests: 10, Elapsed: time.Second, Throughput: 10},
	}
	var table bytes.Buffer
	require.NoError(t, WriteTable(&table, results))
	out := table.String()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	require.Len(t, lines, 5, out)
	require.Regexp(t, `^scenario\s+mode\s+requests\s+errors\s+duration\s+req/s\s+p50\s+p90\s+p99\s+max\s+server RSS\s+goal`, lines[0])
	require.Regexp(t, `^contacts-page\s+max, 32 conns\s+16000\s+0\s+5s\s+3200\s+9.50ms\s+14.00ms\s+31.25ms\s+1.20s\s+96.0 MiB\s+≥3000 met`, lines[1])
	require.Regexp(t, `^record-by-id\s+open 9000/s\s+45000\s+2\s+5s\s+9000\s+800µs\s+1.00ms\s+2.00ms\s+3.00ms\s+-\s+≥8000 MISSED`, lines[2])
	require.Regexp(t, `^accounts-page\s+max, 8 conns\s+10\s+0\s+1s\s+10\s+-\s+-\s+-\s+-\s+-\s+-`, lines[3])
	require.Equal(t, "record-by-id: 2 errors, first: HTTP 500: boom", lines[4])

	var js bytes.Buffer
	require.NoError(t, WriteJSON(&js, results))
	var decoded []map[string]any
	require.NoError(t, json.Unmarshal(js.Bytes(), &decoded))
	require.Len(t, decoded, 3)
	require.Equal(t, map[string]any{
		"scenario": "contacts-page", "mode": "max, 32 conns", "rate": 0.0, "connections": 32.0, "requests": 16000.0,
		"errors": 0.0, "duration_s": 5.0, "throughput_rps": 3200.0,
		"latency_ms":       map[string]any{"p50": 9.5, "p90": 14.0, "p99": 31.25, "max": 1200.0},
		"server_rss_bytes": float64(96 << 20), "goal_rps": 3000.0, "goal_met": true,
	}, decoded[0])
	require.Equal(t, false, decoded[1]["goal_met"])
	require.Equal(t, "HTTP 500: boom", decoded[1]["first_error"])
	require.NotContains(t, decoded[2], "goal_met")

	js.Reset()
	require.NoError(t, WriteJSON(&js, nil))
	require.Equal(t, "[]\n", js.String())
}

func TestGoalMet(t *testing.T) {
	cases := []struct {
		r         Result
		met, know bool
	}{
		{Result{Throughput: 5000}, false, false},
		{Result{GoalRPS: 3000, Throughput: 3001}, true, true},
		{Result{GoalRPS: 3000, Throughput: 2999}, false, true},
		{Result{GoalRPS: 3000, Throughput: 3500, Errors: 1}, false, true},
		{Result{GoalRPS: 3000, Rate: 3000, Throughput: 2990}, true, true}, // kept up with the schedule
		{Result{GoalRPS: 3000, Rate: 3000, Throughput: 2500}, false, true},
		{Result{GoalRPS: 3000, Rate: 1000, Throughput: 1000}, false, true}, // asked for less than the goal
	}
	for _, c := range cases {
		met, known := c.r.GoalMet()
		require.Equal(t, c.met, met, "%+v", c.r)
		require.Equal(t, c.know, known, "%+v", c.r)
	}
}

func TestSelectAndBodies(t *testing.T) {
	table := Scenarios()
	all, err := Select(table)
	require.NoError(t, err)
	require.Equal(t, []string{"contacts-page", "record-by-id", "accounts-page", "opportunities-page", "pipeline-board", "dashboard", "move-opportunity"}, Names(all))
	some, err := Select(table, "record-by-id, contacts-page")
	require.NoError(t, err)
	require.Equal(t, []string{"record-by-id", "contacts-page"}, Names(some))
	_, err = Select(table, "contacts-page,nope")
	require.ErrorContains(t, err, `unknown scenario "nope"`)

	byID := table[1]
	_, err = byID.Bodies(Fixture{})
	require.Error(t, err, "record-by-id needs contacts")
	bodies, err := byID.Bodies(Fixture{ContactIDs: []string{"Q29udGFjdDox", "Q29udGFjdDoy"}})
	require.NoError(t, err)
	require.Len(t, bodies, 2)
	var req struct {
		Query     string
		Variables map[string]string
	}
	require.NoError(t, json.Unmarshal(bodies[1], &req))
	require.Equal(t, byID.Query, req.Query)
	require.Equal(t, map[string]string{"id": "Q29udGFjdDoy"}, req.Variables)

	bodies, err = table[0].Bodies(Fixture{})
	require.NoError(t, err)
	require.Len(t, bodies, 1)
	require.NotContains(t, string(bodies[0]), "variables")

	require.Error(t, byID.Check(json.RawMessage(`{"node":null}`)))
	require.NoError(t, byID.Check(json.RawMessage(`{"node":{"id":"x"}}`)))
	require.Error(t, table[0].Check(json.RawMessage(`{"contacts":{"edges":[],"pageInfo":{"hasNextPage":false}}}`)))
	require.Error(t, table[0].Check(json.RawMessage(`{"contacts":{"pageInfo":{"hasNextPage":false}}}`)))
	require.NoError(t, table[0].Check(json.RawMessage(`{"contacts":{"edges":[{"cursor":"c"}],"pageInfo":{"hasNextPage":true}}}`)))
}

// fakeServer answers the preparation queries and the scenarios like Rapport would, when failing
// fails every tenth scenario request but the first with a GraphQL error (HTTP 200), and serves
// /metrics. Only a single run may use a failing server: each run's first request is a check that
// must succeed, and only the server's first request is sure to.
func fakeServer(t *testing.T, failing bool) (*httptest.Server, *atomic.Int64, *atomic.Int64) {
	var served, failed atomic.Int64
	mux := http.NewServeMux()
	graphql := func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer secret" || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "unauthenticated", http.StatusUnauthorized)
			return
		}
		var req struct{ Query string }
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.Contains(req.Query, "BenchCount"):
			io.WriteString(w, `{"data":{"contacts":{"totalCount":500}}}`)
		case strings.Contains(req.Query, "BenchFixture"):
			io.WriteString(w, `{"data":{"contacts":{"nodes":[{"id":"c1","account":{"id":"a1"}},{"id":"c2","account":null}]},"accounts":{"nodes":[{"id":"a1"}]}}}`)
		case strings.Contains(req.Query, "query Record"):
			if n := served.Add(1); failing && n > 1 && n%10 == 0 { // the first, checking request succeeds
				failed.Add(1)
				io.WriteString(w, `{"errors":[{"message":"boom","extensions":{"code":"INTERNAL"}}],"data":{"node":null}}`)
				return
			}
			io.WriteString(w, `{"data":{"node":{"id":"c1","name":"errors","title":"","emails":[],"account":{"name":"A"}}}}`)
		default:
			io.WriteString(w, `{"errors":[{"message":"unexpected query"}]}`)
		}
	}
	mux.HandleFunc("POST /graphql", graphql)
	mux.HandleFunc("POST "+RawPath+"record-by-id", graphql) // a raw baseline takes the same request
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, metricsSample)
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts, &served, &failed
}

func TestBenchCountsEveryRequestAndItsErrors(t *testing.T) {
	for _, rate := range []int{0, 200} {
		ts, served, failed := fakeServer(t, true)
		var progress bytes.Buffer
		b, err := New(Config{URL: ts.URL + "/", Token: "secret", Rate: rate, Duration: 300 * time.Millisecond,
			Warmup: 50 * time.Millisecond, Connections: 4, Prepare: 200, Progress: &progress})
		require.NoError(t, err)
		sel, err := Select(Scenarios(), "record-by-id")
		require.NoError(t, err)
		results, err := b.RunAll(context.Background(), sel)
		require.NoError(t, err)
		require.Len(t, results, 1)
		r := results[0]
		require.Contains(t, progress.String(), "nothing to do")
		require.Contains(t, progress.String(), "fixture: 1 contacts with an account")
		require.Equal(t, "record-by-id", r.Scenario)
		require.Equal(t, rate, r.Rate)
		require.Positive(t, r.Requests)
		require.Positive(t, r.Errors, "every tenth response carries GraphQL errors")
		// Every request the server saw after the check was either warm-up or measured, and every
		// failure among the measured ones was counted.
		require.LessOrEqual(t, int64(r.Requests), served.Load()-1)
		require.LessOrEqual(t, int64(r.Errors), failed.Load())
		require.InDelta(t, float64(r.Requests)/10, float64(r.Errors), 2)
		require.Contains(t, r.FirstError, "GraphQL errors")
		require.Equal(t, int64(73428992), r.ServerRSS)
		require.Positive(t, r.P50)
		require.GreaterOrEqual(t, r.Max, r.P99)
		if rate > 0 {
			require.InDelta(t, 60, r.Requests, 10, "300 ms at 200/s")
		}
	}
}

func TestBenchStopsWhenAScenarioFailsBeforeLoad(t *testing.T) {
	ts, _, _ := fakeServer(t, true)
	b, err := New(Config{URL: ts.URL, Token: "secret", Duration: time.Second, Connections: 2})
	require.NoError(t, err)
	_, err = b.RunAll(context.Background(), Scenarios()[:1])
	require.ErrorContains(t, err, "contacts-page: request 1 of 1 fails before any load")
	require.ErrorContains(t, err, "unexpected query")

	b, err = New(Config{URL: ts.URL, Token: "wrong", Duration: time.Second, Connections: 2})
	require.NoError(t, err)
	_, err = b.Setup(context.Background())
	require.ErrorContains(t, err, "HTTP 401")
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := Config{URL: "http://127.0.0.1:8080", Token: "t", Duration: time.Second, Connections: 1}
	_, err := New(good)
	require.NoError(t, err)
	for _, bad := range []func(*Config){
		func(c *Config) { c.URL = "127.0.0.1:8080" },
		func(c *Config) { c.Token = "" },
		func(c *Config) { c.Rate = -1 },
		func(c *Config) { c.Duration = 0 },
		func(c *Config) { c.Connections = 0 },
		func(c *Config) { c.Prepare = -1 },
	} {
		c := good
		bad(&c)
		_, err := New(c)
		require.Error(t, err, "%+v", c)
	}
}
