package service_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

func (e *env) capture(a *crm.Actor, in service.LeadInput) service.CaptureResult {
	e.t.Helper()
	if in.Source == "" {
		in.Source = crm.SourceAPI
	}
	res, err := e.svc.CaptureLead(e.ctx, a, in)
	require.NoError(e.t, err)
	return res
}

func TestCaptureNormalizesAndDeduplicates(t *testing.T) {
	e := newEnv(t)
	first := e.capture(e.admin, service.LeadInput{Name: " 王小明 ", Email: " Wang@Example.CN ", Phone: "138 0013 8000",
		Company: "“北京某某科技有限公司”", Source: crm.SourceWebForm, Campaign: "双十一",
		UTM: crm.UTM{Source: "baidu", Medium: "cpc"}, Payload: json.RawMessage(`{"name":" 王小明 ","extra":"kept"}`)})
	require.Equal(t, service.CaptureCreated, first.Outcome)
	l := first.Lead
	require.Equal(t, "王小明", l.Name)
	require.Equal(t, "wang@example.cn", l.Email)
	require.Equal(t, "+8613800138000", l.Phone)
	require.Equal(t, "北京某某科技有限公司", l.Company)
	require.Equal(t, crm.LeadNew, l.Status)
	require.Equal(t, crm.UTM{Source: "baidu", Medium: "cpc"}, l.UTM)
	require.EqualValues(t, 1, l.TouchCount)

	// Same phone in another format, new e-mail case: a touch, not a second lead; blanks get filled.
	again := e.capture(e.admin, service.LeadInput{Name: "Xiaoming Wang", Phone: "+86 138-0013-8000", Title: "采购经理", Source: crm.SourceEvent})
	require.Equal(t, service.CaptureTouched, again.Outcome)
	require.Equal(t, l.ID, again.Lead.ID)
	require.EqualValues(t, 2, again.Lead.TouchCount)
	require.Equal(t, "采购经理", again.Lead.Title, "a touch fills fields the lead lacks")
	require.Equal(t, "王小明", again.Lead.Name, "a touch never overwrites what the lead has")
	require.Equal(t, crm.SourceWebForm, again.Lead.Source, "the lead keeps its first touch's source")
	require.Equal(t, 1, e.count(`SELECT count(*) FROM leads WHERE org_id = $1`, e.org.ID))
	require.Equal(t, 2, e.count(`SELECT count(*) FROM lead_touches WHERE org_id = $1 AND lead_id = $2`, e.org.ID, l.ID))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM lead_touches WHERE lead_id = $1 AND payload->>'extra' = 'kept'`, l.ID),
		"the raw payload is kept for audit")
	require.Equal(t, 2, e.count(`SELECT count(*) FROM river_job WHERE kind = 'lead.score' AND args->>'org_id' = $1`, e.org.ID.String()),
		"each capture enqueues scoring in its transaction")

	// A person who is already a contact: the touch goes to the contact.
	c := e.contact(e.rep1, "Li", "Na", func(in *service.ContactInput) { in.Emails = []string{"li.na@example.com"} })
	toContact := e.capture(e.admin, service.LeadInput{Name: "Li Na", Email: "LI.NA@example.com"})
	require.Equal(t, service.CaptureContact, toContact.Outcome)
	require.Equal(t, c.ID, toContact.ContactID)
	require.Equal(t, crm.NilID, toContact.Lead.ID)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM lead_touches WHERE contact_id = $1 AND lead_id IS NULL`, c.ID))

	// The contact's channels follow its edits: the old address is free, the new phone is the contact.
	c, err := e.svc.UpdateContact(e.ctx, e.rep1, service.ContactUpdate{ID: c.ID, ExpectedVersion: c.Version,
		Emails: service.Some([]string{"na.li@example.com"}), Phones: service.Some([]string{"+8613912345678"})})
	require.NoError(t, err)
	require.Equal(t, service.CaptureCreated, e.capture(e.admin, service.LeadInput{Name: "Li Na", Email: "li.na@example.com"}).Outcome)
	byPhone := e.capture(e.admin, service.LeadInput{Name: "李娜", Phone: "139 1234 5678"})
	require.Equal(t, service.CaptureContact, byPhone.Outcome)
	require.Equal(t, c.ID, byPhone.ContactID)

	// Spam is stored apart and never merged with the real person.
	spam := e.capture(e.sys, service.LeadInput{Name: "bot", Email: "wang@example.cn", Spam: true, Source: crm.SourceWebForm})
	require.Equal(t, service.CaptureSpam, spam.Outcome)
	require.NotEqual(t, l.ID, spam.Lead.ID)
	require.True(t, spam.Lead.Spam)
}

