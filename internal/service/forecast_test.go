package service_test

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/forecast"
	"github.com/rapportcrm/rapport/internal/service"
)

// dealBook inserts pipelines, stages and deals with SQL, so forecast tests can place deals on
// any close date and in any state without going through the deal service's own rules.
type dealBook struct {
	e         *env
	pipelineA crm.ID
	pipelineB crm.ID
	stages    map[crm.ID]map[crm.ForecastCategory]crm.ID // pipeline -> category -> stage
	account   crm.ID
	teams     map[string]crm.ID // by name
}

// fdeal is a deal to insert; the zero value is an open 0-amount CNY deal in pipeline A.
type fdeal struct {
	owner     *crm.Actor
	team      string // team name; "" for none
	pipeline  crm.ID
	amount    string // "" for NULL
	currency  string
	close     string // YYYY-MM-DD; "" for NULL
	prob      int
	cat       crm.ForecastCategory
	closed    bool
	deleted   bool
	teamOwner bool // take the team of the owner
}

func newDealBook(e *env) *dealBook {
	e.t.Helper()
	b := &dealBook{e: e, pipelineA: crm.NewID(), pipelineB: crm.NewID(), stages: map[crm.ID]map[crm.ForecastCategory]crm.ID{},
		teams: map[string]crm.ID{}}
	now := time.Now()
	for i, p := range []crm.ID{b.pipelineA, b.pipelineB} {
		_, err := e.pool.Exec(e.ctx, `INSERT INTO pipelines (org_id, id, name, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
			e.org.ID, p, []string{"Forecast A", "Forecast B"}[i], 10+i, now)
		require.NoError(e.t, err)
		b.stages[p] = map[crm.ForecastCategory]crm.ID{}
		for j, c := range []crm.ForecastCategory{crm.CategoryPipeline, crm.CategoryBestCase, crm.CategoryCommit, crm.CategoryClosedWon, crm.CategoryOmitted} {
			id := crm.NewID()
			_, err := e.pool.Exec(e.ctx, `INSERT INTO pipeline_stages (org_id, id, pipeline_id, name, position, probability, forecast_category, closed, won)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, e.org.ID, id, p, string(c), j, []int{10, 40, 70, 100, 0}[j], string(c),
				j >= 3, j == 3)
			require.NoError(e.t, err)
			b.stages[p][c] = id
		}
	}
	b.account = e.account(e.admin, "Forecast Buyer Ltd").ID
	teams, err := e.svc.ListTeams(e.ctx, e.admin)
	require.NoError(e.t, err)
	for _, t := range teams {
		b.teams[t.Name] = t.ID
	}
	return b
}

func (b *dealBook) add(d fdeal) crm.ID {
	e := b.e
	e.t.Helper()
	if d.pipeline == crm.NilID {
		d.pipeline = b.pipelineA
	}
	if d.currency == "" {
		d.currency = "CNY"
	}
	if d.cat == "" {
		d.cat = crm.CategoryPipeline
	}
	var owner, team, amount, closeDate, closedAt, deletedAt any
	if d.owner != nil {
		owner = d.owner.UserID
	}
	if d.team != "" {
		id, ok := b.teams[d.team]
		require.True(e.t, ok, "team %s", d.team)
		team = id
	}
	if d.amount != "" {
		amount = d.amount
	}
	if d.close != "" {
		closeDate = d.close
	}
	now := time.Now()
	if d.closed {
		closedAt = now
	}
	if d.deleted {
		deletedAt = now
	}
	id := crm.NewID()
	_, err := e.pool.Exec(e.ctx, `INSERT INTO opportunities (org_id, id, name, account_id, owner_id, team_id, pipeline_id, stage_id,
		amount, currency, close_date, probability, forecast_category, stage_entered_at, closed_at, created_at, updated_at, deleted_at)
		VALUES ($1, $2, 'Deal', $3, $4, $5, $6, $7, $8::numeric, $9, $10::date, $11, $12, $13, $14, $13, $13, $15)`,
		e.org.ID, id, b.account, owner, team, d.pipeline, b.stages[d.pipeline][d.cat], amount, d.currency, closeDate, d.prob,
		string(d.cat), now, closedAt, deletedAt)
	require.NoError(e.t, err)
	return id
}

