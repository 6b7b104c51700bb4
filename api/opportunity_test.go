package api_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// demoActor returns the actor of a demo user.
func (s *server) demoActor(who string) *crm.Actor {
	s.t.Helper()
	sess, err := s.svc.IssueToken(context.Background(), service.DemoOrg, who+"@demo.test", time.Minute)
	require.NoError(s.t, err)
	return &crm.Actor{Kind: crm.ActorUser, OrgID: sess.User.OrgID, UserID: sess.User.ID, Role: sess.User.Role}
}

const boardQuery = `query($p: ID!, $n: Int) { pipelineBoard(pipelineId: $p, dealsPerStage: $n) {
  pipeline { name }
  columns { stage { name probability } count totals { currency amount weighted }
    deals { pageInfo { hasNextPage endCursor } nodes { id name amount { amount currency } weightedAmount { amount }
      account { name owner { name } } owner { name team { name } } stage { name } primaryContact { name } } } } } }`

func TestOpportunityLifecycleOverGraphQL(t *testing.T) {
	s := newServer(t)
	r := s.do("rep1", `{ pipelines { id name isDefault stages { id name probability forecastCategory closed won
	  entryCriteria { kind value label } } } accounts(first: 1, filter: {search: "云栖"}) { nodes { id contacts { id name } } } }`, nil)
	require.Empty(t, r.Errors)
	stageID := map[string]string{}
	for _, st := range dig(r.Data, "pipelines", 0, "stages").([]any) {
		stageID[dig(st, "name").(string)] = dig(st, "id").(string)
	}
	require.Equal(t, "CONTACT_ROLE", dig(r.Data, "pipelines", 0, "stages", 2, "entryCriteria", 1, "kind"))
	require.Equal(t, "economic_buyer", dig(r.Data, "pipelines", 0, "stages", 2, "entryCriteria", 1, "value"))
	require.Equal(t, "Economic buyer identified", dig(r.Data, "pipelines", 0, "stages", 2, "entryCriteria", 1, "label"))
	account := dig(r.Data, "accounts", "nodes", 0, "id").(string)
	contact := dig(r.Data, "accounts", "nodes", 0, "contacts", 0, "id").(string)

	const create = `mutation($in: CreateOpportunityInput!) { createOpportunity(input: $in) { replayed opportunity {
	  id name version probability forecastCategory amount { amount currency } closeDate stage { name } account { id }
	  contacts { contact { id } roles primary } stageHistory { fromStage { name } toStage { name } } } } }`
	r = s.do("rep1", create, map[string]any{"in": map[string]any{"name": "云栖 二期", "accountId": account,
		"amount": "300000.10", "closeDate": time.Now().AddDate(0, 2, 0).Format(time.DateOnly),
		"contacts": []any{map[string]any{"contactId": contact, "roles": []string{"CHAMPION"}}}, "idempotencyKey": "deal-1"}})
	require.Empty(t, r.Errors)
	deal := dig(r.Data, "createOpportunity", "opportunity").(map[string]any)
	require.Equal(t, "300000.1", dig(deal, "amount", "amount"))
	require.Equal(t, "CNY", dig(deal, "amount", "currency"))
	require.Equal(t, true, dig(deal, "contacts", 0, "primary"))
	require.Equal(t, "Initial contact", dig(deal, "stageHistory", 0, "toStage", "name"))
	id := deal["id"].(string)

	r = s.do("rep1", create, map[string]any{"in": map[string]any{"name": "云栖 二期", "accountId": account,
		"amount": "300000.10", "closeDate": time.Now().AddDate(0, 2, 0).Format(time.DateOnly),
		"contacts": []any{map[string]any{"contactId": contact, "roles": []string{"CHAMPION"}}}, "idempotencyKey": "deal-1"}})
	require.Empty(t, r.Errors)
	require.Equal(t, true, dig(r.Data, "createOpportunity", "replayed"))
	require.Equal(t, id, dig(r.Data, "createOpportunity", "opportunity", "id"))

	for _, bad := range []struct {
		in    map[string]any
		field string
	}{
		{map[string]any{"amount": "-5"}, "amount"},
		{map[string]any{"amount": "twelve"}, ""},
		{map[string]any{"amount": "12,50"}, ""},
		{map[string]any{"amount": "1e6"}, ""},
		{map[string]any{"amount": "12.345"}, "amount"},
		{map[string]any{"currency": "RMB"}, "currency"},
		{map[string]any{"probability": 140}, "probability"},
		{map[string]any{"closeDate": "2019-01-01"}, "closeDate"},
	} {
		in := map[string]any{"name": "bad", "accountId": account}
		for k, v := range bad.in {
			in[k] = v
		}
		r = s.do("rep1", create, map[string]any{"in": in})
		require.Equal(t, "BAD_USER_INPUT", r.code(), "%v", bad.in)
		if bad.field != "" { // a value that is not a Decimal fails variable coercion, before any resolver
			require.Equal(t, bad.field, r.Errors[0].Extensions["field"], "%v", bad.in)
		} else {
			require.Contains(t, r.Errors[0].Message, "decimal", "%v", bad.in)
		}
	}
	tenth := 0.1 // a variable: constant arithmetic would be exact
	r = s.do("rep1", create, map[string]any{"in": map[string]any{"name": "bad", "accountId": account, "amount": tenth + 0.2}})
	require.Equal(t, "BAD_USER_INPUT", r.code(), "a float that lost its cents is refused, not rounded")

	const move = `mutation($in: MoveOpportunityInput!) { moveOpportunity(input: $in) { opportunity { version stage { name } probability closed } } }`
	r = s.do("rep1", move, map[string]any{"in": map[string]any{"id": id, "toStageId": stageID["Proposal/quote"], "expectedVersion": 1}})
	require.Equal(t, "BAD_USER_INPUT", r.code())
	blockers := r.Errors[0].Extensions["blockers"].([]any)
	require.Len(t, blockers, 2)
	require.Equal(t, "CHECKLIST", dig(blockers[0], "kind"))
	require.Equal(t, "CONTACT_ROLE", dig(blockers[1], "kind"))

	r = s.do("rep1", `query($id: ID!) { node(id: $id) { ... on Opportunity { availableTransitions { stage { name } blockedBy { kind detail } } } } }`,
		map[string]any{"id": id})
	require.Empty(t, r.Errors)
	transitions := dig(r.Data, "node", "availableTransitions").([]any)
	require.Len(t, transitions, 5)
	require.Empty(t, dig(transitions[0], "blockedBy"), "Needs analysis is open to the deal")

	r = s.do("rep1", move, map[string]any{"in": map[string]any{"id": id, "toStageId": stageID["Needs analysis"], "expectedVersion": 1}})
	require.Empty(t, r.Errors)
	require.Equal(t, float64(20), dig(r.Data, "moveOpportunity", "opportunity", "probability"))
	r = s.do("rep2", move, map[string]any{"in": map[string]any{"id": id, "toStageId": stageID["Initial contact"], "expectedVersion": 2}})
	require.Equal(t, "NOT_FOUND", r.code(), "rep2 cannot see rep1's deal")
	r = s.do("manager", move, map[string]any{"in": map[string]any{"id": id, "toStageId": stageID["Initial contact"], "expectedVersion": 1}})
	require.Equal(t, "CONFLICT", r.code())
	require.Equal(t, float64(2), r.Errors[0].Extensions["currentVersion"])
	r = s.do("rep1", move, map[string]any{"in": map[string]any{"id": id, "toStageId": stageID["Closed lost"], "expectedVersion": 2}})
	require.Equal(t, "BAD_USER_INPUT", r.code())
	require.Equal(t, "lossReason", r.Errors[0].Extensions["field"])
	r = s.do("rep1", move, map[string]any{"in": map[string]any{"id": id, "toStageId": stageID["Closed won"], "expectedVersion": 2}})
	require.Empty(t, r.Errors)
	require.Equal(t, true, dig(r.Data, "moveOpportunity", "opportunity", "closed"))

	r = s.do("rep1", `{ opportunities(first: 10, filter: {closed: true}, orderBy: {field: AMOUNT, direction: DESC}) {
	  totalCount nodes { name won daysOpen stageHistory { toStage { name } durationSeconds actor { name } } } } }`, nil)
	require.Empty(t, r.Errors)
	require.Equal(t, float64(1), dig(r.Data, "opportunities", "totalCount"))
	require.Equal(t, true, dig(r.Data, "opportunities", "nodes", 0, "won"))
	require.Len(t, dig(r.Data, "opportunities", "nodes", 0, "stageHistory"), 3)
	require.Equal(t, "王伟 Wang Wei", dig(r.Data, "opportunities", "nodes", 0, "stageHistory", 2, "actor", "name"))
}

