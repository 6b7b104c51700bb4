package service

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/internal/crm"
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
