package api_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const orgSettings = `{ organization { version settings { staleAfterDays poolAfterDays poolClaimLimit firstContactHours quoteFollowUpDays } } }`

const updateSettings = `mutation($in: UpdateOrganizationSettingsInput!) {
  updateOrganizationSettings(input: $in) { organization { version settings {
    staleAfterDays poolAfterDays poolClaimLimit firstContactHours quoteFollowUpDays } } } }`

// The selling settings round-trip through updateOrganizationSettings; null turns the pool off and
// is refused where a number is required.
func TestSellingSettingsRoundTripAndNullTurnsThePoolOff(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := s.do("admin", orgSettings, nil)
	require.Empty(t, r.Errors)
	require.Equal(t, map[string]any{"staleAfterDays": 3.0, "poolAfterDays": nil, "poolClaimLimit": 20.0,
		"firstContactHours": 24.0, "quoteFollowUpDays": 3.0}, dig(r.Data, "organization", "settings"))
	version := dig(r.Data, "organization", "version")

	r = s.do("admin", updateSettings, map[string]any{"in": map[string]any{"expectedVersion": version,
		"staleAfterDays": 5, "poolAfterDays": 30, "poolClaimLimit": 2, "firstContactHours": 8, "quoteFollowUpDays": 4}})
	require.Empty(t, r.Errors)
	require.Equal(t, map[string]any{"staleAfterDays": 5.0, "poolAfterDays": 30.0, "poolClaimLimit": 2.0,
		"firstContactHours": 8.0, "quoteFollowUpDays": 4.0}, dig(r.Data, "updateOrganizationSettings", "organization", "settings"))
	version = dig(r.Data, "updateOrganizationSettings", "organization", "version")

	// Omitted fields stay; null poolAfterDays turns the pool off.
	r = s.do("admin", updateSettings, map[string]any{"in": map[string]any{"expectedVersion": version, "poolAfterDays": nil}})
	require.Empty(t, r.Errors)
	require.Equal(t, map[string]any{"staleAfterDays": 5.0, "poolAfterDays": nil, "poolClaimLimit": 2.0,
		"firstContactHours": 8.0, "quoteFollowUpDays": 4.0}, dig(r.Data, "updateOrganizationSettings", "organization", "settings"))
	version = dig(r.Data, "updateOrganizationSettings", "organization", "version")

	for field, value := range map[string]any{"staleAfterDays": nil, "poolClaimLimit": 0, "poolAfterDays": 4000, "quoteFollowUpDays": 91} {
		r = s.do("admin", updateSettings, map[string]any{"in": map[string]any{"expectedVersion": version, field: value}})
		require.Equal(t, "BAD_USER_INPUT", r.code(), "%s: %v", field, value)
		require.Equal(t, field, r.Errors[0].Extensions["field"])
	}
	r = s.do("rep1", updateSettings, map[string]any{"in": map[string]any{"expectedVersion": version, "staleAfterDays": 9}})
	require.Equal(t, "FORBIDDEN", r.code())
	r = s.do("admin", orgSettings, nil)
	require.Equal(t, 5.0, dig(r.Data, "organization", "settings", "staleAfterDays"), "refused input changed nothing")
}

const claim = `mutation($id: ID!) { claimAccount(input: {id: $id}) { account { id version owner { name } } } }`

// claimAccount gives a pool account to the caller; a second claim is a CONFLICT saying someone else
// was first, and the per-user limit is a CONFLICT naming it.
func TestClaimAccountThroughGraphQL(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	create := `mutation($name: String!) { createAccount(input: {name: $name, ownerId: null}) { account { id version owner { id } } } }`
	var pool []string
	for _, name := range []string{"Pool One", "Pool Two"} {
		r := s.do("admin", create, map[string]any{"name": name})
		require.Empty(t, r.Errors)
		require.Nil(t, dig(r.Data, "createAccount", "account", "owner"))
		pool = append(pool, dig(r.Data, "createAccount", "account", "id").(string))
	}

	r := s.do("rep1", claim, map[string]any{"id": pool[0]})
	require.Empty(t, r.Errors)
	require.Equal(t, pool[0], dig(r.Data, "claimAccount", "account", "id"))
	require.Equal(t, 2.0, dig(r.Data, "claimAccount", "account", "version"))
	require.NotNil(t, dig(r.Data, "claimAccount", "account", "owner", "name"))

	r = s.do("rep2", claim, map[string]any{"id": pool[0]})
	require.Equal(t, "CONFLICT", r.code())
	require.Contains(t, r.Errors[0].Message, "Someone else claimed this account first")

	r = s.do("rep1", claim, map[string]any{"id": "bm9wZQ"})
	require.Equal(t, "BAD_USER_INPUT", r.code())
	require.Equal(t, "id", r.Errors[0].Extensions["field"])

	r = s.do("admin", orgSettings, nil)
	r = s.do("admin", updateSettings, map[string]any{"in": map[string]any{
		"expectedVersion": dig(r.Data, "organization", "version"), "poolClaimLimit": 1}})
	require.Empty(t, r.Errors)
	r = s.do("rep1", claim, map[string]any{"id": pool[1]})
	require.Equal(t, "CONFLICT", r.code())
	require.Contains(t, r.Errors[0].Message, "limit of 1 claim ")
	require.Equal(t, 1.0, r.Errors[0].Extensions["claimLimit"])
	require.NotEmpty(t, r.Errors[0].Extensions["nextClaimAt"])

	r = s.do("analyst", claim, map[string]any{"id": pool[1]})
	require.Equal(t, "FORBIDDEN", r.code())
}
