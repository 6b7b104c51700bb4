// Package loadtest drives a running Rapport server over HTTP and measures its throughput and
// latency: it prepares a data set through the public GraphQL API, replays a table of realistic
// GraphQL requests with vegeta (closed loop for maximum throughput, or open loop at a fixed arrival
// rate), checks every response, reads the server's memory from its /metrics endpoint, and reports
// the figures as a table or JSON. The read scenarios also run, for comparison, against the raw-SQL
// baseline (`rapport rawserve`) and PostGraphile v5 (tools/postgraphile) with equivalent requests
// (Scenario.ForTarget, Compare).
//
// It talks to the server only through HTTP, as a client would, and imports nothing of Rapport's.
package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Fixture is the data a scenario's requests refer to, read from the server after preparation.
type Fixture struct {
	// ContactIDs are global IDs of contacts that have an account (at most 100).
	ContactIDs []string
	// AccountIDs are global IDs of accounts (at most 100).
	AccountIDs []string
	// Pipeline is the organization's default pipeline; its ID is empty when there is none.
	Pipeline Pipeline
	// OrgID is the organization's database ID (the token's), which PostGraphile's lookups take;
	// empty when the token does not say (an API key).
	OrgID string
}

// Scenario is one kind of request the benchmark sends, over and over.
type Scenario struct {
	// Name identifies the scenario on the command line and in reports.
	Name string
	// Description says what the request does, for the usage text.
	Description string
	// GoalRPS is the throughput the scenario must sustain (requests/s), 0 when there is none.
	GoalRPS float64
	// Query is the GraphQL document.
	Query string
	// Variables returns the variable sets to cycle through, round robin; nil or empty means one
	// request without variables.
	Variables func(f Fixture) ([]map[string]any, error)
	// Source, when set, makes the requests instead of Query and Variables: for writes whose bodies
	// depend on earlier responses. It is called before each run, so it reads the current state.
	Source func(ctx context.Context, c *Client, f Fixture) (Source, error)
	// Check validates the data of a response before the run, to catch a request that succeeds
	// without measuring what it should (an empty page, a null node); nil accepts any data.
	Check func(data json.RawMessage) error
	// Deals says that the scenario needs the deal data set (--deals); it does not run by default
	// without it.
	Deals bool
	// Named says that the scenario runs only when named (it writes data that grows without bound,
	// such as captured leads).
	Named bool
	// ItemsPerRequest is how many records one request writes (a batch), to report items/s; 0 or 1
	// for one.
	ItemsPerRequest int
	// Accept checks the status and body of every response instead of CheckResponse (a GraphQL
	// answer with status 200 and no errors), for scenarios that are not GraphQL requests.
	Accept func(status int, body []byte) error
	// Path is where the requests go, relative to the server's URL (default /graphql).
	Path string
	// Raw says that the raw-SQL baseline (`rapport rawserve`) answers the scenario's request.
	Raw bool
	// PostGraphile is the scenario's equivalent request in PostGraphile's schema, nil when there
	// is none.
	PostGraphile *PeerRequest
}

// Bodies returns the JSON request bodies of the scenario: one per variable set.
func (s Scenario) Bodies(f Fixture) ([][]byte, error) {
	var sets []map[string]any
	if s.Variables != nil {
		var err error
		if sets, err = s.Variables(f); err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
	}
	if len(sets) == 0 {
		sets = []map[string]any{nil}
	}
	bodies := make([][]byte, 0, len(sets))
	for _, vars := range sets {
		req := struct {
			Query     string         `json:"query"`
			Variables map[string]any `json:"variables,omitempty"`
		}{s.Query, vars}
		b, err := json.Marshal(req)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		bodies = append(bodies, b)
	}
	return bodies, nil
}

