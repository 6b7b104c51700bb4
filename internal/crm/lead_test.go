package crm_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

// A lead's JSON (the snapshot of its events) leaves zero fields out and decodes to the same lead.
func TestLeadJSONLeavesZeroFieldsOutAndRoundTrips(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 8, 30, 0, 123456000, time.UTC)
	size := int32(0)
	fresh := crm.Lead{ID: crm.NewID(), OrgID: crm.NewID(), Status: crm.LeadNew, Name: "王小明", Email: "x@acme.cn",
		Source: crm.SourceAPI, Grade: "C", SLAState: crm.SLANone, TouchCount: 1, FirstTouchAt: now, LastTouchAt: now,
		CompanySize: &size, Custom: json.RawMessage(`{}`), CreatedAt: now, UpdatedAt: now, Version: 1}
	full := fresh
	full.Phone, full.UTM, full.OwnerID, full.AssignedAt, full.ScoreTotal = "+8613800138000", crm.UTM{Source: "wechat"}, crm.NewID(), &now, 40
	full.Spam, full.ContactID, full.DeletedAt = true, crm.NewID(), &now
	for _, l := range []crm.Lead{fresh, full} {
		b, err := json.Marshal(l)
		require.NoError(t, err)
		var got crm.Lead
		require.NoError(t, json.Unmarshal(b, &got))
		require.Equal(t, l, got)
	}
	b, err := json.Marshal(fresh)
	require.NoError(t, err)
	require.NotContains(t, string(b), "OwnerID")
	require.NotContains(t, string(b), "ScoreTotal")
	require.Contains(t, string(b), `"CompanySize":0`, "a pointer to zero is not a zero field")
}
