package forecast

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestLookupTakesTheRateValidOnTheDay(t *testing.T) {
	t.Parallel()
	rates := NewRates([]Rate{
		{From: "USD", To: "CNY", ValidFrom: date("2026-01-01"), Rate: dec("7.1")},
		{From: "USD", To: "CNY", ValidFrom: date("2026-06-01"), Rate: dec("7.2")},
		{From: "USD", To: "CNY", ValidFrom: date("2026-03-01"), Rate: dec("7.15")}, // out of order on purpose
		{From: "CNY", To: "EUR", ValidFrom: date("2026-01-01"), Rate: dec("0.125")},
		{From: "JPY", To: "CNY", ValidFrom: date("2026-01-01"), Rate: dec("0")}, // never valid
		{From: "GBP", To: "CNY", ValidFrom: date("2026-01-01"), Rate: dec("9")},
		{From: "GBP", To: "CNY", ValidFrom: date("2026-01-01"), Rate: dec("9.1")}, // same day: the later wins
	})
	tests := []struct {
		name     string
		from, to string
		on       string
		amount   string
		want     string // "" for no rate
	}{
		{name: "same currency", from: "CNY", to: "CNY", on: "2020-01-01", amount: "12.34", want: "12.34"},
		{name: "first day of a rate", from: "USD", to: "CNY", on: "2026-01-01", amount: "100", want: "710"},
		{name: "day before a change", from: "USD", to: "CNY", on: "2026-02-28", amount: "100", want: "710"},
		{name: "middle rate", from: "USD", to: "CNY", on: "2026-05-31", amount: "100", want: "715"},
		{name: "latest rate", from: "USD", to: "CNY", on: "2027-01-01", amount: "100.01", want: "720.072"},
		{name: "before the first rate", from: "USD", to: "CNY", on: "2025-12-31", amount: "100"},
		{name: "inverse pair", from: "CNY", to: "USD", on: "2026-07-01", amount: "720", want: "100"},
		{name: "inverse pair not exact", from: "CNY", to: "USD", on: "2026-01-01", amount: "100", want: "14.08450704225352112676"},
		{name: "direct pair preferred", from: "EUR", to: "CNY", on: "2026-01-01", amount: "1", want: "8"},
		{name: "unknown pair", from: "USD", to: "EUR", on: "2026-01-01", amount: "1"},
		{name: "zero rate ignored", from: "JPY", to: "CNY", on: "2026-02-01", amount: "1"},
		{name: "same day later wins", from: "GBP", to: "CNY", on: "2026-02-01", amount: "10", want: "91"},
		{name: "zero amount", from: "USD", to: "CNY", on: "2026-02-01", amount: "0", want: "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, ok := rates.Lookup(tt.from, tt.to, date(tt.on))
			if tt.want == "" {
				require.False(t, ok)
				return
			}
			require.True(t, ok)
			got := c.Apply(dec(tt.amount))
			require.True(t, dec(tt.want).Equal(got), "want %s, got %s", tt.want, got)
		})
	}
}

func TestRoundIsHalfToEvenAtFourPlaces(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"1.00005": "1.0000", "1.00015": "1.0002", "1.00025": "1.0002", "1.000251": "1.0003",
		"2.5": "2.5000", "-1.00005": "-1.0000", "14.08450704225352112676": "14.0845",
	} {
		require.Equal(t, want, Round(dec(in)).StringFixed(Places), in)
	}
}

func TestInverseConversionsSumToTheExactFigure(t *testing.T) {
	t.Parallel()
	// 3 x 100 CNY at 1 USD = 7.1 CNY: each third is 14.0845070422..., the sum 42.2535211267...
	rates := NewRates([]Rate{{From: "USD", To: "CNY", ValidFrom: date("2026-01-01"), Rate: dec("7.1")}})
	c, ok := rates.Lookup("CNY", "USD", date("2026-02-01"))
	require.True(t, ok)
	var sum decimal.Decimal
	for range 3 {
		sum = sum.Add(c.Apply(dec("100")))
	}
	require.Equal(t, "42.2535", Round(sum).String())
}