func TestCaptureRejectsBadInputAndKeepsPartial(t *testing.T) {
	e := newEnv(t)
	_, err := e.svc.CaptureLead(e.ctx, e.admin, service.LeadInput{Name: "Ann", Email: "ann@", Source: crm.SourceAPI})
	requireCode(t, err, crm.EINVALID, "email")
	_, err = e.svc.CaptureLead(e.ctx, e.admin, service.LeadInput{Source: crm.SourceAPI})
	requireCode(t, err, crm.EINVALID, "name")
	_, err = e.svc.CaptureLead(e.ctx, e.analyst, service.LeadInput{Name: "x", Source: crm.SourceAPI})
	requireCode(t, err, crm.EFORBIDDEN)
	require.Equal(t, 0, e.count(`SELECT count(*) FROM leads WHERE org_id = $1`, e.org.ID), "nothing half-written")

	res := e.capture(e.admin, service.LeadInput{Name: "Ann", Email: "ann@", Phone: "12", AllowPartial: true})
	require.Equal(t, service.CaptureCreated, res.Outcome)
	require.Len(t, res.Warnings, 2)
	require.Equal(t, "email", res.Warnings[0].Field)
	require.Equal(t, "phone", res.Warnings[1].Field)
	require.Empty(t, res.Lead.Email)
}

func TestCaptureIdempotencyKeyReplays(t *testing.T) {
	e := newEnv(t)
	in := service.LeadInput{Name: "Zhang Wei", Email: "zw@example.com", Source: crm.SourceAPI, IdempotencyKey: "k-1"}
	first := e.capture(e.admin, in)
	second := e.capture(e.admin, in)
	require.True(t, second.Replayed)
	require.Equal(t, service.CaptureCreated, second.Outcome)
	require.Equal(t, first.Lead.ID, second.Lead.ID)
	require.EqualValues(t, 1, second.Lead.TouchCount, "a replay is not a second touch")
}

func TestCaptureBatchPartialSuccessAndInBatchDuplicates(t *testing.T) {
	e := newEnv(t)
	existing := e.capture(e.admin, service.LeadInput{Name: "Known", Email: "known@example.com"})
	ins := []service.LeadInput{
		{Name: "A", Email: "a@example.com", Source: crm.SourceImport},
		{Name: "bad", Email: "not-an-email", Source: crm.SourceImport},
		{Name: "A again", Email: "A@example.com", Company: "Acme", Source: crm.SourceImport},
		{Name: "Known", Email: "known@example.com", Source: crm.SourceImport},
		{Name: "B", Phone: "+1 415 555 2671", Source: crm.SourceImport},
	}
	items, err := e.svc.CaptureLeads(e.ctx, e.admin, ins)
	require.NoError(t, err)
	require.Len(t, items, 5)
	require.Equal(t, service.CaptureCreated, items[0].Result.Outcome)
	requireCode(t, items[1].Err, crm.EINVALID, "email")
	require.Equal(t, service.CaptureTouched, items[2].Result.Outcome)
	require.Equal(t, items[0].Result.Lead.ID, items[2].Result.Lead.ID, "in-batch duplicates become touches")
	require.EqualValues(t, 2, items[2].Result.Lead.TouchCount)
	require.Equal(t, "Acme", items[2].Result.Lead.Company)
	require.Equal(t, existing.Lead.ID, items[3].Result.Lead.ID)
	require.Equal(t, "+14155552671", items[4].Result.Lead.Phone)
	require.Equal(t, 3, e.count(`SELECT count(*) FROM leads WHERE org_id = $1`, e.org.ID))

	_, err = e.svc.CaptureLeads(e.ctx, e.admin, make([]service.LeadInput, service.MaxCaptureBatch+1))
	requireCode(t, err, crm.EINVALID, "leads")
}

