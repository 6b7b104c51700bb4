package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
	"github.com/rapportcrm/rapport/internal/rules/routing"
	"github.com/rapportcrm/rapport/internal/service"
)

// listData is what seedLists created, as global IDs.
type listData struct {
	pipeline string   // the default pipeline
	hub      string   // an account with many contacts, each with an activity
	sellers  []string // admin, manager, rep1, rep2
	feed     string   // change feed cursor before the created records
}

// seedLists fills the demo organization with more records than any small page holds, each
// reference pointing at a record of its own (accounts, contacts, records of tasks) or rotating over
// the four sellers, so that a list resolving references one by one costs more statements on a
// large page than on a small one.
func seedLists(t testing.TB, s *server) listData {
	t.Helper()
	ctx := context.Background()
	admin := s.demoActor("admin")
	sellers := []*crm.Actor{admin, s.demoActor("manager"), s.demoActor("rep1"), s.demoActor("rep2")}
	pipelines, err := s.svc.ListPipelines(ctx, admin)
	require.NoError(t, err)
	s.relayAll(t)
	feed := s.do("admin", `{ changes(first: 1000) { pageInfo { endCursor } } }`, nil)
	require.Empty(t, feed.Errors)
	for i := range 60 {
		acct, _, err := s.svc.CreateAccount(ctx, admin, service.AccountInput{Name: fmt.Sprintf("List %02d", i),
			OwnerID: service.Some(sellers[i%4].UserID)})
		require.NoError(t, err)
		c, _, err := s.svc.CreateContact(ctx, admin, service.ContactInput{LastName: fmt.Sprintf("Person %02d", i), AccountID: acct.ID,
			OwnerID: service.Some(sellers[(i+1)%4].UserID)})
		require.NoError(t, err)
		amount := decimal.NewFromInt(int64(1000 + i))
		d, _, err := s.svc.CreateOpportunity(ctx, admin, service.OpportunityInput{Name: fmt.Sprintf("Deal %02d", i), AccountID: acct.ID,
			OwnerID: service.Some(sellers[(i+2)%4].UserID), Amount: &amount, StageID: pipelines[0].Stages[i%2].ID,
			Contacts: []crm.DealContact{{ContactID: c.ID, Roles: []crm.ContactRole{crm.RoleChampion}, Primary: true}}})
		require.NoError(t, err)
		due := time.Now().Add(time.Hour + time.Duration(i)*time.Minute) // before the deals' first-contact tasks
		rec := []struct {
			typ string
			id  crm.ID
		}{{crm.TypeAccount, acct.ID}, {crm.TypeContact, c.ID}, {crm.TypeOpportunity, d.ID}}[i%3]
		// rep1 gets every other task, the manager and rep2 the rest, from the admin: a notification each.
		owner := sellers[2]
		if i%2 == 1 {
			owner = sellers[i%4]
		}
		_, _, err = s.svc.CreateTask(ctx, admin, service.TaskInput{Title: fmt.Sprintf("Task %02d", i), OwnerID: service.Some(owner.UserID),
			DueAt: &due, RecordType: rec.typ, RecordID: rec.id})
		require.NoError(t, err)
	}
	hub, _, err := s.svc.CreateAccount(ctx, admin, service.AccountInput{Name: "Hub"})
	require.NoError(t, err)
	for i := range 30 {
		c, _, err := s.svc.CreateContact(ctx, admin, service.ContactInput{LastName: fmt.Sprintf("Hub %02d", i), AccountID: hub.ID,
			OwnerID: service.Some(sellers[i%4].UserID)})
		require.NoError(t, err)
		_, _, err = s.svc.LogActivity(ctx, admin, service.ActivityInput{Type: crm.ActivityCall, RecordType: crm.TypeContact, RecordID: c.ID,
			Subject: fmt.Sprint("call ", i), OwnerID: service.Some(sellers[i%4].UserID),
			ParticipantUserIDs: []crm.ID{sellers[(i+1)%4].UserID}, ParticipantContactIDs: []crm.ID{c.ID}})
		require.NoError(t, err)
	}
	for i := range 30 {
		res, err := s.svc.CaptureLead(ctx, admin, service.LeadInput{Name: fmt.Sprintf("Lead %02d", i), Company: fmt.Sprintf("Lead Co %02d", i),
			Email: fmt.Sprintf("lead%02d@example.com", i)})
		require.NoError(t, err)
		if i%2 == 0 {
			_, err = s.svc.ConvertLead(ctx, sellers[0], service.ConvertInput{ID: res.Lead.ID, ExpectedVersion: res.Lead.Version,
				CreateOpportunity: true, OwnerID: sellers[i%4].UserID})
			require.NoError(t, err)
		}
	}
	s.relayAll(t)
	d := listData{pipeline: crm.GlobalID(crm.TypePipeline, pipelines[0].ID), hub: crm.GlobalID(crm.TypeAccount, hub.ID),
		feed: dig(feed.Data, "changes", "pageInfo", "endCursor").(string)}
	for _, a := range sellers {
		d.sellers = append(d.sellers, crm.GlobalID(crm.TypeUser, a.UserID))
	}
	return d
}