func day(s string) crm.Date {
	d, err := crm.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func money(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// requireMoney compares decimals by value.
func requireMoney(t testing.TB, want string, got decimal.Decimal, msg ...any) {
	t.Helper()
	require.True(t, money(want).Equal(got), "want %s, got %s %v", want, got, msg)
}

func (e *env) forecast(a *crm.Actor, in service.ForecastInput) service.Forecast {
	e.t.Helper()
	f, err := e.svc.Forecast(e.ctx, a, in)
	require.NoError(e.t, err)
	return f
}

// rowOf returns the row of a group (owner, team or pipeline ID) in a period.
func rowOf(t testing.TB, f service.Forecast, period string, group crm.ID) service.ForecastRow {
	t.Helper()
	for _, r := range f.Rows {
		if r.Period == period && (r.OwnerID == group || r.TeamID == group || r.PipelineID == group) &&
			(group != crm.NilID || r.OwnerID == crm.NilID && r.TeamID == crm.NilID && r.PipelineID == crm.NilID) {
			return r
		}
	}
	t.Fatalf("no row for %s in %s: %+v", group, period, f.Rows)
	return service.ForecastRow{}
}

var nov2026 = service.ForecastInput{From: day("2026-11-01"), To: day("2026-12-01"), Currency: "CNY"}

func TestForecastSumsCategoriesAndWeightedToTheCent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newDealBook(e)
	b.add(fdeal{owner: e.rep1, amount: "1000.10", close: "2026-11-03", prob: 10, cat: crm.CategoryPipeline})
	b.add(fdeal{owner: e.rep1, amount: "1000.10", close: "2026-11-03", prob: 20, cat: crm.CategoryBestCase})
	b.add(fdeal{owner: e.rep1, amount: "1000.10", close: "2026-11-30", prob: 60, cat: crm.CategoryCommit})
	b.add(fdeal{owner: e.rep1, amount: "500", close: "2026-11-10", prob: 100, cat: crm.CategoryClosedWon, closed: true})
	b.add(fdeal{owner: e.rep1, amount: "999", close: "2026-11-10", prob: 0, cat: crm.CategoryOmitted, closed: true})   // lost
	b.add(fdeal{owner: e.rep1, amount: "777", close: "2026-11-10", prob: 50, cat: crm.CategoryOmitted})                // open, omitted
	b.add(fdeal{owner: e.rep1, amount: "5000", close: "2026-11-10", prob: 50, cat: crm.CategoryCommit, deleted: true}) // deleted
	b.add(fdeal{owner: e.rep1, close: "2026-11-10", prob: 50, cat: crm.CategoryPipeline})                              // no amount
	b.add(fdeal{owner: e.rep1, amount: "3000", close: "2026-12-01", prob: 50})                                         // after the range
	b.add(fdeal{owner: e.rep1, amount: "3000", close: "2026-10-31", prob: 50})                                         // before it
	b.add(fdeal{owner: e.rep1, amount: "3000", prob: 50})                                                              // no close date

	f := e.forecast(e.admin, nov2026)
	require.Equal(t, "CNY", f.Currency)
	require.Len(t, f.Rows, 1)
	r := f.Rows[0]
	require.Equal(t, e.rep1.UserID, r.OwnerID)
	require.Equal(t, "2026-11", r.Period)
	require.Equal(t, day("2026-11-01"), r.PeriodStart)
	require.Equal(t, day("2026-12-01"), r.PeriodEnd)
	requireMoney(t, "1000.10", r.PipelineAmount)
	requireMoney(t, "1000.10", r.BestCase)
	requireMoney(t, "1000.10", r.Commit)
	requireMoney(t, "500", r.ClosedWon)
	requireMoney(t, "900.09", r.Weighted, "100.01 + 200.02 + 600.06; won deals are not weighted")
	require.Equal(t, 5, r.Deals, "3 open, 1 won, 1 without amount")
	require.Nil(t, r.Quota)
	require.Nil(t, r.Attainment)
}

func TestForecastDefaultsToTheOrganizationsCurrency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newDealBook(e)
	b.add(fdeal{owner: e.rep1, amount: "10", close: "2026-11-03", prob: 10})
	f := e.forecast(e.admin, service.ForecastInput{From: day("2026-11-01"), To: day("2026-12-01")})
	require.Equal(t, e.org.Settings.DefaultCurrency, f.Currency)
}