// A board column counts and totals all the deals of its stage the viewer may see, per currency,
// not only those of its page. (Its statement count is pinned in TestListStatementCounts.)
func TestBoardColumnsCountEveryDeal(t *testing.T) {
	s := newServer(t)
	ctx := context.Background()
	admin := s.demoActor("admin")
	rep1 := s.demoActor("rep1")
	pipelines, err := s.svc.ListPipelines(ctx, admin)
	require.NoError(t, err)
	for i := range 60 {
		acct, _, err := s.svc.CreateAccount(ctx, admin, service.AccountInput{Name: fmt.Sprintf("Board %02d", i), OwnerID: service.Some(rep1.UserID)})
		require.NoError(t, err)
		c, _, err := s.svc.CreateContact(ctx, admin, service.ContactInput{LastName: fmt.Sprintf("C%02d", i), AccountID: acct.ID})
		require.NoError(t, err)
		amount := decimal.NewFromInt(int64(1000 + i))
		_, _, err = s.svc.CreateOpportunity(ctx, admin, service.OpportunityInput{Name: fmt.Sprintf("Deal %02d", i), AccountID: acct.ID,
			OwnerID: service.Some(rep1.UserID), Amount: &amount, StageID: pipelines[0].Stages[i%2].ID,
			Contacts: []crm.DealContact{{ContactID: c.ID, Roles: []crm.ContactRole{crm.RoleChampion}}}})
		require.NoError(t, err)
	}
	pipelineID := crm.GlobalID(crm.TypePipeline, pipelines[0].ID)
	r := s.do("manager", boardQuery, map[string]any{"p": pipelineID, "n": 5})
	require.Empty(t, r.Errors)
	first := dig(r.Data, "pipelineBoard", "columns", 0).(map[string]any)
	require.Equal(t, "Initial contact", dig(first, "stage", "name"))
	want, err := s.svc.CountOpportunities(ctx, s.demoActor("manager"), service.OpportunityFilter{StageIDs: []crm.ID{pipelines[0].Stages[0].ID}})
	require.NoError(t, err)
	require.GreaterOrEqual(t, want, 30)
	require.Equal(t, float64(want), first["count"])
	require.Len(t, first["totals"], 3, "CNY, EUR and GBP totals are kept apart")
	require.Equal(t, "CNY", dig(first, "totals", 0, "currency"))
}
