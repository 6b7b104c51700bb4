package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

func dec(s string) *decimal.Decimal {
	d := decimal.RequireFromString(s)
	return &d
}

// salesPipeline returns the organization's default pipeline and its stages by name.
func (e *env) salesPipeline() (crm.Pipeline, map[string]crm.Stage) {
	e.t.Helper()
	ps, err := e.svc.ListPipelines(e.ctx, e.admin)
	require.NoError(e.t, err)
	require.NotEmpty(e.t, ps)
	byName := map[string]crm.Stage{}
	for _, st := range ps[0].Stages {
		byName[st.Name] = st
	}
	return ps[0], byName
}

func (e *env) deal(a *crm.Actor, acct crm.Account, name string, opts ...func(*service.OpportunityInput)) crm.Opportunity {
	e.t.Helper()
	in := service.OpportunityInput{Name: name, AccountID: acct.ID}
	for _, o := range opts {
		o(&in)
	}
	d, _, err := e.svc.CreateOpportunity(e.ctx, a, in)
	require.NoError(e.t, err)
	return d
}

func TestNewOrganizationHasTheDefaultPipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, _ := e.salesPipeline()
	require.True(t, p.IsDefault)
	var names []string
	var probs []int32
	for _, st := range p.Stages {
		names = append(names, st.Name)
		probs = append(probs, st.Probability)
	}
	require.Equal(t, []string{"Initial contact", "Needs analysis", "Proposal/quote", "Negotiation", "Closed won", "Closed lost"}, names)
	require.Equal(t, []int32{10, 20, 60, 80, 100, 0}, probs)
}

func TestCreateOpportunityDefaultsAndHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, stages := e.salesPipeline()
	acct := e.account(e.rep1, "华为技术有限公司")
	d := e.deal(e.rep1, acct, "华东区 ERP 升级", func(in *service.OpportunityInput) { in.Amount = dec("125000.50") })
	require.Equal(t, p.ID, d.PipelineID)
	require.Equal(t, stages["Initial contact"].ID, d.StageID)
	require.Equal(t, int32(10), d.Probability)
	require.Equal(t, crm.CategoryPipeline, d.ForecastCategory)
	require.Equal(t, "CNY", d.Currency)
	require.Equal(t, e.rep1.UserID, d.OwnerID)
	require.NotEqual(t, crm.NilID, d.TeamID, "the team follows the owner's")

	got, err := e.svc.Opportunity(e.ctx, e.rep1, d.ID)
	require.NoError(t, err)
	require.Equal(t, "125000.5", got.Amount.String(), "money round-trips exactly")
	require.Equal(t, "华东区 ERP 升级", got.Name)

	hist, err := e.svc.StageHistory(e.ctx, e.rep1, []crm.ID{d.ID})
	require.NoError(t, err)
	require.Len(t, hist[0], 1)
	require.Equal(t, crm.NilID, hist[0][0].FromStageID)
	require.Equal(t, d.StageID, hist[0][0].ToStageID)

	var snapshot []byte
	require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT snapshot FROM events WHERE record_id = $1 AND type = 'opportunity.created'", d.ID).Scan(&snapshot))
	var fromEvent crm.Opportunity
	require.NoError(t, json.Unmarshal(snapshot, &fromEvent))
	require.Equal(t, d.Name, fromEvent.Name)
	require.Equal(t, "125000.5", fromEvent.Amount.String())
}

func TestCreateOpportunityRejectsBadInputAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, stages := e.salesPipeline()
	acct := e.account(e.rep1, "Acme")
	other := e.account(e.rep1, "Other")
	stranger := e.contact(e.rep1, "Li", "Lei", func(in *service.ContactInput) { in.AccountID = other.ID })
	other2 := e.newOrg("other-org")
	otherPipelines, err := e.svc.ListPipelines(e.ctx, crm.SystemActor(other2.ID))
	require.NoError(t, err)
	tests := []struct {
		name  string
		in    func(*service.OpportunityInput)
		field string
	}{
		{"negative amount", func(in *service.OpportunityInput) { in.Amount = dec("-1") }, "amount"},
		{"more decimals than the currency has", func(in *service.OpportunityInput) { in.Amount = dec("10.005") }, "amount"},
		{"yen has no decimals", func(in *service.OpportunityInput) { in.Currency, in.Amount = "JPY", dec("10.5") }, "amount"},
		{"not ISO 4217", func(in *service.OpportunityInput) { in.Currency = "RMB" }, "currency"},
		{"close date far in the past", func(in *service.OpportunityInput) { in.CloseDate = &crm.Date{Year: 2020, Month: 1, Day: 1} }, "closeDate"},
		{"probability over 100", func(in *service.OpportunityInput) { p := int32(101); in.Probability = &p }, "probability"},
		{"closed category on an open stage", func(in *service.OpportunityInput) { c := crm.CategoryClosedWon; in.ForecastCategory = &c }, "forecastCategory"},
		{"a contact of another account", func(in *service.OpportunityInput) {
			in.Contacts = []crm.DealContact{{ContactID: stranger.ID, Roles: []crm.ContactRole{crm.RoleChampion}}}
		}, "contacts[0].contactId"},
		{"created closed", func(in *service.OpportunityInput) { in.StageID = stages["Closed won"].ID }, "stageId"},
		{"entry criteria of the stage", func(in *service.OpportunityInput) { in.StageID = stages["Negotiation"].ID }, "toStageId"},
		{"a pipeline of another organization", func(in *service.OpportunityInput) { in.PipelineID = otherPipelines[0].ID }, "pipelineId"},
		{"no name", func(in *service.OpportunityInput) { in.Name = "  " }, "name"},
		{"unknown account", func(in *service.OpportunityInput) { in.AccountID = crm.NewID() }, "accountId"},
	}
	for _, tt := range tests {
		in := service.OpportunityInput{Name: "Deal", AccountID: acct.ID}
		tt.in(&in)
		_, _, err := e.svc.CreateOpportunity(e.ctx, e.rep1, in)
		requireCode(t, err, crm.EINVALID, tt.field)
	}
	require.Zero(t, e.count("SELECT count(*) FROM opportunities"))
	require.Zero(t, e.count("SELECT count(*) FROM stage_history"))
	require.Zero(t, e.count("SELECT count(*) FROM events WHERE record_type = 'Opportunity'"))
}

func TestMoveOpportunityEnforcesEntryCriteria(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, stages := e.salesPipeline()
	acct := e.account(e.rep1, "Acme")
	buyer := e.contact(e.rep1, "王", "芳", func(in *service.ContactInput) { in.AccountID = acct.ID })
	d := e.deal(e.rep1, acct, "Deal")

	_, err := e.svc.MoveOpportunity(e.ctx, e.rep1, service.Move{ID: d.ID, ToStageID: stages["Proposal/quote"].ID, ExpectedVersion: d.Version})
	requireCode(t, err, crm.EINVALID, "toStageId")
	var appErr *crm.Error
	require.ErrorAs(t, err, &appErr)
	blockers := appErr.Details["blockers"].([]crm.Blocker)
	require.Len(t, blockers, 2, "every unmet criterion is listed")
	require.Equal(t, crm.CriterionChecklist, blockers[0].Kind)
	require.Equal(t, crm.CriterionContactRole, blockers[1].Kind)

	trans, err := e.svc.Transitions(e.ctx, e.rep1, d)
	require.NoError(t, err)
	for _, tr := range trans {
		if tr.Stage.ID == stages["Needs analysis"].ID {
			require.Empty(t, tr.BlockedBy)
		}
		if tr.Stage.ID == stages["Proposal/quote"].ID {
			require.Len(t, tr.BlockedBy, 2)
		}
	}

	d, err = e.svc.UpdateOpportunity(e.ctx, e.rep1, service.OpportunityUpdate{ID: d.ID, ExpectedVersion: d.Version,
		Checklist: service.Some([]string{"Pain point confirmed"}),
		Contacts:  service.Some([]crm.DealContact{{ContactID: buyer.ID, Roles: []crm.ContactRole{crm.RoleEconomicBuyer}}})})
	require.NoError(t, err)
	d, err = e.svc.MoveOpportunity(e.ctx, e.rep1, service.Move{ID: d.ID, ToStageID: stages["Proposal/quote"].ID, ExpectedVersion: d.Version})
	require.NoError(t, err)
	require.Equal(t, int32(60), d.Probability)
	require.Equal(t, crm.CategoryBestCase, d.ForecastCategory)

	hist, err := e.svc.StageHistory(e.ctx, e.rep1, []crm.ID{d.ID})
	require.NoError(t, err)
	require.Len(t, hist[0], 2)
	require.Equal(t, stages["Initial contact"].ID, hist[0][1].FromStageID)
	require.Equal(t, int32(60), hist[0][1].Probability)
}

