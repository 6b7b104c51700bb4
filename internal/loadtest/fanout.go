package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/coder/websocket"
)

// FanoutQuery is the subscription each fan-out subscriber runs: what a live board needs to move a
// card without refetching it.
const FanoutQuery = `subscription Board($pipelineId: ID!) { pipelineChanged(pipelineId: $pipelineId) {
  cursor kind occurredAt fromStage { id }
  opportunity { id name version stage { id } amount { amount currency } closeDate probability stageEnteredAt owner { id name } } } }`

// FanoutScalarsQuery is FanoutQuery without the nested objects (stage, fromStage, owner), which
// the server resolves per message and subscriber: only what the change's snapshot carries.
const FanoutScalarsQuery = `subscription Board($pipelineId: ID!) { pipelineChanged(pipelineId: $pipelineId) {
  cursor kind occurredAt
  opportunity { id name version amount { amount currency } closeDate probability stageEnteredAt } } }`

// FanoutConfig says how to measure the live board fan-out.
type FanoutConfig struct {
	// URLs are the base URLs of the API processes; subscribers connect to them in turn, and the
	// moves go through the first.
	URLs []string
	// Token is a user's bearer token (the subscribers and the moves use it).
	Token string
	// Subscribers is the number of WebSocket connections, one pipelineChanged subscription each.
	Subscribers int
	// Moves is the number of measured moves; Rate the moves per second they are sent at (one at a
	// time: a move that takes longer than 1/Rate delays the next).
	Moves int
	Rate  float64
	// Wait bounds how long after the last move the subscribers may take to receive it (default 10s).
	Wait time.Duration
	// Throughput is how long move-opportunity is measured at maximum throughput, once before the
	// subscribers connect and once with them connected; 0 skips both.
	Throughput time.Duration
	// Connections is the requests in flight of the throughput measurements (default 16).
	Connections int
	// Query is the subscription document (default FanoutQuery); it must select the opportunity's
	// id and version and take the variable $pipelineId.
	Query string
	// Progress receives progress lines; nil discards them.
	Progress io.Writer
}

// Percentiles summarizes latencies (nearest rank).
type Percentiles struct {
	N                       int
	Min, P50, P90, P99, Max time.Duration
}

// percentiles summarizes ds, which it sorts.
func percentiles(ds []time.Duration) Percentiles {
	if len(ds) == 0 {
		return Percentiles{}
	}
	slices.Sort(ds)
	return Percentiles{N: len(ds), Min: ds[0], P50: quantile(ds, 0.50), P90: quantile(ds, 0.90), P99: quantile(ds, 0.99), Max: ds[len(ds)-1]}
}

// FanoutResult is what a fan-out measurement found.
type FanoutResult struct {
	// URLs and PerURL: the servers and how many subscribers each had.
	URLs   []string
	PerURL []int
	// Subscribers is the number of subscriptions; Failed those that ended early (an error or a
	// closed connection).
	Subscribers, Failed int
	// Moves counts the measured moves that committed; MoveErrors those that failed.
	Moves, MoveErrors int
	// Expected is Moves times the subscribers; Received the measured moves' messages that arrived,
	// Lost those that did not arrive within Wait, Duplicates those that arrived more than once.
	// Unexpected counts messages about changes the tool did not make during the measurement.
	Expected, Received, Lost, Duplicates, Unexpected int
	// FromSend is the time from right before a move's request was sent to each subscriber's receipt
	// of its message (nothing subtracted); ByURL splits it by the subscriber's server.
	FromSend Percentiles
	ByURL    []Percentiles
	// FromResponse is the time from the move's HTTP response to each receipt; negative when the
	// message arrived first.
	FromResponse Percentiles
	// Commit is the moves' HTTP round trip.
	Commit Percentiles
	// Base and Loaded are move-opportunity at maximum throughput without and with the subscribers
	// connected (zero when not measured); LoadedDelivered counts the messages the subscribers got
	// about the moves of the loaded run (of LoadedExpected).
	Base, Loaded                    Result
	LoadedDelivered, LoadedExpected int
}

// Cost returns how much write throughput the subscribers cost (1 - loaded/base), and whether it was
// measured.
func (r FanoutResult) Cost() (float64, bool) {
	if r.Base.Throughput <= 0 || r.Loaded.Requests == 0 {
		return 0, false
	}
	return 1 - r.Loaded.Throughput/r.Base.Throughput, true
}