func TestFiguresCountOpenDealsWeightedAndWonApart(t *testing.T) {
	t.Parallel()
	var f Figures
	// 3 deals of 1000.10 at 10%, 20% and 60%: weighted 100.01 + 200.02 + 600.06.
	require.True(t, f.Add(crm.CategoryPipeline, dec("1000.10"), dec("1000.10").Mul(dec("10")), 1))
	require.True(t, f.Add(crm.CategoryBestCase, dec("1000.10"), dec("1000.10").Mul(dec("20")), 1))
	require.True(t, f.Add(crm.CategoryCommit, dec("1000.10"), dec("1000.10").Mul(dec("60")), 1))
	require.True(t, f.Add(crm.CategoryClosedWon, dec("500"), dec("50000"), 1))
	require.False(t, f.Add(crm.CategoryOmitted, dec("999"), dec("0"), 1))
	require.False(t, f.Add("", dec("999"), dec("0"), 1))
	r := f.Rounded()
	require.Equal(t, "1000.1", r.Pipeline.String())
	require.Equal(t, "1000.1", r.BestCase.String())
	require.Equal(t, "1000.1", r.Commit.String())
	require.Equal(t, "500", r.ClosedWon.String())
	require.Equal(t, "900.09", r.Weighted.String(), "won deals are not weighted")
	require.Equal(t, 4, r.Deals)

	sum := f.Plus(f)
	require.Equal(t, "1800.18", sum.Weighted.String())
	require.Equal(t, 8, sum.Deals)
}

func TestAttainmentIsClosedWonOverQuota(t *testing.T) {
	t.Parallel()
	tests := []struct {
		won, quota string
		want       float64
		ok         bool
	}{
		{"500", "1000", 0.5, true},
		{"1500", "1000", 1.5, true},
		{"0", "1000", 0, true},
		{"1", "3", 0.333333, true},
		{"500", "0", 0, false},
	}
	for _, tt := range tests {
		got, ok := Attainment(dec(tt.won), dec(tt.quota))
		require.Equal(t, tt.ok, ok, "%s/%s", tt.won, tt.quota)
		require.InDelta(t, tt.want, got, 1e-9, "%s/%s", tt.won, tt.quota)
	}
}

func benchRates() *Rates {
	var rs []Rate
	for m := 1; m <= 12; m++ {
		d := crm.Date{Year: 2026, Month: time.Month(m), Day: 1}
		rs = append(rs, Rate{From: "USD", To: "CNY", ValidFrom: d, Rate: dec("7.1").Add(decimal.New(int64(m), -2))})
		rs = append(rs, Rate{From: "EUR", To: "CNY", ValidFrom: d, Rate: dec("7.8").Add(decimal.New(int64(m), -2))})
	}
	return NewRates(rs)
}

func BenchmarkLookupDirect(b *testing.B) {
	b.ReportAllocs()
	r, on := benchRates(), date("2026-07-15")
	for b.Loop() {
		if _, ok := r.Lookup("USD", "CNY", on); !ok {
			b.Fatal("no rate")
		}
	}
}

func BenchmarkConvertDirect(b *testing.B) {
	b.ReportAllocs()
	r, on, amount := benchRates(), date("2026-07-15"), dec("12345.6789")
	c, _ := r.Lookup("USD", "CNY", on)
	for b.Loop() {
		_ = c.Apply(amount)
	}
}

func BenchmarkConvertInverse(b *testing.B) {
	b.ReportAllocs()
	r, on, amount := benchRates(), date("2026-07-15"), dec("12345.6789")
	c, _ := r.Lookup("CNY", "USD", on)
	for b.Loop() {
		_ = c.Apply(amount)
	}
}

func BenchmarkFiguresAdd(b *testing.B) {
	b.ReportAllocs()
	amount, weighted := dec("1000.10"), dec("60006")
	var f Figures
	for b.Loop() {
		f.Add(crm.CategoryCommit, amount, weighted, 1)
	}
}
