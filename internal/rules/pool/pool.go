// Package pool holds the rules of the shared account pool: when an account nobody follows up
// returns to the pool, and whether a user may claim another account from it.
package pool

import (
	"time"
)

// Window is the rolling period over which a user's claims count against the claim limit.
const Window = 24 * time.Hour

// IdleCutoff returns the instant before which an owned account's last follow-up (the later of its
// last activity and when its owner got it) sends it back to the pool at now; ok is false when the
// organization has no pool (days is nil or not positive).
func IdleCutoff(now time.Time, days *int32) (cutoff time.Time, ok bool) {
	if days == nil || *days <= 0 {
		return time.Time{}, false
	}
	return now.Add(-time.Duration(*days) * 24 * time.Hour), true
}

// ClaimsSince is the start of the window whose claims count at now.
func ClaimsSince(now time.Time) time.Time { return now.Add(-Window) }

// NextClaim decides whether a user who made the claims at recent (the claims since ClaimsSince(now),
// oldest first) may claim another account under limit. When not, next is when the oldest claim
// that keeps the user at the limit leaves the window.
func NextClaim(now time.Time, recent []time.Time, limit int32) (ok bool, next time.Time) {
	if limit <= 0 {
		return false, time.Time{}
	}
	if len(recent) < int(limit) {
		return true, now
	}
	return false, recent[len(recent)-int(limit)].Add(Window)
}