// sent is a measured move: its message key and when its request left and its response came back.
type sent struct {
	key        string
	start, end time.Time
}

// RunFanout measures how fast a deal move reaches live board subscribers: it opens Subscribers
// WebSocket subscriptions (graphql-transport-ws) to pipelineChanged of the default pipeline, spread
// over the URLs in turn, waits until every one delivers a probe move, then moves deals of the data
// set through the first URL at Rate and times each move's message at every subscriber. With
// Throughput set, it also measures move-opportunity at maximum throughput before the subscribers
// connect and while they are connected.
func RunFanout(ctx context.Context, cfg FanoutConfig) (FanoutResult, error) {
	res := FanoutResult{URLs: cfg.URLs}
	switch {
	case len(cfg.URLs) == 0:
		return res, errors.New("fan-out: give at least one server URL")
	case cfg.Subscribers <= 0 || cfg.Moves <= 0 || cfg.Rate <= 0:
		return res, errors.New("fan-out: subscribers, moves and rate must be positive")
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 10 * time.Second
	}
	if cfg.Connections <= 0 {
		cfg.Connections = 16
	}
	if cfg.Query == "" {
		cfg.Query = FanoutQuery
	}
	if cfg.Progress == nil {
		cfg.Progress = io.Discard
	}
	progress := func(format string, args ...any) { fmt.Fprintf(cfg.Progress, "fanout: "+format+"\n", args...) }
	duration := cfg.Throughput
	if duration <= 0 {
		duration = time.Second // not used
	}
	pause := min(time.Second, cfg.Throughput/5)
	b, err := New(Config{URL: cfg.URLs[0], Token: cfg.Token, Duration: duration, Warmup: pause,
		Connections: cfg.Connections, Progress: cfg.Progress})
	if err != nil {
		return res, err
	}
	for _, u := range cfg.URLs[1:] {
		if _, err := New(Config{URL: u, Token: cfg.Token, Duration: time.Second, Connections: 1}); err != nil {
			return res, err
		}
	}
	f, err := LoadFixture(ctx, b.client)
	if err != nil {
		return res, err
	}
	if f.Pipeline.ID == "" {
		return res, errors.New("fan-out: the organization has no pipeline")
	}
	moveScenario, err := Select(Scenarios(), "move-opportunity")
	if err != nil {
		return res, err
	}
	if cfg.Throughput > 0 {
		progress("write throughput without subscribers")
		if res.Base, err = b.Run(ctx, moveScenario[0], f); err != nil {
			return res, err
		}
		time.Sleep(pause) // let the relay publish the run's last changes before subscribing
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	progress("connecting %d subscribers", cfg.Subscribers)
	subs, err := connectAll(ctx, cfg, f.Pipeline.ID)
	defer closeAll(subs)
	if err != nil {
		return res, err
	}
	res.Subscribers, res.PerURL = len(subs), make([]int, len(cfg.URLs))
	for _, s := range subs {
		res.PerURL[s.server]++
	}

	deals, stages, err := LoadMoveDeals(ctx, b.client, f.Pipeline, 1000)
	if err != nil {
		return res, err
	}
	src, err := NewMoveSource(deals, stages)
	if err != nil {
		return res, err
	}
	mv := mover{c: b.client, src: src}
	probes, err := waitLive(ctx, subs, mv)
	if err != nil {
		return res, err
	}
	progress("all %d subscribers live after %d probe moves; measuring %d moves at %.0f/s", len(subs), len(probes), cfg.Moves, cfg.Rate)

	var moves []sent
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.Rate))
	for range cfg.Moves {
		select {
		case <-ctx.Done():
			tick.Stop()
			return res, ctx.Err()
		case <-tick.C:
		}
		m, err := mv.move(ctx)
		if err != nil {
			res.MoveErrors++
			if res.MoveErrors == 1 {
				progress("a move failed: %v", err)
			}
			continue
		}
		moves = append(moves, m)
	}
	tick.Stop()
	res.Moves = len(moves)
	keys := make([]string, len(moves))
	for i, m := range moves {
		keys[i] = m.key
	}
	deadline := time.Now().Add(cfg.Wait)
	for time.Now().Before(deadline) && !allHave(subs, keys) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, s := range subs {
		s.recording.Store(false)
	}
	summarize(&res, subs, moves, probes)

	if cfg.Throughput > 0 {
		progress("write throughput with %d subscribers connected", len(subs))
		before := make([]int64, len(subs))
		for i, s := range subs {
			before[i] = s.messages.Load()
		}
		if res.Loaded, err = b.Run(ctx, moveScenario[0], f); err != nil {
			return res, err
		}
		// Let the subscribers drain what the run sent them, then count it.
		moved := int64(b.moved) // warm-up included
		drain := time.Now().Add(cfg.Wait)
		for time.Now().Before(drain) && delivered(subs, before) < moved*int64(len(subs)) {
			time.Sleep(50 * time.Millisecond)
		}
		res.LoadedDelivered, res.LoadedExpected = int(delivered(subs, before)), int(moved)*len(subs)
	}
	for _, s := range subs {
		if s.failure() != nil {
			res.Failed++
		}
	}
	return res, nil
}