func TestConcurrentCapturesOfOnePersonMakeOneLead(t *testing.T) {
	e := newEnv(t)
	const n = 12
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Two actors, so that their captures race in separate transactions (one actor's
			// concurrent captures share one).
			_, errs[i] = e.svc.CaptureLead(e.ctx, []*crm.Actor{e.admin, e.manager}[i%2], service.LeadInput{Name: "Same Person",
				Email: "same@example.com", Phone: fmt.Sprintf("+8613800138%03d", i), Source: crm.SourceWebForm})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, 1, e.count(`SELECT count(*) FROM leads WHERE org_id = $1`, e.org.ID))
	require.Equal(t, n, e.count(`SELECT touch_count FROM leads WHERE org_id = $1`, e.org.ID))
}

// A large batch inserts its new leads without ON CONFLICT; when a concurrent transaction stored one
// of its people after the batch looked them up, the batch still succeeds and that item becomes a
// touch of the other transaction's lead.
func TestBatchCaptureRacingAnotherCaptureOfOnePersonTouchesItsLead(t *testing.T) {
	e := newEnv(t)
	ins := make([]service.LeadInput, 150)
	for i := range ins {
		ins[i] = service.LeadInput{Name: fmt.Sprint("Person ", i), Email: fmt.Sprintf("p%d@race.test", i), Source: crm.SourceAPI}
	}
	other, err := e.pool.Begin(e.ctx)
	require.NoError(t, err)
	defer func() { _ = other.Rollback(e.ctx) }()
	theirs := crm.NewID()
	_, err = other.Exec(e.ctx, `INSERT INTO leads (org_id, id, name, email, source, first_touch_at, last_touch_at, created_at, updated_at)
		VALUES ($1, $2, 'Person 120', 'p120@race.test', 'api', now(), now(), now(), now())`, e.org.ID, theirs)
	require.NoError(t, err)

	type result struct {
		items []service.CaptureItem
		err   error
	}
	done := make(chan result, 1)
	go func() {
		items, err := e.svc.CaptureLeads(e.ctx, e.admin, ins)
		done <- result{items, err}
	}()
	// The batch's INSERT waits on the unique index for the other transaction.
	for e.count(`SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' AND NOT granted`) == 0 {
		select {
		case r := <-done:
			t.Fatalf("the batch finished before waiting for the other transaction: %v", r.err)
		case <-time.After(time.Millisecond):
		}
	}
	require.NoError(t, other.Commit(e.ctx))
	r := <-done
	require.NoError(t, r.err)
	for i, it := range r.items {
		require.NoError(t, it.Err)
		if i == 120 {
			require.Equal(t, service.CaptureTouched, it.Result.Outcome)
			require.Equal(t, theirs, it.Result.Lead.ID)
			continue
		}
		require.Equal(t, service.CaptureCreated, it.Result.Outcome)
	}
	require.Equal(t, 150, e.count(`SELECT count(*) FROM leads WHERE org_id = $1`, e.org.ID))
	require.Equal(t, 2, e.count(`SELECT touch_count FROM leads WHERE id = $1`, theirs))
	require.Equal(t, 150, e.count(`SELECT count(*) FROM lead_touches WHERE org_id = $1`, e.org.ID))
}

// A touch cannot name another organization, nor an organization that does not exist: it refers to
// its lead or contact together with its organization (migration 00009 dropped its separate
// reference to organizations).
func TestTouchBelongsToTheOrganizationOfItsLeadOrContact(t *testing.T) {
	e := newEnv(t)
	l := e.capture(e.admin, service.LeadInput{Name: "Owned", Email: "owned@example.com"}).Lead
	other := e.newOrg("other")
	for _, org := range []crm.ID{other.ID, crm.NewID()} {
		_, err := e.pool.Exec(e.ctx, `INSERT INTO lead_touches (org_id, id, lead_id, source, received_at) VALUES ($1, $2, $3, 'api', now())`,
			org, crm.NewID(), l.ID)
		require.Error(t, err)
		_, err = e.pool.Exec(e.ctx, `INSERT INTO lead_touches (org_id, id, source, received_at) VALUES ($1, $2, 'api', now())`,
			org, crm.NewID())
		require.Error(t, err, "a touch names a lead or a contact")
	}
}