// listScenario is one list read whose statement count is pinned.
type listScenario struct {
	name  string
	who   string
	query string
	vars  map[string]any // the page size is added as $n
	path  []any          // where the page's rows are
	small int            // page sizes; the data has at least large rows
	large int
	want  int // statements per request, whatever the page size
}

// Every list costs a fixed number of SQL statements, the same for a small and a large page: nested
// references are fetched ahead for the whole page (graph/prefetch.go), never row by row. The counts
// are pinned exactly, so a change that adds a statement to a list is a visible decision.
func TestListStatementCounts(t *testing.T) {
	s := newServer(t)
	d := seedLists(t, s)
	scenarios := []listScenario{
		{name: "contacts page (bench: contacts-page)", want: 8, who: "admin", query: `query($n: Int) { contacts(first: $n, orderBy: {field: CREATED_AT, direction: DESC}) { edges { cursor node { id name emails
		  account { id name owner { name } } owner { id name team { name } } } } pageInfo { hasNextPage endCursor } } }`,
			path: []any{"contacts", "edges"}, small: 5, large: 50},
		{name: "accounts page (bench: accounts-page)", want: 8, who: "admin", query: `query($n: Int) { accounts(first: $n, orderBy: {field: CREATED_AT, direction: DESC}) { nodes { name
		  owner { name team { name manager { name } } } contacts(first: 5) { name account { name } owner { name } } } } }`,
			path: []any{"accounts", "nodes"}, small: 5, large: 50},
		{name: "opportunities page (bench: opportunities-page)", want: 14, who: "admin", query: `query($n: Int) { opportunities(first: $n, orderBy: {field: CREATED_AT, direction: DESC}) { nodes {
		  id name amount { amount currency } closeDate probability stage { name } account { name owner { name } } owner { name team { name } }
		  primaryContact { name account { name } } contacts { roles contact { name } } pipeline { name } stageHistory { toStage { name } actor { name } } } } }`,
			path: []any{"opportunities", "nodes"}, small: 5, large: 50},
		{name: "pipeline board (bench: pipeline-board)", want: 12, who: "admin", query: `query($p: ID!, $n: Int) { pipelineBoard(pipelineId: $p, dealsPerStage: $n) {
		  pipeline { name } columns { stage { name probability } count totals { currency amount weighted }
		  deals { pageInfo { hasNextPage endCursor } nodes { id name amount { amount currency } weightedAmount { amount }
		  account { name owner { name } } owner { name team { name } } stage { name } primaryContact { name } } } } } }`,
			vars: map[string]any{"p": d.pipeline}, path: []any{"pipelineBoard", "columns", 0, "deals", "nodes"}, small: 5, large: 25},
		{name: "leads page", want: 15, who: "admin", query: `query($n: Int) { leads(first: $n) { edges { cursor node { name owner { name team { name } }
		  touches(first: 2) { source } contact { name account { name } owner { name } } account { name owner { name } }
		  opportunity { name stage { name } owner { name } } score { total breakdown { points } } } } } }`,
			path: []any{"leads", "edges"}, small: 5, large: 30},
		{name: "timeline", want: 11, who: "admin", query: `query($id: ID!, $n: Int) { timeline(recordId: $id, first: $n) { edges { cursor node { subject
		  owner { name team { name } } participantUsers { name } participantContacts { name account { name } }
		  record { ... on Contact { name owner { name } account { name } } } } } } }`,
			vars: map[string]any{"id": d.hub}, path: []any{"timeline", "edges"}, small: 5, large: 30},
		{name: "tasks", want: 14, who: "admin", query: `query($n: Int, $owners: [ID!]) { tasks(first: $n, filter: {ownerIds: $owners}) { edges { cursor node { title owner { name team { name } }
		  record { ... on Account { name owner { name } } ... on Contact { name account { name } } ... on Opportunity { name stage { name } owner { name } } } } } } }`,
			vars: map[string]any{"owners": d.sellers}, path: []any{"tasks", "edges"}, small: 5, large: 50},
		{name: "notifications", want: 11, who: "rep1", query: `query($n: Int) { notifications(first: $n) { unreadCount edges { cursor node { title
		  record { ... on Task { title owner { name } record { ... on Account { name } ... on Contact { name } ... on Opportunity { name } } } } } } } }`,
			path: []any{"notifications", "edges"}, small: 5, large: 30},
		{name: "change feed", want: 9, who: "admin", query: `query($n: Int, $after: String) { changes(first: $n, after: $after, types: [CONTACT]) { edges { cursor node { type actor { name }
		  record { ... on Contact { name account { name owner { name } } } } } } } }`,
			vars: map[string]any{"after": d.feed}, path: []any{"changes", "edges"}, small: 5, large: 50},
	}
	for _, sc := range scenarios {
		run := func(n int) []string {
			vars := map[string]any{"n": n}
			for k, v := range sc.vars {
				vars[k] = v
			}
			var r gqlResponse
			sql := s.statements.capture(func() { r = s.do(sc.who, sc.query, vars) })
			require.Empty(t, r.Errors, sc.name)
			require.Len(t, dig(r.Data, sc.path...), n, sc.name)
			return sql
		}
		small, large := run(sc.small), run(sc.large)
		require.Len(t, small, len(large), "%s: statements for %d rows: %d, for %d rows: %d:\n%s", sc.name, sc.small, len(small), sc.large, len(large), digest(large))
		require.Len(t, large, sc.want, "%s: the statements are:\n%s", sc.name, digest(large))
	}
}