func TestCloseLostNeedsReasonAndReopenIsAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, stages := e.salesPipeline()
	acct := e.account(e.rep1, "Acme")
	d := e.deal(e.rep1, acct, "Deal")
	lost := stages["Closed lost"].ID

	_, err := e.svc.MoveOpportunity(e.ctx, e.rep1, service.Move{ID: d.ID, ToStageID: lost, ExpectedVersion: d.Version})
	requireCode(t, err, crm.EINVALID, "lossReason")

	other := e.newOrg("elsewhere")
	ps, err := e.svc.ListPipelines(e.ctx, crm.SystemActor(other.ID))
	require.NoError(t, err)
	_, err = e.svc.MoveOpportunity(e.ctx, e.rep1, service.Move{ID: d.ID, ToStageID: ps[0].Stages[1].ID, ExpectedVersion: d.Version})
	requireCode(t, err, crm.EINVALID, "toStageId")

	d, err = e.svc.MoveOpportunity(e.ctx, e.rep1, service.Move{ID: d.ID, ToStageID: lost, ExpectedVersion: d.Version,
		LossReason: "价格太高", Competitor: "Rival"})
	require.NoError(t, err)
	require.NotNil(t, d.ClosedAt)
	require.NotNil(t, d.CloseDate)
	require.Equal(t, crm.DateOf(time.Now().In(mustZone(t, "Asia/Shanghai"))), *d.CloseDate)
	require.Equal(t, "价格太高", d.LossReason)
	require.Equal(t, crm.CategoryOmitted, d.ForecastCategory)

	d, err = e.svc.MoveOpportunity(e.ctx, e.rep1, service.Move{ID: d.ID, ToStageID: stages["Needs analysis"].ID, ExpectedVersion: d.Version})
	require.NoError(t, err)
	require.Nil(t, d.ClosedAt)
	require.Empty(t, d.LossReason)
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'opportunity.reopened'", d.ID))
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'opportunity.closed_lost'", d.ID))
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// Many people move and edit one deal at once: each version is won by exactly one of them, the
// others get a CONFLICT with the current version, and no write is lost.
func TestConcurrentDealWritersNeverLoseAnUpdate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, stages := e.salesPipeline()
	acct := e.account(e.rep1, "Acme")
	d := e.deal(e.rep1, acct, "Deal")
	var wins, moves int
	for round := range 6 {
		cur, err := e.svc.Opportunity(e.ctx, e.rep1, d.ID)
		require.NoError(t, err)
		target := stages["Needs analysis"].ID
		if cur.StageID == target {
			target = stages["Initial contact"].ID
		}
		var mu sync.Mutex
		var ok, conflicts int
		var wg sync.WaitGroup
		for i := range 12 {
			wg.Go(func() {
				var err error
				if i%2 == 0 {
					_, err = e.svc.MoveOpportunity(e.ctx, e.rep1, service.Move{ID: d.ID, ToStageID: target, ExpectedVersion: cur.Version})
				} else {
					_, err = e.svc.UpdateOpportunity(e.ctx, e.manager, service.OpportunityUpdate{ID: d.ID, ExpectedVersion: cur.Version,
						NextStep: service.Some(fmt.Sprintf("step %d-%d", round, i))})
				}
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
					if i%2 == 0 {
						moves++
					}
				case crm.ErrorCode(err) == crm.ECONFLICT:
					conflicts++
				default:
					t.Errorf("unexpected error: %v", err)
				}
			})
		}
		wg.Wait()
		require.Equal(t, 1, ok, "exactly one writer wins each version")
		require.Equal(t, 11, conflicts)
		wins += ok
	}
	final, err := e.svc.Opportunity(e.ctx, e.rep1, d.ID)
	require.NoError(t, err)
	require.Equal(t, d.Version+int32(wins), final.Version)
	require.Equal(t, 1+moves, e.count("SELECT count(*) FROM stage_history WHERE opportunity_id = $1", d.ID))
}

