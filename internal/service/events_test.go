package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/eventlog"
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
		require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT count(*), min(seq), max(seq) FROM event_seqs WHERE org_id = $1", org).Scan(&n, &lo, &hi))
		require.Equal(t, 1, lo)
		require.Equal(t, n, hi, "sequence numbers are dense: 1..n")
		require.Equal(t, n, e.count("SELECT count(*) FROM events WHERE org_id = $1", org), "every event is numbered")
	}
	require.Zero(t, e.count("SELECT count(*) FROM event_queue"))
}

// TestRelayNumbersInCommitOrderWithoutRewritingEvents: an event appended first but committed last
// is numbered after the events committed before it, never skipped, and no event row is rewritten.
func TestRelayNumbersInCommitOrderWithoutRewritingEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.publish()
	appendIn := func(tx pgx.Tx, name string) crm.ID {
		ev := crm.Event{ID: crm.NewID(), OrgID: e.org.ID, Type: "lead.created", RecordType: crm.TypeLead,
			RecordID: crm.NewID(), ActorKind: crm.ActorSystem, OccurredAt: time.Now(),
			Changes: []crm.FieldChange{{Field: "name", After: []byte(`"` + name + `"`)}}}
		require.NoError(t, eventlog.Append(e.ctx, query.New(tx), ev))
		return ev.ID
	}
	slow, err := e.pool.Begin(e.ctx)
	require.NoError(t, err)
	defer func() { _ = slow.Rollback(e.ctx) }()
	late := appendIn(slow, "appended first, committed last")
	fast, err := e.pool.Begin(e.ctx)
	require.NoError(t, err)
	early := [2]crm.ID{appendIn(fast, "second"), appendIn(fast, "third")}
	require.NoError(t, fast.Commit(e.ctx))
	require.Less(t, late.String(), early[0].String(), "the slow transaction's event has the smaller ID")

	e.publish() // the slow transaction's event is invisible: it must wait, not be skipped
	rowsBefore := e.count("SELECT count(*) FROM events WHERE org_id = $1", e.org.ID)
	var base int64
	require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT seq FROM event_seqs WHERE id = $1", early[0]).Scan(&base))
	var ctid string
	require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT ctid::text FROM events WHERE id = $1", early[0]).Scan(&ctid))
	require.NoError(t, slow.Commit(e.ctx))
	e.publish()

	seqOf := func(id crm.ID) int64 {
		var seq int64
		require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT seq FROM event_seqs WHERE id = $1", id).Scan(&seq))
		return seq
	}
	require.Equal(t, base+1, seqOf(early[1]))
	require.Equal(t, base+2, seqOf(late), "numbered after the events committed before it")
	require.Equal(t, rowsBefore+1, e.count("SELECT count(*) FROM events WHERE org_id = $1", e.org.ID))
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE id = $1 AND ctid::text = $2", early[0], ctid),
		"publishing does not rewrite the event row")
	require.Zero(t, e.count("SELECT count(*) FROM event_queue"))

	feed, _, err := e.svc.Changes(e.ctx, e.admin, service.EventCursor(base-1), nil, 10)
	require.NoError(t, err)
	require.Len(t, feed, 3)
	for i, id := range []crm.ID{early[0], early[1], late} {
		require.Equal(t, id, feed[i].ID)
		require.Equal(t, base+int64(i), feed[i].Seq)
	}
	trail, _, err := e.svc.AuditTrail(e.ctx, e.admin, crm.TypeLead, feed[2].RecordID, "", 10)
	require.NoError(t, err)
	require.Len(t, trail, 1)
	require.Equal(t, base+2, trail[0].Seq, "the audit trail shows the sequence number")
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
