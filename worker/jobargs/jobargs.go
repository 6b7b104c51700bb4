// Package jobargs holds the arguments of Rapport's River jobs. It imports nothing of ours, so the
// service can enqueue jobs (InsertTx, in the transaction of the change that makes them meaningful)
// without depending on the workers.
package jobargs

import (
	"time"

	"github.com/riverqueue/river"
)

// Queue names.
const (
	QueueMaintenance = "maintenance"
)

// ExpireIdempotencyKeys deletes idempotency keys past their expiry in every organization.
type ExpireIdempotencyKeys struct{}

// Kind implements river.JobArgs.
func (ExpireIdempotencyKeys) Kind() string { return "maintenance.expire_idempotency_keys" }

// InsertOpts keeps at most one such job queued per period.
func (ExpireIdempotencyKeys) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMaintenance, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByPeriod: 15 * time.Minute}}
}