func TestOpportunityVisibilityFollowsOwners(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.rep1, "Shared", func(in *service.AccountInput) { in.OwnerID = service.Some(crm.NilID) })
	d := e.deal(e.rep1, acct, "Rep1 deal")
	_, err := e.svc.Opportunity(e.ctx, e.rep2, d.ID)
	requireCode(t, err, crm.ENOTFOUND)
	_, err = e.svc.MoveOpportunity(e.ctx, e.rep2, service.Move{ID: d.ID, ToStageID: d.StageID, ExpectedVersion: d.Version})
	requireCode(t, err, crm.ENOTFOUND)
	_, err = e.svc.Opportunity(e.ctx, e.manager, d.ID)
	require.NoError(t, err)
	_, err = e.svc.Opportunity(e.ctx, e.analyst, d.ID)
	requireCode(t, err, crm.EFORBIDDEN)
	list, _, err := e.svc.ListOpportunities(e.ctx, e.rep2, service.OpportunityFilter{}, service.Order{}, service.Page{})
	require.NoError(t, err)
	require.Empty(t, list)
}

func TestRemovingAStageMapsItsDeals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, stages := e.salesPipeline()
	acct := e.account(e.rep1, "Acme")
	d := e.deal(e.rep1, acct, "Deal", func(in *service.OpportunityInput) { in.StageID = stages["Needs analysis"].ID })
	var kept []crm.Stage
	for _, st := range p.Stages {
		if st.Name != "Needs analysis" {
			kept = append(kept, st)
		}
	}
	_, _, err := e.svc.UpdatePipeline(e.ctx, e.admin, service.PipelineUpdate{ID: p.ID, ExpectedVersion: p.Version, Stages: service.Some(kept)})
	requireCode(t, err, crm.EINVALID, "stageMappings")
	require.Equal(t, 0, e.count("SELECT count(*) FROM pipeline_stages WHERE deleted_at IS NOT NULL"), "nothing changed")

	_, _, err = e.svc.UpdatePipeline(e.ctx, e.rep1, service.PipelineUpdate{ID: p.ID, ExpectedVersion: p.Version, Stages: service.Some(kept)})
	requireCode(t, err, crm.EFORBIDDEN)

	updated, moved, err := e.svc.UpdatePipeline(e.ctx, e.admin, service.PipelineUpdate{ID: p.ID, ExpectedVersion: p.Version,
		Stages: service.Some(kept), Mappings: map[crm.ID]crm.ID{stages["Needs analysis"].ID: stages["Initial contact"].ID}})
	require.NoError(t, err)
	require.Equal(t, 1, moved)
	require.Len(t, updated.Stages, 5)
	got, err := e.svc.Opportunity(e.ctx, e.rep1, d.ID)
	require.NoError(t, err)
	require.Equal(t, stages["Initial contact"].ID, got.StageID)
	require.Equal(t, int32(10), got.Probability)
	hist, err := e.svc.StageHistory(e.ctx, e.rep1, []crm.ID{d.ID})
	require.NoError(t, err)
	require.Len(t, hist[0], 2)
	removed, err := e.svc.Stages(e.ctx, e.rep1, []crm.ID{hist[0][0].ToStageID})
	require.NoError(t, err)
	require.Equal(t, "Needs analysis", removed[0].Name, "history still names the removed stage")
	require.NotNil(t, removed[0].DeletedAt)

	_, _, err = e.svc.UpdatePipeline(e.ctx, e.admin, service.PipelineUpdate{ID: p.ID, ExpectedVersion: p.Version, Name: service.Some("x")})
	requireCode(t, err, crm.ECONFLICT)
}

