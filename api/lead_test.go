package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const captureMutation = `mutation($in: CaptureLeadInput!) { captureLead(input: $in) { outcome replayed
  warnings { field message } contact { id }
  lead { id name email phone company status source campaign utm { source medium } touchCount version allowedStatuses
    touches(first: 5) { source campaign payload } } } }`

func TestLeadCaptureListAndConvertOverGraphQL(t *testing.T) {
	s := newServer(t)
	r := s.do("admin", captureMutation, map[string]any{"in": map[string]any{"name": "张伟", "email": "Zhang.Wei@Example.CN",
		"phone": "13800138123", "company": "杭州某某网络有限公司", "source": "WEB_FORM", "campaign": "2026 秋季",
		"utm": map[string]any{"source": "wechat", "medium": "social"}}})
	require.Empty(t, r.Errors)
	lead := dig(r.Data, "captureLead", "lead").(map[string]any)
	require.Equal(t, "CREATED", dig(r.Data, "captureLead", "outcome"))
	require.Equal(t, "张伟", lead["name"])
	require.Equal(t, "zhang.wei@example.cn", lead["email"])
	require.Equal(t, "+8613800138123", lead["phone"])
	require.Equal(t, "WEB_FORM", lead["source"])
	require.Equal(t, "wechat", dig(lead, "utm", "source"))
	require.Equal(t, []any{"WORKING", "NURTURING", "QUALIFIED", "DISQUALIFIED"}, lead["allowedStatuses"])
	require.Equal(t, "2026 秋季", dig(lead, "touches", 0, "campaign"))
	id := lead["id"].(string)

	// The same person again (phone written differently): a touch, and the response says so.
	r = s.do("admin", captureMutation, map[string]any{"in": map[string]any{"name": "Zhang Wei", "phone": "+86 138 0013 8123"}})
	require.Empty(t, r.Errors)
	require.Equal(t, "TOUCHED", dig(r.Data, "captureLead", "outcome"))
	require.Equal(t, id, dig(r.Data, "captureLead", "lead", "id"))
	require.Equal(t, 2.0, dig(r.Data, "captureLead", "lead", "touchCount"))

	// Bad input: one error per field, extensions.code BAD_USER_INPUT, nothing stored.
	r = s.do("admin", captureMutation, map[string]any{"in": map[string]any{"name": "x", "email": "nope"}})
	require.Equal(t, "BAD_USER_INPUT", r.code())
	require.Nil(t, r.Data["captureLead"])

	// A batch with a bad item: partial success, the item's error says what to fix.
	r = s.do("admin", `mutation($l: [CaptureLeadInput!]!) { captureLeads(leads: $l) { captured failed
	  items { index outcome lead { name } error { code field message } } } }`, map[string]any{"l": []any{
		map[string]any{"name": "Batch One", "email": "one@example.com"},
		map[string]any{"name": "Batch Two", "email": "two@"},
		map[string]any{"name": "Batch Three", "phone": "+44 20 7946 0958", "companySize": 4000000000},
	}})
	require.Empty(t, r.Errors)
	require.Equal(t, 1.0, dig(r.Data, "captureLeads", "captured"))
	require.Equal(t, 2.0, dig(r.Data, "captureLeads", "failed"))
	require.Equal(t, "BAD_USER_INPUT", dig(r.Data, "captureLeads", "items", 1, "error", "code"))
	require.Equal(t, "email", dig(r.Data, "captureLeads", "items", 1, "error", "field"))
	require.Equal(t, "leads[2].companySize", dig(r.Data, "captureLeads", "items", 2, "error", "field"))

	// Lists: filter by source and search, keyset pages that never skip.
	r = s.do("rep1", `{ leads(first: 10, filter: {sources: [WEB_FORM], search: "杭州"}) { totalCount nodes { name email } } }`, nil)
	require.Empty(t, r.Errors)
	require.Equal(t, 1.0, dig(r.Data, "leads", "totalCount"))
	require.Equal(t, "zhang.wei@example.cn", dig(r.Data, "leads", "nodes", 0, "email"), "sales reps hold pii")

	// Status rule errors name the allowed statuses.
	r = s.do("admin", `mutation($id: ID!) { setLeadStatus(input: {id: $id, expectedVersion: 2, status: CONVERTED}) { lead { status } } }`,
		map[string]any{"id": id})
	require.Equal(t, "BAD_USER_INPUT", r.code())
	require.Contains(t, r.Errors[0].Message, "convertLead")

	// Convert: account, contact and a deal in one step; twice is a CONFLICT.
	const convert = `mutation($in: ConvertLeadInput!) { convertLead(input: $in) { accountCreated contactCreated
	  account { name } contact { name emails } opportunity { name amount { amount currency } }
	  lead { status contact { name } account { name } opportunity { name } } } }`
	in := map[string]any{"id": id, "expectedVersion": 2, "createOpportunity": true, "amount": "88000.00"}
	r = s.do("admin", convert, map[string]any{"in": in})
	require.Empty(t, r.Errors)
	require.Equal(t, true, dig(r.Data, "convertLead", "accountCreated"))
	require.Equal(t, "杭州某某网络有限公司", dig(r.Data, "convertLead", "account", "name"))
	require.Equal(t, "张伟", dig(r.Data, "convertLead", "contact", "name"))
	require.Equal(t, "88000", dig(r.Data, "convertLead", "opportunity", "amount", "amount"))
	require.Equal(t, "CONVERTED", dig(r.Data, "convertLead", "lead", "status"))
	require.Equal(t, "张伟", dig(r.Data, "convertLead", "lead", "contact", "name"))
	r = s.do("admin", convert, map[string]any{"in": in})
	require.Equal(t, "CONFLICT", r.code())

	r = s.do("admin", `query($id: ID!) { node(id: $id) { ... on Lead { status opportunity { name } } } }`, map[string]any{"id": id})
	require.Empty(t, r.Errors)
	require.Equal(t, "CONVERTED", dig(r.Data, "node", "status"))
}

