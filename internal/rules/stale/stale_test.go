package stale

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

func days(n int32) *int32 { return &n }

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func TestDaysTakesTheStageOverrideElseTheOrganizationsAndNeverForClosedStages(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		stage   Stage
		orgDays int32
		want    int32
	}{
		{"organization default", Stage{}, 3, 3},
		{"stage override", Stage{StaleAfterDays: days(7)}, 3, 7},
		{"stage override shorter", Stage{StaleAfterDays: days(1)}, 3, 1},
		{"zero means never", Stage{StaleAfterDays: days(0)}, 3, 0},
		{"closed stage never", Stage{Closed: true}, 3, 0},
		{"closed stage with override never", Stage{Closed: true, StaleAfterDays: days(2)}, 3, 0},
		{"negative is never", Stage{StaleAfterDays: days(-1)}, 3, 0},
		{"organization zero is never", Stage{}, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Days(tc.stage, tc.orgDays))
		})
	}
}

func TestIsStaleOnceTheLastTouchIsStrictlyOlderThanThePeriod(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		touch time.Time
		days  int32
		want  bool
	}{
		{"touched today", now.Add(-time.Hour), 3, false},
		{"exactly three days", now.Add(-3 * Day), 3, false},
		{"three days and a microsecond", now.Add(-3*Day - time.Microsecond), 3, true},
		{"a month ago", now.AddDate(0, -1, 0), 3, true},
		{"a month ago, never stale", now.AddDate(0, -1, 0), 0, false},
		{"touched in the future", now.Add(Day), 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, IsStale(now, tc.touch, tc.days))
		})
	}
}

func TestLastTouchIsTheLaterOfActivityAndStageEntry(t *testing.T) {
	t.Parallel()
	entered := now.Add(-5 * Day)
	before, after := entered.Add(-Day), entered.Add(Day)
	require.Equal(t, entered, LastTouch(nil, entered))
	require.Equal(t, entered, LastTouch(&before, entered), "activity in an earlier stage does not count")
	require.Equal(t, after, LastTouch(&after, entered))
}

func TestCutoffsSkipStagesThatNeverGoStale(t *testing.T) {
	t.Parallel()
	open, slow, never, won := crm.NewID(), crm.NewID(), crm.NewID(), crm.NewID()
	ids, cutoffs, latest := Cutoffs(now, 3, []Stage{
		{ID: open}, {ID: slow, StaleAfterDays: days(10)}, {ID: never, StaleAfterDays: days(0)}, {ID: won, Closed: true},
	})
	require.Equal(t, []crm.ID{open, slow}, ids)
	require.Equal(t, []time.Time{now.Add(-3 * Day), now.Add(-10 * Day)}, cutoffs)
	require.Equal(t, now.Add(-3*Day), latest)

	ids, cutoffs, latest = Cutoffs(now, 3, []Stage{{ID: won, Closed: true}})
	require.Empty(t, ids)
	require.Empty(t, cutoffs)
	require.True(t, latest.IsZero())
}

// BenchmarkIsStale200k decides 200,000 deals in one pipeline of eight stages, the work of one sweep
// were it done in Go.
func BenchmarkIsStale200k(b *testing.B) {
	stages := make([]Stage, 8)
	for i := range stages {
		stages[i] = Stage{ID: crm.NewID(), StaleAfterDays: days(int32(i))}
	}
	stages[7].Closed = true
	touches := make([]time.Time, 200_000)
	for i := range touches {
		touches[i] = now.Add(-time.Duration(i%20) * Day)
	}
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		for i, touch := range touches {
			if IsStale(now, touch, Days(stages[i%len(stages)], 3)) {
				n++
			}
		}
		if n == 0 {
			b.Fatal("no stale deal")
		}
	}
}