func TestPipelineDefinitionsAreValidated(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	open := crm.Stage{Name: "Open", Probability: 10, ForecastCategory: crm.CategoryPipeline}
	won := crm.Stage{Name: "Won", Probability: 100, ForecastCategory: crm.CategoryClosedWon, Closed: true, Won: true}
	lost := crm.Stage{Name: "Lost", Probability: 0, ForecastCategory: crm.CategoryOmitted, Closed: true}
	bad := func(mod func(*crm.Stage)) []crm.Stage {
		o := open
		mod(&o)
		return []crm.Stage{o, won, lost}
	}
	for _, tt := range []struct {
		stages []crm.Stage
		field  string
	}{
		{[]crm.Stage{open, won}, "stages"},
		{bad(func(s *crm.Stage) { s.Probability = 101 }), "stages[0].probability"},
		{bad(func(s *crm.Stage) { s.Name = "Won" }), "stages[1].name"},
		{bad(func(s *crm.Stage) { s.Won = true }), "stages[0].won"},
		{bad(func(s *crm.Stage) {
			s.EntryCriteria = []crm.EntryCriterion{{Kind: crm.CriterionField, Value: "shoeSize"}}
		}), "stages[0].entryCriteria"},
		{bad(func(s *crm.Stage) {
			s.EntryCriteria = []crm.EntryCriterion{{Kind: crm.CriterionContactRole, Value: "boss"}}
		}), "stages[0].entryCriteria"},
	} {
		_, err := e.svc.CreatePipeline(e.ctx, e.admin, service.PipelineInput{Name: "Partner", Stages: tt.stages})
		requireCode(t, err, crm.EINVALID, tt.field)
	}
	p, err := e.svc.CreatePipeline(e.ctx, e.admin, service.PipelineInput{Name: "Partner", Stages: []crm.Stage{open, won, lost}})
	require.NoError(t, err)
	require.False(t, p.IsDefault, "the organization already has a default")
	_, err = e.svc.CreatePipeline(e.ctx, e.admin, service.PipelineInput{Name: "partner", Stages: []crm.Stage{open, won, lost}})
	requireCode(t, err, crm.ECONFLICT)
}

// Paging by amount or close date visits every deal exactly once, whatever the ties and unset values.
func TestOpportunityPagesNeverSkipOrRepeat(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.rep1, "Acme")
	amounts := []string{"", "10", "10", "0.01", "99999.99", "", "10", "5"}
	for i, a := range amounts {
		e.deal(e.rep1, acct, fmt.Sprintf("d%d", i), func(in *service.OpportunityInput) {
			if a != "" {
				in.Amount = dec(a)
			}
			if i%3 != 0 {
				in.CloseDate = &crm.Date{Year: 2027, Month: time.Month(1 + i%2), Day: 1}
			}
		})
	}
	for _, o := range []service.Order{{Field: service.OrderAmount}, {Field: service.OrderAmount, Desc: true},
		{Field: service.OrderCloseDate}, {Field: service.OrderCloseDate, Desc: true}} {
		seen := map[crm.ID]bool{}
		var prev []crm.Opportunity
		after := ""
		for {
			n := 3
			page, info, err := e.svc.ListOpportunities(e.ctx, e.rep1, service.OpportunityFilter{}, o, service.Page{First: &n, After: after})
			require.NoError(t, err)
			for _, d := range page {
				require.False(t, seen[d.ID], "%v repeated %s", o, d.Name)
				seen[d.ID] = true
			}
			prev = append(prev, page...)
			if !info.HasNextPage {
				break
			}
			after = info.EndCursor
		}
		require.Len(t, seen, len(amounts), "order %v", o)
		if o.Field == service.OrderAmount {
			for i := 1; i < len(prev); i++ {
				a, b := amountOf(prev[i-1]), amountOf(prev[i])
				if o.Desc {
					a, b = b, a
				}
				require.True(t, a.LessThanOrEqual(b), "sorted by amount")
			}
		}
	}
}

func amountOf(d crm.Opportunity) decimal.Decimal {
	if d.Amount == nil {
		return decimal.Zero
	}
	return *d.Amount
}

