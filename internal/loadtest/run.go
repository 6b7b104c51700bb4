package loadtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Config says which server to load and how.
type Config struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8080; GraphQL is at /graphql and the
	// metrics at /metrics.
	URL string
	// Token is a user's bearer token. Use a user's, not an API key: API keys are rate limited.
	Token string
	// Rate is the arrival rate in requests/s (open loop: requests are sent on schedule whether or
	// not earlier ones have been answered, so a slow server shows in the latencies instead of
	// slowing the load down). 0 means as fast as the server answers, with Connections requests in
	// flight (closed loop), which measures maximum throughput.
	Rate int
	// Duration is how long each scenario is measured.
	Duration time.Duration
	// Warmup is how long each scenario runs, unmeasured, before it is measured (connections
	// opened, caches and pools warm); 0 skips it.
	Warmup time.Duration
	// Connections is the most TCP connections to the server; in a closed loop also the number of
	// requests in flight. In an open loop requests wait for a free connection, and the wait counts
	// in their latency.
	Connections int
	// Timeout bounds each request (default 10s).
	Timeout time.Duration
	// Prepare is how many contacts the organization must have; see Prepare. 0 skips preparation.
	Prepare int
	// Progress receives progress lines; nil discards them.
	Progress io.Writer
}

// Bench runs scenarios against one server.
type Bench struct {
	cfg        Config
	client     *Client
	endpoint   string
	metricsURL string
}

// New checks cfg, fills in its defaults and returns a Bench.
func New(cfg Config) (*Bench, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("the server URL %q is not an http(s) URL", cfg.URL)
	}
	if cfg.Token == "" {
		return nil, errors.New("no token: get one with `rapport token --org demo --user admin@demo.test`")
	}
	if cfg.Rate < 0 {
		return nil, fmt.Errorf("the rate is %d: 0 (maximum throughput) or a number of requests per second", cfg.Rate)
	}
	if cfg.Duration <= 0 {
		return nil, fmt.Errorf("the duration is %s: it must be positive", cfg.Duration)
	}
	if cfg.Connections <= 0 {
		return nil, fmt.Errorf("connections is %d: it must be positive", cfg.Connections)
	}
	if cfg.Warmup < 0 || cfg.Prepare < 0 {
		return nil, errors.New("warmup and prepare may not be negative")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	base := strings.TrimRight(cfg.URL, "/")
	b := &Bench{cfg: cfg, endpoint: base + "/graphql", metricsURL: base + "/metrics"}
	b.client = &Client{HTTP: &http.Client{Timeout: 30 * time.Second}, Endpoint: b.endpoint, Token: cfg.Token}
	return b, nil
}

// Client returns the client the bench uses for preparation and checks.
func (b *Bench) Client() *Client { return b.client }

// Setup prepares the data set (Config.Prepare) and reads the fixture the scenarios refer to.
func (b *Bench) Setup(ctx context.Context) (Fixture, error) {
	if b.cfg.Prepare > 0 {
		start := time.Now()
		st, err := Prepare(ctx, b.client, b.cfg.Prepare, min(8, b.cfg.Connections))
		if err != nil {
			return Fixture{}, err
		}
		if st.CreatedAccounts+st.CreatedContacts+st.Reused == 0 {
			fmt.Fprintf(b.cfg.Progress, "prepare: %d contacts visible, at least %d wanted: nothing to do\n", st.Before, b.cfg.Prepare)
		} else {
			fmt.Fprintf(b.cfg.Progress, "prepare: %d contacts visible, at least %d wanted: created %d accounts and %d contacts, %d records existed already (%s)\n",
				st.Before, b.cfg.Prepare, st.CreatedAccounts, st.CreatedContacts, st.Reused, time.Since(start).Round(time.Millisecond))
		}
	}
	f, err := LoadFixture(ctx, b.client)
	if err != nil {
		return Fixture{}, err
	}
	fmt.Fprintf(b.cfg.Progress, "fixture: %d contacts with an account, %d accounts\n", len(f.ContactIDs), len(f.AccountIDs))
	return f, nil
}

// RunAll sets up the fixture and runs the scenarios one after the other. It stops at the first
// scenario that cannot run (its requests fail before any load, or ctx ends) and returns the results
// so far with the error.
func (b *Bench) RunAll(ctx context.Context, scenarios []Scenario) ([]Result, error) {
	f, err := b.Setup(ctx)
	if err != nil {
		return nil, err
	}
	var results []Result
	for _, s := range scenarios {
		r, err := b.Run(ctx, s, f)
		if err != nil {
			return results, err
		}
		results = append(results, r)
	}
	return results, nil
}

