package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// dealServer is a fake Rapport that keeps the deal data set in memory: it answers the queries and
// mutations of the deal preparation and scenarios, moves deals with version checks, and streams
// pipelineChanged over graphql-transport-ws to its subscribers.
type dealServer struct {
	t  *testing.T
	mu sync.Mutex

	accounts  map[string]string // account ID -> name
	contacts  map[string]string // account ID -> its contact's ID
	deals     map[string]*fakeDeal
	batches   []int // the number of creates of each batch request
	conflicts int
	subs      []chan []byte
	// dropEvery drops every nth change for one subscriber, to check that losses are counted.
	dropEvery int
	sent      int
}

type fakeDeal struct {
	ID, Name, Stage, Owner, Account, Contact string
	Version                                  int
}

var stageIDs = []string{"s-initial", "s-needs", "s-proposal", "s-negotiation", "s-won", "s-lost"}

func newDealServer(t *testing.T) (*dealServer, *httptest.Server) {
	d := &dealServer{t: t, accounts: map[string]string{}, contacts: map[string]string{}, deals: map[string]*fakeDeal{}}
	ts := httptest.NewServer(http.HandlerFunc(d.serve))
	t.Cleanup(ts.Close)
	return d, ts
}

func (d *dealServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "" {
		d.websocket(w, r)
		return
	}
	if r.URL.Path == "/metrics" {
		fmt.Fprint(w, metricsSample)
		return
	}
	if r.Header.Get("Authorization") != "Bearer secret" {
		http.Error(w, "unauthenticated", http.StatusUnauthorized)
		return
	}
	var req struct {
		Query     string
		Variables map[string]any
	}
	require.NoError(d.t, json.NewDecoder(r.Body).Decode(&req))
	w.Header().Set("Content-Type", "application/json")
	d.mu.Lock()
	data, errs := d.answer(req.Query, req.Variables)
	d.mu.Unlock()
	out := map[string]any{"data": data}
	if errs != nil {
		out["errors"] = errs
	}
	require.NoError(d.t, json.NewEncoder(w).Encode(out))
}

func page(nodes []any) map[string]any {
	return map[string]any{"nodes": nodes, "totalCount": len(nodes), "pageInfo": map[string]any{"hasNextPage": false, "endCursor": ""}}
}