func TestForecastGroupsByOwnerTeamAndPipeline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newDealBook(e)
	b.add(fdeal{owner: e.rep1, team: "East", amount: "100", close: "2026-11-03", prob: 50})
	b.add(fdeal{owner: e.rep1b, team: "East", amount: "200", close: "2026-11-04", prob: 50, pipeline: b.pipelineB})
	b.add(fdeal{owner: e.rep2, team: "West", amount: "400", close: "2026-11-05", prob: 50, cat: crm.CategoryCommit})
	b.add(fdeal{amount: "800", close: "2026-11-06", prob: 50}) // the shared pool: no owner, no team

	byOwner := e.forecast(e.admin, nov2026)
	require.Len(t, byOwner.Rows, 4)
	requireMoney(t, "100", rowOf(t, byOwner, "2026-11", e.rep1.UserID).PipelineAmount)
	requireMoney(t, "200", rowOf(t, byOwner, "2026-11", e.rep1b.UserID).PipelineAmount)
	requireMoney(t, "400", rowOf(t, byOwner, "2026-11", e.rep2.UserID).Commit)
	require.Equal(t, crm.NilID, byOwner.Rows[3].OwnerID, "unassigned deals come last")
	requireMoney(t, "800", byOwner.Rows[3].PipelineAmount)

	in := nov2026
	in.GroupBy = service.GroupTeam
	byTeam := e.forecast(e.admin, in)
	require.Len(t, byTeam.Rows, 3)
	east := rowOf(t, byTeam, "2026-11", b.teams["East"])
	requireMoney(t, "300", east.PipelineAmount)
	requireMoney(t, "150", east.Weighted)
	require.Equal(t, 2, east.Deals)
	requireMoney(t, "400", rowOf(t, byTeam, "2026-11", b.teams["West"]).Commit)
	requireMoney(t, "800", byTeam.Rows[2].PipelineAmount)
	require.Equal(t, crm.NilID, byTeam.Rows[2].TeamID)

	in.GroupBy = service.GroupPipeline
	byPipeline := e.forecast(e.admin, in)
	require.Len(t, byPipeline.Rows, 2)
	a := rowOf(t, byPipeline, "2026-11", b.pipelineA)
	requireMoney(t, "900", a.PipelineAmount)
	requireMoney(t, "400", a.Commit)
	requireMoney(t, "200", rowOf(t, byPipeline, "2026-11", b.pipelineB).PipelineAmount)

	in = nov2026
	in.PipelineID = b.pipelineB
	onlyB := e.forecast(e.admin, in)
	require.Len(t, onlyB.Rows, 1)
	require.Equal(t, e.rep1b.UserID, onlyB.Rows[0].OwnerID)
}

