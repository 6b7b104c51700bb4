package api_test

import (
	"testing"

	"github.com/stretchr/testify/require"
)

const forecastQuery = `query($in: ForecastInput!) { forecast(input: $in) { currency rows {
  period periodStart periodEnd owner { name } team { name } pipeline { name }
  pipelineAmount bestCase commit closedWon weighted quota attainment deals
  adjusted { adjusted note submittedBy { name } } } } }`

func TestForecastAndSubmissionOverGraphQL(t *testing.T) {
	s := newServer(t)
	r := s.do("rep1", `{ viewer { id name team { id name } } accounts(first: 1) { nodes { id } } }`, nil)
	require.Empty(t, r.Errors)
	rep1, rep1Name := dig(r.Data, "viewer", "id").(string), dig(r.Data, "viewer", "name").(string)
	team, teamName := dig(r.Data, "viewer", "team", "id").(string), dig(r.Data, "viewer", "team", "name").(string)
	account := dig(r.Data, "accounts", "nodes", 0, "id").(string)

	// Deals far ahead, so that the demo deals do not count.
	const create = `mutation($in: CreateOpportunityInput!) { createOpportunity(input: $in) { opportunity { id probability } } }`
	for _, in := range []map[string]any{
		{"name": "Forecast one", "amount": "1000.10", "closeDate": "2030-05-10"},
		{"name": "Forecast two", "amount": "500", "currency": "USD", "closeDate": "2030-05-20"},
	} {
		in["accountId"] = account
		r = s.do("rep1", create, map[string]any{"in": in})
		require.Empty(t, r.Errors)
		require.EqualValues(t, 10, dig(r.Data, "createOpportunity", "opportunity", "probability"))
	}
	may := map[string]any{"from": "2030-05-01", "to": "2030-06-01"}

	// Without a USD rate the forecast names what is missing.
	r = s.do("manager", forecastQuery, map[string]any{"in": may})
	require.Equal(t, "BAD_USER_INPUT", r.code())
	require.Equal(t, "currency", r.Errors[0].Extensions["field"])
	require.Contains(t, r.Errors[0].Message, "USD to CNY on 2030-05-20")

	r = s.do("manager", `mutation { setExchangeRate(input: {fromCurrency: "USD", toCurrency: "CNY", validFrom: "2030-01-01", rate: "7"}) { rate { rate } } }`, nil)
	require.Equal(t, "FORBIDDEN", r.code())
	r = s.do("admin", `mutation { setExchangeRate(input: {fromCurrency: "usd", toCurrency: "CNY", validFrom: "2030-01-01", rate: "7"}) {
	  rate { fromCurrency toCurrency validFrom rate } } }`, nil)
	require.Empty(t, r.Errors)
	require.Equal(t, map[string]any{"fromCurrency": "USD", "toCurrency": "CNY", "validFrom": "2030-01-01", "rate": "7"},
		dig(r.Data, "setExchangeRate", "rate"))
	r = s.do("admin", `mutation($u: ID!) { setQuota(input: {userId: $u, periodStart: "2030-05-01", periodEnd: "2030-06-01", amount: "9000.40"}) {
	  quota { id user { name } team { name } periodStart periodEnd amount { amount currency } } } }`, map[string]any{"u": rep1})
	require.Empty(t, r.Errors)
	require.Equal(t, rep1Name, dig(r.Data, "setQuota", "quota", "user", "name"))
	require.Nil(t, dig(r.Data, "setQuota", "quota", "team"))
	require.Equal(t, map[string]any{"amount": "9000.4", "currency": "CNY"}, dig(r.Data, "setQuota", "quota", "amount"))

	r = s.do("manager", forecastQuery, map[string]any{"in": may})
	require.Empty(t, r.Errors)
	require.Equal(t, "CNY", dig(r.Data, "forecast", "currency"))
	row := dig(r.Data, "forecast", "rows", 0).(map[string]any)
	require.Len(t, dig(r.Data, "forecast", "rows"), 1)
	require.Equal(t, "2030-05", row["period"])
	require.Equal(t, "2030-06-01", row["periodEnd"])
	require.Equal(t, rep1Name, dig(row, "owner", "name"))
	require.Equal(t, "4500.1", row["pipelineAmount"], "1000.10 + 500 USD at 7")
	require.Equal(t, "450.01", row["weighted"])
	require.Equal(t, "0", row["closedWon"])
	require.Equal(t, "9000.4", row["quota"])
	require.EqualValues(t, 0, row["attainment"])
	require.EqualValues(t, 2, row["deals"])

	// A manager submits an adjusted forecast for the team; a rep may not.
	const submit = `mutation($in: SubmitForecastInput!) { submitForecast(input: $in) { submission {
	  id team { name } periodStart periodEnd currency pipelineAmount weighted adjusted note submittedBy { name } } } }`
	in := map[string]any{"teamId": team, "periodStart": "2030-05-01", "periodEnd": "2030-06-01", "adjusted": "3000", "note": "USD deal slips"}
	r = s.do("rep1", submit, map[string]any{"in": in})
	require.Equal(t, "FORBIDDEN", r.code())
	r = s.do("manager", submit, map[string]any{"in": in})
	require.Empty(t, r.Errors)
	sub := dig(r.Data, "submitForecast", "submission").(map[string]any)
	require.Equal(t, teamName, dig(sub, "team", "name"))
	require.Equal(t, "4500.1", sub["pipelineAmount"])
	require.Equal(t, "450.01", sub["weighted"])
	require.Equal(t, "3000", sub["adjusted"])
	require.Equal(t, "USD deal slips", sub["note"])
	require.NotEmpty(t, dig(sub, "submittedBy", "name"))

	may["groupBy"] = "TEAM"
	r = s.do("manager", forecastQuery, map[string]any{"in": may})
	require.Empty(t, r.Errors)
	require.Equal(t, teamName, dig(r.Data, "forecast", "rows", 0, "team", "name"))
	require.Equal(t, "3000", dig(r.Data, "forecast", "rows", 0, "adjusted", "adjusted"))

	// Analysts read figures and pipeline definitions, not deals.
	may["groupBy"] = "PIPELINE"
	r = s.do("analyst", forecastQuery, map[string]any{"in": may})
	require.Empty(t, r.Errors)
	require.Equal(t, "4500.1", dig(r.Data, "forecast", "rows", 0, "pipelineAmount"))
	require.Equal(t, "Sales", dig(r.Data, "forecast", "rows", 0, "pipeline", "name"))
	r = s.do("analyst", `{ opportunities(first: 1) { nodes { id } } }`, nil)
	require.Equal(t, "FORBIDDEN", r.code(), "analysts read no individual deals")
	r = s.do("manager", forecastQuery, map[string]any{"in": may})
	require.Empty(t, r.Errors)
	require.NotNil(t, dig(r.Data, "forecast", "rows", 0, "pipeline", "name"))

	r = s.do("analyst", `{ forecastSubmissions(from: "2030-01-01", to: "2031-01-01") { id adjusted team { name } }
	  quotas(from: "2030-01-01", to: "2031-01-01") { user { name } amount { amount } }
	  exchangeRates(fromCurrency: "USD") { toCurrency rate } }`, nil)
	require.Empty(t, r.Errors)
	require.Len(t, dig(r.Data, "forecastSubmissions"), 1)
	require.Equal(t, sub["id"], dig(r.Data, "forecastSubmissions", 0, "id"))
	require.Equal(t, rep1Name, dig(r.Data, "quotas", 0, "user", "name"))
	require.Equal(t, "7", dig(r.Data, "exchangeRates", 0, "rate"))

	r = s.do("support", forecastQuery, map[string]any{"in": may})
	require.Equal(t, "FORBIDDEN", r.code())
	r = s.do("manager", forecastQuery, map[string]any{"in": map[string]any{"from": "2030-01-01", "to": "2034-01-01"}})
	require.Equal(t, "BAD_USER_INPUT", r.code())
	require.Equal(t, "to", r.Errors[0].Extensions["field"])
}
