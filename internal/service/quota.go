package service

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/forecast"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
)

// Quota is a sales target of a user or a team for a period [PeriodStart, PeriodEnd).
type Quota struct {
	ID          crm.ID
	UserID      crm.ID
	TeamID      crm.ID
	PeriodStart crm.Date
	PeriodEnd   crm.Date
	Amount      decimal.Decimal
	Currency    string
}

// GlobalID returns the quota's global ID.
func (q Quota) GlobalID() string { return crm.GlobalID("Quota", q.ID) }

// ExchangeRate says that one FromCurrency is worth Rate ToCurrency from ValidFrom until the
// pair's next rate.
type ExchangeRate struct {
	FromCurrency string
	ToCurrency   string
	ValidFrom    crm.Date
	Rate         decimal.Decimal
}

// QuotaInput is a quota to set for a user or a team (exactly one) and one calendar month or
// quarter, replacing that target's quota for the same period.
type QuotaInput struct {
	UserID      crm.ID
	TeamID      crm.ID
	PeriodStart crm.Date
	PeriodEnd   crm.Date
	Amount      decimal.Decimal
	Currency    string // "": the organization's default
}

// SetQuota sets a quota (administrators). The forecast shows a quota on the row of its user or team
// whose period it is exactly, so the period must be one calendar month or quarter.
func (s *Service) SetQuota(ctx context.Context, a *crm.Actor, in QuotaInput) (Quota, error) {
	if err := authorize(a, access.SettingsWrite); err != nil {
		return Quota{}, err
	}
	if (in.UserID == crm.NilID) == (in.TeamID == crm.NilID) {
		return Quota{}, crm.Invalid("userId", "A quota is for one user (userId) or one team (teamId): give exactly one.")
	}
	if _, _, ok := forecast.Exact(in.PeriodStart, in.PeriodEnd); !ok {
		return Quota{}, crm.Invalid("periodEnd", "A quota covers one calendar month or quarter: periodStart is its first day and periodEnd the day after its last (e.g. 2026-11-01 to 2026-12-01).")
	}
	var quota Quota
	err := s.write(ctx, a, func(w *writer) error {
		currency, err := w.currencyOrDefault("currency", in.Currency)
		if err != nil {
			return err
		}
		amount, err := normalize.Amount("amount", in.Amount, currency)
		if err != nil {
			return err
		}
		target := in.UserID
		if target != crm.NilID {
			users, err := w.q.GetUsers(w.ctx, query.GetUsersParams{OrgID: a.OrgID, Ids: []crm.ID{in.UserID}})
			if err != nil {
				return err
			}
			if len(users) == 0 {
				return crm.Invalid("userId", "No user of this organization has this ID.")
			}
		} else {
			target = in.TeamID
			teams, err := w.teams()
			if err != nil {
				return err
			}
			if err := requireTeam(teams, "teamId", in.TeamID); err != nil {
				return err
			}
		}
		before := fields{}
		old, err := w.q.LockQuota(w.ctx, query.LockQuotaParams{OrgID: a.OrgID, TargetID: &target,
			PeriodStart: in.PeriodStart.Time(), PeriodEnd: in.PeriodEnd.Time()})
		switch {
		case err == nil:
			before = fields{"amount": old.Amount.String(), "currency": old.Currency}
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		id, err := w.q.UpsertQuota(w.ctx, query.UpsertQuotaParams{OrgID: a.OrgID, ID: crm.NewID(), UserID: idOrNil(in.UserID),
			TeamID: idOrNil(in.TeamID), PeriodStart: in.PeriodStart.Time(), PeriodEnd: in.PeriodEnd.Time(), Amount: amount,
			Currency: currency, Now: w.now})
		if err != nil {
			return err
		}
		quota = Quota{ID: id, UserID: in.UserID, TeamID: in.TeamID, PeriodStart: in.PeriodStart, PeriodEnd: in.PeriodEnd,
			Amount: amount, Currency: currency}
		after := fields{"amount": amount.String(), "currency": currency}
		changes := append(diff(before, after), quotaTarget(quota)...)
		w.emit("quota.set", crm.TypeOrganization, a.OrgID, changes)
		return nil
	})
	return quota, err
}

// quotaTarget names a quota's target and period in an event, so the audit trail says whose
// quota changed.
func quotaTarget(q Quota) []crm.FieldChange {
	target := idChange("userId", crm.NilID, q.UserID)
	if q.TeamID != crm.NilID {
		target = idChange("teamId", crm.NilID, q.TeamID)
	}
	return []crm.FieldChange{target,
		{Field: "periodStart", After: mustJSON(q.PeriodStart)}, {Field: "periodEnd", After: mustJSON(q.PeriodEnd)}}
}

// Quotas returns the quotas overlapping [from, to): all of them for holders of aggregates:read,
// else those of the users the actor sees and of their teams.
func (s *Service) Quotas(ctx context.Context, a *crm.Actor, from, to crm.Date) ([]Quota, error) {
	viewerID, err := aggregateViewer(a)
	if err != nil {
		return nil, err
	}
	if !to.Time().After(from.Time()) {
		return nil, crm.Invalid("to", "to must be after from.")
	}
	var out []Quota
	err = s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.ListQuotas(ctx, query.ListQuotasParams{OrgID: a.OrgID, FromDate: from.Time(), ToDate: to.Time(), ViewerID: viewerID})
		for _, r := range rows {
			out = append(out, Quota{ID: r.ID, UserID: idOf(r.UserID), TeamID: idOf(r.TeamID), PeriodStart: crm.DateOf(r.PeriodStart),
				PeriodEnd: crm.DateOf(r.PeriodEnd), Amount: r.Amount, Currency: r.Currency})
		}
		return err
	})
	return out, err
}

