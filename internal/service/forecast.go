package service

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/forecast"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
)

// Forecast is the forecast over the deals an actor may see, in one currency.
type Forecast struct {
	Currency string
	Rows     []ForecastRow
}

// ForecastRow holds the figures of one group (owner, team or pipeline) in one period.
type ForecastRow struct {
	PeriodStart    crm.Date
	PeriodEnd      crm.Date
	Period         string // 2026-11 or 2026-Q4
	OwnerID        crm.ID
	TeamID         crm.ID
	PipelineID     crm.ID
	PipelineAmount decimal.Decimal
	BestCase       decimal.Decimal
	Commit         decimal.Decimal
	ClosedWon      decimal.Decimal
	Weighted       decimal.Decimal
	Quota          *decimal.Decimal
	Attainment     *float64
	Deals          int
	Adjusted       *ForecastSubmission
}

// ForecastSubmission is a manager's adjusted forecast with the computed figures of that moment.
type ForecastSubmission struct {
	ID             crm.ID
	TeamID         crm.ID
	PeriodStart    crm.Date
	PeriodEnd      crm.Date
	Currency       string
	PipelineAmount decimal.Decimal
	BestCase       decimal.Decimal
	Commit         decimal.Decimal
	ClosedWon      decimal.Decimal
	Weighted       decimal.Decimal
	Adjusted       decimal.Decimal
	Note           string
	SubmittedBy    crm.ID
	SubmittedAt    time.Time
}

// GlobalID returns the submission's global ID.
func (f ForecastSubmission) GlobalID() string { return crm.GlobalID("ForecastSubmission", f.ID) }

// ForecastGroup says what the rows of a forecast are per.
type ForecastGroup string

// The groupings of a forecast.
const (
	GroupOwner    ForecastGroup = "owner"
	GroupTeam     ForecastGroup = "team"
	GroupPipeline ForecastGroup = "pipeline"
)

// ForecastInput selects a forecast: deals closing in [From, To), per period and group.
type ForecastInput struct {
	From       crm.Date
	To         crm.Date
	Interval   forecast.Interval // zero: months
	GroupBy    ForecastGroup     // "": per owner
	Currency   string            // "": the organization's default currency
	PipelineID crm.ID            // NilID: every pipeline
}

// forecastSpec is a validated forecast request.
type forecastSpec struct {
	periods  []forecast.Period
	interval forecast.Interval
	group    ForecastGroup
	currency string // "" until the organization's default is read
	pipeline crm.ID
	viewer   *crm.ID // nil: the whole organization
	adjusted bool    // attach the latest submissions (groupBy team)
}

// Forecast computes the forecast figures of the deals closing in [From, To) that the actor may
// count: the whole organization for holders of aggregates:read (analysts, managers, admins), else
// (with opportunities:read) the deals the actor sees. Amounts are converted into the forecast's
// currency with the exchange rate valid on each deal's close date; a missing rate is a
// BAD_USER_INPUT on "currency" naming the pair and the day.
func (s *Service) Forecast(ctx context.Context, a *crm.Actor, in ForecastInput) (Forecast, error) {
	viewerID, err := aggregateViewer(a)
	if err != nil {
		return Forecast{}, err
	}
	if in.Interval == 0 {
		in.Interval = forecast.Month
	}
	if in.GroupBy == "" {
		in.GroupBy = GroupOwner
	}
	switch in.GroupBy {
	case GroupOwner, GroupTeam, GroupPipeline:
	default:
		return Forecast{}, crm.Invalid("groupBy", "Group a forecast by OWNER, TEAM or PIPELINE.")
	}
	periods, err := forecast.Periods(in.From, in.To, in.Interval)
	if err != nil {
		return Forecast{}, err
	}
	spec := forecastSpec{periods: periods, interval: in.Interval, group: in.GroupBy, pipeline: in.PipelineID,
		viewer: viewerID, adjusted: in.GroupBy == GroupTeam && access.Allows(a, access.AggregatesRead)}
	if in.Currency != "" {
		if spec.currency, err = normalize.Currency("currency", in.Currency); err != nil {
			return Forecast{}, err
		}
	}
	var out Forecast
	err = db.InTenant(ctx, s.pool, a.OrgID, func(tx pgx.Tx) error {
		if err := forecastMemory(ctx, tx); err != nil {
			return err
		}
		out, err = computeForecast(ctx, query.New(tx), a.OrgID, spec)
		return err
	})
	return out, err
}

