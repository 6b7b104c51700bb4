package loadtest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The read scenarios have an equivalent on the raw baseline (the same request at its own path) and
// on PostGraphile (their own documents, with database IDs); the write scenarios have none.
func TestScenariosForTargets(t *testing.T) {
	table := Scenarios()
	contact := base64.RawURLEncoding.EncodeToString([]byte("Contact:0195b2c4-0000-7000-8000-000000000001"))
	pipeline := base64.RawURLEncoding.EncodeToString([]byte("Pipeline:0195b2c4-0000-7000-8000-000000000002"))
	f := Fixture{ContactIDs: []string{contact}, Pipeline: Pipeline{ID: pipeline}, OrgID: "0195b2c4-0000-7000-8000-0000000000aa"}
	var reads []string
	for _, s := range table {
		raw, okRaw := s.ForTarget(TargetRaw)
		peer, okPeer := s.ForTarget(TargetPostGraphile)
		require.Equal(t, okRaw, okPeer, "%s: both references or neither", s.Name)
		if !okRaw {
			continue
		}
		reads = append(reads, s.Name)
		require.Equal(t, RawPath+s.Name, raw.Path)
		require.Equal(t, s.Query, raw.Query)
		require.NotEqual(t, s.Query, peer.Query)
		bodies, err := peer.Bodies(f)
		require.NoError(t, err)
		var req struct {
			Query     string
			Variables map[string]string
		}
		require.NoError(t, json.Unmarshal(bodies[0], &req))
		switch s.Name {
		case "record-by-id":
			require.Equal(t, map[string]string{"orgId": f.OrgID, "id": "0195b2c4-0000-7000-8000-000000000001"}, req.Variables)
		case "pipeline-board":
			require.Equal(t, map[string]string{"orgId": f.OrgID, "pipelineId": "0195b2c4-0000-7000-8000-000000000002"}, req.Variables)
		default:
			require.Nil(t, req.Variables)
		}
	}
	require.Equal(t, []string{"contacts-page", "record-by-id", "accounts-page", "opportunities-page", "pipeline-board"}, reads)
	_, ok := table[0].ForTarget("elsewhere")
	require.False(t, ok)

	_, err := table[1].PostGraphile.Variables(Fixture{ContactIDs: []string{contact}})
	require.ErrorContains(t, err, "names no organization")
	_, err = rowID("not a global id")
	require.Error(t, err)
}

func TestTokenOrg(t *testing.T) {
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"rapport","org":"0195b2c4-0000-7000-8000-0000000000aa"}`))
	org, err := tokenOrg("eyJhbGciOiJIUzI1NiJ9." + payload + ".sig")
	require.NoError(t, err)
	require.Equal(t, "0195b2c4-0000-7000-8000-0000000000aa", org)
	_, err = tokenOrg("rk_live_abc")
	require.Error(t, err)
	_, err = tokenOrg("a." + base64.RawURLEncoding.EncodeToString([]byte(`{}`)) + ".c")
	require.Error(t, err)
}

// Compare measures each target at maximum throughput, then at half of what it reached, and
// tabulates the ratios.
func TestCompareRunsEachTargetAtMaxAndHalf(t *testing.T) {
	ts, _, _ := fakeServer(t, false) // four runs, each starting with a check
	var benches []*Bench
	for _, target := range []string{TargetRapport, TargetRaw} {
		b, err := New(Config{URL: ts.URL, Token: "secret", Duration: 300 * time.Millisecond, Connections: 2, Target: target})
		require.NoError(t, err)
		benches = append(benches, b)
	}
	f, err := benches[0].Setup(context.Background())
	require.NoError(t, err)
	sel, err := Select(Scenarios(), "record-by-id")
	require.NoError(t, err)
	results, cs, err := Compare(context.Background(), benches, sel, f, true)
	require.NoError(t, err)
	require.Len(t, results, 4)
	require.Len(t, cs, 1)
	for i, want := range []struct {
		target string
		open   bool
	}{{TargetRapport, false}, {TargetRapport, true}, {TargetRaw, false}, {TargetRaw, true}} {
		r := results[i]
		require.Equal(t, want.target, r.Target)
		require.Equal(t, want.open, r.Rate > 0, "run %d", i)
		if want.open {
			require.InDelta(t, results[i-1].Throughput/2, float64(r.Rate), 1)
		}
	}
	require.Equal(t, results[0], cs[0].Max[TargetRapport])
	require.Equal(t, results[3], cs[0].Half[TargetRaw])

	var text, md bytes.Buffer
	require.NoError(t, WriteComparison(&text, cs))
	require.Regexp(t, `^scenario\s+Rapport req/s\s+raw req/s\s+PostGraphile req/s\s+GraphQL/raw\s+Rapport/PostGraphile`, text.String())
	require.Regexp(t, `\nrecord-by-id\s+\d+\s+\d+\s+-\s+\d+%\s+-\s+`, text.String())
	require.NoError(t, WriteComparisonMarkdown(&md, cs))
	lines := strings.Split(strings.TrimSpace(md.String()), "\n")
	require.Len(t, lines, 3)
	require.Equal(t, strings.Count(lines[0], "|"), strings.Count(lines[2], "|"))
	require.Contains(t, lines[2], " / - |", "PostGraphile was not measured")

	md.Reset()
	require.NoError(t, WriteMarkdown(&md, results))
	require.Contains(t, md.String(), "| record-by-id | raw | max, 2 conns |")
}