func TestPipelineBoardCountsTotalsAndFirstDeals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, stages := e.salesPipeline()
	acct := e.account(e.rep1, "Acme")
	for i := range 5 {
		e.deal(e.rep1, acct, fmt.Sprintf("cny %d", i), func(in *service.OpportunityInput) { in.Amount = dec("100.10") })
	}
	e.deal(e.rep1, acct, "usd", func(in *service.OpportunityInput) { in.Amount, in.Currency = dec("50"), "USD" })
	e.deal(e.rep2, e.account(e.rep2, "West Co"), "rep2's")

	_, cols, err := e.svc.PipelineBoard(e.ctx, e.rep1, p.ID, 2, nil)
	require.NoError(t, err)
	require.Len(t, cols, 6)
	first := cols[0]
	require.Equal(t, stages["Initial contact"].ID, first.Stage.ID)
	require.Equal(t, 6, first.Count, "rep1 does not see rep2's deal")
	require.Len(t, first.Deals, 2)
	require.True(t, first.Page.HasNextPage)
	require.Len(t, first.Totals, 2)
	require.Equal(t, "CNY", first.Totals[0].Currency)
	require.Equal(t, "500.5", first.Totals[0].Amount.String())
	require.Equal(t, "50.05", first.Totals[0].Weighted.String())
	require.Equal(t, "USD", first.Totals[1].Currency)

	_, cols, err = e.svc.PipelineBoard(e.ctx, e.manager, p.ID, 2, nil)
	require.NoError(t, err)
	require.Equal(t, 7, cols[0].Count, "the manager sees both teams")

	// The rest of a column continues through the list with the column's cursor.
	rest, _, err := e.svc.ListOpportunities(e.ctx, e.rep1, service.OpportunityFilter{StageIDs: []crm.ID{first.Stage.ID}},
		service.Order{Field: service.OrderCloseDate}, service.Page{After: first.Page.EndCursor})
	require.NoError(t, err)
	require.Len(t, rest, 4)
}

// The board's counts and totals come from stage_totals, kept by a trigger; after every kind of
// change to deals they must still equal the sums over the deals themselves.
func TestPipelineBoardTotalsFollowEveryChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	p, stages := e.salesPipeline()
	acct := e.account(e.rep1, "Acme")
	a := e.deal(e.rep1, acct, "a", func(in *service.OpportunityInput) { in.Amount = dec("1000.01") })
	b := e.deal(e.rep1, acct, "b", func(in *service.OpportunityInput) { in.Amount, in.Currency = dec("33.33"), "USD" })
	c := e.deal(e.rep1, acct, "c")
	d := e.deal(e.rep2, e.account(e.rep2, "West Co"), "d", func(in *service.OpportunityInput) { in.Amount = dec("7") })

	// requireTotals compares the admin's board with the deals' own sums, per stage and currency.
	requireTotals := func(owners []crm.ID) {
		t.Helper()
		rows, err := e.pool.Query(e.ctx, `SELECT o.stage_id, o.currency, count(*)::int, coalesce(sum(o.amount), 0)::text,
		       round(coalesce(sum(o.amount * o.probability / 100), 0), 4)::text
		FROM opportunities o WHERE o.org_id = $1 AND o.pipeline_id = $2 AND o.deleted_at IS NULL
		  AND ($3::uuid[] IS NULL OR o.owner_id = ANY($3))
		GROUP BY 1, 2 ORDER BY 1, 2`, e.org.ID, p.ID, owners)
		require.NoError(t, err)
		want, counts := []string{}, map[crm.ID]int{}
		for rows.Next() {
			var stage crm.ID
			var currency, amount, weighted string
			var n int
			require.NoError(t, rows.Scan(&stage, &currency, &n, &amount, &weighted))
			counts[stage] += n
			want = append(want, fmt.Sprintf("%s %s %s %s", stage, currency, decimal.RequireFromString(amount), decimal.RequireFromString(weighted)))
		}
		require.NoError(t, rows.Err())
		_, cols, err := e.svc.PipelineBoard(e.ctx, e.admin, p.ID, 0, owners)
		require.NoError(t, err)
		got := []string{}
		for _, col := range cols {
			require.Equal(t, counts[col.Stage.ID], col.Count, "count of %s", col.Stage.Name)
			for _, tot := range col.Totals {
				got = append(got, fmt.Sprintf("%s %s %s %s", col.Stage.ID, tot.Currency, tot.Amount, tot.Weighted))
			}
		}
		require.ElementsMatch(t, want, got)
	}
	requireTotals(nil)

	_, err := e.svc.MoveOpportunity(e.ctx, e.rep1, service.Move{ID: a.ID, ToStageID: stages["Needs analysis"].ID, ExpectedVersion: a.Version})
	require.NoError(t, err)
	_, err = e.svc.UpdateOpportunity(e.ctx, e.rep1, service.OpportunityUpdate{ID: b.ID, ExpectedVersion: b.Version,
		Amount: service.Some(dec("0.01")), Currency: service.Some("CNY"), Probability: service.Some(int32(33))})
	require.NoError(t, err)
	_, err = e.svc.UpdateOpportunity(e.ctx, e.admin, service.OpportunityUpdate{ID: c.ID, ExpectedVersion: c.Version,
		OwnerID: service.Some(e.rep2.UserID), Amount: service.Some(dec("12.5"))})
	require.NoError(t, err)
	d, err = e.svc.DeleteOpportunity(e.ctx, e.rep2, d.ID, d.Version)
	require.NoError(t, err)
	requireTotals(nil)
	requireTotals([]crm.ID{e.rep2.UserID})

	_, err = e.svc.RestoreOpportunity(e.ctx, e.rep2, d.ID, d.Version)
	require.NoError(t, err)
	requireTotals(nil)
	requireTotals([]crm.ID{e.rep1.UserID})
}

