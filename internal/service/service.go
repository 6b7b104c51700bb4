// Package service holds Rapport's use cases. It is the only layer that opens transactions, runs
// queries, applies rules, checks authorization and appends events; the GraphQL resolvers and the
// River workers both call it, so no business rule is written twice.
package service

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/auth"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/eventlog"
)

// Config holds the service settings that come from the environment.
type Config struct {
	TokenTTL       time.Duration // lifetime of tokens issued by Login
	IdempotencyTTL time.Duration // how long an idempotency key remembers its first result
}

// Deps are the collaborators a Service needs. Relay and Hub may be nil in processes that do not
// publish or serve subscriptions (and in some tests).
type Deps struct {
	Pool   *pgxpool.Pool
	Clock  crm.Clock
	Log    *slog.Logger
	Tokens *auth.Tokens
	OIDC   *auth.OIDC
	Relay  *eventlog.Relay
	Hub    *eventlog.Hub
	Config Config
}

// Service implements every use case. It is safe for concurrent use.
type Service struct {
	pool   *pgxpool.Pool
	clock  crm.Clock
	log    *slog.Logger
	tokens *auth.Tokens
	oidc   *auth.OIDC
	relay  *eventlog.Relay
	hub    *eventlog.Hub
	cfg    Config
	// jobs inserts and cancels River jobs inside business transactions. It is an insert-only
	// client: the worker package runs the jobs.
	jobs *river.Client[pgx.Tx]
	// captures coalesces concurrent single captures into batch transactions (group commit).
	captures captureGroups
	// afterImportBatch, when set (by tests), runs after each committed batch of an import that is
	// not its last; an error stops the run as a crash would.
	afterImportBatch func(crm.LeadImport) error
	// beforeCaptureBatch, when set (by tests), runs before each coalesced capture batch with its
	// size; an error fails the batch as a whole.
	beforeCaptureBatch func(n int) error
	// leadGrowth analyzes leads while captures and imports make it grow fast (db.TableGrowth).
	leadGrowth *db.TableGrowth
}

// New returns a Service.
func New(d Deps) *Service {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Config.TokenTTL == 0 {
		d.Config.TokenTTL = 12 * time.Hour
	}
	if d.Config.IdempotencyTTL == 0 {
		d.Config.IdempotencyTTL = 24 * time.Hour
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	jobs, err := river.NewClient(riverpgxv5.New(d.Pool), &river.Config{Logger: d.Log})
	if err != nil {
		panic(err) // only invalid static configuration fails here
	}
	return &Service{pool: d.Pool, clock: d.Clock, log: d.Log, tokens: d.Tokens, oidc: d.OIDC,
		relay: d.Relay, hub: d.Hub, cfg: d.Config, jobs: jobs, leadGrowth: db.NewTableGrowth(d.Pool, "leads", d.Log)}
}

// Now returns the service's current time (derived figures such as days in stage use it).
func (s *Service) Now() time.Time { return s.now() }

// now returns the current time at the database's microsecond precision, so values read back
// compare equal to values written.
func (s *Service) now() time.Time { return s.clock().UTC().Truncate(time.Microsecond) }

// read runs fn's queries confined to the actor's organization, each in one round trip (db.Read).
// The queries of one fn do not share a snapshot.
func (s *Service) read(ctx context.Context, a *crm.Actor, fn func(q *query.Queries) error) error {
	return db.Read(ctx, s.pool, a.OrgID, func(dbtx query.DBTX) error { return fn(query.New(dbtx)) })
}

// ReadTogether runs fns concurrently and sends the reads the service makes for the actor within
// them to PostgreSQL together, in rounds of one round trip each (db.ReadTogether): independent
// reads, such as the records a page refers to, cost one round trip between them.
func (s *Service) ReadTogether(ctx context.Context, a *crm.Actor, fns ...func(context.Context) error) error {
	if a == nil {
		return authorize(a, "")
	}
	return db.ReadTogether(ctx, s.pool, a.OrgID, fns...)
}

// write runs fn in a transaction confined to the actor's organization. The events fn emits are
// appended in the same transaction; after the commit the relay is poked to publish them.
func (s *Service) write(ctx context.Context, a *crm.Actor, fn func(w *writer) error) error {
	var emitted bool
	var w *writer
	err := db.InTenant(ctx, s.pool, a.OrgID, func(tx pgx.Tx) error {
		w = &writer{ctx: ctx, q: query.New(tx), tx: tx, actor: a, now: s.now(), jobs: s.jobs}
		if err := fn(w); err != nil {
			return err
		}
		if len(w.events) == 0 {
			return nil
		}
		emitted = true
		return eventlog.Append(ctx, w.q, w.events...)
	})
	if err == nil && emitted && s.relay != nil {
		s.relay.Poke()
	}
	if err == nil {
		s.leadGrowth.Added(w.leadsAdded)
	}
	return err
}

// writer is the state of one writing transaction.
type writer struct {
	ctx    context.Context
	q      *query.Queries
	tx     pgx.Tx
	actor  *crm.Actor
	now    time.Time
	events []crm.Event
	org    *crm.Organization // the organization, read once per transaction when needed
	jobs   *river.Client[pgx.Tx]
	// leadsAdded counts the leads the transaction inserted, for Service.leadGrowth.
	leadsAdded int
}

// emit records a domain event to append when the transaction commits. owners are the record's
// owners before and after the change (NilID entries are dropped), for visibility filtering.
func (w *writer) emit(typ, recordType string, recordID crm.ID, changes []crm.FieldChange, owners ...crm.ID) {
	ids := make([]crm.ID, 0, len(owners))
	for _, o := range owners {
		if o != crm.NilID && !containsID(ids, o) {
			ids = append(ids, o)
		}
	}
	w.events = append(w.events, crm.Event{
		ID: crm.NewID(), OrgID: w.actor.OrgID, Type: typ, RecordType: recordType, RecordID: recordID,
		ActorKind: w.actor.Kind, ActorID: w.actor.ID(), OwnerIDs: ids, Changes: changes, OccurredAt: w.now,
	})
}

func containsID(ids []crm.ID, id crm.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// settings returns the organization's settings, read once per transaction.
func (w *writer) settings() (crm.Settings, error) {
	if w.org == nil {
		row, err := w.q.GetOrganization(w.ctx, w.actor.OrgID)
		if err != nil {
			return crm.Settings{}, err
		}
		org := orgFromRow(row)
		w.org = &org
	}
	return w.org.Settings, nil
}
