// Package eventlog is Rapport's one event log: appending events in the writer's transaction,
// publishing them (the relay assigns each organization's sequence numbers and wakes listeners), and
// fanning published events out to live subscribers (the hub). The change feed, the audit trail,
// subscriptions and later webhooks all read this log.
package eventlog

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
)

// Append writes events in the caller's transaction, so they exist exactly when the change commits.
// They are published (given a sequence number and delivered) by the relay after the commit.
func Append(ctx context.Context, q *query.Queries, events ...crm.Event) error {
	rows := make([]query.AppendEventsParams, len(events))
	for i, e := range events {
		changes, err := json.Marshal(e.Changes)
		if err != nil {
			return fmt.Errorf("encode event changes: %w", err)
		}
		if e.Changes == nil {
			changes = []byte("[]")
		}
		var actor *crm.ID
		if e.ActorID != crm.NilID {
			actor = &e.ActorID
		}
		owners := e.OwnerIDs
		if owners == nil {
			owners = []crm.ID{}
		}
		var container *crm.ID
		if e.ContainerID != crm.NilID {
			container = &e.ContainerID
		}
		rows[i] = query.AppendEventsParams{
			OrgID: e.OrgID, ID: e.ID, Type: e.Type, RecordType: e.RecordType, RecordID: e.RecordID,
			ActorKind: string(e.ActorKind), ActorID: actor, OwnerIds: owners, Changes: changes,
			OccurredAt: e.OccurredAt, ContainerID: container, Snapshot: e.Snapshot,
		}
	}
	if len(rows) == 1 {
		// One row: a plain INSERT is cheaper than setting up COPY.
		r := rows[0]
		return q.AppendEvent(ctx, query.AppendEventParams(r))
	}
	var err error
	q.AppendEvents(ctx, rows).Exec(func(_ int, e error) {
		if err == nil {
			err = e
		}
	})
	return err
}

// FromRow maps a stored event to the domain type.
func FromRow(r query.Event) crm.Event {
	e := crm.Event{
		ID: r.ID, OrgID: r.OrgID, Type: r.Type, RecordType: r.RecordType, RecordID: r.RecordID,
		ActorKind: crm.ActorKind(r.ActorKind), OwnerIDs: r.OwnerIds, OccurredAt: r.OccurredAt,
	}
	if r.Seq != nil {
		e.Seq = *r.Seq
	}
	if r.ActorID != nil {
		e.ActorID = *r.ActorID
	}
	if r.ContainerID != nil {
		e.ContainerID = *r.ContainerID
	}
	if len(r.Snapshot) > 0 {
		e.Snapshot = r.Snapshot
	}
	_ = json.Unmarshal(r.Changes, &e.Changes) // written by Append, always valid
	return e
}
