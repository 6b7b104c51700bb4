package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The deal data set: deal i is named DealName(i), belongs to account i mod A of the data set (A =
// ceil(n / DealsPerAccount)), sits in open stage i mod (open stages) of the default pipeline and is
// owned by seller i mod (sellers).
const (
	// DealsPerAccount is how many deals of the data set share one account.
	DealsPerAccount = 20
	// DealBatch is how many createOpportunity mutations one preparation request carries (as
	// aliases; the server allows 30 aliases and 20 root fields by default).
	DealBatch = 10
	// dealPrefix starts the name of every deal of the data set, and is what the tool searches for.
	dealPrefix = "Bench Deal "
	// accountPrefix starts the name of every account of the data set.
	accountPrefix = "Bench Account "
	// pageSize is the page size of the preparation's reads (the server's maximum).
	pageSize = 100
)

// DealName returns the name of deal i of the data set.
func DealName(i int) string { return fmt.Sprintf("%s%05d", dealPrefix, i) }

// dealIndex returns i for a name DealName(i).
func dealIndex(name string) (int, bool) { return nameIndex(name, dealPrefix) }

func nameIndex(name, prefix string) (int, bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	return i, err == nil && i >= 0
}

// Pipeline is a pipeline as the tool reads it.
type Pipeline struct {
	ID        string
	IsDefault bool
	Stages    []Stage
}

// Stage is a stage of a pipeline.
type Stage struct {
	ID     string
	Name   string
	Closed bool
}

// OpenStages returns the IDs of the pipeline's open stages, in order.
func (p Pipeline) OpenStages() []string {
	var ids []string
	for _, s := range p.Stages {
		if !s.Closed {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// MoveStages returns the two open stages the move scenarios move deals between: the second and
// third open stage when there are three or more (in the default pipeline "Needs analysis" and
// "Proposal/quote", whose entry criteria are checked on every move into it), else the first two.
func (p Pipeline) MoveStages() ([2]string, bool) {
	open := p.OpenStages()
	switch {
	case len(open) >= 3:
		return [2]string{open[1], open[2]}, true
	case len(open) == 2:
		return [2]string{open[0], open[1]}, true
	}
	return [2]string{}, false
}

// defaultPipeline returns the organization's default pipeline (the first when none is marked).
func defaultPipeline(ps []Pipeline) (Pipeline, bool) {
	if len(ps) == 0 {
		return Pipeline{}, false
	}
	if i := slices.IndexFunc(ps, func(p Pipeline) bool { return p.IsDefault }); i >= 0 {
		return ps[i], true
	}
	return ps[0], true
}

const pipelinesDoc = `query BenchPipelines { pipelines { id isDefault stages { id name closed } } }`

// readPipelines returns the organization's pipelines.
func readPipelines(ctx context.Context, c *Client) ([]Pipeline, error) {
	var out struct{ Pipelines []Pipeline }
	if err := c.Query(ctx, pipelinesDoc, nil, &out); err != nil {
		return nil, fmt.Errorf("reading the pipelines: %w", err)
	}
	return out.Pipelines, nil
}

// DealStats says what PrepareDeals found and did.
type DealStats struct {
	// Pipeline is the pipeline the deals are in; Stages its number of stages, Open its open ones.
	Pipeline     string
	Stages, Open int
	// Before is the number of open deals of the data set in the pipeline before preparing.
	Before int
	// Accounts is the number of accounts the deals use; CreatedAccounts those created now.
	Accounts, CreatedAccounts int
	// Owners is the number of users the deals are spread over.
	Owners int
	// Created counts the deals created now, Replayed those an earlier request had created (their
	// idempotency key was replayed).
	Created, Replayed int
}

// PrepareDeals makes sure the default pipeline holds at least n open deals of the data set, spread
// over its open stages, each with an account of the data set, an owner (the organization's active
// admins, sales managers and reps, in turn) and a primary contact (the account's contact, as
// economic buyer). Every deal carries the checklist item, contact role, amount and close date the
// default pipeline's entry criteria ask for, so it may sit in (and move to) any open stage.
//
// It is idempotent: it lists the deals of the data set that exist and creates only the missing
// ones, each with an idempotency key ("bench-deal-<i>"). The creates go DealBatch to a request (as
// aliases), with workers requests in flight.
func PrepareDeals(ctx context.Context, c *Client, n, workers int, progress func(string)) (DealStats, error) {
	var st DealStats
	if progress == nil {
		progress = func(string) {}
	}
	ps, err := readPipelines(ctx, c)
	if err != nil {
		return st, fmt.Errorf("prepare deals: %w", err)
	}
	p, ok := defaultPipeline(ps)
	if !ok {
		return st, errors.New("prepare deals: the organization has no pipeline")
	}
	open := p.OpenStages()
	st.Pipeline, st.Stages, st.Open = p.ID, len(p.Stages), len(open)
	if len(open) == 0 {
		return st, errors.New("prepare deals: the default pipeline has no open stage")
	}
	if st.Before, err = countDeals(ctx, c, p.ID); err != nil {
		return st, err
	}
	if n <= 0 || st.Before >= n {
		return st, nil
	}

	accounts := (n + DealsPerAccount - 1) / DealsPerAccount
	st.Accounts = accounts
	refs, created, err := ensureDealAccounts(ctx, c, accounts, workers)
	st.CreatedAccounts = created
	if err != nil {
		return st, err
	}
	owners, err := sellers(ctx, c)
	if err != nil {
		return st, err
	}
	st.Owners = max(1, len(owners))
	have, err := existingDeals(ctx, c, n)
	if err != nil {
		return st, err
	}
	var missing []int
	for i := range n {
		if !have[i] {
			missing = append(missing, i)
		}
	}
	progress(fmt.Sprintf("prepare deals: %d of %d exist, creating %d in batches of %d", n-len(missing), n, len(missing), DealBatch))

	today := time.Now().UTC().Truncate(24 * time.Hour)
	input := func(i int) map[string]any {
		acct := refs[i%accounts]
		in := map[string]any{
			"name":           DealName(i),
			"accountId":      acct.ID,
			"pipelineId":     p.ID,
			"stageId":        open[i%len(open)],
			"amount":         fmt.Sprintf("%d.00", 1000+(i*7919)%99000),
			"closeDate":      today.AddDate(0, 0, 7+i%180).Format(time.DateOnly),
			"source":         "benchmark",
			"nextStep":       "Send the proposal",
			"checklist":      []string{"Pain point confirmed"},
			"contacts":       []map[string]any{{"contactId": acct.ContactID, "roles": []string{"ECONOMIC_BUYER"}, "primary": true}},
			"idempotencyKey": fmt.Sprintf("bench-deal-%d", i),
		}
		if len(owners) > 0 {
			in["ownerId"] = owners[i%len(owners)]
		}
		return in
	}

	var made, replayed atomic.Int64
	var done atomic.Int64
	err = parallel(ctx, batches(missing, DealBatch), workers, func(ctx context.Context, batch []int) error {
		doc, vars := dealBatch(batch, input)
		var out map[string]struct{ Replayed bool }
		if err := c.Query(ctx, doc, vars, &out); err != nil {
			return fmt.Errorf("creating deals %d-%d: %w", batch[0], batch[len(batch)-1], err)
		}
		for _, r := range out {
			if r.Replayed {
				replayed.Add(1)
			} else {
				made.Add(1)
			}
		}
		if d := done.Add(int64(len(batch))); d/2000 != (d-int64(len(batch)))/2000 {
			progress(fmt.Sprintf("prepare deals: %d of %d created", d, len(missing)))
		}
		return nil
	})
	st.Created, st.Replayed = int(made.Load()), int(replayed.Load())
	if err != nil {
		return st, fmt.Errorf("prepare deals: %w", err)
	}
	return st, nil
}

// dealBatch returns a mutation that creates the deals of batch, one alias each (d0, d1...), and its
// variables.
func dealBatch(batch []int, input func(int) map[string]any) (string, map[string]any) {
	var params, fields strings.Builder
	vars := make(map[string]any, len(batch))
	for k, i := range batch {
		if k > 0 {
			params.WriteString(", ")
		}
		fmt.Fprintf(&params, "$d%d: CreateOpportunityInput!", k)
		fmt.Fprintf(&fields, "  d%d: createOpportunity(input: $d%d) { replayed }\n", k, k)
		vars[fmt.Sprintf("d%d", k)] = input(i)
	}
	return "mutation BenchDeals(" + params.String() + ") {\n" + fields.String() + "}", vars
}

// batches splits items into slices of at most size.
func batches(items []int, size int) [][]int {
	var out [][]int
	for len(items) > 0 {
		k := min(size, len(items))
		out = append(out, items[:k:k])
		items = items[k:]
	}
	return out
}

// parallel runs do for every job with workers goroutines; the first error cancels the rest and is
// returned with the others.
func parallel[T any](ctx context.Context, jobs []T, workers int, do func(context.Context, T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	workers = max(1, min(workers, len(jobs)))
	feed := make(chan T)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for j := range feed {
				if err := do(ctx, j); err != nil {
					errs[w] = err
					cancel()
					return
				}
			}
		})
	}
send:
	for _, j := range jobs {
		select {
		case feed <- j:
		case <-ctx.Done():
			break send
		}
	}
	close(feed)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return context.Cause(ctx)
}

const countDealsDoc = `query BenchDealCount($pipelineId: ID!, $search: String!) {
  opportunities(first: 1, filter: {pipelineId: $pipelineId, closed: false, search: $search}) { totalCount } }`

// countDeals counts the open deals of the data set in the pipeline.
func countDeals(ctx context.Context, c *Client, pipelineID string) (int, error) {
	var out struct {
		Opportunities struct{ TotalCount int }
	}
	err := c.Query(ctx, countDealsDoc, map[string]any{"pipelineId": pipelineID, "search": dealPrefix}, &out)
	if err != nil {
		return 0, fmt.Errorf("prepare deals: counting deals: %w", err)
	}
	return out.Opportunities.TotalCount, nil
}

const dealNamesDoc = `query BenchDealNames($search: String!, $after: String) {
  opportunities(first: 100, after: $after, filter: {search: $search}) { nodes { name } pageInfo { hasNextPage endCursor } } }`

// existingDeals returns which deals 0 to n-1 of the data set exist (not deleted), in any pipeline.
func existingDeals(ctx context.Context, c *Client, n int) (map[int]bool, error) {
	have := map[int]bool{}
	err := pages(ctx, c, dealNamesDoc, "opportunities", map[string]any{"search": dealPrefix}, func(raw json.RawMessage) error {
		var nodes []struct{ Name string }
		if err := json.Unmarshal(raw, &nodes); err != nil {
			return err
		}
		for _, d := range nodes {
			if i, ok := dealIndex(d.Name); ok && i < n {
				have[i] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("prepare deals: listing deals: %w", err)
	}
	return have, nil
}

// accountRef is an account of the data set with its contact.
type accountRef struct{ ID, ContactID string }

const benchAccountsDoc = `query BenchAccounts($search: String!, $after: String) {
  accounts(first: 100, after: $after, filter: {search: $search}) {
    nodes { id name contacts(first: 1) { id } } pageInfo { hasNextPage endCursor } } }`

// ensureDealAccounts returns accounts 0 to n-1 of the data set with their contacts, creating those
// that are missing (as Prepare does), and how many accounts it created.
func ensureDealAccounts(ctx context.Context, c *Client, n, workers int) ([]accountRef, int, error) {
	refs := make([]accountRef, n)
	err := pages(ctx, c, benchAccountsDoc, "accounts", map[string]any{"search": accountPrefix}, func(raw json.RawMessage) error {
		var nodes []struct {
			ID       string
			Name     string
			Contacts []struct{ ID string }
		}
		if err := json.Unmarshal(raw, &nodes); err != nil {
			return err
		}
		for _, a := range nodes {
			if i, ok := nameIndex(a.Name, accountPrefix); ok && i < n && refs[i].ID == "" {
				refs[i].ID = a.ID
				if len(a.Contacts) > 0 {
					refs[i].ContactID = a.Contacts[0].ID
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("prepare deals: listing accounts: %w", err)
	}
	var missing []int
	for i, r := range refs {
		if r.ID == "" || r.ContactID == "" {
			missing = append(missing, i)
		}
	}
	var created atomic.Int64
	err = parallel(ctx, missing, workers, func(ctx context.Context, i int) error {
		id := refs[i].ID
		if id == "" {
			var replayed bool
			var err error
			if id, replayed, err = createBenchAccount(ctx, c, i); err != nil {
				return err
			}
			if !replayed {
				created.Add(1)
			}
		}
		contact, _, err := createBenchContact(ctx, c, i, id)
		if err != nil {
			return err
		}
		refs[i] = accountRef{ID: id, ContactID: contact}
		return nil
	})
	if err != nil {
		return nil, int(created.Load()), fmt.Errorf("prepare deals: %w", err)
	}
	return refs, int(created.Load()), nil
}

// sellers returns the IDs of the organization's active admins, sales managers and sales reps.
func sellers(ctx context.Context, c *Client) ([]string, error) {
	var out struct {
		Users []struct {
			ID     string
			Role   string
			Active bool
		}
	}
	if err := c.Query(ctx, `query BenchUsers { users { id role active } }`, nil, &out); err != nil {
		return nil, fmt.Errorf("prepare deals: reading users: %w", err)
	}
	var ids []string
	for _, u := range out.Users {
		if u.Active && (u.Role == "ADMIN" || u.Role == "SALES_MANAGER" || u.Role == "SALES_REP") {
			ids = append(ids, u.ID)
		}
	}
	return ids, nil
}

// pages runs doc, a query of one connection field with an $after variable, page after page, and
// hands each page's nodes to each.
func pages(ctx context.Context, c *Client, doc, field string, vars map[string]any, each func(json.RawMessage) error) error {
	var after any
	for {
		vars["after"] = after
		var out map[string]struct {
			Nodes    json.RawMessage
			PageInfo struct {
				HasNextPage bool
				EndCursor   string
			}
		}
		if err := c.Query(ctx, doc, vars, &out); err != nil {
			return err
		}
		page, ok := out[field]
		if !ok {
			return fmt.Errorf("the response has no %s", field)
		}
		if err := each(page.Nodes); err != nil {
			return err
		}
		if !page.PageInfo.HasNextPage || page.PageInfo.EndCursor == "" {
			return nil
		}
		after = page.PageInfo.EndCursor
	}
}
