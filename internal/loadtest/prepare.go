package loadtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// PrepareStats says what Prepare found and did.
type PrepareStats struct {
	// Before is the number of contacts the caller could see before preparing.
	Before int
	// Created counts the accounts and contacts created now; Reused those that an earlier run had
	// created (replayed idempotency keys, or duplicates the server pointed at).
	CreatedAccounts, CreatedContacts, Reused int
}

// Prepare makes sure the caller's organization has at least n contacts (as the caller sees them),
// each at an account; accounts and contacts created here are owned by the caller. When fewer are
// visible, it creates contacts number 0 to n-1 of the benchmark's data set with createAccount and
// createContact, with workers requests in flight. Every create carries an idempotency key
// ("bench-acct-<i>", "bench-contact-<i>") and a unique domain or e-mail, so a re-run replays or
// finds what an earlier run created instead of adding duplicates, even after the keys expired.
func Prepare(ctx context.Context, c *Client, n, workers int) (PrepareStats, error) {
	var st PrepareStats
	var count struct {
		Contacts struct {
			TotalCount int `json:"totalCount"`
		} `json:"contacts"`
	}
	if err := c.Query(ctx, `query BenchCount { contacts(first: 1) { totalCount } }`, nil, &count); err != nil {
		return st, fmt.Errorf("prepare: counting contacts: %w", err)
	}
	st.Before = count.Contacts.TotalCount
	if n <= 0 || st.Before >= n {
		return st, nil
	}
	workers = max(1, min(workers, n))

	var created, createdContacts, reused atomic.Int64
	jobs := make(chan int)
	errs := make([]error, workers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range jobs {
				acct, replayed, err := createBenchAccount(ctx, c, i)
				if err != nil {
					errs[w] = err
					cancel()
					return
				}
				tally(&created, &reused, replayed)
				_, replayed, err = createBenchContact(ctx, c, i, acct)
				if err != nil {
					errs[w] = err
					cancel()
					return
				}
				tally(&createdContacts, &reused, replayed)
			}
		})
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	st.CreatedAccounts, st.CreatedContacts, st.Reused = int(created.Load()), int(createdContacts.Load()), int(reused.Load())
	if err := errors.Join(errs...); err != nil {
		return st, fmt.Errorf("prepare: %w", err)
	}
	return st, ctx.Err()
}

func tally(created, reused *atomic.Int64, replayed bool) {
	if replayed {
		reused.Add(1)
	} else {
		created.Add(1)
	}
}

const createAccountDoc = `mutation BenchAccount($input: CreateAccountInput!) {
  createAccount(input: $input) { account { id } replayed } }`

const createContactDoc = `mutation BenchContact($input: CreateContactInput!) {
  createContact(input: $input) { contact { id } replayed } }`

// createBenchAccount creates account i of the data set, or finds it, and returns its ID and whether
// it existed.
func createBenchAccount(ctx context.Context, c *Client, i int) (string, bool, error) {
	var out struct {
		CreateAccount struct {
			Account  struct{ ID string }
			Replayed bool
		}
	}
	input := map[string]any{
		"name":           fmt.Sprintf("Bench Account %04d", i),
		"domain":         fmt.Sprintf("bench-%04d.example.com", i),
		"industry":       "Benchmarking",
		"employees":      10 + i%500,
		"idempotencyKey": fmt.Sprintf("bench-acct-%d", i),
	}
	err := c.Query(ctx, createAccountDoc, map[string]any{"input": input}, &out)
	if id, ok := existing(err); ok {
		return id, true, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("creating account %d: %w", i, err)
	}
	return out.CreateAccount.Account.ID, out.CreateAccount.Replayed, nil
}

// createBenchContact creates contact i of the data set at account, or finds it, and returns its ID
// and whether it existed.
func createBenchContact(ctx context.Context, c *Client, i int, account string) (string, bool, error) {
	var out struct {
		CreateContact struct {
			Contact  struct{ ID string }
			Replayed bool
		}
	}
	input := map[string]any{
		"firstName":      "Bench",
		"lastName":       fmt.Sprintf("Contact %04d", i),
		"title":          "Purchasing manager",
		"emails":         []string{fmt.Sprintf("bench.contact.%04d@example.com", i)},
		"phones":         []string{fmt.Sprintf("+86138%08d", i)},
		"accountId":      account,
		"idempotencyKey": fmt.Sprintf("bench-contact-%d", i),
	}
	err := c.Query(ctx, createContactDoc, map[string]any{"input": input}, &out)
	if id, ok := existing(err); ok {
		return id, true, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("creating contact %d: %w", i, err)
	}
	return out.CreateContact.Contact.ID, out.CreateContact.Replayed, nil
}

// existing returns the ID of the record a CONFLICT error names as the existing duplicate.
func existing(err error) (string, bool) {
	var re *ResponseError
	if !errors.As(err, &re) || len(re.Errors) == 0 || re.Errors[0].Code() != "CONFLICT" {
		return "", false
	}
	id, ok := re.Errors[0].Extensions["existingId"].(string)
	return id, ok && id != ""
}

// LoadFixture reads what the scenarios refer to: up to 100 contacts that have an account (in the
// server's default order), up to 100 accounts and the default pipeline.
func LoadFixture(ctx context.Context, c *Client) (Fixture, error) {
	var out struct {
		Contacts struct {
			Nodes []struct {
				ID      string
				Account *struct{ ID string }
			}
		}
		Accounts struct {
			Nodes []struct{ ID string }
		}
		Pipelines []Pipeline
	}
	err := c.Query(ctx, `query BenchFixture { contacts(first: 100) { nodes { id account { id } } }
  accounts(first: 100) { nodes { id } } pipelines { id isDefault stages { id name closed } } }`, nil, &out)
	if err != nil {
		return Fixture{}, fmt.Errorf("reading the fixture: %w", err)
	}
	var f Fixture
	for _, n := range out.Contacts.Nodes {
		if n.Account != nil {
			f.ContactIDs = append(f.ContactIDs, n.ID)
		}
	}
	for _, n := range out.Accounts.Nodes {
		f.AccountIDs = append(f.AccountIDs, n.ID)
	}
	f.Pipeline, _ = defaultPipeline(out.Pipelines)
	f.OrgID, _ = tokenOrg(c.Token)
	return f, nil
}
