package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// publish runs the relay until nothing is left unpublished.
func (e *env) publish() {
	e.t.Helper()
	for {
		n, err := e.relay.PublishOnce(e.ctx)
		require.NoError(e.t, err)
		if n == 0 {
			return
		}
	}
}

func TestRelayNumbersEachOrganizationDensely(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	other := e.newOrg("other")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, _, err := e.svc.CreateAccount(e.ctx, e.admin, service.AccountInput{Name: fmt.Sprint("ours ", i)})
			require.NoError(t, err)
			_, _, err = e.svc.CreateAccount(e.ctx, crm.SystemActor(other.ID), service.AccountInput{Name: fmt.Sprint("theirs ", i)})
			require.NoError(t, err)
		})
	}
	wg.Wait()
	e.publish()
	for _, org := range []crm.ID{e.org.ID, other.ID} {
		var n, lo, hi int
		require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT count(*), min(seq), max(seq) FROM events WHERE org_id = $1", org).Scan(&n, &lo, &hi))
		require.Equal(t, 1, lo)
		require.Equal(t, n, hi, "sequence numbers are dense: 1..n")
	}
	require.Zero(t, e.count("SELECT count(*) FROM events WHERE seq IS NULL"))
}

func TestChangeFeedPagesThroughTheLogAndFiltersVisibility(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.account(e.rep1, "rep1's")
	e.account(e.rep2, "rep2's")
	e.contact(e.rep1, "Lee", "Ann")
	e.publish()

	var all []crm.Event
	after := ""
	for {
		page, info, err := e.svc.Changes(e.ctx, e.admin, after, nil, 4)
		require.NoError(t, err)
		all = append(all, page...)
		if !info.HasNextPage {
			break
		}
		after = info.EndCursor
	}
	require.Equal(t, e.count("SELECT count(*) FROM events WHERE org_id = $1", e.org.ID), len(all), "the admin reads the whole log")
	for i := 1; i < len(all); i++ {
		require.Equal(t, all[i-1].Seq+1, all[i].Seq)
	}

	accounts, _, err := e.svc.Changes(e.ctx, e.rep2, "", []string{crm.TypeAccount}, 100)
	require.NoError(t, err)
	require.Len(t, accounts, 1, "a rep sees only events of records they may see")
	_, _, err = e.svc.Changes(e.ctx, e.rep2, "", []string{"Spaceship"}, 100)
	requireCode(t, err, crm.EINVALID, "types")
	_, _, err = e.svc.Changes(e.ctx, e.analyst, "", nil, 100)
	requireCode(t, err, crm.EFORBIDDEN)
}

func TestSubscriptionResumesWithoutGapOrDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	go func() { _ = e.hub.Run(ctx) }()
	go func() { _ = e.relay.Run(ctx) }()

	for i := range 3 {
		e.account(e.rep1, fmt.Sprint("before ", i))
	}
	e.publish()
	page, _, err := e.svc.Changes(e.ctx, e.rep1, "", []string{crm.TypeAccount}, 100)
	require.NoError(t, err)
	require.Len(t, page, 3)
	cursor := service.EventCursor(page[0].Seq) // the client saw only the first one

	events, err := e.svc.Subscribe(ctx, e.rep1, []string{crm.TypeAccount}, &cursor)
	require.NoError(t, err)
	// Live writes while the subscriber is still catching up, from many goroutines.
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Go(func() { e.account(e.rep1, fmt.Sprint("live ", i)) })
	}
	e.account(e.rep2, "invisible to rep1")
	wg.Wait()

	var got []crm.Event
	for len(got) < 12 {
		select {
		case ev := <-events:
			got = append(got, ev)
		case <-ctx.Done():
			t.Fatalf("received %d of 12 events", len(got))
		}
	}
	for i := 1; i < len(got); i++ {
		require.Greater(t, got[i].Seq, got[i-1].Seq, "in order, no duplicates")
	}
	names := map[string]bool{}
	for _, ev := range got {
		for _, c := range ev.Changes {
			if c.Field == "name" {
				names[string(c.After)] = true
			}
		}
	}
	require.True(t, names[`"before 1"`] && names[`"before 2"`] && names[`"live 9"`])
	require.False(t, names[`"before 0"`], "nothing at or before the cursor")
	require.False(t, names[`"invisible to rep1"`], "nothing the subscriber may not see")
	select {
	case ev := <-events:
		t.Fatalf("unexpected extra event %s", ev.Type)
	case <-time.After(300 * time.Millisecond):
	}
}