// delivered counts the messages the subscribers received since before.
func delivered(subs []*subscriber, before []int64) int64 {
	var n int64
	for i, s := range subs {
		n += s.messages.Load() - before[i]
	}
	return n
}

// summarize computes the latencies and losses of the measured moves.
func summarize(res *FanoutResult, subs []*subscriber, moves []sent, probes []string) {
	known := map[string]bool{}
	for _, m := range moves {
		known[m.key] = true
	}
	for _, p := range probes {
		known[p] = true
	}
	var fromSend, fromResp []time.Duration
	byURL := make([][]time.Duration, len(res.URLs))
	for _, s := range subs {
		s.mu.Lock()
		for _, m := range moves {
			at, ok := s.seen[m.key]
			if !ok {
				res.Lost++
				continue
			}
			res.Received++
			fromSend = append(fromSend, at.Sub(m.start))
			fromResp = append(fromResp, at.Sub(m.end))
			byURL[s.server] = append(byURL[s.server], at.Sub(m.start))
		}
		for k := range s.seen {
			if !known[k] {
				res.Unexpected++
			}
		}
		res.Duplicates += s.dups
		s.mu.Unlock()
	}
	res.Expected = len(moves) * len(subs)
	res.FromSend, res.FromResponse = percentiles(fromSend), percentiles(fromResp)
	res.ByURL = make([]Percentiles, len(byURL))
	for i, ds := range byURL {
		res.ByURL[i] = percentiles(ds)
	}
	commits := make([]time.Duration, len(moves))
	for i, m := range moves {
		commits[i] = m.end.Sub(m.start)
	}
	res.Commit = percentiles(commits)
}

// allHave reports whether every subscriber has received the messages of keys.
func allHave(subs []*subscriber, keys []string) bool {
	for _, s := range subs {
		if !s.hasAll(keys) {
			return false
		}
	}
	return true
}

