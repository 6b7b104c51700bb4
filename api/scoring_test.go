package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

const ruleFields = `id kind name field operator value eventType urlPattern points capPoints capDays active version`

// Scoring rules round-trip through GraphQL: create, update with expectedVersion, delete; a bad
// operator or event type is BAD_USER_INPUT naming the field; reps read but do not write rules.
func TestScoringRulesThroughGraphQL(t *testing.T) {
	s := newServer(t)
	list := s.do("rep1", `{ scoringRules { `+ruleFields+` } }`, nil)
	require.Empty(t, list.Errors)
	require.Len(t, dig(list.Data, "scoringRules"), 7, "the demo organization has the default rules")

	create := `mutation($in: ScoringRuleInput!) { createScoringRule(input: $in) { rule { ` + ruleFields + ` } rescore { id status total } } }`
	bad := s.do("admin", create, map[string]any{"in": map[string]any{"kind": "ATTRIBUTE", "name": "Budget",
		"field": "custom.budget", "operator": "like", "value": 500000, "points": 20}})
	require.Equal(t, "BAD_USER_INPUT", bad.code())
	require.Equal(t, "operator", bad.Errors[0].Extensions["field"])
	bad = s.do("admin", create, map[string]any{"in": map[string]any{"kind": "ATTRIBUTE", "name": "Shoes",
		"field": "shoeSize", "operator": "gt", "value": 9, "points": 1}})
	require.Equal(t, "BAD_USER_INPUT", bad.code())
	require.Equal(t, "field", bad.Errors[0].Extensions["field"])
	bad = s.do("admin", create, map[string]any{"in": map[string]any{"kind": "BEHAVIOUR", "name": "Calls",
		"eventType": "PHONE_CALL", "points": 1}})
	require.Equal(t, "GRAPHQL_VALIDATION_FAILED", bad.code(), "an unknown enum value is refused before any resolver")
	denied := s.do("rep1", create, map[string]any{"in": map[string]any{"kind": "BEHAVIOUR", "name": "Docs",
		"eventType": "PAGE_VISIT", "urlPattern": "*/docs*", "points": 3}})
	require.Equal(t, "FORBIDDEN", denied.code())

	got := s.do("admin", create, map[string]any{"in": map[string]any{"kind": "BEHAVIOUR", "name": "Read the docs",
		"eventType": "PAGE_VISIT", "urlPattern": "*/docs*", "points": 3, "capPoints": 9, "capDays": 30}})
	require.Empty(t, got.Errors)
	rule := dig(got.Data, "createScoringRule", "rule").(map[string]any)
	require.Equal(t, "PAGE_VISIT", rule["eventType"])
	require.Nil(t, rule["field"])
	require.EqualValues(t, 9, rule["capPoints"])
	require.EqualValues(t, 1, rule["version"])
	require.Equal(t, "running", dig(got.Data, "createScoringRule", "rescore", "status"))

	update := `mutation($id: ID!, $v: Int!, $in: ScoringRuleInput!) { updateScoringRule(id: $id, expectedVersion: $v, input: $in) { rule { version points } } }`
	in := map[string]any{"kind": "BEHAVIOUR", "name": "Read the docs", "eventType": "PAGE_VISIT", "urlPattern": "*/docs*", "points": 4}
	stale := s.do("admin", update, map[string]any{"id": rule["id"], "v": 5, "in": in})
	require.Equal(t, "CONFLICT", stale.code())
	up := s.do("admin", update, map[string]any{"id": rule["id"], "v": 1, "in": in})
	require.Empty(t, up.Errors)
	require.EqualValues(t, 2, dig(up.Data, "updateScoringRule", "rule", "version"))

	del := s.do("admin", `mutation($id: ID!) { deleteScoringRule(id: $id, expectedVersion: 2) { deletedId rescore { id } } }`,
		map[string]any{"id": rule["id"]})
	require.Empty(t, del.Errors)
	runID := dig(del.Data, "deleteScoringRule", "rescore", "id")
	run := s.do("admin", `query($id: ID!) { scoringRun(id: $id) { status total done } scoringRuns { id } }`, map[string]any{"id": runID})
	require.Empty(t, run.Errors)
	require.Equal(t, "running", dig(run.Data, "scoringRun", "status"))
	require.Len(t, dig(run.Data, "scoringRuns"), 3)
}