// answer handles one operation, recognised by its name.
func (d *dealServer) answer(q string, v map[string]any) (any, any) {
	name := regexp.MustCompile(`(?:query|mutation) (\w+)`).FindStringSubmatch(q)[1]
	switch name {
	case "BenchPipelines", "BenchFixture":
		var stages []any
		for i, s := range stageIDs {
			stages = append(stages, map[string]any{"id": s, "name": s, "closed": i >= 4})
		}
		return map[string]any{"pipelines": []any{
			map[string]any{"id": "p-other", "isDefault": false, "stages": stages[:1]},
			map[string]any{"id": "p-sales", "isDefault": true, "stages": stages},
		}, "contacts": page(nil), "accounts": page(nil)}, nil
	case "BenchDealCount":
		require.Equal(d.t, "p-sales", v["pipelineId"])
		return map[string]any{"opportunities": map[string]any{"totalCount": len(d.deals)}}, nil
	case "BenchUsers":
		return map[string]any{"users": []any{
			map[string]any{"id": "u-admin", "role": "ADMIN", "active": true},
			map[string]any{"id": "u-rep", "role": "SALES_REP", "active": true},
			map[string]any{"id": "u-gone", "role": "SALES_REP", "active": false},
			map[string]any{"id": "u-support", "role": "SUPPORT_AGENT", "active": true},
		}}, nil
	case "BenchAccounts":
		var nodes []any
		for id, n := range d.accounts {
			var contacts []any
			if c := d.contacts[id]; c != "" {
				contacts = append(contacts, map[string]any{"id": c})
			}
			nodes = append(nodes, map[string]any{"id": id, "name": n, "contacts": contacts})
		}
		return map[string]any{"accounts": page(nodes)}, nil
	case "BenchAccount":
		in := v["input"].(map[string]any)
		id := "a-" + in["idempotencyKey"].(string)
		d.accounts[id] = in["name"].(string)
		return map[string]any{"createAccount": map[string]any{"account": map[string]any{"id": id}, "replayed": false}}, nil
	case "BenchContact":
		in := v["input"].(map[string]any)
		id := "c-" + in["idempotencyKey"].(string)
		d.contacts[in["accountId"].(string)] = id
		return map[string]any{"createContact": map[string]any{"contact": map[string]any{"id": id}, "replayed": false}}, nil
	case "BenchDealNames":
		var nodes []any
		for _, x := range d.deals {
			nodes = append(nodes, map[string]any{"name": x.Name})
		}
		return map[string]any{"opportunities": page(nodes)}, nil
	case "BenchDeals":
		require.LessOrEqual(d.t, len(v), DealBatch, "at most %d creates a request", DealBatch)
		d.batches = append(d.batches, len(v))
		out := map[string]any{}
		for alias, raw := range v {
			require.Contains(d.t, q, alias+": createOpportunity(input: $"+alias+")")
			in := raw.(map[string]any)
			require.Equal(d.t, "p-sales", in["pipelineId"])
			require.Contains(d.t, stageIDs[:4], in["stageId"], "open stages only")
			contacts := in["contacts"].([]any)
			require.Len(d.t, contacts, 1)
			c := contacts[0].(map[string]any)
			require.Equal(d.t, true, c["primary"])
			require.Equal(d.t, d.contacts[in["accountId"].(string)], c["contactId"], "the account's own contact")
			id := "d-" + in["idempotencyKey"].(string)
			d.deals[id] = &fakeDeal{ID: id, Name: in["name"].(string), Stage: in["stageId"].(string), Owner: in["ownerId"].(string),
				Account: in["accountId"].(string), Contact: c["contactId"].(string), Version: 1}
			out[alias] = map[string]any{"replayed": false}
		}
		return out, nil
	case "BenchMoveDeals":
		require.Equal(d.t, []any{"s-needs", "s-proposal"}, v["stageIds"])
		var nodes []any
		for _, x := range d.sortedDeals() {
			if x.Stage == "s-needs" || x.Stage == "s-proposal" {
				nodes = append(nodes, map[string]any{"id": x.ID, "name": x.Name, "version": x.Version, "stage": map[string]any{"id": x.Stage}})
			}
		}
		return map[string]any{"opportunities": page(nodes)}, nil
	case "MoveOpportunity":
		in := v["input"].(map[string]any)
		x := d.deals[in["id"].(string)]
		if int(in["expectedVersion"].(float64)) != x.Version {
			d.conflicts++
			return nil, []any{map[string]any{"message": "stale", "extensions": map[string]any{"code": "CONFLICT", "currentVersion": x.Version}}}
		}
		require.NotEqual(d.t, x.Stage, in["toStageId"])
		x.Stage, x.Version = in["toStageId"].(string), x.Version+1
		d.publish(x)
		return map[string]any{"moveOpportunity": map[string]any{"opportunity": map[string]any{
			"id": x.ID, "version": x.Version, "stage": map[string]any{"id": x.Stage}}}}, nil
	}
	d.t.Errorf("unexpected operation %s", name)
	return nil, []any{map[string]any{"message": "unexpected"}}
}

