package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzGraphQLRequest sends arbitrary request bodies through the whole input path (JSON decoding,
// GraphQL parsing, validation, variable coercion, ID and cursor decoding, service validation) as an
// authenticated user. Whatever arrives, the server must answer with a JSON body whose errors all
// carry extensions.code, and never with a 500.
func FuzzGraphQLRequest(f *testing.F) {
	seeds := []string{
		`{"query":"{ viewer { name } }"}`,
		`{"query":"{ accounts(first: 5, after: \"bm9wZQ\") { edges { cursor } } }"}`,
		`{"query":"query($id: ID!) { node(id: $id) { id } }","variables":{"id":"QWNjb3VudDpub3QtYS11dWlk"}}`,
		`{"query":"mutation($in: CreateContactInput!) { createContact(input: $in) { contact { id } } }","variables":{"in":{"lastName":"王","emails":["x@"],"phones":["+86 138"]}}}`,
		`{"query":"mutation { createAccount(input: {name: \"\\u0000\", custom: [1]}) { account { id } } }"}`,
		`{"query":"{ contacts(filter: {createdAt: {from: \"yesterday\"}}) { totalCount } }"}`,
		`{"query":"{ changes(after: \"c2VxOi0x\", first: 100000) { edges { cursor } } }"}`,
		`{"query":"{ __typename"}`,
		`{"query":"fragment A on Query { ...A } { ...A }"}`,
		`{"query": 42}`,
		`{"variables": "nope"}`,
		`not json`,
		`{"query":"mutation { updateAccount(input: {id: \"\", expectedVersion: -1, employees: 99999999999}) { account { id } } }"}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	s := newServer(f)
	f.Fuzz(func(t *testing.T, body string) {
		req, _ := http.NewRequest(http.MethodPost, s.url+"/graphql", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.tokens["rep1"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d for %q: %s", resp.StatusCode, body, raw)
		}
		var out struct {
			Errors []struct {
				Extensions map[string]any `json:"extensions"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("response is not JSON for %q: %s", body, raw)
		}
		for _, e := range out.Errors {
			if code, _ := e.Extensions["code"].(string); code == "" || code == "INTERNAL" {
				t.Fatalf("error without a client code for %q: %s", body, raw)
			}
		}
	})
}