// Leads and events name an organization that exists (migration 00011 checks it once per
// statement instead of by a per-row foreign key): an insert naming a missing one fails, an
// organization that leads or events name cannot be deleted, and neither a row's org_id nor an
// organization's id can change.
func TestLeadsAndEventsNameAnOrganizationThatExists(t *testing.T) {
	e := newEnv(t)
	l := e.capture(e.admin, service.LeadInput{Name: "Owned", Email: "owned@example.com"}).Lead
	requireFKViolation := func(err error, what string) {
		t.Helper()
		var pgErr *pgconn.PgError
		require.ErrorAs(t, err, &pgErr, what)
		require.Equal(t, "23503", pgErr.Code, what)
	}
	insertLead := func(org crm.ID) error {
		_, err := e.pool.Exec(e.ctx, `INSERT INTO leads (org_id, id, name, source, first_touch_at, last_touch_at, created_at, updated_at)
			VALUES ($1, $2, 'Lead', 'api', now(), now(), now(), now())`, org, crm.NewID())
		return err
	}
	insertEvent := func(org crm.ID) error {
		_, err := e.pool.Exec(e.ctx, `INSERT INTO events (org_id, id, type, record_type, record_id, actor_kind, occurred_at)
			VALUES ($1, $2, 'lead.created', 'lead', $3, 'system', now())`, org, crm.NewID(), crm.NewID())
		return err
	}
	requireFKViolation(insertLead(crm.NewID()), "a lead of no organization")
	requireFKViolation(insertEvent(crm.NewID()), "an event of no organization")

	bare := crm.NewID() // an organization with nothing else that would keep it
	_, err := e.pool.Exec(e.ctx, `INSERT INTO organizations (id, slug, name, time_zone, default_currency, default_phone_region,
		record_visibility, working_hours, created_at, updated_at) VALUES ($1, 'bare', 'Bare', 'UTC', 'CNY', 'CN', 'team', '{}', now(), now())`, bare)
	require.NoError(t, err)
	require.NoError(t, insertLead(bare))
	require.NoError(t, insertEvent(bare))
	for _, stmt := range []string{
		`UPDATE leads SET org_id = $2 WHERE org_id = $1`,
		`UPDATE events SET org_id = $2 WHERE org_id = $1`,
		`UPDATE organizations SET id = $2 WHERE id = $1`,
	} {
		_, err = e.pool.Exec(e.ctx, stmt, bare, crm.NewID())
		requireFKViolation(err, stmt)
	}
	_, err = e.pool.Exec(e.ctx, `DELETE FROM organizations WHERE id = $1`, bare)
	requireFKViolation(err, "deleting an organization that has leads and events")
	_, err = e.pool.Exec(e.ctx, `DELETE FROM leads WHERE org_id = $1`, bare)
	require.NoError(t, err)
	_, err = e.pool.Exec(e.ctx, `DELETE FROM organizations WHERE id = $1`, bare)
	requireFKViolation(err, "deleting an organization that has events")
	_, err = e.pool.Exec(e.ctx, `DELETE FROM events WHERE org_id = $1`, bare)
	require.NoError(t, err)
	_, err = e.pool.Exec(e.ctx, `DELETE FROM organizations WHERE id = $1`, bare)
	require.NoError(t, err, "an organization that nothing names can go")
	require.Equal(t, 1, e.count(`SELECT count(*) FROM leads WHERE id = $1`, l.ID))
}