// forecastMemory lets the forecast's aggregation hash its groups in memory. With the default
// work_mem (4 MB) PostgreSQL sorts the deals of a large organization on disk instead, which the
// 200,000-deal benchmark measured about half again as slow. SET LOCAL ends with the transaction.
func forecastMemory(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, "SET LOCAL work_mem = '32MB'")
	return err
}

// aggregateViewer decides whose deals the actor's figures cover: nil for the whole organization
// (aggregates:read, or every record visible), else the user whose visibility confines them.
func aggregateViewer(a *crm.Actor) (*crm.ID, error) {
	if access.Allows(a, access.AggregatesRead) {
		return nil, nil
	}
	if err := authorize(a, access.DealsRead); err != nil {
		return nil, err
	}
	return viewer(a), nil
}

// rowKey identifies a forecast row.
type rowKey struct {
	period crm.Date
	group  crm.ID
}

// rowSums accumulates a row before rounding.
type rowSums struct {
	figures forecast.Figures
	quota   *decimal.Decimal
}

// computeForecast runs the forecast's queries through q (a reader or a writing transaction).
func computeForecast(ctx context.Context, q *query.Queries, org crm.ID, spec forecastSpec) (Forecast, error) {
	if spec.currency == "" {
		o, err := q.GetOrganization(ctx, org)
		if err != nil {
			return Forecast{}, err
		}
		spec.currency = o.DefaultCurrency
	}
	first, last := spec.periods[0], spec.periods[len(spec.periods)-1]
	sums, err := q.ForecastSums(ctx, query.ForecastSumsParams{
		Unit: spec.interval.String(), GroupBy: string(spec.group), Currency: spec.currency, OrgID: org,
		FromDate: first.Start.Time(), ToDate: last.End.Time(), PipelineID: idOrNil(spec.pipeline), ViewerID: spec.viewer,
	})
	if err != nil {
		return Forecast{}, err
	}
	var quotas []query.ListQuotasRow
	if spec.group != GroupPipeline {
		quotas, err = q.ListQuotas(ctx, query.ListQuotasParams{OrgID: org, FromDate: first.Start.Time(),
			ToDate: last.End.Time(), ViewerID: spec.viewer})
		if err != nil {
			return Forecast{}, err
		}
	}
	// Rates are read only when some amount is in another currency.
	rates := forecast.NewRates(nil)
	foreign := slices.ContainsFunc(sums, func(r query.ForecastSumsRow) bool { return r.Currency != spec.currency }) ||
		slices.ContainsFunc(quotas, func(r query.ListQuotasRow) bool { return r.Currency != spec.currency })
	if foreign {
		rows, err := q.ExchangeRatesOf(ctx, query.ExchangeRatesOfParams{OrgID: org, Currency: spec.currency, Before: last.End.Time()})
		if err != nil {
			return Forecast{}, err
		}
		rs := make([]forecast.Rate, len(rows))
		for i, r := range rows {
			rs[i] = forecast.Rate{From: r.FromCurrency, To: r.ToCurrency, ValidFrom: crm.DateOf(r.ValidFrom), Rate: r.Rate}
		}
		rates = forecast.NewRates(rs)
	}
	convert := func(amount decimal.Decimal, currency string, on crm.Date) (forecast.Conversion, error) {
		c, ok := rates.Lookup(currency, spec.currency, on)
		if !ok {
			return c, crm.Invalid("currency", "No exchange rate converts %s to %s on %s: record one with setExchangeRate (either direction), valid from that day or earlier.",
				currency, spec.currency, on).With("fromCurrency", currency).With("toCurrency", spec.currency).With("date", on.String())
		}
		return c, nil
	}

	acc := make(map[rowKey]*rowSums)
	row := func(k rowKey) *rowSums {
		r := acc[k]
		if r == nil {
			r = &rowSums{}
			acc[k] = r
		}
		return r
	}
	// Sort so that the first missing rate reported is the earliest, whatever order SQL returned.
	slices.SortFunc(sums, func(a, b query.ForecastSumsRow) int { return cmp.Compare(a.RateDay, b.RateDay) })
	for _, s := range sums {
		c, err := convert(s.Amount, s.Currency, crm.DateOf(first.Start.Time().AddDate(0, 0, int(s.RateDay))))
		if err != nil {
			return Forecast{}, err
		}
		row(rowKey{crm.DateOf(s.PeriodStart), s.GroupID}).figures.Add(crm.ForecastCategory(s.ForecastCategory),
			c.Apply(s.Amount), c.Apply(s.AmountXProbability), int(s.Deals))
	}
	ends := make(map[crm.Date]crm.Date, len(spec.periods)) // start -> end
	for _, p := range spec.periods {
		ends[p.Start] = p.End
	}
	for _, qr := range quotas {
		target := idOf(qr.UserID)
		if spec.group == GroupTeam {
			target = idOf(qr.TeamID)
		}
		start := crm.DateOf(qr.PeriodStart)
		if end, ok := ends[start]; !ok || end != crm.DateOf(qr.PeriodEnd) || target == crm.NilID {
			continue
		}
		c, err := convert(qr.Amount, qr.Currency, start)
		if err != nil {
			return Forecast{}, err
		}
		amount := c.Apply(qr.Amount)
		row(rowKey{start, target}).quota = &amount
	}

	adjusted := map[rowKey]ForecastSubmission{}
	if spec.adjusted {
		subs, err := q.LatestForecastSubmissions(ctx, query.LatestForecastSubmissionsParams{OrgID: org,
			FromDate: first.Start.Time(), ToDate: last.End.Time()})
		if err != nil {
			return Forecast{}, err
		}
		for _, r := range subs {
			sub := submissionFromRow(query.ListForecastSubmissionsRow(r))
			if end, ok := ends[sub.PeriodStart]; ok && end == sub.PeriodEnd {
				adjusted[rowKey{sub.PeriodStart, sub.TeamID}] = sub
			}
		}
	}

	out := Forecast{Currency: spec.currency, Rows: make([]ForecastRow, 0, len(acc))}
	for k, r := range acc {
		f := r.figures.Rounded()
		fr := ForecastRow{PeriodStart: k.period, PeriodEnd: ends[k.period], Period: forecast.PeriodOf(k.period, spec.interval).Label,
			PipelineAmount: f.Pipeline, BestCase: f.BestCase, Commit: f.Commit, ClosedWon: f.ClosedWon, Weighted: f.Weighted,
			Deals: f.Deals}
		switch spec.group {
		case GroupOwner:
			fr.OwnerID = k.group
		case GroupTeam:
			fr.TeamID = k.group
		case GroupPipeline:
			fr.PipelineID = k.group
		}
		if r.quota != nil {
			quota := forecast.Round(*r.quota)
			fr.Quota = &quota
			if ratio, ok := forecast.Attainment(f.ClosedWon, quota); ok {
				fr.Attainment = &ratio
			}
		}
		if sub, ok := adjusted[k]; ok && k.group != crm.NilID {
			fr.Adjusted = &sub
		}
		out.Rows = append(out.Rows, fr)
	}
	slices.SortFunc(out.Rows, compareRows)
	return out, nil
}

