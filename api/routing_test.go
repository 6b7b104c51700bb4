package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"

	"github.com/stretchr/testify/require"
)

const createRule = `mutation($in: CreateAssignmentRuleInput!) { createAssignmentRule(input: $in) {
  id position name strategy capacity version criteria { field operator value } targetTeam { id } targetUser { id } } }`

// Assignment rules round-trip through GraphQL: created in order, updated with versions, reordered
// and deleted; an invalid criterion is BAD_USER_INPUT naming it, and reps may read but not write.
func TestAssignmentRulesThroughGraphQL(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.clearAssignmentRules()
	r := s.do("rep1", `{ viewer { id away team { id } } }`, nil)
	require.Empty(t, r.Errors)
	require.Equal(t, false, dig(r.Data, "viewer", "away"))
	team, rep1 := dig(r.Data, "viewer", "team", "id"), dig(r.Data, "viewer", "id")

	r = s.do("admin", createRule, map[string]any{"in": map[string]any{"name": "Bad", "strategy": "ROUND_ROBIN", "targetTeamId": team,
		"criteria": []any{map[string]any{"field": "region", "operator": "eq", "value": "浙江"},
			map[string]any{"field": "shoeSize", "operator": "gt", "value": 9}}}})
	require.Equal(t, "BAD_USER_INPUT", r.code())
	require.Equal(t, "criteria[1]", r.Errors[0].Extensions["field"])
	require.Contains(t, r.Errors[0].Message, "shoeSize")
	r = s.do("admin", createRule, map[string]any{"in": map[string]any{"name": "Bad", "strategy": "ROUND_ROBIN", "targetTeamId": rep1}})
	require.Equal(t, "BAD_USER_INPUT", r.code(), "a user's ID is not a team's")
	r = s.do("rep1", createRule, map[string]any{"in": map[string]any{"name": "Mine", "strategy": "USER", "targetUserId": rep1}})
	require.Equal(t, "FORBIDDEN", r.code())

	r = s.do("admin", createRule, map[string]any{"in": map[string]any{"name": "East", "strategy": "LEAST_LOADED", "targetTeamId": team,
		"capacity": 20, "criteria": []any{map[string]any{"field": "region", "operator": "in", "value": []string{"浙江", "上海"}}}}})
	require.Empty(t, r.Errors)
	east := dig(r.Data, "createAssignmentRule").(map[string]any)
	require.Equal(t, map[string]any{"id": team}, east["targetTeam"])
	require.Equal(t, []any{map[string]any{"field": "region", "operator": "in", "value": []any{"浙江", "上海"}}}, east["criteria"])
	r = s.do("admin", createRule, map[string]any{"in": map[string]any{"name": "Rep", "strategy": "USER", "targetUserId": rep1, "position": 0}})
	require.Empty(t, r.Errors)
	rep := dig(r.Data, "createAssignmentRule").(map[string]any)
	require.Equal(t, 0.0, rep["position"])

	update := `mutation($in: UpdateAssignmentRuleInput!) { updateAssignmentRule(input: $in) { name capacity version } }`
	r = s.do("admin", update, map[string]any{"in": map[string]any{"id": east["id"], "expectedVersion": 7, "name": "x"}})
	require.Equal(t, "CONFLICT", r.code())
	r = s.do("admin", update, map[string]any{"in": map[string]any{"id": east["id"], "expectedVersion": east["version"],
		"criteria": []any{map[string]any{"field": "industry", "operator": "like", "value": "x"}}}})
	require.Equal(t, "BAD_USER_INPUT", r.code())
	require.Equal(t, "criteria[0]", r.Errors[0].Extensions["field"])
	r = s.do("admin", update, map[string]any{"in": map[string]any{"id": east["id"], "expectedVersion": east["version"], "name": "East China", "capacity": nil}})
	require.Empty(t, r.Errors)
	require.Equal(t, map[string]any{"name": "East China", "capacity": nil, "version": 2.0}, dig(r.Data, "updateAssignmentRule"))

	r = s.do("admin", `mutation($ids: [ID!]!) { reorderAssignmentRules(ids: $ids) { name position } }`,
		map[string]any{"ids": []any{east["id"], rep["id"]}})
	require.Empty(t, r.Errors)
	require.Equal(t, []any{map[string]any{"name": "East China", "position": 0.0}, map[string]any{"name": "Rep", "position": 1.0}},
		dig(r.Data, "reorderAssignmentRules"))

	r = s.do("admin", `mutation($id: ID!, $v: Int!) { deleteAssignmentRule(id: $id, expectedVersion: $v) }`,
		map[string]any{"id": rep["id"], "v": rep["version"]})
	require.Empty(t, r.Errors)
	r = s.do("rep1", `{ assignmentRules { name } }`, nil)
	require.Empty(t, r.Errors)
	require.Equal(t, []any{map[string]any{"name": "East China"}}, dig(r.Data, "assignmentRules"))

	r = s.do("rep1", `mutation($id: ID!) { setUserAway(userId: $id, away: true) { away } }`, map[string]any{"id": rep1})
	require.Empty(t, r.Errors)
	require.Equal(t, true, dig(r.Data, "setUserAway", "away"))
}

