package forecast

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

func date(s string) crm.Date {
	d, err := crm.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestPeriodOfPutsADayInItsMonthOrQuarter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		day        string
		iv         Interval
		start, end string
		label      string
	}{
		{"2026-11-23", Month, "2026-11-01", "2026-12-01", "2026-11"},
		{"2026-12-31", Month, "2026-12-01", "2027-01-01", "2026-12"},
		{"2026-01-01", Month, "2026-01-01", "2026-02-01", "2026-01"},
		{"2024-02-29", Month, "2024-02-01", "2024-03-01", "2024-02"},
		{"2026-11-23", Quarter, "2026-10-01", "2027-01-01", "2026-Q4"},
		{"2026-01-01", Quarter, "2026-01-01", "2026-04-01", "2026-Q1"},
		{"2026-03-31", Quarter, "2026-01-01", "2026-04-01", "2026-Q1"},
		{"2026-04-01", Quarter, "2026-04-01", "2026-07-01", "2026-Q2"},
		{"2026-09-30", Quarter, "2026-07-01", "2026-10-01", "2026-Q3"},
	}
	for _, tt := range tests {
		t.Run(tt.day+"/"+tt.iv.String(), func(t *testing.T) {
			t.Parallel()
			p := PeriodOf(date(tt.day), tt.iv)
			require.Equal(t, Period{Start: date(tt.start), End: date(tt.end), Label: tt.label}, p)
		})
	}
}

func TestPeriodsCoverTheRangeFromThePeriodStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		from, to string
		iv       Interval
		labels   []string
		err      string // field of the expected error
	}{
		{name: "one month", from: "2026-11-01", to: "2026-12-01", iv: Month, labels: []string{"2026-11"}},
		{name: "from moved back", from: "2026-11-15", to: "2026-12-01", iv: Month, labels: []string{"2026-11"}},
		{name: "partial last month included", from: "2026-11-01", to: "2026-12-02", iv: Month, labels: []string{"2026-11", "2026-12"}},
		{name: "across a year", from: "2026-11-01", to: "2027-02-01", iv: Month, labels: []string{"2026-11", "2026-12", "2027-01"}},
		{name: "quarters", from: "2026-08-15", to: "2027-01-01", iv: Quarter, labels: []string{"2026-Q3", "2026-Q4"}},
		{name: "quarter partial end", from: "2026-01-01", to: "2026-04-02", iv: Quarter, labels: []string{"2026-Q1", "2026-Q2"}},
		{name: "36 months", from: "2026-01-01", to: "2029-01-01", iv: Month},
		{name: "12 quarters", from: "2026-01-01", to: "2029-01-01", iv: Quarter},
		{name: "37 months", from: "2026-01-01", to: "2029-01-02", iv: Month, err: "to"},
		{name: "13 quarters", from: "2026-01-01", to: "2029-01-02", iv: Quarter, err: "to"},
		{name: "move back counts", from: "2026-01-31", to: "2029-01-01", iv: Month},
		{name: "to equals from", from: "2026-11-01", to: "2026-11-01", iv: Month, err: "to"},
		{name: "to before from", from: "2026-11-01", to: "2026-10-01", iv: Month, err: "to"},
		{name: "no interval", from: "2026-11-01", to: "2026-12-01", err: "interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ps, err := Periods(date(tt.from), date(tt.to), tt.iv)
			if tt.err != "" {
				var e *crm.Error
				require.ErrorAs(t, err, &e)
				require.Equal(t, crm.EINVALID, e.Code)
				require.Equal(t, tt.err, e.Field)
				return
			}
			require.NoError(t, err)
			require.Equal(t, PeriodOf(date(tt.from), tt.iv).Start, ps[0].Start)
			for i := 1; i < len(ps); i++ {
				require.Equal(t, ps[i-1].End, ps[i].Start, "periods are contiguous")
			}
			require.False(t, before(ps[len(ps)-1].End, date(tt.to)), "the last period reaches to")
			if tt.labels != nil {
				labels := make([]string, len(ps))
				for i, p := range ps {
					labels[i] = p.Label
				}
				require.Equal(t, tt.labels, labels)
			}
		})
	}
}

func TestExactRecognisesOneMonthOrQuarter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		start, end string
		iv         Interval
		ok         bool
	}{
		{"2026-11-01", "2026-12-01", Month, true},
		{"2026-10-01", "2027-01-01", Quarter, true},
		{"2026-11-01", "2027-02-01", 0, false}, // three months, but not a calendar quarter
		{"2026-11-02", "2026-12-01", 0, false},
		{"2026-11-01", "2026-11-30", 0, false},
		{"2026-01-01", "2027-01-01", 0, false},
	}
	for _, tt := range tests {
		_, iv, ok := Exact(date(tt.start), date(tt.end))
		require.Equal(t, tt.ok, ok, "%s..%s", tt.start, tt.end)
		require.Equal(t, tt.iv, iv, "%s..%s", tt.start, tt.end)
	}
}

func BenchmarkPeriods36Months(b *testing.B) {
	b.ReportAllocs()
	from, to := date("2026-01-15"), date("2029-01-01")
	for b.Loop() {
		if _, err := Periods(from, to, Month); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPeriodOf(b *testing.B) {
	b.ReportAllocs()
	d := date("2026-11-23")
	for b.Loop() {
		_ = PeriodOf(d, Quarter)
	}
}
