// Package forecast holds the pure rules of the sales forecast: how close dates fall into months
// and quarters, how amounts convert between currencies with dated exchange rates, how figures add
// up per forecast category, and what quota attainment is. It does no I/O and reads no clock.
package forecast

import (
	"fmt"
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Interval is the length of forecast periods.
type Interval int

// The intervals. The zero value is no interval, so a forgotten mapping fails loudly.
const (
	Month   Interval = iota + 1 // calendar months, labelled 2026-11
	Quarter                     // calendar quarters, labelled 2026-Q4
)

// MaxMonths bounds the span of one forecast, so that a typo in a year cannot ask for centuries.
const MaxMonths = 36

// months returns how many months one period of the interval lasts.
func (iv Interval) months() int {
	if iv == Quarter {
		return 3
	}
	return 1
}

// String names the interval as SQL's date_trunc does.
func (iv Interval) String() string {
	if iv == Quarter {
		return "quarter"
	}
	return "month"
}

// Period is [Start, End) of one month or quarter, with its label.
type Period struct {
	Start crm.Date
	End   crm.Date
	Label string
}

// PeriodOf returns the period of the interval that contains d.
func PeriodOf(d crm.Date, iv Interval) Period {
	m := int(d.Month) - 1
	m -= m % iv.months()
	start := crm.Date{Year: d.Year, Month: time.Month(m + 1), Day: 1}
	return Period{Start: start, End: addMonths(start, iv.months()), Label: label(start, iv)}
}

// Periods returns the periods of the interval that cover [from, to), from the one containing from
// (from is moved back to its period's start) to the one containing the day before to. The span,
// whole periods included, may not exceed MaxMonths months; to must be after from. Errors name the
// field "to", the end the caller chose.
func Periods(from, to crm.Date, iv Interval) ([]Period, error) {
	if iv != Month && iv != Quarter {
		return nil, crm.Invalid("interval", "The interval is MONTH or QUARTER.")
	}
	if !before(from, to) {
		return nil, crm.Invalid("to", "to (%s) must be after from (%s): the forecast covers [from, to).", to, from)
	}
	first := PeriodOf(from, iv)
	last := PeriodOf(crm.DateOf(to.Time().AddDate(0, 0, -1)), iv)
	n := monthsBetween(first.Start, last.End) / iv.months()
	if n*iv.months() > MaxMonths {
		return nil, crm.Invalid("to", "A forecast spans at most %d months; %s to %s covers %d. Ask for a shorter range.",
			MaxMonths, first.Start, to, n*iv.months())
	}
	out := make([]Period, n)
	start := first.Start
	for i := range out {
		end := addMonths(start, iv.months())
		out[i] = Period{Start: start, End: end, Label: label(start, iv)}
		start = end
	}
	return out, nil
}

// Exact returns the period [start, end) is, when it is exactly one calendar month or quarter
// (a submitted forecast is for one such period), preferring the month.
func Exact(start, end crm.Date) (Period, Interval, bool) {
	for _, iv := range []Interval{Month, Quarter} {
		if p := PeriodOf(start, iv); p.Start == start && p.End == end {
			return p, iv, true
		}
	}
	return Period{}, 0, false
}

// label formats the period that starts on start: 2026-11 for a month, 2026-Q4 for a quarter.
func label(start crm.Date, iv Interval) string {
	if iv == Quarter {
		return fmt.Sprintf("%04d-Q%d", start.Year, (int(start.Month)+2)/3)
	}
	return fmt.Sprintf("%04d-%02d", start.Year, int(start.Month))
}

// addMonths adds n months to the first day of a month.
func addMonths(d crm.Date, n int) crm.Date {
	m := int(d.Month) - 1 + n
	return crm.Date{Year: d.Year + m/12, Month: time.Month(m%12 + 1), Day: 1}
}

// monthsBetween counts the months from the first day of one month to the first day of another.
func monthsBetween(a, b crm.Date) int {
	return (b.Year-a.Year)*12 + int(b.Month) - int(a.Month)
}

func before(a, b crm.Date) bool {
	if a.Year != b.Year {
		return a.Year < b.Year
	}
	if a.Month != b.Month {
		return a.Month < b.Month
	}
	return a.Day < b.Day
}