func TestForecastBucketsByMonthOrQuarter(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newDealBook(e)
	for _, d := range []string{"2026-10-01", "2026-10-31", "2026-11-30", "2026-12-31", "2027-01-01", "2027-03-31", "2027-04-01"} {
		b.add(fdeal{owner: e.rep1, amount: "10", close: d, prob: 50})
	}
	months := e.forecast(e.admin, service.ForecastInput{From: day("2026-10-15"), To: day("2027-01-01"), Currency: "CNY"})
	var labels []string
	for _, r := range months.Rows {
		labels = append(labels, r.Period)
	}
	require.Equal(t, []string{"2026-10", "2026-11", "2026-12"}, labels, "from is moved back to the start of its month")
	requireMoney(t, "20", months.Rows[0].PipelineAmount)

	quarters := e.forecast(e.admin, service.ForecastInput{From: day("2026-10-01"), To: day("2027-04-01"), Currency: "CNY",
		Interval: forecast.Quarter})
	require.Len(t, quarters.Rows, 2)
	require.Equal(t, "2026-Q4", quarters.Rows[0].Period)
	require.Equal(t, day("2026-10-01"), quarters.Rows[0].PeriodStart)
	require.Equal(t, day("2027-01-01"), quarters.Rows[0].PeriodEnd)
	requireMoney(t, "40", quarters.Rows[0].PipelineAmount)
	require.Equal(t, "2027-Q1", quarters.Rows[1].Period)
	requireMoney(t, "20", quarters.Rows[1].PipelineAmount)

	_, err := e.svc.Forecast(e.ctx, e.admin, service.ForecastInput{From: day("2026-01-01"), To: day("2029-01-02")})
	requireCode(t, err, crm.EINVALID, "to")
	_, err = e.svc.Forecast(e.ctx, e.admin, service.ForecastInput{From: day("2026-01-01"), To: day("2026-01-01")})
	requireCode(t, err, crm.EINVALID, "to")
	_, err = e.svc.Forecast(e.ctx, e.admin, service.ForecastInput{From: day("2026-01-01"), To: day("2026-02-01"), Currency: "RMB"})
	requireCode(t, err, crm.EINVALID, "currency")
	_, err = e.svc.Forecast(e.ctx, e.admin, service.ForecastInput{From: day("2026-01-01"), To: day("2026-02-01"), GroupBy: "region"})
	requireCode(t, err, crm.EINVALID, "groupBy")
}

func (e *env) rate(from, to, validFrom, rate string) {
	e.t.Helper()
	_, err := e.svc.SetExchangeRate(e.ctx, e.admin, service.ExchangeRate{FromCurrency: from, ToCurrency: to, ValidFrom: day(validFrom), Rate: money(rate)})
	require.NoError(e.t, err)
}

func TestForecastConvertsWithTheRateOfTheCloseDate(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newDealBook(e)
	e.rate("USD", "CNY", "2026-01-01", "7.0")
	e.rate("USD", "CNY", "2026-11-15", "7.2")
	b.add(fdeal{owner: e.rep1, amount: "100", currency: "USD", close: "2026-11-14", prob: 50}) // old rate: 700
	b.add(fdeal{owner: e.rep1, amount: "100", currency: "USD", close: "2026-11-15", prob: 50}) // new rate: 720
	b.add(fdeal{owner: e.rep1, amount: "1000", currency: "CNY", close: "2026-11-20", prob: 50})

	inCNY := e.forecast(e.admin, nov2026)
	require.Len(t, inCNY.Rows, 1)
	requireMoney(t, "2420", inCNY.Rows[0].PipelineAmount)
	requireMoney(t, "1210", inCNY.Rows[0].Weighted)

	// Only USD->CNY is recorded: CNY converts to USD with 1/7.2, rounded half to even at the end.
	in := nov2026
	in.Currency = "usd"
	inUSD := e.forecast(e.admin, in)
	require.Equal(t, "USD", inUSD.Currency)
	requireMoney(t, "338.8889", inUSD.Rows[0].PipelineAmount, "200 + 1000/7.2")
	requireMoney(t, "169.4444", inUSD.Rows[0].Weighted, "(200 + 1000/7.2) / 2")

	b.add(fdeal{owner: e.rep2, amount: "10", currency: "EUR", close: "2026-11-12", prob: 50})
	_, err := e.svc.Forecast(e.ctx, e.admin, nov2026)
	requireCode(t, err, crm.EINVALID, "currency")
	require.Contains(t, err.Error(), "EUR to CNY on 2026-11-12")

	// A rate recorded after the close date does not apply to it.
	e.rate("EUR", "CNY", "2026-11-13", "8")
	_, err = e.svc.Forecast(e.ctx, e.admin, nov2026)
	requireCode(t, err, crm.EINVALID, "currency")
	e.rate("CNY", "EUR", "2026-11-01", "0.125")
	f := e.forecast(e.admin, nov2026)
	requireMoney(t, "80", rowOf(t, f, "2026-11", e.rep2.UserID).PipelineAmount, "10 EUR / 0.125")
}

