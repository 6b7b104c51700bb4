package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
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
	// Deals is how many open deals of the data set the default pipeline must hold; see
	// PrepareDeals. 0 skips their preparation.
	Deals int
	// Progress receives progress lines; nil discards them.
	Progress io.Writer
	// Target names the kind of server (TargetRapport, TargetRaw, TargetPostGraphile) for reports;
	// empty means Rapport.
	Target string
}

// Bench runs scenarios against one server.
type Bench struct {
	// moved counts the moves that succeeded in the last run of a MoveSource scenario, warm-up
	// included (what live subscribers are sent).
	moved      int
	cfg        Config
	client     *Client
	base       string
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
	if cfg.Warmup < 0 || cfg.Prepare < 0 || cfg.Deals < 0 {
		return nil, errors.New("warmup, prepare and deals may not be negative")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	base := strings.TrimRight(cfg.URL, "/")
	b := &Bench{cfg: cfg, base: base, endpoint: base + "/graphql", metricsURL: base + "/metrics"}
	b.client = &Client{HTTP: &http.Client{Timeout: 30 * time.Second}, Endpoint: b.endpoint, Token: cfg.Token}
	return b, nil
}

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
	if b.cfg.Deals > 0 {
		start := time.Now()
		st, err := PrepareDeals(ctx, b.client, b.cfg.Deals, min(8, b.cfg.Connections), func(line string) {
			fmt.Fprintln(b.cfg.Progress, line)
		})
		if err != nil {
			return Fixture{}, err
		}
		if st.Created+st.Replayed == 0 {
			fmt.Fprintf(b.cfg.Progress, "prepare deals: %d open deals of the data set in the default pipeline (%d stages, %d open), at least %d wanted: nothing to do\n",
				st.Before, st.Stages, st.Open, b.cfg.Deals)
		} else {
			fmt.Fprintf(b.cfg.Progress, "prepare deals: %d open deals of the data set in the default pipeline (%d stages, %d open), at least %d wanted: "+
				"created %d deals (%d replayed) at %d accounts (%d created) for %d owners (%s)\n",
				st.Before, st.Stages, st.Open, b.cfg.Deals, st.Created, st.Replayed, st.Accounts, st.CreatedAccounts, st.Owners,
				time.Since(start).Round(time.Millisecond))
		}
	}
	f, err := LoadFixture(ctx, b.client)
	if err != nil {
		return Fixture{}, err
	}
	fmt.Fprintf(b.cfg.Progress, "fixture: %d contacts with an account, %d accounts, default pipeline with %d stages\n",
		len(f.ContactIDs), len(f.AccountIDs), len(f.Pipeline.Stages))
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
	var targeter vegeta.Targeter
	var src Source
	var srcErr error
	if s.Source != nil {
		var err error
		if src, err = s.Source(ctx, b.client, f); err != nil {
			return Result{}, fmt.Errorf("%s: %w", s.Name, err)
		}
		if err := b.check(ctx, s, src); err != nil {
			return Result{}, err
		}
		targeter = sourceTargeter(b.base, b.cfg.Token, src, &srcErr)
	} else {
		bodies, err := s.Bodies(f)
		if err != nil {
			return Result{}, err
		}
		endpoint := b.endpoint
		if s.Path != "" {
			endpoint = b.base + s.Path
		}
		for i, body := range bodies {
			status, raw, err := b.client.post(ctx, endpoint, "application/json", b.cfg.Token, body)
			var data json.RawMessage
			if err == nil {
				data, err = decodeResponse(status, raw)
			}
			if err == nil && s.Check != nil {
				err = s.Check(data)
			}
			if err != nil {
				return Result{}, fmt.Errorf("%s: request %d of %d fails before any load: %w", s.Name, i+1, len(bodies), err)
			}
		}
		targeter = roundRobin(http.MethodPost, endpoint, b.cfg.Token, bodies)
	}
	// Every response goes back to the source, measured or not.
	feed := func(each func(*vegeta.Result)) func(*vegeta.Result) {
		if src == nil {
			return each
		}
		return func(r *vegeta.Result) {
			if slot, ok := slotOf(r.URL); ok {
				src.Done(slot, int(r.Code), r.Body)
			}
			each(r)
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

	if b.cfg.Warmup > 0 {
		fmt.Fprintf(b.cfg.Progress, "%s: warming up for %s\n", s.Name, b.cfg.Warmup)
		if err := b.attack(ctx, client, targeter, b.cfg.Warmup, s.Name, feed(func(*vegeta.Result) {})); err != nil {
			return Result{}, err
		}
		if srcErr != nil {
			return Result{}, fmt.Errorf("%s: %w", s.Name, srcErr)
		}
	}
	fmt.Fprintf(b.cfg.Progress, "%s: measuring for %s (%s)\n", s.Name, b.cfg.Duration, Result{Rate: b.cfg.Rate, Connections: b.cfg.Connections}.Mode())
	var rec recorder
	err := b.attack(ctx, client, targeter, b.cfg.Duration, s.Name, feed(func(r *vegeta.Result) {
		rec.add(r.Timestamp, r.Latency, outcome(s, r))
	}))
	if err != nil {
		return Result{}, err
	}
	if srcErr != nil {
		return Result{}, fmt.Errorf("%s: %w", s.Name, srcErr)
	}
	if ms, ok := src.(*MoveSource); ok {
		b.moved = ms.Moved()
	}
	res := rec.result()
	res.Scenario, res.Rate, res.Connections, res.GoalRPS = s.Name, b.cfg.Rate, b.cfg.Connections, s.GoalRPS
	res.Target = b.cfg.Target
	res.ItemsPerRequest = s.ItemsPerRequest

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

// check sends one request of src and checks its response, so that a broken scenario fails before
// any load.
func (b *Bench) check(ctx context.Context, s Scenario, src Source) error {
	slot, body, err := src.Next()
	if err != nil {
		return fmt.Errorf("%s: %w", s.Name, err)
	}
	var status int
	var raw []byte
	if t, ok := src.(Targeted); ok {
		path, contentType := t.Target(slot)
		status, raw, err = b.client.PostTo(ctx, b.base+path, contentType, body)
	} else {
		status, raw, err = b.client.Post(ctx, body)
	}
	src.Done(slot, status, raw)
	var data json.RawMessage
	switch {
	case err != nil:
	case s.Accept != nil:
		err = s.Accept(status, raw)
	default:
		data, err = decodeResponse(status, raw)
		if err == nil && s.Check != nil {
			err = s.Check(data)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: the first request fails before any load: %w", s.Name, err)
	}
	return nil
}

// sourceTargeter returns a targeter that posts the requests src makes, each to base's /graphql
// (or, for a Targeted source, to its path, without the token) with a query parameter "slot" that
// identifies it to src.Done (the server ignores it). When src fails, the error is kept in *failed
// and the attack stops.
func sourceTargeter(base, token string, src Source, failed *error) vegeta.Targeter {
	header := http.Header{
		"Content-Type":  {"application/json"},
		"Accept":        {"application/json"},
		"Authorization": {"Bearer " + token},
	}
	endpoint := base + "/graphql"
	targeted, _ := src.(Targeted)
	var mu sync.Mutex
	return func(t *vegeta.Target) error {
		slot, body, err := src.Next()
		if err != nil {
			mu.Lock()
			if *failed == nil {
				*failed = err
			}
			mu.Unlock()
			return err
		}
		t.Method, t.URL, t.Header, t.Body = http.MethodPost, endpoint+"?slot="+strconv.Itoa(slot), header, body
		if targeted != nil {
			path, contentType := targeted.Target(slot)
			t.URL = base + path + "?slot=" + strconv.Itoa(slot)
			t.Header = http.Header{"Content-Type": {contentType}, "Accept": {"application/json"}}
		}
		return nil
	}
}

// slotOf returns the slot in a URL made by sourceTargeter.
func slotOf(u string) (int, bool) {
	i := strings.LastIndex(u, "?slot=")
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(u[i+len("?slot="):])
	return n, err == nil
}

// outcome returns why a request of s failed, or nil: no response at all, or a response that
// s.Accept (default CheckResponse) rejects.
func outcome(s Scenario, r *vegeta.Result) error {
	if r.Code == 0 {
		msg := r.Error
		if msg == "" {
			msg = "no response"
		}
		return errors.New(msg)
	}
	if s.Accept != nil {
		return s.Accept(int(r.Code), r.Body)
	}
	return CheckResponse(int(r.Code), r.Body)
}