// compareRows orders rows by period, then group (rows without a group last, e.g. unassigned deals).
func compareRows(a, b ForecastRow) int {
	if c := a.PeriodStart.Time().Compare(b.PeriodStart.Time()); c != 0 {
		return c
	}
	ga, gb := a.OwnerID, b.OwnerID
	switch {
	case a.TeamID != crm.NilID || b.TeamID != crm.NilID:
		ga, gb = a.TeamID, b.TeamID
	case a.PipelineID != crm.NilID || b.PipelineID != crm.NilID:
		ga, gb = a.PipelineID, b.PipelineID
	}
	switch {
	case ga == gb:
		return 0
	case ga == crm.NilID:
		return 1
	case gb == crm.NilID:
		return -1
	}
	return bytes.Compare(ga[:], gb[:])
}

func submissionFromRow(r query.ListForecastSubmissionsRow) ForecastSubmission {
	return ForecastSubmission{ID: r.ID, TeamID: idOf(r.TeamID), PeriodStart: crm.DateOf(r.PeriodStart),
		PeriodEnd: crm.DateOf(r.PeriodEnd), Currency: r.Currency, PipelineAmount: r.PipelineAmount, BestCase: r.BestCase,
		Commit: r.CommitAmount, ClosedWon: r.ClosedWon, Weighted: r.Weighted, Adjusted: r.Adjusted, Note: r.Note,
		SubmittedBy: r.SubmittedBy, SubmittedAt: r.SubmittedAt}
}