// clearAssignmentRules deletes the demo's seeded rules, so a test starts from none.
func (s *server) clearAssignmentRules() {
	s.t.Helper()
	r := s.do("admin", `{ assignmentRules { id version } }`, nil)
	require.Empty(s.t, r.Errors)
	for _, rule := range dig(r.Data, "assignmentRules").([]any) {
		r := s.do("admin", `mutation($id: ID!, $v: Int!) { deleteAssignmentRule(id: $id, expectedVersion: $v) }`,
			map[string]any{"id": dig(rule, "id"), "v": dig(rule, "version")})
		require.Empty(s.t, r.Errors)
	}
}

// A lead is routed through GraphQL: preview, assign, history with candidates, manual reassignment.
func TestAssignLeadThroughGraphQL(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.clearAssignmentRules()
	r := s.do("rep1", `{ viewer { id team { id } } }`, nil)
	require.Empty(t, r.Errors)
	team := dig(r.Data, "viewer", "team", "id")
	r = s.do("admin", createRule, map[string]any{"in": map[string]any{"name": "Team", "strategy": "ROUND_ROBIN", "targetTeamId": team}})
	require.Empty(t, r.Errors)
	res, err := s.svc.CaptureLead(context.Background(), crm.SystemActor(s.orgID()), service.LeadInput{Name: "王伟",
		Email: "wang.wei@example.cn", Source: crm.SourceWebForm})
	require.NoError(t, err)
	lead := crm.GlobalID(crm.TypeLead, res.Lead.ID)

	decision := `id reason manual rule { name } chosen { id } previous { id } candidates { user { id } eligible reason }`
	r = s.do("admin", `query($id: ID!) { previewAssignment(leadId: $id) { `+decision+` } }`, map[string]any{"id": lead})
	require.Empty(t, r.Errors)
	require.Nil(t, dig(r.Data, "previewAssignment", "id"))
	chosen := dig(r.Data, "previewAssignment", "chosen", "id")
	require.NotNil(t, chosen)
	r = s.do("admin", `mutation($id: ID!) { assignLead(id: $id) { `+decision+` } }`, map[string]any{"id": lead})
	require.Empty(t, r.Errors)
	require.Equal(t, chosen, dig(r.Data, "assignLead", "chosen", "id"))
	require.Equal(t, "Team", dig(r.Data, "assignLead", "rule", "name"))

	r = s.do("manager", `{ viewer { id } }`, nil)
	manager := dig(r.Data, "viewer", "id")
	r = s.do("admin", `mutation($id: ID!, $to: ID!) { reassignLead(id: $id, ownerId: $to, reason: "Key account") { `+decision+` } }`,
		map[string]any{"id": lead, "to": manager})
	require.Empty(t, r.Errors)
	require.Equal(t, true, dig(r.Data, "reassignLead", "manual"))
	require.Equal(t, chosen, dig(r.Data, "reassignLead", "previous", "id"))

	r = s.do("admin", `query($id: ID!) { assignmentDecisions(leadId: $id) { manual chosen { id } } }`, map[string]any{"id": lead})
	require.Empty(t, r.Errors)
	require.Equal(t, []any{map[string]any{"manual": true, "chosen": map[string]any{"id": manager}},
		map[string]any{"manual": false, "chosen": map[string]any{"id": chosen}}}, dig(r.Data, "assignmentDecisions"))
}

// orgID returns the demo organization's ID.
func (s *server) orgID() crm.ID {
	s.t.Helper()
	sess, err := s.svc.IssueToken(context.Background(), service.DemoOrg, "admin@demo.test", time.Minute)
	require.NoError(s.t, err)
	return sess.User.OrgID
}