// Scenarios returns the scenario table, in the order they run by default. Each call returns a new
// table, so callers may change it.
func Scenarios() []Scenario {
	return []Scenario{
		{
			Name:        "contacts-page",
			Description: "a page of 50 contacts with their account and owner",
			GoalRPS:     3000,
			Query: `query ContactsPage { contacts(first: 50) { edges { cursor node { id name title emails phones ` +
				`account { id name } owner { id name } } } pageInfo { hasNextPage endCursor } } }`,
			Check:        nonEmpty("contacts", "edges"),
			Raw:          true,
			PostGraphile: &PeerRequest{Query: pgContactsPage, Check: nonEmpty("allContacts", "edges")},
		},
		{
			Name:        "record-by-id",
			Description: "one contact by global ID with its account (IDs round robin)",
			GoalRPS:     8000,
			Query:       `query Record($id: ID!) { node(id: $id) { ... on Contact { id name title emails account { name } } } }`,
			Variables: func(f Fixture) ([]map[string]any, error) {
				if len(f.ContactIDs) == 0 {
					return nil, errors.New("no contacts to look up: run with --prepare")
				}
				sets := make([]map[string]any, len(f.ContactIDs))
				for i, id := range f.ContactIDs {
					sets[i] = map[string]any{"id": id}
				}
				return sets, nil
			},
			Check:        notNull("node"),
			Raw:          true,
			PostGraphile: &PeerRequest{Query: pgRecordByID, Variables: pgRecordVariables, Check: notNull("contactByOrgIdAndRowId")},
		},
		{
			Name:        "accounts-page",
			Description: "a page of 50 accounts with owner and first 5 contacts",
			Query: `query AccountsPage { accounts(first: 50) { edges { cursor node { id name domain industry ` +
				`owner { id name } contacts(first: 5) { name } } } pageInfo { hasNextPage endCursor } } }`,
			Check:        nonEmpty("accounts", "edges"),
			Raw:          true,
			PostGraphile: &PeerRequest{Query: pgAccountsPage, Check: nonEmpty("allAccounts", "edges")},
		},
		{
			Name:        "opportunities-page",
			Description: "a page of 50 deals with stage, account, owner and primary contact",
			GoalRPS:     2500,
			Query: `query OpportunitiesPage { opportunities(first: 50) { edges { cursor node { id name ` +
				`amount { amount currency } closeDate probability stage { name } account { name } owner { name } ` +
				`primaryContact { name } } } pageInfo { hasNextPage endCursor } } }`,
			Check:        dealsPage,
			Deals:        true,
			Raw:          true,
			PostGraphile: &PeerRequest{Query: pgOpportunitiesPage, Check: nonEmpty("allOpportunities", "edges")},
		},
		{
			Name:        "pipeline-board",
			Description: "the default pipeline as a board: per stage count, totals and 20 deals with owner",
			Query: `query PipelineBoard($pipelineId: ID!) { pipelineBoard(pipelineId: $pipelineId, dealsPerStage: 20) { ` +
				`pipeline { id name } columns { stage { id name probability } count totals { currency amount weighted } ` +
				`deals { nodes { id name amount { amount currency } closeDate owner { name } } pageInfo { hasNextPage endCursor } } } } }`,
			Variables: func(f Fixture) ([]map[string]any, error) {
				if f.Pipeline.ID == "" {
					return nil, errors.New("the organization has no pipeline")
				}
				return []map[string]any{{"pipelineId": f.Pipeline.ID}}, nil
			},
			Check:        board,
			Deals:        true,
			Raw:          true,
			PostGraphile: &PeerRequest{Query: pgPipelineBoard, Variables: pgBoardVariables, Check: notNull("pipelineByOrgIdAndRowId")},
		},
		{
			Name:        "dashboard",
			Description: "a sales manager's dashboard: this year's forecast by owner and month, with quotas and attainment",
			Query: `query Dashboard($from: Date!, $to: Date!) { forecast(input: {from: $from, to: $to, interval: MONTH, groupBy: OWNER}) { ` +
				`currency rows { period owner { name } pipelineAmount bestCase commit closedWon weighted quota attainment deals } } }`,
			Variables: func(Fixture) ([]map[string]any, error) {
				year := time.Now().UTC().Year()
				return []map[string]any{{"from": fmt.Sprintf("%d-01-01", year), "to": fmt.Sprintf("%d-01-01", year+1)}}, nil
			},
			Check: nonEmpty("forecast", "rows"),
			Deals: true,
		},
		{
			Name:        "move-opportunity",
			Description: "moveOpportunity of deals of the data set back and forth between two open stages",
			Query:       MoveDoc,
			Source: func(ctx context.Context, c *Client, f Fixture) (Source, error) {
				deals, stages, err := LoadMoveDeals(ctx, c, f.Pipeline, 1000)
				if err != nil {
					return nil, err
				}
				return NewMoveSource(deals, stages)
			},
			Check: notNull("moveOpportunity"),
			Deals: true,
		},
		{
			Name:        "lead-capture",
			Description: "captureLead of a new, unique lead (CN and international) per request",
			GoalRPS:     2000,
			Query:       CaptureDoc,
			Source: func(context.Context, *Client, Fixture) (Source, error) {
				return NewCaptureSource(0), nil
			},
			Check: notNull("captureLead"),
			Named: true,
		},
		{
			Name:        "lead-capture-batch",
			Description: fmt.Sprintf("captureLeads of %d new leads per request (goal: 10,000 leads/s)", CaptureBatchSize),
			GoalRPS:     10000.0 / CaptureBatchSize,
			Query:       CaptureBatchDoc,
			Source: func(context.Context, *Client, Fixture) (Source, error) {
				return NewCaptureSource(CaptureBatchSize), nil
			},
			Check:           checkBatch,
			Named:           true,
			ItemsPerRequest: CaptureBatchSize,
		},
		{
			Name:        "form-capture",
			Description: fmt.Sprintf("POST /forms/{key} (JSON, no login) of a new lead, over %d bench forms", BenchForms),
			Source: func(ctx context.Context, c *Client, _ Fixture) (Source, error) {
				keys, err := EnsureBenchForms(ctx, c)
				if err != nil {
					return nil, err
				}
				return NewFormSource(keys)
			},
			Accept: CheckFormAnswer,
			Named:  true,
		},
	}
}