// digest lists statements, one line each, for a failure message.
func digest(sqls []string) string {
	var b strings.Builder
	for _, sql := range sqls {
		sql = strings.Join(strings.Fields(sql), " ")
		if len(sql) > 120 {
			sql = sql[:120]
		}
		b.WriteString(sql + "\n")
	}
	return b.String()
}

// Lists without pages (the organization's people and configuration) cost the same number of
// statements with 2 more teams and with 10 more: each list grows between the two counts, and every new row refers
// to records of its own.
func TestUnpagedListStatementCounts(t *testing.T) {
	s := newServer(t)
	s.clearAssignmentRules()
	ctx := context.Background()
	admin := s.demoActor("admin")
	q1 := crm.Date{Year: 2026, Month: time.October, Day: 1}
	q2 := crm.Date{Year: 2027, Month: time.January, Day: 1}
	pool, err := s.svc.CreateTeam(ctx, admin, service.TeamInput{Name: "Pool"})
	require.NoError(t, err)
	lead, err := s.svc.CaptureLead(ctx, admin, service.LeadInput{Name: "Routed", Email: "routed@example.com"})
	require.NoError(t, err)
	_, err = s.svc.CreateAssignmentRule(ctx, admin, service.AssignmentRuleInput{Name: "Pool", Strategy: routing.StrategyRoundRobin, TargetTeamID: pool.ID})
	require.NoError(t, err)
	// add creates n teams, each under the previous one, with a manager and an administrator who
	// each leave a record (a quota, an assignment rule, a submitted forecast, an API key) and a
	// member of the pool.
	parent := crm.NilID
	teams := 0
	add := func(n int) {
		for range n {
			teams++
			mgr, err := s.svc.CreateUser(ctx, admin, service.UserInput{Email: fmt.Sprintf("m%02d@demo.test", teams), Name: fmt.Sprintf("Manager %02d", teams),
				Role: crm.RoleSalesManager, TeamID: parent})
			require.NoError(t, err)
			team, err := s.svc.CreateTeam(ctx, admin, service.TeamInput{Name: fmt.Sprintf("Team %02d", teams), ParentID: parent, ManagerID: mgr.ID})
			require.NoError(t, err)
			parent = team.ID
			boss, err := s.svc.CreateUser(ctx, admin, service.UserInput{Email: fmt.Sprintf("a%02d@demo.test", teams), Name: fmt.Sprintf("Admin %02d", teams),
				Role: crm.RoleAdmin, TeamID: team.ID})
			require.NoError(t, err)
			_, err = s.svc.CreateUser(ctx, admin, service.UserInput{Email: fmt.Sprintf("p%02d@demo.test", teams), Name: fmt.Sprintf("Pool %02d", teams),
				Role: crm.RoleSalesRep, TeamID: pool.ID})
			require.NoError(t, err)
			_, err = s.svc.SetQuota(ctx, admin, service.QuotaInput{UserID: mgr.ID, PeriodStart: q1, PeriodEnd: q2, Amount: decimal.NewFromInt(1000)})
			require.NoError(t, err)
			_, err = s.svc.SetQuota(ctx, admin, service.QuotaInput{TeamID: team.ID, PeriodStart: q1, PeriodEnd: q2, Amount: decimal.NewFromInt(2000)})
			require.NoError(t, err)
			_, err = s.svc.CreateAssignmentRule(ctx, admin, service.AssignmentRuleInput{Name: fmt.Sprintf("Rule %02d", teams), Strategy: routing.StrategyUser,
				TargetUserID: mgr.ID, Criteria: []criteria.Criterion{{Field: "region", Operator: criteria.Eq, Value: json.RawMessage(`"nowhere"`)}}})
			require.NoError(t, err)
			bossActor := &crm.Actor{Kind: crm.ActorUser, OrgID: admin.OrgID, UserID: boss.ID, Role: crm.RoleAdmin}
			_, err = s.svc.SubmitForecast(ctx, bossActor, service.SubmitForecastInput{TeamID: team.ID, PeriodStart: q1, PeriodEnd: q2})
			require.NoError(t, err)
			_, _, err = s.svc.CreateAPIKey(ctx, bossActor, service.APIKeyInput{Name: fmt.Sprintf("key %02d", teams), Scopes: []string{"leads:write"}})
			require.NoError(t, err)
		}
	}
	lists := []struct {
		name, query string
		want        int
	}{
		{"users", `{ users { name team { name parent { name } manager { name team { name } } } } }`, 6},
		{"teams", `{ teams { name parent { name manager { name } } manager { name team { name } } } }`, 7},
		{"quotas", `{ quotas(from: "2026-10-01", to: "2027-01-01") { user { name team { name } } team { name manager { name } } } }`, 7},
		{"assignment rules", `{ assignmentRules { name targetUser { name team { name } } targetTeam { name manager { name } } lastAssigned { name } } }`, 7},
		{"forecast submissions", `{ forecastSubmissions(from: "2026-10-01", to: "2027-01-01") { team { name manager { name } } submittedBy { name team { name } } } }`, 7},
		{"API keys", `{ apiKeys { name createdBy { name team { name } } } }`, 6},
		{"assignment preview", `query($lead: ID!) { previewAssignment(leadId: $lead) { rule { name targetTeam { name } } chosen { name }
		  candidates { user { name team { name } } rule { name } } } }`, 16},
	}
	counts := func() map[string][]string {
		out := map[string][]string{}
		for _, l := range lists {
			var r gqlResponse
			out[l.name] = s.statements.capture(func() { r = s.do("admin", l.query, map[string]any{"lead": crm.GlobalID(crm.TypeLead, lead.Lead.ID)}) })
			require.Empty(t, r.Errors, l.name)
		}
		return out
	}
	add(2)
	small := counts()
	add(8)
	large := counts()
	for _, l := range lists {
		require.Len(t, small[l.name], len(large[l.name]), "%s: statements with 2 more teams: %d, with 10: %d:\n%s", l.name,
			len(small[l.name]), len(large[l.name]), digest(large[l.name]))
		require.Len(t, large[l.name], l.want, "%s: the statements are:\n%s", l.name, digest(large[l.name]))
	}
}

// Lists are written element by element in one goroutine (graph/gqlgen); an error in an element
// still names the element's index in its path.
func TestErrorInListElementHasItsPath(t *testing.T) {
	s := newServer(t)
	r := s.do("admin", `{ leads: accounts(first: 3, orderBy: {field: NAME}) { nodes { name contacts(first: 500) { name } } } }`, nil)
	require.Len(t, r.Errors, 3, "one error per account")
	for i, e := range r.Errors {
		require.Equal(t, []any{"leads", "nodes", float64(i), "contacts"}, e.Path)
		require.Equal(t, "BAD_USER_INPUT", e.Extensions["code"])
	}
}