func TestForecastCoversTheDealsTheActorMayCount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newDealBook(e)
	b.add(fdeal{owner: e.rep1, amount: "1", close: "2026-11-03", prob: 50})
	b.add(fdeal{owner: e.rep1b, amount: "2", close: "2026-11-03", prob: 50})
	b.add(fdeal{owner: e.rep2, amount: "4", close: "2026-11-03", prob: 50})
	b.add(fdeal{amount: "8", close: "2026-11-03", prob: 50})

	total := func(f service.Forecast) decimal.Decimal {
		var sum decimal.Decimal
		for _, r := range f.Rows {
			sum = sum.Add(r.PipelineAmount)
		}
		return sum
	}
	requireMoney(t, "9", total(e.forecast(e.rep1, nov2026)), "own deals and the shared pool")
	requireMoney(t, "15", total(e.forecast(e.analyst, nov2026)), "analysts read every figure")
	requireMoney(t, "15", total(e.forecast(e.manager, nov2026)))
	requireMoney(t, "15", total(e.forecast(e.admin, nov2026)))
	_, err := e.svc.Forecast(e.ctx, e.support, nov2026)
	requireCode(t, err, crm.EFORBIDDEN)
	_, err = e.svc.Forecast(e.ctx, nil, nov2026)
	requireCode(t, err, crm.EUNAUTHENTICATED)
}

func TestForecastShowsQuotaAndAttainment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newDealBook(e)
	e.rate("USD", "CNY", "2026-01-01", "7")
	b.add(fdeal{owner: e.rep1, team: "East", amount: "2500", close: "2026-11-03", prob: 100, cat: crm.CategoryClosedWon, closed: true})
	b.add(fdeal{owner: e.rep1, team: "East", amount: "9999", close: "2026-11-03", prob: 50})
	setQuota := func(in service.QuotaInput) service.Quota {
		q, err := e.svc.SetQuota(e.ctx, e.admin, in)
		require.NoError(t, err)
		return q
	}
	setQuota(service.QuotaInput{UserID: e.rep1.UserID, PeriodStart: day("2026-11-01"), PeriodEnd: day("2026-12-01"), Amount: money("8000")})
	q := setQuota(service.QuotaInput{UserID: e.rep1.UserID, PeriodStart: day("2026-11-01"), PeriodEnd: day("2026-12-01"), Amount: money("10000"), Currency: "cny"})
	require.Equal(t, "CNY", q.Currency)
	setQuota(service.QuotaInput{UserID: e.rep2.UserID, PeriodStart: day("2026-11-01"), PeriodEnd: day("2026-12-01"), Amount: money("1000"), Currency: "USD"})
	setQuota(service.QuotaInput{UserID: e.rep1b.UserID, PeriodStart: day("2026-10-01"), PeriodEnd: day("2027-01-01"), Amount: money("1")}) // a quarter
	setQuota(service.QuotaInput{TeamID: b.teams["East"], PeriodStart: day("2026-11-01"), PeriodEnd: day("2026-12-01"), Amount: money("5000")})
	require.Equal(t, 1, e.count(`SELECT count(*) FROM quotas WHERE user_id = $1`, e.rep1.UserID), "setting a quota again replaces it")
	require.Equal(t, 5, e.count(`SELECT count(*) FROM events WHERE type = 'quota.set' AND record_type = 'Organization'`))

	f := e.forecast(e.admin, nov2026)
	require.Len(t, f.Rows, 2, "rep1 with deals, rep2 with a quota only; rep1b's quarterly quota is not a month's")
	r1 := rowOf(t, f, "2026-11", e.rep1.UserID)
	requireMoney(t, "10000", *r1.Quota)
	require.InDelta(t, 0.25, *r1.Attainment, 1e-9)
	r2 := rowOf(t, f, "2026-11", e.rep2.UserID)
	requireMoney(t, "7000", *r2.Quota, "1000 USD at 7")
	require.InDelta(t, 0.0, *r2.Attainment, 1e-9)
	require.Equal(t, 0, r2.Deals)

	in := nov2026
	in.GroupBy = service.GroupTeam
	east := rowOf(t, e.forecast(e.admin, in), "2026-11", b.teams["East"])
	requireMoney(t, "5000", *east.Quota)
	require.InDelta(t, 0.5, *east.Attainment, 1e-9)

	quarter := e.forecast(e.admin, service.ForecastInput{From: day("2026-10-01"), To: day("2027-01-01"), Interval: forecast.Quarter})
	requireMoney(t, "1", *rowOf(t, quarter, "2026-Q4", e.rep1b.UserID).Quota)

	// A rep sees the quotas of the people whose deals they see.
	quotas, err := e.svc.Quotas(e.ctx, e.rep1, day("2026-01-01"), day("2027-01-01"))
	require.NoError(t, err)
	require.Len(t, quotas, 2, "their own and their team's")
	all, err := e.svc.Quotas(e.ctx, e.analyst, day("2026-11-15"), day("2026-11-16"))
	require.NoError(t, err)
	require.Len(t, all, 4)
}

func TestSetQuotaChecksItsInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	nov := func(in service.QuotaInput) service.QuotaInput {
		in.PeriodStart, in.PeriodEnd = day("2026-11-01"), day("2026-12-01")
		if in.Amount.IsZero() {
			in.Amount = money("100")
		}
		return in
	}
	_, err := e.svc.SetQuota(e.ctx, e.manager, nov(service.QuotaInput{UserID: e.rep1.UserID}))
	requireCode(t, err, crm.EFORBIDDEN)
	_, err = e.svc.SetQuota(e.ctx, e.admin, nov(service.QuotaInput{}))
	requireCode(t, err, crm.EINVALID, "userId")
	teams, err := e.svc.ListTeams(e.ctx, e.admin)
	require.NoError(t, err)
	_, err = e.svc.SetQuota(e.ctx, e.admin, nov(service.QuotaInput{UserID: e.rep1.UserID, TeamID: teams[0].ID}))
	requireCode(t, err, crm.EINVALID, "userId")
	_, err = e.svc.SetQuota(e.ctx, e.admin, nov(service.QuotaInput{UserID: crm.NewID()}))
	requireCode(t, err, crm.EINVALID, "userId")
	_, err = e.svc.SetQuota(e.ctx, e.admin, nov(service.QuotaInput{TeamID: crm.NewID()}))
	requireCode(t, err, crm.EINVALID, "teamId")
	_, err = e.svc.SetQuota(e.ctx, e.admin, nov(service.QuotaInput{UserID: e.rep1.UserID, Amount: money("12.345")}))
	requireCode(t, err, crm.EINVALID, "amount")
	_, err = e.svc.SetQuota(e.ctx, e.admin, nov(service.QuotaInput{UserID: e.rep1.UserID, Amount: money("-1")}))
	requireCode(t, err, crm.EINVALID, "amount")
	_, err = e.svc.SetQuota(e.ctx, e.admin, nov(service.QuotaInput{UserID: e.rep1.UserID, Amount: money("1.5"), Currency: "JPY"}))
	requireCode(t, err, crm.EINVALID, "amount")
	_, err = e.svc.SetQuota(e.ctx, e.admin, nov(service.QuotaInput{UserID: e.rep1.UserID, Currency: "XYZ"}))
	requireCode(t, err, crm.EINVALID, "currency")
	_, err = e.svc.SetQuota(e.ctx, e.admin, service.QuotaInput{UserID: e.rep1.UserID, PeriodStart: day("2026-11-01"),
		PeriodEnd: day("2026-11-30"), Amount: money("1")})
	requireCode(t, err, crm.EINVALID, "periodEnd")
	require.Equal(t, 0, e.count(`SELECT count(*) FROM quotas`), "bad input changes nothing")
}