// Single captures that arrive while one of the same actor is being stored go together in the next
// transaction; a bad one fails alone, and a batch that fails as a whole is retried one by one.
func TestConcurrentSingleCapturesShareATransaction(t *testing.T) {
	e := newEnv(t)
	sizes := make(chan int, 100)
	var hold atomic.Pointer[chan struct{}] // when set, the next batch waits until it is closed
	var failNext atomic.Bool
	service.SetBeforeCaptureBatch(e.svc, func(n int) error {
		sizes <- n
		if failNext.CompareAndSwap(true, false) {
			return errors.New("injected failure of a whole batch")
		}
		if h := hold.Swap(nil); h != nil {
			<-*h
		}
		return nil
	})
	capture := func(i int) (service.CaptureResult, error) {
		email := fmt.Sprintf("p%d@example.com", i)
		if i == 7 {
			email = "not an e-mail"
		}
		return e.svc.CaptureLead(e.ctx, e.admin, service.LeadInput{Name: fmt.Sprintf("Person %d", i), Email: email})
	}
	// queue holds a batch of capture from, then queues the captures up to to behind it, runs
	// beforeRelease and lets them go.
	queue := func(from, to int, beforeRelease func()) ([]service.CaptureResult, []error) {
		release := make(chan struct{})
		hold.Store(&release)
		res, errs := make([]service.CaptureResult, to), make([]error, to)
		var wg sync.WaitGroup
		wg.Go(func() { res[from], errs[from] = capture(from) })
		require.Equal(t, 1, <-sizes)
		for i := from + 1; i < to; i++ {
			wg.Go(func() { res[i], errs[i] = capture(i) })
		}
		require.Eventually(t, func() bool { return service.WaitingCaptures(e.svc, e.admin) == to-from-1 },
			10*time.Second, time.Millisecond)
		beforeRelease()
		close(release)
		wg.Wait()
		require.Equal(t, to-from-1, <-sizes, "the waiting captures go in one batch")
		return res, errs
	}

	res, errs := queue(0, 20, func() {})
	for i := range 20 {
		if i == 7 {
			requireCode(t, errs[i], crm.EINVALID, "email")
			continue
		}
		require.NoError(t, errs[i])
		require.Equal(t, service.CaptureCreated, res[i].Outcome)
		require.Equal(t, fmt.Sprintf("p%d@example.com", i), res[i].Lead.Email, "each call gets its own lead")
	}
	require.Equal(t, 19, e.count(`SELECT count(*) FROM leads WHERE org_id = $1`, e.org.ID))
	require.Equal(t, 2, e.count(`SELECT count(DISTINCT xmin::text) FROM leads WHERE org_id = $1`, e.org.ID),
		"two transactions: the first capture's and its 18 followers'")
	require.Equal(t, 19, e.count(`SELECT count(*) FROM events WHERE org_id = $1 AND type = 'lead.created'`, e.org.ID))

	// A batch whose transaction fails as a whole: each of its captures is retried alone.
	res, errs = queue(20, 26, func() { failNext.Store(true) })
	for i := 20; i < 26; i++ {
		require.NoError(t, errs[i])
		require.Equal(t, service.CaptureCreated, res[i].Outcome)
	}
	require.Equal(t, 25, e.count(`SELECT count(*) FROM leads WHERE org_id = $1`, e.org.ID))
	require.Equal(t, 2+1+5, e.count(`SELECT count(DISTINCT xmin::text) FROM leads WHERE org_id = $1`, e.org.ID))

	// A batch of one has nobody to spare: its error is the capture's.
	failNext.Store(true)
	_, err := capture(100)
	require.ErrorContains(t, err, "injected failure")
	require.Equal(t, 25, e.count(`SELECT count(*) FROM leads WHERE org_id = $1`, e.org.ID))
}