// waitLive returns once every subscriber is live: a subscription without a cursor starts after the
// last change published when the server handles it, which the protocol does not acknowledge, so
// move a deal until every subscriber has received the latest such probe. It returns the probes'
// message keys.
func waitLive(ctx context.Context, subs []*subscriber, mv mover) ([]string, error) {
	var probes []string
	for len(probes) < 30 {
		m, err := mv.move(ctx)
		if err != nil {
			return probes, fmt.Errorf("fan-out: probe move: %w", err)
		}
		probes = append(probes, m.key)
		deadline := time.Now().Add(time.Second)
		for time.Now().Before(deadline) {
			if allHave(subs, probes[len(probes)-1:]) {
				return probes, nil
			}
			for _, s := range subs {
				if err := s.failure(); err != nil {
					return probes, fmt.Errorf("fan-out: subscriber %d (%s): %w", s.n, s.url, err)
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	missing := 0
	for _, s := range subs {
		if !s.hasAll(probes[len(probes)-1:]) {
			missing++
		}
	}
	return probes, fmt.Errorf("fan-out: %d of %d subscribers delivered none of %d probe moves", missing, len(subs), len(probes))
}

// mover makes one move at a time through the bench client.
type mover struct {
	c   *Client
	src *MoveSource
}

// move moves the next deal and returns its message key with the time right before sending and
// right after the response.
func (mv mover) move(ctx context.Context) (sent, error) {
	slot, body, err := mv.src.Next()
	if err != nil {
		return sent{}, err
	}
	start := time.Now()
	status, raw, err := mv.c.Post(ctx, body)
	end := time.Now()
	mv.src.Done(slot, status, raw)
	if err != nil {
		return sent{}, err
	}
	data, err := decodeResponse(status, raw)
	if err != nil {
		return sent{}, err
	}
	var out struct {
		MoveOpportunity struct {
			Opportunity struct {
				ID      string
				Version int
			}
		}
	}
	if err := json.Unmarshal(data, &out); err != nil {
		return sent{}, err
	}
	o := out.MoveOpportunity.Opportunity
	return sent{key: changeKey(o.ID, o.Version), start: start, end: end}, nil
}

// changeKey identifies the change that brought a deal to a version.
func changeKey(id string, version int) string { return fmt.Sprintf("%s#%d", id, version) }

// subscriber is one WebSocket connection with one pipelineChanged subscription.
type subscriber struct {
	n      int
	server int // index into the URLs
	url    string
	conn   *websocket.Conn

	messages  atomic.Int64 // every change received
	recording atomic.Bool  // while true, every change's key and time of receipt is kept
	mu        sync.Mutex
	seen      map[string]time.Time
	dups      int
	err       error
}

func (s *subscriber) hasAll(keys []string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, k := range keys {
		if _, ok := s.seen[k]; !ok {
			return false
		}
	}
	return true
}

func (s *subscriber) failure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *subscriber) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
}

// wsURL returns the GraphQL WebSocket URL of a server's base URL.
func wsURL(base string) string {
	base = strings.TrimRight(base, "/") + "/graphql"
	if rest, ok := strings.CutPrefix(base, "https://"); ok {
		return "wss://" + rest
	}
	return "ws://" + strings.TrimPrefix(base, "http://")
}

// wsMessage is a graphql-transport-ws message.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// connectAll opens the subscriptions, at most 16 handshakes at a time, and returns those it opened.
func connectAll(ctx context.Context, cfg FanoutConfig, pipelineID string) ([]*subscriber, error) {
	subs := make([]*subscriber, cfg.Subscribers)
	httpClient := &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	idx := make([]int, cfg.Subscribers)
	for i := range idx {
		idx[i] = i
	}
	err := parallel(ctx, idx, 16, func(dialCtx context.Context, i int) error {
		server := i % len(cfg.URLs)
		s := &subscriber{n: i, server: server, url: cfg.URLs[server], seen: map[string]time.Time{}}
		s.recording.Store(true)
		if err := s.connect(dialCtx, httpClient, cfg.Token, cfg.Query, pipelineID); err != nil {
			return fmt.Errorf("fan-out: subscriber %d (%s): %w", i, s.url, err)
		}
		subs[i] = s
		go s.read(ctx) // ctx, not dialCtx, which ends when the connecting is done
		return nil
	})
	out := slices.DeleteFunc(subs, func(s *subscriber) bool { return s == nil })
	return out, err
}

// closeAll closes the subscribers' connections.
func closeAll(subs []*subscriber) {
	for _, s := range subs {
		_ = s.conn.CloseNow()
	}
}

// connect dials, authenticates in connection_init and subscribes.
func (s *subscriber) connect(ctx context.Context, hc *http.Client, token, query, pipelineID string) error {
	dialCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// The token goes on the upgrade request too: 200 connections from one address without it
	// would be throttled as anonymous requests (RAPPORT_ANONYMOUS_PER_MINUTE).
	conn, resp, err := websocket.Dial(dialCtx, wsURL(s.url), &websocket.DialOptions{HTTPClient: hc,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}}, Subprotocols: []string{"graphql-transport-ws"}})
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		return err
	}
	s.conn = conn
	conn.SetReadLimit(1 << 20)
	init, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	if err := s.write(dialCtx, wsMessage{Type: "connection_init", Payload: init}); err != nil {
		conn.CloseNow()
		return err
	}
	for {
		var m wsMessage
		_, data, err := conn.Read(dialCtx)
		if err == nil {
			err = json.Unmarshal(data, &m)
		}
		if err != nil {
			conn.CloseNow()
			return fmt.Errorf("waiting for connection_ack: %w", err)
		}
		if m.Type == "connection_ack" {
			break
		}
		if m.Type == "ping" {
			_ = s.write(dialCtx, wsMessage{Type: "pong"})
		}
	}
	payload, _ := json.Marshal(map[string]any{"query": query, "variables": map[string]any{"pipelineId": pipelineID}})
	if err := s.write(dialCtx, wsMessage{ID: "1", Type: "subscribe", Payload: payload}); err != nil {
		conn.CloseNow()
		return err
	}
	return nil
}