func TestSetExchangeRateKeepsOneRatePerPairAndDay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.rate("usd", "cny", "2026-01-01", "7.1")
	e.rate("USD", "CNY", "2026-01-01", "7.15")
	e.rate("USD", "CNY", "2026-06-01", "7.2")
	e.rate("EUR", "CNY", "2026-03-01", "7.8")
	require.Equal(t, 3, e.count(`SELECT count(*) FROM exchange_rates`))
	require.Equal(t, 4, e.count(`SELECT count(*) FROM events WHERE type = 'exchange_rate.set'`))

	rates, err := e.svc.ExchangeRates(e.ctx, e.rep1, "")
	require.NoError(t, err)
	require.Len(t, rates, 3)
	require.Equal(t, day("2026-06-01"), rates[0].ValidFrom, "newest first")
	usd, err := e.svc.ExchangeRates(e.ctx, e.analyst, "USD")
	require.NoError(t, err)
	require.Len(t, usd, 2)
	requireMoney(t, "7.15", usd[1].Rate)

	bad := []struct {
		in    service.ExchangeRate
		field string
	}{
		{service.ExchangeRate{FromCurrency: "USD", ToCurrency: "USD", Rate: money("1")}, "toCurrency"},
		{service.ExchangeRate{FromCurrency: "RMB", ToCurrency: "USD", Rate: money("1")}, "fromCurrency"},
		{service.ExchangeRate{FromCurrency: "USD", ToCurrency: "ABC", Rate: money("1")}, "toCurrency"},
		{service.ExchangeRate{FromCurrency: "USD", ToCurrency: "CNY", Rate: money("0")}, "rate"},
		{service.ExchangeRate{FromCurrency: "USD", ToCurrency: "CNY", Rate: money("-7")}, "rate"},
		{service.ExchangeRate{FromCurrency: "USD", ToCurrency: "CNY", Rate: money("0.0000000000001")}, "rate"},
	}
	for _, tt := range bad {
		tt.in.ValidFrom = day("2026-02-01")
		_, err := e.svc.SetExchangeRate(e.ctx, e.admin, tt.in)
		requireCode(t, err, crm.EINVALID, tt.field)
	}
	_, err = e.svc.SetExchangeRate(e.ctx, e.manager, service.ExchangeRate{FromCurrency: "USD", ToCurrency: "CNY", ValidFrom: day("2026-02-01"), Rate: money("7")})
	requireCode(t, err, crm.EFORBIDDEN)
	_, err = e.svc.ExchangeRates(e.ctx, e.support, "")
	requireCode(t, err, crm.EFORBIDDEN)
	require.Equal(t, 3, e.count(`SELECT count(*) FROM exchange_rates`))
}