// maxRate bounds a rate to what numeric(30, 12) stores.
var maxRate = decimal.New(1, 18)

// SetExchangeRate records that one FromCurrency is worth Rate ToCurrency from ValidFrom on
// (administrators); a rate of the same pair and day is replaced.
func (s *Service) SetExchangeRate(ctx context.Context, a *crm.Actor, in ExchangeRate) (ExchangeRate, error) {
	if err := authorize(a, access.SettingsWrite); err != nil {
		return ExchangeRate{}, err
	}
	var err error
	if in.FromCurrency, err = normalize.Currency("fromCurrency", in.FromCurrency); err != nil {
		return ExchangeRate{}, err
	}
	if in.ToCurrency, err = normalize.Currency("toCurrency", in.ToCurrency); err != nil {
		return ExchangeRate{}, err
	}
	if in.FromCurrency == in.ToCurrency {
		return ExchangeRate{}, crm.Invalid("toCurrency", "A rate converts between two different currencies.")
	}
	if !in.Rate.IsPositive() {
		return ExchangeRate{}, crm.Invalid("rate", "The rate must be positive: how many %s one %s is worth.", in.ToCurrency, in.FromCurrency)
	}
	if in.Rate.GreaterThanOrEqual(maxRate) || !in.Rate.Equal(in.Rate.Truncate(12)) {
		return ExchangeRate{}, crm.Invalid("rate", "A rate has at most 18 digits before the decimal point and 12 after.")
	}
	err = s.write(ctx, a, func(w *writer) error {
		before := fields{}
		old, err := w.q.GetExchangeRate(w.ctx, query.GetExchangeRateParams{OrgID: a.OrgID, FromCurrency: in.FromCurrency,
			ToCurrency: in.ToCurrency, ValidFrom: in.ValidFrom.Time()})
		switch {
		case err == nil:
			before["rate"] = old.String()
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		if err := w.q.UpsertExchangeRate(w.ctx, query.UpsertExchangeRateParams{OrgID: a.OrgID, FromCurrency: in.FromCurrency,
			ToCurrency: in.ToCurrency, ValidFrom: in.ValidFrom.Time(), Rate: in.Rate, Now: w.now}); err != nil {
			return err
		}
		changes := append(diff(before, fields{"rate": in.Rate.String()}),
			crm.FieldChange{Field: "fromCurrency", After: mustJSON(in.FromCurrency)},
			crm.FieldChange{Field: "toCurrency", After: mustJSON(in.ToCurrency)},
			crm.FieldChange{Field: "validFrom", After: mustJSON(in.ValidFrom)})
		w.emit("exchange_rate.set", crm.TypeOrganization, a.OrgID, changes)
		return nil
	})
	return in, err
}

// ExchangeRates lists the organization's exchange rates, newest first (at most 1000), optionally
// only those from one currency. Anyone who reads deals or figures may read them.
func (s *Service) ExchangeRates(ctx context.Context, a *crm.Actor, fromCurrency string) ([]ExchangeRate, error) {
	if _, err := aggregateViewer(a); err != nil {
		return nil, err
	}
	var from *string
	if fromCurrency != "" {
		c, err := normalize.Currency("fromCurrency", fromCurrency)
		if err != nil {
			return nil, err
		}
		from = &c
	}
	var out []ExchangeRate
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.ListExchangeRates(ctx, query.ListExchangeRatesParams{OrgID: a.OrgID, FromCurrency: from})
		for _, r := range rows {
			out = append(out, ExchangeRate{FromCurrency: r.FromCurrency, ToCurrency: r.ToCurrency,
				ValidFrom: crm.DateOf(r.ValidFrom), Rate: r.Rate})
		}
		return err
	})
	return out, err
}