func (s *subscriber) write(ctx context.Context, m wsMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return s.conn.Write(ctx, websocket.MessageText, b)
}

// read receives messages until the connection ends, noting the time of receipt of every change
// right after it is read.
func (s *subscriber) read(ctx context.Context) {
	for {
		_, data, err := s.conn.Read(ctx)
		at := time.Now()
		if err != nil {
			if ctx.Err() == nil {
				s.fail(fmt.Errorf("connection ended: %w", err))
			}
			return
		}
		var m wsMessage
		if err := json.Unmarshal(data, &m); err != nil {
			s.fail(fmt.Errorf("a message that is not JSON: %s", excerpt(data)))
			continue
		}
		switch m.Type {
		case "ping":
			_ = s.write(ctx, wsMessage{Type: "pong"})
			continue
		case "pong":
			continue
		case "next":
		default: // error, complete: the subscription is over
			s.fail(fmt.Errorf("%s: %s", m.Type, excerpt(m.Payload)))
			continue
		}
		key, err := messageKey(m.Payload)
		if err != nil {
			s.fail(err)
			continue
		}
		s.messages.Add(1)
		if !s.recording.Load() {
			continue
		}
		s.mu.Lock()
		if _, ok := s.seen[key]; ok {
			s.dups++
		} else {
			s.seen[key] = at
		}
		s.mu.Unlock()
	}
}

// messageKey returns the change key of a pipelineChanged "next" payload.
func messageKey(payload json.RawMessage) (string, error) {
	var p struct {
		Data struct {
			PipelineChanged *struct {
				Opportunity struct {
					ID      string
					Version int
				}
			}
		}
		Errors []GraphQLError
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return "", fmt.Errorf("a change that is not JSON: %s", excerpt(payload))
	}
	if len(p.Errors) > 0 || p.Data.PipelineChanged == nil || p.Data.PipelineChanged.Opportunity.ID == "" {
		return "", fmt.Errorf("a change without a deal: %s", excerpt(payload))
	}
	o := p.Data.PipelineChanged.Opportunity
	return changeKey(o.ID, o.Version), nil
}

// WriteFanout writes a fan-out result as text.
func WriteFanout(w io.Writer, r FanoutResult) error {
	var where []string
	for i, u := range r.URLs {
		if i < len(r.PerURL) {
			where = append(where, fmt.Sprintf("%d on %s", r.PerURL[i], u))
		}
	}
	first := ""
	if len(r.URLs) > 0 {
		first = r.URLs[0]
	}
	fmt.Fprintf(w, "fan-out: %d subscribers (%s), %d moves through %s (%d failed)\n",
		r.Subscribers, strings.Join(where, ", "), r.Moves, first, r.MoveErrors)
	fmt.Fprintf(w, "messages: expected %d, received %d, lost %d, duplicates %d, unexpected %d; subscriptions failed: %d\n",
		r.Expected, r.Received, r.Lost, r.Duplicates, r.Unexpected, r.Failed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "latency\tn\tmin\tp50\tp90\tp99\tmax\t")
	row := func(name string, p Percentiles) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", name, p.N, signed(p.Min), signed(p.P50), signed(p.P90), signed(p.P99), signed(p.Max))
	}
	row("move sent -> message received", r.FromSend)
	for i, p := range r.ByURL {
		if i < len(r.URLs) {
			row("  subscribers on "+r.URLs[i], p)
		}
	}
	row("move answered -> message received", r.FromResponse)
	row("move round trip (HTTP)", r.Commit)
	if err := tw.Flush(); err != nil {
		return err
	}
	if cost, ok := r.Cost(); ok {
		fmt.Fprintf(w, "write throughput (move-opportunity, %s): %.0f/s without subscribers, %.0f/s with %d connected: cost %.1f%% (errors %d/%d); "+
			"messages delivered during the loaded run: %d of %d\n",
			r.Base.Mode(), r.Base.Throughput, r.Loaded.Throughput, r.Subscribers, cost*100, r.Base.Errors, r.Loaded.Errors,
			r.LoadedDelivered, r.LoadedExpected)
	}
	return nil
}

// signed formats a latency that may be negative.
func signed(d time.Duration) string {
	if d < 0 {
		return "-" + FormatDuration(-d)
	}
	if d == 0 {
		return "0"
	}
	return FormatDuration(d)
}