func TestSubmitForecastKeepsComputedAndAdjustedFigures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := newDealBook(e)
	manager2 := e.user("manager2@acme.test", crm.RoleSalesManager, crm.NilID)
	e.team("Partners", crm.NilID, manager2.UserID)
	teams, err := e.svc.ListTeams(e.ctx, e.admin)
	require.NoError(t, err)
	for _, tm := range teams {
		b.teams[tm.Name] = tm.ID
	}
	b.add(fdeal{owner: e.rep1, team: "East", amount: "1000.10", close: "2026-11-03", prob: 10, cat: crm.CategoryPipeline})
	b.add(fdeal{owner: e.rep1, team: "East", amount: "1000.10", close: "2026-11-04", prob: 20, cat: crm.CategoryBestCase})
	b.add(fdeal{owner: e.rep1b, team: "East", amount: "1000.10", close: "2026-11-05", prob: 60, cat: crm.CategoryCommit})
	b.add(fdeal{owner: e.rep1b, team: "East", amount: "300", close: "2026-11-05", prob: 100, cat: crm.CategoryClosedWon, closed: true})
	b.add(fdeal{owner: e.rep2, team: "West", amount: "50", close: "2026-11-05", prob: 50, cat: crm.CategoryCommit})

	east := service.SubmitForecastInput{TeamID: b.teams["East"], PeriodStart: day("2026-11-01"), PeriodEnd: day("2026-12-01"),
		Adjusted: money("1500"), Note: " Two deals slip to December. "}
	_, err = e.svc.SubmitForecast(e.ctx, e.rep1, east)
	requireCode(t, err, crm.EFORBIDDEN)
	_, err = e.svc.SubmitForecast(e.ctx, manager2, east)
	requireCode(t, err, crm.EFORBIDDEN)
	_, err = e.svc.SubmitForecast(e.ctx, e.analyst, east)
	requireCode(t, err, crm.EFORBIDDEN)
	_, err = e.svc.SubmitForecast(e.ctx, e.sys, east)
	requireCode(t, err, crm.EFORBIDDEN)
	orgWide := east
	orgWide.TeamID = crm.NilID
	_, err = e.svc.SubmitForecast(e.ctx, e.manager, orgWide)
	requireCode(t, err, crm.EFORBIDDEN)
	badPeriod := east
	badPeriod.PeriodEnd = day("2026-11-30")
	_, err = e.svc.SubmitForecast(e.ctx, e.manager, badPeriod)
	requireCode(t, err, crm.EINVALID, "periodEnd")
	badAmount := east
	badAmount.Adjusted = money("1500.001")
	_, err = e.svc.SubmitForecast(e.ctx, e.manager, badAmount)
	requireCode(t, err, crm.EINVALID, "adjusted")
	unknown := east
	unknown.TeamID = crm.NewID()
	_, err = e.svc.SubmitForecast(e.ctx, e.manager, unknown)
	requireCode(t, err, crm.EINVALID, "teamId")
	require.Equal(t, 0, e.count(`SELECT count(*) FROM forecast_submissions`), "refused submissions change nothing")

	// The manager of Sales submits for East, a team below it.
	first, err := e.svc.SubmitForecast(e.ctx, e.manager, east)
	require.NoError(t, err)
	require.Equal(t, "CNY", first.Currency)
	requireMoney(t, "1000.10", first.PipelineAmount)
	requireMoney(t, "1000.10", first.BestCase)
	requireMoney(t, "1000.10", first.Commit)
	requireMoney(t, "300", first.ClosedWon)
	requireMoney(t, "900.09", first.Weighted)
	requireMoney(t, "1500", first.Adjusted)
	require.Equal(t, "Two deals slip to December.", first.Note)
	require.Equal(t, e.manager.UserID, first.SubmittedBy)

	// A later deal changes the computed figures of the next submission, not of the first.
	b.add(fdeal{owner: e.rep1, team: "East", amount: "100", close: "2026-11-06", prob: 50, cat: crm.CategoryCommit})
	east.Adjusted, east.Note = money("1400"), ""
	second, err := e.svc.SubmitForecast(e.ctx, e.manager, east)
	require.NoError(t, err)
	requireMoney(t, "1100.10", second.Commit)
	requireMoney(t, "950.09", second.Weighted)

	orgWide.Adjusted = money("2000")
	whole, err := e.svc.SubmitForecast(e.ctx, e.admin, orgWide)
	require.NoError(t, err)
	require.Equal(t, crm.NilID, whole.TeamID)
	requireMoney(t, "1150.10", whole.Commit, "East and West")

	subs, err := e.svc.ForecastSubmissions(e.ctx, e.analyst, day("2026-11-01"), day("2026-12-01"))
	require.NoError(t, err)
	require.Len(t, subs, 3, "history is kept")
	require.Equal(t, whole.ID, subs[0].ID, "newest first")
	requireMoney(t, "1000.10", subs[2].Commit, "the first submission keeps its figures")
	requireMoney(t, "1500", subs[2].Adjusted)
	_, err = e.svc.ForecastSubmissions(e.ctx, e.rep1, day("2026-11-01"), day("2026-12-01"))
	requireCode(t, err, crm.EFORBIDDEN)

	in := nov2026
	in.GroupBy = service.GroupTeam
	f := e.forecast(e.manager, in)
	adj := rowOf(t, f, "2026-11", b.teams["East"]).Adjusted
	require.NotNil(t, adj)
	require.Equal(t, second.ID, adj.ID, "the latest submission")
	requireMoney(t, "1400", adj.Adjusted)
	require.Nil(t, rowOf(t, f, "2026-11", b.teams["West"]).Adjusted)
	require.Equal(t, 3, e.count(`SELECT count(*) FROM events WHERE type = 'forecast.submitted' AND record_type = 'Organization'`))
}
