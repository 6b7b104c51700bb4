// Package stale decides when an open deal is stale: nothing happened on it for the stale period of
// the stage it sits in. The sweep asks it which stages can hold stale deals and where each stage's
// cutoff lies; the database then flags the deals last touched before their stage's cutoff.
package stale

import (
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Day is the length of one day of a stale period. Periods count elapsed time, not calendar days in
// the organization's time zone, so a deal goes stale at the same instant wherever its owner is.
const Day = 24 * time.Hour

// Stage is what the rule needs to know about a pipeline stage.
type Stage struct {
	ID             crm.ID
	StaleAfterDays *int32 // nil: the organization's setting; 0: never stale
	Closed         bool
}

// Days returns a stage's effective stale period in days: its own setting when it has one, else the
// organization's. 0 means deals in the stage never go stale; closed stages never do, since their
// deals need no action.
func Days(s Stage, orgDays int32) int32 {
	if s.Closed {
		return 0
	}
	d := orgDays
	if s.StaleAfterDays != nil {
		d = *s.StaleAfterDays
	}
	return max(d, 0)
}

// Cutoff returns the instant before which a deal's last touch makes it stale at now, for a stale
// period of days; ok is false when the period is 0 (never stale).
func Cutoff(now time.Time, days int32) (cutoff time.Time, ok bool) {
	if days <= 0 {
		return time.Time{}, false
	}
	return now.Add(-time.Duration(days) * Day), true
}

// LastTouch is when a deal was last touched: the later of its last activity and its entry into
// its current stage (a stage move counts as a touch).
func LastTouch(lastActivity *time.Time, stageEntered time.Time) time.Time {
	if lastActivity != nil && lastActivity.After(stageEntered) {
		return *lastActivity
	}
	return stageEntered
}

// IsStale reports whether a deal last touched at touch is stale at now, in a stage with a stale
// period of days. A deal is stale once its last touch is strictly older than the period.
func IsStale(now, touch time.Time, days int32) bool {
	cutoff, ok := Cutoff(now, days)
	return ok && touch.Before(cutoff)
}

// Cutoffs returns, for every stage whose deals can go stale at now, the stage and its cutoff, in
// the order of stages, plus the latest cutoff (the zero time when no stage can hold stale deals).
func Cutoffs(now time.Time, orgDays int32, stages []Stage) (ids []crm.ID, cutoffs []time.Time, latest time.Time) {
	for _, s := range stages {
		c, ok := Cutoff(now, Days(s, orgDays))
		if !ok {
			continue
		}
		ids = append(ids, s.ID)
		cutoffs = append(cutoffs, c)
		if c.After(latest) {
			latest = c
		}
	}
	return ids, cutoffs, latest
}
