package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/rapportcrm/rapport/internal/loadtest"
)

// benchScenario serves one of the load tool's read scenarios (rapport bench) in process, straight
// into the handler, over the data TestListStatementCounts uses: the server's own cost per request,
// with its allocations, without the network and the client. Figures in docs/benchmarks.md.
func benchScenario(b *testing.B, name string) {
	s := newServer(b)
	seedLists(b, s)
	var query string
	for _, sc := range loadtest.Scenarios() {
		if sc.Name == name {
			query = sc.Query
		}
	}
	if query == "" {
		b.Fatalf("no scenario %s", name)
	}
	body, _ := json.Marshal(map[string]any{"query": query})
	serve := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.tokens["admin"])
		rec := httptest.NewRecorder()
		s.handler.ServeHTTP(rec, req)
		return rec
	}
	if rec := serve(); rec.Code != http.StatusOK || bytes.Contains(rec.Body.Bytes(), []byte(`"errors"`)) {
		b.Fatalf("%d %s", rec.Code, rec.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}

// BenchmarkContactsPage is the contacts-page scenario: 50 contacts with account and owner.
func BenchmarkContactsPage(b *testing.B) { benchScenario(b, "contacts-page") }

// BenchmarkOpportunitiesPage is the opportunities-page scenario: 50 deals with stage, account,
// owner and primary contact.
func BenchmarkOpportunitiesPage(b *testing.B) { benchScenario(b, "opportunities-page") }
