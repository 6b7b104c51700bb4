package eventlog

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
)

// Channel is the PostgreSQL NOTIFY channel on which the relay announces published events.
const Channel = "rapport_events"

// relayLockID serialises publishing across every process that runs a relay.
const relayLockID = 0x7261_7070_7265_6c // "rapprel"

// batchSize bounds one publishing transaction.
const batchSize = 2000

// publishGap is the least time between two publishing rounds. A round is a transaction of its own
// (advisory lock, numbering, NOTIFY); under a stream of small commits, publishing after every one
// of them cost PostgreSQL about as much as a captured lead. Waiting a few milliseconds lets the
// round take all the commits of that time at once, well inside the 50 ms fan-out budget.
const publishGap = 5 * time.Millisecond

// Published is the range of sequence numbers one relay batch gave an organization. NOTIFY payloads
// carry a list of them.
type Published struct {
	OrgID crm.ID `json:"o"`
	First int64  `json:"f"`
	Last  int64  `json:"l"`
}

// Relay publishes appended events: it numbers them per organization, in the order their
// transactions became visible, and sends one NOTIFY per batch. Putting a NOTIFY in every writing
// transaction would serialise all commits on PostgreSQL's notification queue lock; the relay
// turns N commits into one notification instead. Every process may run a relay; an advisory lock
// makes them take turns.
type Relay struct {
	pool     *pgxpool.Pool
	log      *slog.Logger
	clock    crm.Clock
	interval time.Duration
	poke     chan struct{}
}

// NewRelay returns a relay that publishes when poked (after a local commit) and at least every
// interval (for events committed by processes without a relay, and as a safety net).
func NewRelay(pool *pgxpool.Pool, log *slog.Logger, clock crm.Clock, interval time.Duration) *Relay {
	return &Relay{pool: pool, log: log, clock: clock, interval: interval, poke: make(chan struct{}, 1)}
}

// Poke asks the relay to publish soon. It never blocks; pokes that arrive while one is pending
// coalesce, which is what batches a burst of commits into one transaction.
func (r *Relay) Poke() {
	select {
	case r.poke <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.poke:
		case <-t.C:
		}
		for {
			n, err := r.PublishOnce(ctx)
			if err != nil {
				if ctx.Err() == nil {
					r.log.Error("event relay: publish failed", "err", err)
				}
				break
			}
			if n < batchSize {
				break
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(publishGap):
		}
	}
}

// PublishOnce publishes one batch and returns how many events it published.
func (r *Relay) PublishOnce(ctx context.Context) (int, error) {
	var total int
	err := db.AsSystem(ctx, r.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(relayLockID)); err != nil {
			return err
		}
		rows, err := query.New(tx).PublishEvents(ctx, query.PublishEventsParams{MaxEvents: batchSize, Now: r.clock()})
		if err != nil || len(rows) == 0 {
			return err
		}
		batch := make([]Published, len(rows))
		for i, row := range rows {
			batch[i] = Published{OrgID: row.OrgID, First: row.FirstSeq, Last: row.LastSeq}
			total += int(row.LastSeq - row.FirstSeq + 1)
		}
		for _, payload := range notifyPayloads(batch) {
			if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", Channel, payload); err != nil {
				return err
			}
		}
		return nil
	})
	return total, err
}

// maxPayload stays under PostgreSQL's 8000-byte NOTIFY payload limit.
const maxPayload = 7000

// notifyPayloads encodes published ranges as JSON arrays, split to fit NOTIFY payloads.
func notifyPayloads(batch []Published) []string {
	var out []string
	for len(batch) > 0 {
		n := len(batch)
		for {
			b, _ := json.Marshal(batch[:n])
			if len(b) <= maxPayload || n == 1 {
				out = append(out, string(b))
				break
			}
			n /= 2
		}
		batch = batch[n:]
	}
	return out
}