// SubmitForecastInput is a manager's adjusted forecast for a team (NilID: the whole organization)
// and one calendar month or quarter.
type SubmitForecastInput struct {
	TeamID      crm.ID
	PeriodStart crm.Date
	PeriodEnd   crm.Date
	Adjusted    decimal.Decimal
	Currency    string // "": the organization's default
	Note        string
}

// maxNoteRunes bounds a submission's note.
const maxNoteRunes = 2000

// SubmitForecast stores a manager's adjusted forecast together with the figures computed at this
// moment over the team's deals (its own rows of the forecast grouped by team; every deal for the
// whole organization), in the submission's currency. Sales managers submit for the teams they
// manage and the teams below them; administrators for any team or the whole organization. Earlier
// submissions are kept, so forecast accuracy can be measured once the period is over.
func (s *Service) SubmitForecast(ctx context.Context, a *crm.Actor, in SubmitForecastInput) (ForecastSubmission, error) {
	admin := access.Allows(a, access.SettingsWrite)
	if !admin {
		if err := authorize(a, access.DealsWrite); err != nil {
			return ForecastSubmission{}, err
		}
		if in.TeamID == crm.NilID {
			return ForecastSubmission{}, crm.Errorf(crm.EFORBIDDEN, "Only administrators submit a forecast for the whole organization; managers submit one for a team they manage (teamId).")
		}
	}
	if a.Kind != crm.ActorUser {
		return ForecastSubmission{}, crm.Errorf(crm.EFORBIDDEN, "A forecast is submitted by a signed-in person, who answers for it.")
	}
	p, iv, ok := forecast.Exact(in.PeriodStart, in.PeriodEnd)
	if !ok {
		return ForecastSubmission{}, crm.Invalid("periodEnd", "A forecast is submitted for one calendar month or quarter: periodStart is its first day and periodEnd the day after its last (e.g. 2026-10-01 to 2027-01-01).")
	}
	note := strings.TrimSpace(in.Note)
	if utf8.RuneCountInString(note) > maxNoteRunes {
		return ForecastSubmission{}, crm.Invalid("note", "The note is longer than %d characters.", maxNoteRunes)
	}
	var sub ForecastSubmission
	err := s.write(ctx, a, func(w *writer) error {
		if in.TeamID != crm.NilID {
			teams, err := w.teams()
			if err != nil {
				return err
			}
			if err := requireTeam(teams, "teamId", in.TeamID); err != nil {
				return err
			}
			if !admin {
				if !access.Manages(teams, a.UserID, in.TeamID) {
					return crm.Errorf(crm.EFORBIDDEN, "You can submit a forecast only for a team you manage or a team below it.")
				}
			}
		}
		currency, err := w.currencyOrDefault("currency", in.Currency)
		if err != nil {
			return err
		}
		adjusted, err := normalize.Amount("adjusted", in.Adjusted, currency)
		if err != nil {
			return err
		}
		if err := forecastMemory(w.ctx, w.tx); err != nil {
			return err
		}
		fc, err := computeForecast(w.ctx, w.q, a.OrgID, forecastSpec{periods: []forecast.Period{p}, interval: iv,
			group: GroupTeam, currency: currency})
		if err != nil {
			return err
		}
		var sum forecastTotals
		for _, r := range fc.Rows {
			if in.TeamID == crm.NilID || r.TeamID == in.TeamID {
				sum.add(r)
			}
		}
		sub = ForecastSubmission{ID: crm.NewID(), TeamID: in.TeamID, PeriodStart: p.Start, PeriodEnd: p.End, Currency: currency,
			PipelineAmount: sum.pipeline, BestCase: sum.bestCase, Commit: sum.commit, ClosedWon: sum.closedWon,
			Weighted: sum.weighted, Adjusted: adjusted, Note: note, SubmittedBy: a.UserID, SubmittedAt: w.now}
		if err := w.q.InsertForecastSubmission(w.ctx, query.InsertForecastSubmissionParams{OrgID: a.OrgID, ID: sub.ID,
			TeamID: idOrNil(sub.TeamID), PeriodStart: p.Start.Time(), PeriodEnd: p.End.Time(), Currency: currency,
			PipelineAmount: sub.PipelineAmount, BestCase: sub.BestCase, CommitAmount: sub.Commit, ClosedWon: sub.ClosedWon,
			Weighted: sub.Weighted, Adjusted: adjusted, Note: note, SubmittedBy: a.UserID, SubmittedAt: w.now}); err != nil {
			return err
		}
		w.emit("forecast.submitted", crm.TypeOrganization, a.OrgID, diff(nil, fields{
			"submissionId": sub.ID, "teamId": idOrNil(sub.TeamID), "periodStart": sub.PeriodStart, "periodEnd": sub.PeriodEnd,
			"currency": currency, "adjusted": adjusted.String(), "commit": sub.Commit.String(), "weighted": sub.Weighted.String(),
			"closedWon": sub.ClosedWon.String(), "note": note,
		}))
		return nil
	})
	return sub, err
}

