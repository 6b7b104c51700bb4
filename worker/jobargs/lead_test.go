package jobargs_test

import (
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/worker/jobargs"
)

func TestScoreLeadsCarriesItsIDsAsOneString(t *testing.T) {
	t.Parallel()
	org := uuid.New()
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	raw, err := json.Marshal(jobargs.NewScoreLeads(org, ids))
	require.NoError(t, err)

	var fields map[string]any
	require.NoError(t, json.Unmarshal(raw, &fields))
	require.Len(t, fields, 2, "org_id and leads: %s", raw)
	require.IsType(t, "", fields["leads"], "one JSON string, one entry in River's GIN index of the arguments")

	var back jobargs.ScoreLeads
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, org, back.OrgID)
	require.Equal(t, ids, back.IDs())
}

func TestScoreLeadsReadsJobsEnqueuedWithTheArray(t *testing.T) {
	t.Parallel()
	ids := []uuid.UUID{uuid.New(), uuid.New()}
	raw := `{"org_id":"` + uuid.NewString() + `","lead_ids":["` + ids[0].String() + `","` + ids[1].String() + `"]}`
	var a jobargs.ScoreLeads
	require.NoError(t, json.Unmarshal([]byte(raw), &a))
	require.Equal(t, ids, a.IDs())
}