// Run measures one scenario: it sends each distinct request once and checks its data (so that a
// broken scenario fails at once instead of measuring errors), warms up, measures for
// Config.Duration while checking every response, and then reads the server's resident memory.
func (b *Bench) Run(ctx context.Context, s Scenario, f Fixture) (Result, error) {
	bodies, err := s.Bodies(f)
	if err != nil {
		return Result{}, err
	}
	for i, body := range bodies {
		data, err := b.client.Do(ctx, body)
		if err == nil && s.Check != nil {
			err = s.Check(data)
		}
		if err != nil {
			return Result{}, fmt.Errorf("%s: request %d of %d fails before any load: %w", s.Name, i+1, len(bodies), err)
		}
	}

	// One transport for warm-up and measurement, so the measurement starts on open connections.
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        b.cfg.Connections,
		MaxIdleConnsPerHost: b.cfg.Connections,
		MaxConnsPerHost:     b.cfg.Connections,
		IdleConnTimeout:     90 * time.Second,
	}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: b.cfg.Timeout}
	targeter := roundRobin(http.MethodPost, b.endpoint, b.cfg.Token, bodies)

	if b.cfg.Warmup > 0 {
		fmt.Fprintf(b.cfg.Progress, "%s: warming up for %s\n", s.Name, b.cfg.Warmup)
		if err := b.attack(ctx, client, targeter, b.cfg.Warmup, s.Name, func(*vegeta.Result) {}); err != nil {
			return Result{}, err
		}
	}
	fmt.Fprintf(b.cfg.Progress, "%s: measuring for %s (%s)\n", s.Name, b.cfg.Duration, Result{Rate: b.cfg.Rate, Connections: b.cfg.Connections}.Mode())
	var rec recorder
	err = b.attack(ctx, client, targeter, b.cfg.Duration, s.Name, func(r *vegeta.Result) {
		rec.add(r.Timestamp, r.Latency, outcome(r))
	})
	if err != nil {
		return Result{}, err
	}
	res := rec.result()
	res.Scenario, res.Rate, res.Connections, res.GoalRPS = s.Name, b.cfg.Rate, b.cfg.Connections, s.GoalRPS

	rss, ok, err := ScrapeMetric(ctx, b.client.HTTP, b.metricsURL, RSSMetric)
	switch {
	case err != nil:
		fmt.Fprintf(b.cfg.Progress, "%s: server memory unknown: %v\n", s.Name, err)
	case !ok:
		fmt.Fprintf(b.cfg.Progress, "%s: server memory unknown: %s exports no %s\n", s.Name, b.metricsURL, RSSMetric)
	default:
		res.ServerRSS = int64(rss)
	}
	return res, nil
}

// attack sends requests from targeter for d and hands every result to each, in the order they
// arrive. It returns early, with ctx's error, when ctx ends.
func (b *Bench) attack(ctx context.Context, client *http.Client, targeter vegeta.Targeter, d time.Duration, name string, each func(*vegeta.Result)) error {
	opts := []func(*vegeta.Attacker){vegeta.Client(client), vegeta.Workers(uint64(b.cfg.Connections))}
	pacer := vegeta.ConstantPacer{Freq: b.cfg.Rate, Per: time.Second}
	if b.cfg.Rate == 0 {
		// Closed loop: a zero rate sends as fast as the workers come back, and capping the workers
		// at the connections keeps exactly that many requests in flight.
		pacer = vegeta.ConstantPacer{}
		opts = append(opts, vegeta.MaxWorkers(uint64(b.cfg.Connections)))
	}
	atk := vegeta.NewAttacker(opts...)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ctx.Done():
			atk.Stop()
		case <-done:
		}
	}()
	for r := range atk.Attack(targeter, pacer, d, name) {
		each(r)
	}
	return ctx.Err()
}

// roundRobin returns a targeter that posts bodies in turn to endpoint with the bearer token. It is
// safe for concurrent use, as vegeta's workers require.
func roundRobin(method, endpoint, token string, bodies [][]byte) vegeta.Targeter {
	header := http.Header{
		"Content-Type":  {"application/json"},
		"Accept":        {"application/json"},
		"Authorization": {"Bearer " + token},
	}
	var next atomic.Uint64
	return func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		t.Method, t.URL, t.Header = method, endpoint, header // vegeta copies the header per request
		t.Body = bodies[i%uint64(len(bodies))]
		return nil
	}
}

// outcome returns why a request failed, or nil: no response at all, or a response CheckResponse
// rejects.
func outcome(r *vegeta.Result) error {
	if r.Code == 0 {
		msg := r.Error
		if msg == "" {
			msg = "no response"
		}
		return errors.New(msg)
	}
	return CheckResponse(int(r.Code), r.Body)
}
