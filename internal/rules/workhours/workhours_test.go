package workhours

import (
	"testing"
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
)

var week = []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}

func at(t *testing.T, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func zone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestAdd(t *testing.T) {
	shanghai, newYork := zone(t, "Asia/Shanghai"), zone(t, "America/New_York")
	cn := crm.WorkingHours{Days: week, Start: "09:00", End: "18:00", Holidays: []string{"2026-10-01", "2026-10-02"}}
	us := crm.WorkingHours{Days: week, Start: "09:00", End: "17:00"}
	long := crm.WorkingHours{Days: []time.Weekday{time.Sunday, time.Monday}, Start: "00:00", End: "23:59"}
	for _, tc := range []struct {
		name    string
		wh      crm.WorkingHours
		loc     *time.Location
		start   string
		minutes int
		want    string
	}{
		{"within the day", cn, shanghai, "2026-03-02 10:00", 300, "2026-03-02 15:00"},
		{"before opening counts from opening", cn, shanghai, "2026-03-02 07:30", 60, "2026-03-02 10:00"},
		{"overnight", cn, shanghai, "2026-03-02 17:30", 60, "2026-03-03 09:30"},
		{"after closing starts next morning", cn, shanghai, "2026-03-02 20:00", 300, "2026-03-03 14:00"},
		{"ends exactly at closing", cn, shanghai, "2026-03-02 13:00", 300, "2026-03-02 18:00"},
		{"friday evening to monday", cn, shanghai, "2026-03-06 16:00", 300, "2026-03-09 12:00"},
		{"saturday counts from monday", cn, shanghai, "2026-03-07 11:00", 30, "2026-03-09 09:30"},
		{"holidays are skipped", cn, shanghai, "2026-09-30 17:00", 120, "2026-10-05 10:00"},
		{"several days", cn, shanghai, "2026-03-02 09:00", 3 * 540, "2026-03-04 18:00"},
		{"zero minutes", cn, shanghai, "2026-03-07 11:00", 0, "2026-03-07 11:00"},
		{"across the spring-forward weekend", us, newYork, "2025-03-07 16:00", 120, "2025-03-10 10:00"},
		{"across the fall-back weekend", us, newYork, "2025-10-31 16:30", 60, "2025-11-03 09:30"},
		{"a working day of 23 hours", long, newYork, "2025-03-09 00:00", 23 * 60, "2025-03-10 00:01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Add(at(t, tc.loc, tc.start), tc.minutes, tc.wh, tc.loc)
			if want := at(t, tc.loc, tc.want); !got.Equal(want) {
				t.Errorf("got %s, want %s", got.In(tc.loc), want)
			}
		})
	}
	// In UTC, the New York case is 21:00Z on Friday to 14:00Z on Monday (EST then EDT).
	got := Add(time.Date(2025, 3, 7, 21, 0, 0, 0, time.UTC), 120, us, newYork)
	if want := time.Date(2025, 3, 10, 14, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("UTC: got %s, want %s", got.UTC(), want)
	}
}

func TestAddWithoutWorkingTimeCountsClockTime(t *testing.T) {
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	c := New(crm.WorkingHours{Days: []time.Weekday{}, Start: "09:00", End: "18:00"}, time.UTC)
	if got := c.Add(start, 90); !got.Equal(start.Add(90 * time.Minute)) {
		t.Errorf("got %s", got)
	}
}

func TestElapsed(t *testing.T) {
	shanghai, newYork := zone(t, "Asia/Shanghai"), zone(t, "America/New_York")
	cn := crm.WorkingHours{Days: week, Start: "09:00", End: "18:00", Holidays: []string{"2026-10-01"}}
	us := crm.WorkingHours{Days: week, Start: "09:00", End: "17:00"}
	for _, tc := range []struct {
		name     string
		wh       crm.WorkingHours
		loc      *time.Location
		from, to string
		want     int
	}{
		{"within the day", cn, shanghai, "2026-03-02 10:00", "2026-03-02 15:00", 300},
		{"overnight", cn, shanghai, "2026-03-02 17:30", "2026-03-03 09:30", 60},
		{"weekend", cn, shanghai, "2026-03-06 16:00", "2026-03-09 12:00", 300},
		{"holiday", cn, shanghai, "2026-09-30 17:00", "2026-10-02 10:00", 120},
		{"outside hours only", cn, shanghai, "2026-03-07 08:00", "2026-03-08 20:00", 0},
		{"backwards", cn, shanghai, "2026-03-03 10:00", "2026-03-02 10:00", 0},
		{"spring forward", us, newYork, "2025-03-07 16:00", "2025-03-10 10:00", 120},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Elapsed(at(t, tc.loc, tc.from), at(t, tc.loc, tc.to), tc.wh, tc.loc); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// TestAddAndElapsedAgree pins that Elapsed undoes Add from any start, in both zones.
func TestAddAndElapsedAgree(t *testing.T) {
	for _, name := range []string{"Asia/Shanghai", "America/New_York"} {
		loc := zone(t, name)
		wh := crm.WorkingHours{Days: week, Start: "08:30", End: "17:45", Holidays: []string{"2025-11-27"}}
		start := time.Date(2025, 3, 1, 0, 0, 0, 0, loc)
		for i := range 400 {
			s := start.Add(time.Duration(i*977) * time.Minute)
			minutes := (i * 37) % 2000
			end := Add(s, minutes, wh, loc)
			if got := Elapsed(s, end, wh, loc); got != minutes {
				t.Fatalf("%s: from %s, %d minutes end %s, which Elapsed counts as %d", name, s, minutes, end, got)
			}
		}
	}
}

func BenchmarkAdd(b *testing.B) {
	loc := zone(b, "Asia/Shanghai")
	wh := crm.WorkingHours{Days: week, Start: "09:00", End: "18:00", Holidays: []string{"2026-10-01", "2026-10-02", "2026-10-05"}}
	start := time.Date(2026, 9, 30, 17, 0, 0, 0, loc)
	b.ReportAllocs()
	for b.Loop() {
		Add(start, 300, wh, loc)
	}
}

// BenchmarkCalendarAdd is the arithmetic alone, on a calendar parsed once (as the SLA sweep does).
func BenchmarkCalendarAdd(b *testing.B) {
	loc := zone(b, "Asia/Shanghai")
	cal := New(crm.WorkingHours{Days: week, Start: "09:00", End: "18:00", Holidays: []string{"2026-10-01", "2026-10-02", "2026-10-05"}}, loc)
	start := time.Date(2026, 9, 30, 17, 0, 0, 0, loc)
	b.ReportAllocs()
	for b.Loop() {
		cal.Add(start, 300)
	}
}

// BenchmarkElapsed counts the working minutes of a week with a holiday.
func BenchmarkElapsed(b *testing.B) {
	loc := zone(b, "Asia/Shanghai")
	wh := crm.WorkingHours{Days: week, Start: "09:00", End: "18:00", Holidays: []string{"2026-10-01", "2026-10-02", "2026-10-05"}}
	from := time.Date(2026, 9, 28, 10, 0, 0, 0, loc)
	to := from.Add(7 * 24 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		Elapsed(from, to, wh, loc)
	}
}
