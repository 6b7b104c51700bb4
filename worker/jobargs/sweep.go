package jobargs

import (
	"time"

	"github.com/riverqueue/river"
)

// SweepStaleDeals flags the deals of every organization that went stale and notifies their owners
// and managers.
type SweepStaleDeals struct{}

// Kind implements river.JobArgs.
func (SweepStaleDeals) Kind() string { return "maintenance.sweep_stale_deals" }

// InsertOpts keeps at most one such job queued per period.
func (SweepStaleDeals) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByPeriod: 15 * time.Minute}}
}

// SweepAccountPool returns the accounts nobody followed up to the shared pool, in every
// organization that has one.
type SweepAccountPool struct{}

// Kind implements river.JobArgs.
func (SweepAccountPool) Kind() string { return "maintenance.sweep_account_pool" }

// InsertOpts keeps at most one such job queued per period.
func (SweepAccountPool) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByPeriod: 15 * time.Minute}}
}