func TestLeadChangedOverSSE(t *testing.T) {
	s := newServer(t)
	s.relayAll(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // a hang guard
	defer cancel()
	go func() { _ = s.hub.Run(ctx) }()
	go func() { _ = s.relay.Run(ctx) }()

	lines := s.sse(ctx, "rep1", `{"query":"subscription { leadChanged { type lead { name email } } }"}`)
	done := make(chan error, 1)
	go func() {
		time.Sleep(200 * time.Millisecond) // let the subscription register; a later event is caught up anyway
		r := s.do("admin", captureMutation, map[string]any{"in": map[string]any{"name": "实时 线索", "email": "live@example.com"}})
		if len(r.Errors) > 0 {
			done <- fmt.Errorf("%v", r.Errors)
		}
		close(done)
	}()
	for line := range lines {
		if data, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(data, "lead.created") {
			require.Contains(t, data, "实时 线索")
			require.Contains(t, data, "live@example.com")
			require.NoError(t, <-done)
			return
		}
	}
	t.Fatal("the event stream ended without the lead.created event")
}

func TestLeadListsArePricedByPageSize(t *testing.T) {
	s := newServer(t)
	r := s.do("admin", `{ leads(first: 100) { nodes { touches(first: 100) { source campaign payload receivedAt } } } }`, nil)
	require.NotEmpty(t, r.Errors, "100 x 100 touches exceed the complexity limit")
	require.Nil(t, r.Data["leads"])
	r = s.do("admin", `{ leads(first: 100) { nodes { touches(first: 5) { source } } } }`, nil)
	require.Empty(t, r.Errors)
}

func TestLeadRecordsResolveThroughNode(t *testing.T) {
	s := newServer(t)
	r := s.do("admin", `{ scoringRules { id name } leads(first: 1) { nodes { id } } }`, nil)
	require.Empty(t, r.Errors)
	rule := dig(r.Data, "scoringRules", 0).(map[string]any)
	lead := dig(r.Data, "leads", "nodes", 0, "id")
	r = s.do("admin", `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on ScoringRule { name } ... on Lead { name } } }`,
		map[string]any{"ids": []any{rule["id"], lead}})
	require.Empty(t, r.Errors)
	require.Equal(t, rule["name"], dig(r.Data, "nodes", 0, "name"))
	require.Equal(t, lead, dig(r.Data, "nodes", 1, "id"))
}
