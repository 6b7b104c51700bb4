package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/loadtest"
	"github.com/rapportcrm/rapport/internal/rawbaseline"
	"github.com/rapportcrm/rapport/internal/scaleseed"
)

// The raw baseline of `rapport bench` answers every scenario it serves with the data the GraphQL
// API answers for the same request, and sends the same SQL statements in the same order, so the
// ratio between the two measures the GraphQL layer and nothing else. Checked on scale-seeded data
// as the admin (whole organization) and as a sales rep (visibility applies).
func TestRawBaselineAnswersAsGraphQL(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx := context.Background()
	res, err := scaleseed.Run(ctx, s.svc, s.pool, scaleseed.Options{Scale: 0.01, Seed: 5})
	require.NoError(t, err)
	slug := res.Orgs[0].Organization.Slug
	raw := httptest.NewServer(rawbaseline.New(s.svc, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(raw.Close)
	table := loadtest.Scenarios()
	served := 0

	for _, user := range []string{res.Orgs[0].AdminEmail, "rep1-1@" + slug + ".test"} {
		sess, err := s.svc.IssueToken(ctx, slug, user, time.Hour)
		require.NoError(t, err)
		client := &loadtest.Client{HTTP: http.DefaultClient, Endpoint: s.url + "/graphql", Token: sess.Token}
		f, err := loadtest.LoadFixture(ctx, client)
		require.NoError(t, err)
		require.NotEmpty(t, f.ContactIDs, "%s sees contacts", user)

		for _, sc := range table {
			rawSc, ok := sc.ForTarget(loadtest.TargetRaw)
			if !ok {
				continue
			}
			served++
			name := sc.Name
			bodies, err := sc.Bodies(f)
			require.NoError(t, err)
			for _, body := range bodies[:min(3, len(bodies))] {
				var viaGraphQL, viaRaw json.RawMessage
				gqlSQL := s.statements.capture(func() { viaGraphQL = postData(t, s.url+"/graphql", sess.Token, body) })
				rawSQL := s.statements.capture(func() { viaRaw = postData(t, raw.URL+rawSc.Path, sess.Token, body) })
				if user == res.Orgs[0].AdminEmail && sc.Check != nil {
					require.NoError(t, sc.Check(viaGraphQL), "%s: the GraphQL answer has data to compare", name)
				}
				require.JSONEq(t, string(viaGraphQL), string(viaRaw), "%s as %s: same data", name, user)
				require.NotEmpty(t, gqlSQL, "%s: the counter sees the statements", name)
				require.Equal(t, gqlSQL, rawSQL, "%s as %s: same statements", name, user)
			}
		}
	}
	require.Equal(t, 2*5, served, "the five read scenarios, for two users")
}

// postData posts a GraphQL request body with a bearer token and returns the response's data,
// failing the test on any error.
func postData(t *testing.T, url, token string, body []byte) json.RawMessage {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, loadtest.CheckResponse(resp.StatusCode, raw), "%s", url)
	var out struct{ Data json.RawMessage }
	require.NoError(t, json.Unmarshal(raw, &out))
	return out.Data
}
