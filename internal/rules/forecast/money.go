package forecast

import (
	"slices"

	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Places is the number of decimal places forecast figures are rounded to (half to even), once,
// after every amount has been converted and summed.
const Places = 4

// divisionPlaces is the precision of 1/rate conversions before the final rounding: far below
// anything Places can show, so summing many of them cannot move a rounded figure.
const divisionPlaces = 20

// Rate says that one From is worth Rate To from ValidFrom until the pair's next rate.
type Rate struct {
	From      string
	To        string
	ValidFrom crm.Date
	Rate      decimal.Decimal
}

type pair struct{ from, to string }

type dated struct {
	from crm.Date
	rate decimal.Decimal
}

// Rates answers which rate converts an amount on a given day. Build it once per forecast with
// NewRates; lookups do not allocate.
type Rates struct {
	pairs map[pair][]dated // each sorted by ValidFrom
}

// NewRates indexes rates by currency pair. Rates that are not positive are ignored (the database
// refuses them anyway); of two rates of one pair and day the later in rs wins.
func NewRates(rs []Rate) *Rates {
	r := &Rates{pairs: make(map[pair][]dated)}
	for _, x := range rs {
		if !x.Rate.IsPositive() {
			continue
		}
		k := pair{x.From, x.To}
		r.pairs[k] = append(r.pairs[k], dated{x.ValidFrom, x.Rate})
	}
	for k, ds := range r.pairs {
		slices.SortStableFunc(ds, func(a, b dated) int { return compareDates(a.from, b.from) })
		// keep the last of equal days
		out := ds[:0]
		for i, d := range ds {
			if i+1 < len(ds) && ds[i+1].from == d.from {
				continue
			}
			out = append(out, d)
		}
		r.pairs[k] = out
	}
	return r
}

// Conversion turns amounts of one currency into another: multiply by the rate, or divide by it
// when only the inverse pair's rate is known.
type Conversion struct {
	rate    decimal.Decimal
	inverse bool
	same    bool
}

// Lookup returns the conversion from one currency to another valid on day on: the latest rate of
// the pair with ValidFrom on or before that day; failing that, the latest such rate of the inverse
// pair, used as 1/rate. The same currency converts as is. ok is false when neither pair has a rate
// that early.
func (r *Rates) Lookup(from, to string, on crm.Date) (c Conversion, ok bool) {
	if from == to {
		return Conversion{same: true}, true
	}
	if d, ok := latest(r.pairs[pair{from, to}], on); ok {
		return Conversion{rate: d}, true
	}
	if d, ok := latest(r.pairs[pair{to, from}], on); ok {
		return Conversion{rate: d, inverse: true}, true
	}
	return Conversion{}, false
}

// Apply converts amount, exactly when multiplying and to 20 decimal places when dividing. The
// result is not rounded: round the sum with Round.
func (c Conversion) Apply(amount decimal.Decimal) decimal.Decimal {
	switch {
	case c.same || amount.IsZero():
		return amount
	case c.inverse:
		return amount.DivRound(c.rate, divisionPlaces)
	}
	return amount.Mul(c.rate)
}

// latest returns the rate of the last entry with from <= on.
func latest(ds []dated, on crm.Date) (decimal.Decimal, bool) {
	i, _ := slices.BinarySearchFunc(ds, on, func(d dated, on crm.Date) int {
		if c := compareDates(d.from, on); c != 0 {
			return c
		}
		return -1 // equal days count as before: find the first entry after on
	})
	if i == 0 {
		return decimal.Decimal{}, false
	}
	return ds[i-1].rate, true
}

func compareDates(a, b crm.Date) int {
	switch {
	case a == b:
		return 0
	case before(a, b):
		return -1
	}
	return 1
}

// Round rounds a figure to Places decimal places, half to even (banker's rounding), so that
// rounding many figures does not drift upward.
func Round(d decimal.Decimal) decimal.Decimal { return d.RoundBank(Places) }

// Figures are the sums of one forecast row (or of several), in one currency.
type Figures struct {
	Pipeline  decimal.Decimal // open deals in the pipeline category
	BestCase  decimal.Decimal // open deals in best case
	Commit    decimal.Decimal // open deals in commit
	ClosedWon decimal.Decimal // won deals
	Weighted  decimal.Decimal // open deals' amount x probability / 100
	Deals     int             // deals counted
}

// Add counts deals of one category: amount is their summed (converted) amount and
// amountTimesPercent the sum of amount x probability (in percent) over them. Open categories add to
// the weighted pipeline; closed won does not (it is no longer a probability); omitted deals and
// unknown categories count nowhere. It reports whether the deals counted.
func (f *Figures) Add(cat crm.ForecastCategory, amount, amountTimesPercent decimal.Decimal, deals int) bool {
	switch cat {
	case crm.CategoryPipeline:
		f.Pipeline = f.Pipeline.Add(amount)
	case crm.CategoryBestCase:
		f.BestCase = f.BestCase.Add(amount)
	case crm.CategoryCommit:
		f.Commit = f.Commit.Add(amount)
	case crm.CategoryClosedWon:
		f.ClosedWon = f.ClosedWon.Add(amount)
		f.Deals += deals
		return true
	default:
		return false
	}
	f.Weighted = f.Weighted.Add(amountTimesPercent.Shift(-2))
	f.Deals += deals
	return true
}

// Plus returns the sum of two sets of figures.
func (f Figures) Plus(g Figures) Figures {
	return Figures{
		Pipeline: f.Pipeline.Add(g.Pipeline), BestCase: f.BestCase.Add(g.BestCase), Commit: f.Commit.Add(g.Commit),
		ClosedWon: f.ClosedWon.Add(g.ClosedWon), Weighted: f.Weighted.Add(g.Weighted), Deals: f.Deals + g.Deals,
	}
}

// Rounded returns the figures rounded with Round.
func (f Figures) Rounded() Figures {
	return Figures{Pipeline: Round(f.Pipeline), BestCase: Round(f.BestCase), Commit: Round(f.Commit),
		ClosedWon: Round(f.ClosedWon), Weighted: Round(f.Weighted), Deals: f.Deals}
}

// Attainment is closedWon / quota (1 means the quota is met; above 1, exceeded). ok is false
// without a positive quota, where attainment means nothing.
func Attainment(closedWon, quota decimal.Decimal) (ratio float64, ok bool) {
	if !quota.IsPositive() {
		return 0, false
	}
	ratio, _ = closedWon.DivRound(quota, 6).Float64()
	return ratio, true
}