func TestPipelineSubscriptionDeliversVisibleDealChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	go func() { _ = e.hub.Run(ctx) }()
	go func() { _ = e.relay.Run(ctx) }()
	p, stages := e.salesPipeline()
	zero := service.EventCursor(0)
	rep1Feed, err := e.svc.SubscribePipeline(ctx, e.rep1, p.ID, &zero)
	require.NoError(t, err)
	rep2Feed, err := e.svc.SubscribePipeline(ctx, e.rep2, p.ID, &zero)
	require.NoError(t, err)

	acct := e.account(e.rep1, "Acme")
	d := e.deal(e.rep1, acct, "Live deal", func(in *service.OpportunityInput) { in.Amount = dec("42") })
	_, err = e.svc.MoveOpportunity(e.ctx, e.rep1, service.Move{ID: d.ID, ToStageID: stages["Needs analysis"].ID, ExpectedVersion: d.Version})
	require.NoError(t, err)
	e.deal(e.rep2, e.account(e.rep2, "West"), "Rep2 deal")

	next := func(feed <-chan service.PipelineChange) service.PipelineChange {
		select {
		case c := <-feed:
			return c
		case <-time.After(10 * time.Second): // a hang guard, not a speed assertion
			t.Fatal("no change delivered")
		}
		return service.PipelineChange{}
	}
	c := next(rep1Feed)
	require.Equal(t, service.ChangeCreated, c.Kind)
	require.Equal(t, "42", c.Opportunity.Amount.String())
	c = next(rep1Feed)
	require.Equal(t, service.ChangeMoved, c.Kind)
	require.Equal(t, stages["Initial contact"].ID, c.FromStageID)
	require.Equal(t, stages["Needs analysis"].ID, c.Opportunity.StageID)

	c = next(rep2Feed)
	require.Equal(t, "Rep2 deal", c.Opportunity.Name, "rep2 receives only their own deal")
	// Delivery is in log order: a later change of rep1's deal reaching rep1 next proves that rep2's
	// deal, committed before it, was filtered out rather than merely late.
	moved, err := e.svc.Opportunity(e.ctx, e.rep1, d.ID)
	require.NoError(t, err)
	_, err = e.svc.MoveOpportunity(e.ctx, e.rep1, service.Move{ID: d.ID, ToStageID: stages["Initial contact"].ID, ExpectedVersion: moved.Version})
	require.NoError(t, err)
	c = next(rep1Feed)
	require.Equal(t, "Live deal", c.Opportunity.Name, "rep1 must not receive rep2's deal")
	require.Equal(t, stages["Initial contact"].ID, c.Opportunity.StageID)
}