func TestLeadStatusTransitions(t *testing.T) {
	e := newEnv(t)
	l := e.capture(e.admin, service.LeadInput{Name: "Status", Email: "s@example.com"}).Lead
	_, err := e.svc.SetLeadStatus(e.ctx, e.admin, l.ID, l.Version, crm.LeadDisqualified, "")
	requireCode(t, err, crm.EINVALID, "reason")
	l, err = e.svc.SetLeadStatus(e.ctx, e.admin, l.ID, l.Version, crm.LeadDisqualified, "No budget this year")
	require.NoError(t, err)
	require.Equal(t, "No budget this year", l.StatusReason)
	_, err = e.svc.SetLeadStatus(e.ctx, e.admin, l.ID, l.Version, crm.LeadQualified, "")
	requireCode(t, err, crm.EINVALID, "status")
	require.Contains(t, err.Error(), "WORKING, NURTURING")
	_, err = e.svc.SetLeadStatus(e.ctx, e.admin, l.ID, l.Version-1, crm.LeadWorking, "")
	requireCode(t, err, crm.ECONFLICT)
}

func TestConvertLeadCreatesOrLinksRecordsOnce(t *testing.T) {
	e := newEnv(t)
	acct := e.account(e.rep1, "Globex", func(in *service.AccountInput) { in.Domain = "globex.cn" })
	l := e.capture(e.admin, service.LeadInput{Name: "欧阳娜娜", Email: "nana@globex.cn", Phone: "13900139000",
		Company: "Globex Ltd", Website: "www.globex.cn", Title: "采购总监"}).Lead
	act, _, err := e.svc.LogActivity(e.ctx, e.admin, service.ActivityInput{Type: crm.ActivityCall, Subject: "First call",
		RecordType: crm.TypeLead, RecordID: l.ID})
	require.NoError(t, err)
	amount := decimal.RequireFromString("120000.50")
	c, err := e.svc.ConvertLead(e.ctx, e.admin, service.ConvertInput{ID: l.ID, ExpectedVersion: l.Version,
		CreateOpportunity: true, Amount: &amount, OwnerID: e.rep1.UserID})
	require.NoError(t, err)
	require.False(t, c.AccountCreated, "the account matches on the web domain")
	require.Equal(t, acct.ID, c.Account.ID)
	require.True(t, c.ContactCreated)
	require.Equal(t, "欧阳", c.Contact.LastName)
	require.Equal(t, "娜娜", c.Contact.FirstName)
	require.Equal(t, []string{"nana@globex.cn"}, c.Contact.Emails)
	require.NotNil(t, c.Opportunity)
	require.Equal(t, l.ID, c.Opportunity.SourceLeadID)
	require.True(t, amount.Equal(*c.Opportunity.Amount))
	require.Equal(t, crm.LeadConverted, c.Lead.Status)
	require.Equal(t, c.Contact.ID, c.Lead.ContactID)
	require.Equal(t, 1, e.count(`SELECT count(*) FROM activities WHERE id = $1 AND record_type = 'Contact' AND record_id = $2`, act.ID, c.Contact.ID),
		"the lead's activities move to the contact")
	require.Equal(t, 1, e.count(`SELECT count(*) FROM lead_touches WHERE lead_id = $1 AND contact_id = $2`, l.ID, c.Contact.ID))

	_, err = e.svc.ConvertLead(e.ctx, e.admin, service.ConvertInput{ID: l.ID, ExpectedVersion: c.Lead.Version})
	requireCode(t, err, crm.ECONFLICT)
	_, _, err = e.svc.LogActivity(e.ctx, e.admin, service.ActivityInput{Type: crm.ActivityNote, Subject: "late",
		RecordType: crm.TypeLead, RecordID: l.ID})
	requireCode(t, err, crm.EINVALID, "recordId")

	// The person comes back through a form: the touch lands on the contact.
	back := e.capture(e.sys, service.LeadInput{Name: "Nana", Email: "nana@globex.cn", Source: crm.SourceWebForm})
	require.Equal(t, service.CaptureContact, back.Outcome)
	require.Equal(t, c.Contact.ID, back.ContactID)

	// No company and no account: a clear error, nothing written.
	lone := e.capture(e.admin, service.LeadInput{Name: "Lone Wolf", Email: "lone@example.com"}).Lead
	_, err = e.svc.ConvertLead(e.ctx, e.admin, service.ConvertInput{ID: lone.ID, ExpectedVersion: lone.Version})
	requireCode(t, err, crm.EINVALID, "accountId")
	require.Equal(t, 0, e.count(`SELECT count(*) FROM contacts WHERE 'lone@example.com' = ANY(emails)`))
}