func (d *dealServer) sortedDeals() []*fakeDeal {
	var out []*fakeDeal
	for _, x := range d.deals {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// publish sends a change to every subscriber (with d.mu held).
func (d *dealServer) publish(x *fakeDeal) {
	msg, _ := json.Marshal(map[string]any{"id": "1", "type": "next", "payload": map[string]any{"data": map[string]any{
		"pipelineChanged": map[string]any{"kind": "MOVED", "opportunity": map[string]any{"id": x.ID, "version": x.Version}}}}})
	d.sent++
	for i, c := range d.subs {
		if i == 0 && d.dropEvery > 0 && d.sent%d.dropEvery == 0 {
			continue
		}
		select {
		case c <- msg:
		default:
			d.t.Error("a subscriber fell behind")
		}
	}
}

// websocket speaks enough graphql-transport-ws for the fan-out: connection_init with the token,
// connection_ack, subscribe to pipelineChanged, then next messages.
func (d *dealServer) websocket(w http.ResponseWriter, r *http.Request) {
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		return
	}
	defer conn.CloseNow()
	ctx := r.Context()
	var m wsMessage
	read := func() bool {
		_, b, err := conn.Read(ctx)
		return err == nil && json.Unmarshal(b, &m) == nil
	}
	if !read() || m.Type != "connection_init" || !bytes.Contains(m.Payload, []byte("Bearer secret")) {
		conn.Close(4403, "forbidden")
		return
	}
	_ = conn.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_ack"}`))
	if !read() || m.Type != "subscribe" || !bytes.Contains(m.Payload, []byte("pipelineChanged")) || !bytes.Contains(m.Payload, []byte(`"p-sales"`)) {
		conn.Close(4400, "bad subscribe")
		return
	}
	c := make(chan []byte, 100000)
	d.mu.Lock()
	d.subs = append(d.subs, c)
	d.mu.Unlock()
	_ = conn.Write(ctx, websocket.MessageText, []byte(`{"type":"ping"}`)) // answered with a pong, ignored
	go func() {
		for read() {
		}
	}()
	for {
		select {
		case msg := <-c:
			if conn.Write(ctx, websocket.MessageText, msg) != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

func TestPrepareDealsCreatesTheMissingDealsInBatches(t *testing.T) {
	d, ts := newDealServer(t)
	c := &Client{HTTP: ts.Client(), Endpoint: ts.URL + "/graphql", Token: "secret"}
	ctx := context.Background()

	// An earlier run created account 0 without its contact, and deal 3.
	d.accounts["a-old"] = accountPrefix + "0000"
	d.deals["d-old"] = &fakeDeal{ID: "d-old", Name: DealName(3), Stage: "s-initial", Version: 1}

	var lines []string
	st, err := PrepareDeals(ctx, c, 45, 3, func(l string) { lines = append(lines, l) })
	require.NoError(t, err)
	require.Equal(t, DealStats{Pipeline: "p-sales", Stages: 6, Open: 4, Before: 1, Accounts: 3, CreatedAccounts: 2, Owners: 2, Created: 44}, st)
	require.Contains(t, lines, "prepare deals: 1 of 45 exist, creating 44 in batches of 10")
	require.Len(t, d.deals, 45)
	require.ElementsMatch(t, []int{10, 10, 10, 10, 4}, d.batches)
	require.Len(t, d.accounts, 3, "deals share accounts, %d each", DealsPerAccount)
	require.Equal(t, "c-bench-contact-0", d.contacts["a-old"], "the account found gets its contact")

	perStage, perOwner := map[string]int{}, map[string]int{}
	for _, x := range d.deals {
		if x.ID == "d-old" {
			continue
		}
		perStage[x.Stage]++
		perOwner[x.Owner]++
		require.NotEmpty(t, x.Account)
	}
	// Deals 0-44 but 3 (which existed) in stage i mod 4, owned by seller i mod 2.
	require.Equal(t, map[string]int{"s-initial": 12, "s-needs": 11, "s-proposal": 11, "s-negotiation": 10}, perStage, "spread over the open stages")
	require.Equal(t, map[string]int{"u-admin": 23, "u-rep": 21}, perOwner, "spread over the active sellers")

	// Enough deals: nothing to do.
	d.batches = nil
	st, err = PrepareDeals(ctx, c, 45, 3, nil)
	require.NoError(t, err)
	require.Equal(t, 45, st.Before)
	require.Zero(t, st.Created)
	require.Empty(t, d.batches)
}

func TestDealBatchAndHelpers(t *testing.T) {
	doc, vars := dealBatch([]int{7, 8}, func(i int) map[string]any { return map[string]any{"name": DealName(i)} })
	require.Equal(t, "mutation BenchDeals($d0: CreateOpportunityInput!, $d1: CreateOpportunityInput!) {\n"+
		"  d0: createOpportunity(input: $d0) { replayed }\n  d1: createOpportunity(input: $d1) { replayed }\n}", doc)
	require.Equal(t, map[string]any{"d0": map[string]any{"name": "Bench Deal 00007"}, "d1": map[string]any{"name": "Bench Deal 00008"}}, vars)

	require.Equal(t, [][]int{{1, 2}, {3, 4}, {5}}, batches([]int{1, 2, 3, 4, 5}, 2))
	require.Nil(t, batches(nil, 10))

	i, ok := dealIndex(DealName(19999))
	require.True(t, ok)
	require.Equal(t, 19999, i)
	for _, bad := range []string{"Bench Deal x", "Other 00001", "Bench Deal -1"} {
		_, ok := dealIndex(bad)
		require.False(t, ok, bad)
	}

	p := Pipeline{ID: "p", Stages: []Stage{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "w", Closed: true}}}
	require.Equal(t, []string{"a", "b", "c"}, p.OpenStages())
	st, ok := p.MoveStages()
	require.True(t, ok)
	require.Equal(t, [2]string{"b", "c"}, st)
	st, ok = Pipeline{Stages: []Stage{{ID: "a"}, {ID: "b"}, {ID: "w", Closed: true}}}.MoveStages()
	require.True(t, ok)
	require.Equal(t, [2]string{"a", "b"}, st)
	_, ok = Pipeline{Stages: []Stage{{ID: "a"}, {ID: "w", Closed: true}}}.MoveStages()
	require.False(t, ok)

	got, ok := defaultPipeline([]Pipeline{{ID: "x"}, {ID: "y", IsDefault: true}})
	require.True(t, ok)
	require.Equal(t, "y", got.ID)
	got, _ = defaultPipeline([]Pipeline{{ID: "x"}})
	require.Equal(t, "x", got.ID)
	_, ok = defaultPipeline(nil)
	require.False(t, ok)

	n, ok := slotOf("http://h/graphql?slot=42")
	require.True(t, ok)
	require.Equal(t, 42, n)
	_, ok = slotOf("http://h/graphql")
	require.False(t, ok)

	require.Equal(t, "ws://127.0.0.1:8080/graphql", wsURL("http://127.0.0.1:8080/"))
	require.Equal(t, "wss://crm.example.com/graphql", wsURL("https://crm.example.com"))
}

func moveResponse(id string, version int, stage string) []byte {
	return fmt.Appendf(nil, `{"data":{"moveOpportunity":{"opportunity":{"id":%q,"version":%d,"stage":{"id":%q}}}}}`, id, version, stage)
}

func TestMoveSourceTracksVersionsAndStages(t *testing.T) {
	stages := [2]string{"s1", "s2"}
	m, err := NewMoveSource([]DealState{{ID: "d1", Version: 3, Stage: "s1"}, {ID: "d2", Version: 1, Stage: "s2"}}, stages)
	require.NoError(t, err)
	input := func(body []byte) map[string]any {
		var req struct {
			Variables struct{ Input map[string]any }
		}
		require.NoError(t, json.Unmarshal(body, &req))
		return req.Variables.Input
	}

	slot, body, err := m.Next()
	require.NoError(t, err)
	require.Equal(t, 0, slot)
	require.Equal(t, map[string]any{"id": "d1", "toStageId": "s2", "expectedVersion": 3.0}, input(body))
	slot2, body, err := m.Next()
	require.NoError(t, err)
	require.Equal(t, 1, slot2)
	require.Equal(t, map[string]any{"id": "d2", "toStageId": "s1", "expectedVersion": 1.0}, input(body))

	// Both deals are in flight: Next waits for one of them.
	next := make(chan int)
	go func() {
		s, _, _ := m.Next()
		next <- s
	}()
	select {
	case <-next:
		t.Fatal("Next handed out a deal that is being moved")
	case <-time.After(20 * time.Millisecond):
	}
	m.Done(slot, 200, moveResponse("d1", 4, "s2"))
	require.Equal(t, 0, <-next)
	require.Equal(t, DealState{ID: "d1", Version: 4, Stage: "s2"}, m.deals[0])
	require.Equal(t, 1, m.Moved())

	// A conflict takes the current version; the deal stays.
	m.Done(0, 200, []byte(`{"errors":[{"message":"stale","extensions":{"code":"CONFLICT","currentVersion":9}}],"data":null}`))
	_, body, err = m.Next()
	require.NoError(t, err)
	require.Equal(t, map[string]any{"id": "d1", "toStageId": "s1", "expectedVersion": 9.0}, input(body))

	// Other failures drop the deal; when every deal is dropped, Next fails.
	m.Done(0, 0, nil)
	m.Done(slot2, 500, []byte(`{"errors":[{"message":"boom"}]}`))
	require.Equal(t, 2, m.Dropped())
	_, _, err = m.Next()
	require.ErrorContains(t, err, "every deal to move was dropped")

	_, err = NewMoveSource(nil, stages)
	require.Error(t, err)
}

func TestDealScenarioChecks(t *testing.T) {
	table := Scenarios()
	byDefault, err := Select(WithoutDeals(table))
	require.NoError(t, err)
	require.Equal(t, []string{"contacts-page", "record-by-id", "accounts-page"}, Names(byDefault), "lead captures run only when named")
	byName := func(n string) Scenario { return table[indexOf(table, n)] }

	page := byName("opportunities-page")
	require.Equal(t, 2500.0, page.GoalRPS)
	require.Error(t, page.Check(json.RawMessage(`{"opportunities":{"edges":[]}}`)))
	require.ErrorContains(t, page.Check(json.RawMessage(`{"opportunities":{"edges":[{"node":{"primaryContact":null}}]}}`)), "--deals")
	require.NoError(t, page.Check(json.RawMessage(`{"opportunities":{"edges":[{"node":{"primaryContact":null}},{"node":{"primaryContact":{"name":"x"}}}]}}`)))

	board := byName("pipeline-board")
	_, err = board.Bodies(Fixture{})
	require.ErrorContains(t, err, "no pipeline")
	bodies, err := board.Bodies(Fixture{Pipeline: Pipeline{ID: "p1"}})
	require.NoError(t, err)
	require.Contains(t, string(bodies[0]), `"variables":{"pipelineId":"p1"}`)
	require.ErrorContains(t, board.Check(json.RawMessage(`{"pipelineBoard":{"columns":[]}}`)), "no columns")
	require.ErrorContains(t, board.Check(json.RawMessage(`{"pipelineBoard":{"columns":[{"count":0,"deals":{"nodes":[]}}]}}`)), "no deals")
	require.NoError(t, board.Check(json.RawMessage(`{"pipelineBoard":{"columns":[{"count":0,"deals":{"nodes":[]}},{"count":3,"deals":{"nodes":[{}]}}]}}`)))

	move := byName("move-opportunity")
	require.NotNil(t, move.Source)
	require.Error(t, move.Check(json.RawMessage(`{"moveOpportunity":null}`)))
}

// prepareFake creates n deals on the fake server.
func prepareFake(t *testing.T, ts *httptest.Server, n int) {
	c := &Client{HTTP: ts.Client(), Endpoint: ts.URL + "/graphql", Token: "secret"}
	_, err := PrepareDeals(context.Background(), c, n, 2, nil)
	require.NoError(t, err)
}

func TestBenchMovesWithoutConflicts(t *testing.T) {
	d, ts := newDealServer(t)
	prepareFake(t, ts, 80) // 40 in the two move stages
	b, err := New(Config{URL: ts.URL, Token: "secret", Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond, Connections: 8})
	require.NoError(t, err)
	sel, err := Select(Scenarios(), "move-opportunity")
	require.NoError(t, err)
	results, err := b.RunAll(context.Background(), sel)
	require.NoError(t, err)
	r := results[0]
	require.Positive(t, r.Requests)
	require.Zero(t, r.Errors, r.FirstError)
	require.Zero(t, d.conflicts, "every move sent the version the previous one returned")
	moved := 0
	for _, x := range d.deals {
		moved += x.Version - 1
	}
	require.Equal(t, b.moved, moved, "the check, the warm-up and the measured moves all committed, and were counted")
	require.GreaterOrEqual(t, b.moved, r.Requests)
}

func TestFanoutMeasuresEveryMessage(t *testing.T) {
	d, ts := newDealServer(t)
	prepareFake(t, ts, 40)
	ts2 := httptest.NewServer(http.HandlerFunc(d.serve)) // a second "process" sharing the data
	t.Cleanup(ts2.Close)

	var progress bytes.Buffer
	res, err := RunFanout(context.Background(), FanoutConfig{URLs: []string{ts.URL, ts2.URL}, Token: "secret", Subscribers: 5,
		Moves: 20, Rate: 200, Wait: 2 * time.Second, Throughput: 100 * time.Millisecond, Connections: 4, Progress: &progress})
	require.NoError(t, err, progress.String())
	require.Equal(t, 5, res.Subscribers)
	require.Equal(t, []int{3, 2}, res.PerURL)
	require.Equal(t, 20, res.Moves)
	require.Equal(t, 100, res.Expected)
	require.Equal(t, 100, res.Received)
	require.Zero(t, res.Lost)
	require.Zero(t, res.Duplicates)
	require.Zero(t, res.Failed)
	require.Equal(t, 100, res.FromSend.N)
	require.Equal(t, 60, res.ByURL[0].N)
	require.Equal(t, 40, res.ByURL[1].N)
	require.Positive(t, res.FromSend.Min)
	require.GreaterOrEqual(t, res.FromSend.P99, res.FromSend.P50)
	require.GreaterOrEqual(t, res.FromSend.P50, res.FromResponse.P50, "measured from the send, the latency includes the round trip")
	require.Equal(t, 20, res.Commit.N)
	require.Positive(t, res.Base.Requests)
	require.Positive(t, res.Loaded.Requests)
	require.Equal(t, res.LoadedExpected, res.LoadedDelivered)
	_, ok := res.Cost()
	require.True(t, ok)
	require.Zero(t, d.conflicts)

	var out bytes.Buffer
	require.NoError(t, WriteFanout(&out, res))
	require.Contains(t, out.String(), "fan-out: 5 subscribers (3 on "+ts.URL+", 2 on "+ts2.URL+"), 20 moves")
	require.Contains(t, out.String(), "messages: expected 100, received 100, lost 0, duplicates 0")
	require.Regexp(t, `move sent -> message received\s+100\s`, out.String())
	require.Contains(t, out.String(), "write throughput (move-opportunity, max, 4 conns)")
}

func TestFanoutCountsLostMessages(t *testing.T) {
	d, ts := newDealServer(t)
	prepareFake(t, ts, 40)
	d.dropEvery = 4 // subscriber 0 misses every fourth change, probes included
	res, err := RunFanout(context.Background(), FanoutConfig{URLs: []string{ts.URL}, Token: "secret", Subscribers: 2,
		Moves: 12, Rate: 500, Wait: 200 * time.Millisecond})
	require.NoError(t, err)
	require.Equal(t, 24, res.Expected)
	require.Positive(t, res.Lost)
	require.Equal(t, res.Expected, res.Received+res.Lost)
	require.Zero(t, res.Base.Requests, "no throughput measurement asked for")
	_, ok := res.Cost()
	require.False(t, ok)
}

func TestFanoutRejectsBadInputAndBadTokens(t *testing.T) {
	_, ts := newDealServer(t)
	prepareFake(t, ts, 40)
	_, err := RunFanout(context.Background(), FanoutConfig{Token: "secret", Subscribers: 1, Moves: 1, Rate: 1})
	require.ErrorContains(t, err, "at least one server URL")
	_, err = RunFanout(context.Background(), FanoutConfig{URLs: []string{ts.URL}, Token: "secret", Moves: 1, Rate: 1})
	require.ErrorContains(t, err, "must be positive")
	_, err = RunFanout(context.Background(), FanoutConfig{URLs: []string{ts.URL}, Token: "wrong", Subscribers: 1, Moves: 1, Rate: 1})
	require.ErrorContains(t, err, "HTTP 401")
}

func TestMessageKeyAndPercentiles(t *testing.T) {
	k, err := messageKey(json.RawMessage(`{"data":{"pipelineChanged":{"kind":"MOVED","opportunity":{"id":"o1","version":7}}}}`))
	require.NoError(t, err)
	require.Equal(t, "o1#7", k)
	_, err = messageKey(json.RawMessage(`{"data":null,"errors":[{"message":"no"}]}`))
	require.Error(t, err)
	_, err = messageKey(json.RawMessage(`[`))
	require.Error(t, err)

	var ds []time.Duration
	for i := 100; i >= -9; i-- { // -9..100 ms, shuffled by the reverse order
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	p := percentiles(ds)
	require.Equal(t, Percentiles{N: 110, Min: -9 * time.Millisecond, P50: 45 * time.Millisecond, P90: 89 * time.Millisecond,
		P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}, p)
	require.Equal(t, Percentiles{}, percentiles(nil))
	require.Equal(t, "-9.00ms", signed(-9*time.Millisecond))
	require.Equal(t, "0", signed(0))
	require.True(t, strings.HasSuffix(signed(1500*time.Microsecond), "ms"))
}