func TestAssigningADealCreatesAFirstContactTask(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.manager, "Acme", func(in *service.AccountInput) { in.OwnerID = service.Some(crm.NilID) })
	own := e.deal(e.rep1, acct, "Own deal")
	require.Zero(t, e.count("SELECT count(*) FROM tasks WHERE record_id = $1", own.ID), "nobody tasks themselves")

	d := e.deal(e.manager, acct, "Assigned deal", func(in *service.OpportunityInput) { in.OwnerID = service.Some(e.rep1.UserID) })
	var kind, owner string
	var due time.Time
	require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT kind, owner_id::text, due_at FROM tasks WHERE record_id = $1", d.ID).Scan(&kind, &owner, &due))
	require.Equal(t, crm.TaskFirstContact, kind)
	require.Equal(t, e.rep1.UserID.String(), owner)
	require.WithinDuration(t, d.CreatedAt.Add(24*time.Hour), due, time.Second, "due after the organization's firstContactHours")

	_, err := e.svc.UpdateOpportunity(e.ctx, e.manager, service.OpportunityUpdate{ID: d.ID, ExpectedVersion: d.Version,
		OwnerID: service.Some(e.rep1b.UserID)})
	require.NoError(t, err)
	require.Equal(t, 1, e.count("SELECT count(*) FROM tasks WHERE record_id = $1 AND owner_id = $2 AND kind = 'first_contact'", d.ID, e.rep1b.UserID))
}

// A deal's primary contact in one read: the contact marked primary, nothing for a deal without
// one, and nothing where the actor may not see the contact; masked like any contact.
func TestPrimaryContactsOfDeals(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.admin, "Primary Co", func(in *service.AccountInput) { in.OwnerID = service.Some(e.rep1.UserID) })
	mine := e.contact(e.admin, "Mine", "Ada", func(in *service.ContactInput) {
		in.OwnerID, in.AccountID = service.Some(e.rep1.UserID), acct.ID
		in.Emails = []string{"ada@primary.test"}
	})
	theirs := e.contact(e.admin, "Theirs", "Bo", func(in *service.ContactInput) {
		in.OwnerID, in.AccountID = service.Some(e.rep2.UserID), acct.ID
	})
	owned := func(in *service.OpportunityInput) { in.OwnerID = service.Some(e.rep1.UserID) }
	both := e.deal(e.admin, acct, "Both", owned, func(in *service.OpportunityInput) {
		in.Contacts = []crm.DealContact{{ContactID: theirs.ID}, {ContactID: mine.ID, Primary: true}}
	})
	hidden := e.deal(e.admin, acct, "Hidden", owned, func(in *service.OpportunityInput) {
		in.Contacts = []crm.DealContact{{ContactID: theirs.ID, Primary: true}}
	})
	none := e.deal(e.admin, acct, "None", owned)
	ids := []crm.ID{both.ID, hidden.ID, none.ID, crm.NewID()}

	names := func(cs []crm.Contact) []string {
		out := make([]string, len(cs))
		for i, c := range cs {
			out[i] = c.Name
		}
		return out
	}
	got, err := e.svc.PrimaryContacts(e.ctx, e.admin, ids)
	require.NoError(t, err)
	require.Equal(t, []string{mine.Name, theirs.Name, "", ""}, names(got))
	require.Equal(t, []string{"ada@primary.test"}, got[0].Emails)

	got, err = e.svc.PrimaryContacts(e.ctx, e.rep1, ids)
	require.NoError(t, err)
	require.Equal(t, []string{mine.Name, "", "", ""}, names(got), "rep1 may not see rep2's contact")
	require.Equal(t, crm.NilID, got[1].ID)

	_, err = e.svc.PrimaryContacts(e.ctx, e.analyst, ids)
	requireCode(t, err, crm.EFORBIDDEN)
}