func TestMergeLeadsAndFindDuplicates(t *testing.T) {
	e := newEnv(t)
	a := e.capture(e.admin, service.LeadInput{Name: "Chen Jie", Email: "chen@acme.cn", Company: "Acme"}).Lead
	b := e.capture(e.admin, service.LeadInput{Name: "Chen Jie", Phone: "13700137000", Company: "ACME", Title: "CTO"}).Lead
	other := e.capture(e.admin, service.LeadInput{Name: "Other", Email: "o@else.cn"}).Lead
	dups, err := e.svc.FindDuplicates(e.ctx, e.admin, a.ID)
	require.NoError(t, err)
	require.Len(t, dups, 1)
	require.Equal(t, b.ID, dups[0].Lead.ID)
	require.Equal(t, []string{"NAME_AND_COMPANY"}, dups[0].Reasons)

	_, _, err = e.svc.LogActivity(e.ctx, e.admin, service.ActivityInput{Type: crm.ActivityNote, Subject: "on b",
		RecordType: crm.TypeLead, RecordID: b.ID})
	require.NoError(t, err)
	merged, err := e.svc.MergeLeads(e.ctx, e.admin, a.ID, []crm.ID{b.ID})
	require.NoError(t, err)
	require.Equal(t, "+8613700137000", merged.Phone, "the survivor takes the channels it lacks")
	require.Equal(t, "CTO", merged.Title)
	require.Equal(t, 2, e.count(`SELECT count(*) FROM lead_touches WHERE lead_id = $1`, a.ID))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM activities WHERE record_id = $1`, a.ID))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM leads WHERE id = $1 AND merged_into_id = $2`, b.ID, a.ID))

	// The merged lead's phone now finds the survivor.
	res := e.capture(e.admin, service.LeadInput{Name: "Chen", Phone: "+86 137 0013 7000"})
	require.Equal(t, a.ID, res.Lead.ID)

	_, err = e.svc.MergeLeads(e.ctx, e.admin, a.ID, []crm.ID{b.ID})
	requireCode(t, err, crm.EINVALID, "duplicateIds")
	_, err = e.svc.MergeLeads(e.ctx, e.admin, other.ID, []crm.ID{other.ID})
	requireCode(t, err, crm.EINVALID)
}

func TestLeadVisibilityAndMasking(t *testing.T) {
	e := newEnv(t)
	l := e.capture(e.admin, service.LeadInput{Name: "Visible", Email: "v@example.com", Phone: "13800138001"}).Lead
	// Unassigned leads are everyone's inbox; a rep without pii sees masked channels.
	got, err := e.svc.Lead(e.ctx, e.rep1, l.ID)
	require.NoError(t, err)
	require.Equal(t, l.ID, got.ID)
	list, _, err := e.svc.ListLeads(e.ctx, e.rep2, service.LeadFilter{}, service.Order{}, service.Page{})
	require.NoError(t, err)
	require.Len(t, list, 1)
	_, err = e.svc.Lead(e.ctx, e.support, l.ID)
	requireCode(t, err, crm.EFORBIDDEN)
	other := e.newOrg("other")
	_, err = e.svc.Lead(e.ctx, crm.SystemActor(other.ID), l.ID)
	requireCode(t, err, crm.ENOTFOUND)
}

func TestLeadChannelsMaskedWithoutPII(t *testing.T) {
	e := newEnv(t)
	l := e.capture(e.admin, service.LeadInput{Name: "Masked", Email: "masked@example.com", Phone: "13800138002"}).Lead
	key := &crm.Actor{Kind: crm.ActorAPIKey, OrgID: e.org.ID, APIKeyID: crm.NewID(), Scopes: []string{"leads:read"}}
	got, err := e.svc.Lead(e.ctx, key, l.ID)
	require.NoError(t, err)
	require.NotEqual(t, l.Email, got.Email)
	require.Contains(t, got.Email, "***")
	require.NotEqual(t, l.Phone, got.Phone)
}