// Tracked behaviour scores a lead, and Lead.score explains every point.
func TestTrackedActivityScoresAndExplains(t *testing.T) {
	s := newServer(t)
	captured := s.do("admin", `mutation { captureLead(input: {name: "王芳", title: "销售总监", email: "wang.fang@example.cn", source: API}) { lead { id } } }`, nil)
	require.Empty(t, captured.Errors)
	leadID := dig(captured.Data, "captureLead", "lead", "id").(string)

	at := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	track := `mutation($events: [LeadActivityInput!]!) { trackLeadActivity(events: $events) { recorded duplicates failed
	  items { index outcome eventId leadId error { code field } } } }`
	events := []map[string]any{
		{"type": "PAGE_VISIT", "url": "https://demo.test/pricing", "occurredAt": at, "idempotencyKey": "e1", "leadId": leadID},
		{"type": "WEBINAR", "occurredAt": at, "idempotencyKey": "e2", "email": "wang.fang@example.cn"},
		{"type": "DOWNLOAD", "occurredAt": at, "idempotencyKey": "e3"},
	}
	res := s.do("admin", track, map[string]any{"events": events})
	require.Empty(t, res.Errors)
	require.EqualValues(t, 2, dig(res.Data, "trackLeadActivity", "recorded"))
	require.EqualValues(t, 1, dig(res.Data, "trackLeadActivity", "failed"))
	require.Equal(t, "leadId", dig(res.Data, "trackLeadActivity", "items", 2, "error", "field"))
	again := s.do("admin", track, map[string]any{"events": events[:2]})
	require.EqualValues(t, 2, dig(again.Data, "trackLeadActivity", "duplicates"))

	_, id, ok := crm.ParseGlobalID(leadID)
	require.True(t, ok)
	require.NoError(t, s.svc.ScoreLeads(context.Background(), s.demoActor("admin").OrgID, []crm.ID{id}))

	got := s.do("rep1", `{ leads(first: 10) { edges { node { id score { total fit engagement grade
	  breakdown { rule { id name } ruleVersion part points reason at expiresAt } } } } } }`, nil)
	require.Empty(t, got.Errors)
	var score map[string]any
	for _, e := range dig(got.Data, "leads", "edges").([]any) {
		if dig(e, "node", "id") == leadID {
			score = dig(e, "node", "score").(map[string]any)
		}
	}
	require.NotNil(t, score)
	require.EqualValues(t, 45, score["total"])
	require.EqualValues(t, 10, score["fit"])
	require.Equal(t, "B", score["grade"])
	require.Len(t, score["breakdown"], 3)
	require.Equal(t, "FIT", dig(score, "breakdown", 0, "part"))
	require.Equal(t, "Job title is director or above", dig(score, "breakdown", 0, "rule", "name"))
	require.Nil(t, dig(score, "breakdown", 0, "expiresAt"))
	require.NotNil(t, dig(score, "breakdown", 1, "expiresAt"))

	sim := s.do("analyst", `query($rules: [ScoringRuleInput!]!) { simulateScoringRules(rules: $rules) { leads changed
	  current { qualified gradeA buckets { from to count } } proposed { qualified average } } }`,
		map[string]any{"rules": []map[string]any{{"kind": "BEHAVIOUR", "name": "Webinar", "eventType": "WEBINAR", "points": 80}}})
	require.Empty(t, sim.Errors)
	require.EqualValues(t, 1, dig(sim.Data, "simulateScoringRules", "proposed", "qualified"))
}