// WithoutDeals returns the scenarios of table that do not need the deal data set.
func WithoutDeals(table []Scenario) []Scenario {
	var out []Scenario
	for _, s := range table {
		if !s.Deals {
			out = append(out, s)
		}
	}
	return out
}

// Select returns the scenarios of table named in names (comma-separated lists are split), in the
// order named; no names selects the whole table but the scenarios that run only when named.
func Select(table []Scenario, names ...string) ([]Scenario, error) {
	var out []Scenario
	for _, n := range names {
		for name := range strings.SplitSeq(n, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			i := indexOf(table, name)
			if i < 0 {
				return nil, fmt.Errorf("unknown scenario %q (known: %s)", name, strings.Join(Names(table), ", "))
			}
			out = append(out, table[i])
		}
	}
	if len(out) == 0 {
		for _, s := range table {
			if !s.Named {
				out = append(out, s)
			}
		}
	}
	return out, nil
}

// Names returns the names of the scenarios of table.
func Names(table []Scenario) []string {
	names := make([]string, len(table))
	for i, s := range table {
		names[i] = s.Name
	}
	return names
}

func indexOf(table []Scenario, name string) int {
	for i, s := range table {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// nonEmpty checks that data.<field>.<list> is a non-empty array.
func nonEmpty(field, list string) func(json.RawMessage) error {
	return func(data json.RawMessage) error {
		var d map[string]map[string]json.RawMessage
		var items []json.RawMessage
		if err := json.Unmarshal(data, &d); err != nil {
			return fmt.Errorf("unexpected data: %w", err)
		}
		if err := json.Unmarshal(d[field][list], &items); err != nil {
			return fmt.Errorf("unexpected data in %s.%s: %w", field, list, err)
		}
		if len(items) == 0 {
			return fmt.Errorf("%s.%s is empty: the organization has no records to page through (use --prepare)", field, list)
		}
		return nil
	}
}

// dealsPage checks that data.opportunities.edges is not empty and that some deal on it has a
// primary contact, so the page measures the nested reads it should.
func dealsPage(data json.RawMessage) error {
	if err := nonEmpty("opportunities", "edges")(data); err != nil {
		return err
	}
	var d struct {
		Opportunities struct {
			Edges []struct {
				Node struct{ PrimaryContact json.RawMessage }
			}
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("unexpected data: %w", err)
	}
	for _, e := range d.Opportunities.Edges {
		if len(e.Node.PrimaryContact) > 0 && string(e.Node.PrimaryContact) != "null" {
			return nil
		}
	}
	return errors.New("no deal on the page has a primary contact: prepare the deal data set with --deals")
}

// board checks that the board has columns and that some column shows deals.
func board(data json.RawMessage) error {
	var d struct {
		PipelineBoard struct {
			Columns []struct {
				Count int
				Deals struct{ Nodes []json.RawMessage }
			}
		}
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("unexpected data: %w", err)
	}
	if len(d.PipelineBoard.Columns) == 0 {
		return errors.New("the board has no columns")
	}
	for _, c := range d.PipelineBoard.Columns {
		if c.Count > 0 && len(c.Deals.Nodes) > 0 {
			return nil
		}
	}
	return errors.New("the board shows no deals: prepare the deal data set with --deals")
}

// notNull checks that data.<field> is not null.
func notNull(field string) func(json.RawMessage) error {
	return func(data json.RawMessage) error {
		var d map[string]json.RawMessage
		if err := json.Unmarshal(data, &d); err != nil {
			return fmt.Errorf("unexpected data: %w", err)
		}
		if v, ok := d[field]; !ok || string(v) == "null" {
			return fmt.Errorf("%s is null: the record does not exist or the caller may not see it", field)
		}
		return nil
	}
}