// forecastTotals adds up rounded forecast rows (sums of rounded figures stay at 4 places).
type forecastTotals struct {
	pipeline, bestCase, commit, closedWon, weighted decimal.Decimal
}

func (t *forecastTotals) add(r ForecastRow) {
	t.pipeline = t.pipeline.Add(r.PipelineAmount)
	t.bestCase = t.bestCase.Add(r.BestCase)
	t.commit = t.commit.Add(r.Commit)
	t.closedWon = t.closedWon.Add(r.ClosedWon)
	t.weighted = t.weighted.Add(r.Weighted)
}

// ForecastSubmissions returns the submissions for periods inside [from, to], newest first (at most
// 1000), to holders of aggregates:read.
func (s *Service) ForecastSubmissions(ctx context.Context, a *crm.Actor, from, to crm.Date) ([]ForecastSubmission, error) {
	if err := authorize(a, access.AggregatesRead); err != nil {
		return nil, err
	}
	if !to.Time().After(from.Time()) {
		return nil, crm.Invalid("to", "to must be after from.")
	}
	var out []ForecastSubmission
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.ListForecastSubmissions(ctx, query.ListForecastSubmissionsParams{OrgID: a.OrgID,
			FromDate: from.Time(), ToDate: to.Time()})
		for _, r := range rows {
			out = append(out, submissionFromRow(r))
		}
		return err
	})
	return out, err
}

// currencyOrDefault normalizes a currency code, or returns the organization's default for "".
func (w *writer) currencyOrDefault(field, currency string) (string, error) {
	if currency != "" {
		return normalize.Currency(field, currency)
	}
	org, err := w.q.GetOrganization(w.ctx, w.actor.OrgID)
	if err != nil {
		return "", err
	}
	return org.DefaultCurrency, nil
}

// teams returns every team of the organization.
func (w *writer) teams() ([]crm.Team, error) {
	rows, err := w.q.ListTeams(w.ctx, w.actor.OrgID)
	teams := make([]crm.Team, len(rows))
	for i, r := range rows {
		teams[i] = teamFromRow(r)
	}
	return teams, err
}

// requireTeam reports a team ID that names none of teams as bad input on field.
func requireTeam(teams []crm.Team, field string, id crm.ID) error {
	for _, t := range teams {
		if t.ID == id {
			return nil
		}
	}
	return crm.Invalid(field, "No team of this organization has this ID.")
}
