// Package eventlog is Rapport's one event log: appending events in the writer's transaction,
// publishing them (the relay assigns each organization's sequence numbers and wakes listeners), and
// fanning published events out to live subscribers (the hub). The change feed, the audit trail,
// subscriptions and later webhooks all read this log.
package eventlog

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
)

// Append writes events in the caller's transaction, so they exist exactly when the change commits.
// They are published (given a sequence number and delivered) by the relay after the commit. One
// event is a plain INSERT; several are one INSERT over arrays (a sweep appends thousands).
func Append(ctx context.Context, q *query.Queries, events ...crm.Event) error {
	if len(events) == 1 {
		r, err := row(events[0])
		if err != nil {
			return err
		}
		return q.AppendEvent(ctx, r)
	}
	p := query.AppendEventRowsParams{
		OrgIds: make([]crm.ID, len(events)), Ids: make([]crm.ID, len(events)), Types: make([]string, len(events)),
		RecordTypes: make([]string, len(events)), RecordIds: make([]crm.ID, len(events)),
		ActorKinds: make([]string, len(events)), ActorIds: make([]crm.ID, len(events)),
		OwnerIds: make([]string, len(events)), Changes: make([]string, len(events)),
		OccurredAts: make([]time.Time, len(events)), ContainerIds: make([]crm.ID, len(events)),
		Snapshots: make([]string, len(events)),
	}
	var owners strings.Builder
	for i, e := range events {
		changes, err := encodeChanges(e.Changes)
		if err != nil {
			return err
		}
		owners.Reset()
		owners.WriteByte('{')
		for j, o := range e.OwnerIDs {
			if j > 0 {
				owners.WriteByte(',')
			}
			owners.WriteString(o.String())
		}
		owners.WriteByte('}')
		p.OrgIds[i], p.Ids[i], p.Types[i], p.RecordTypes[i], p.RecordIds[i] = e.OrgID, e.ID, e.Type, e.RecordType, e.RecordID
		p.ActorKinds[i], p.ActorIds[i], p.OwnerIds[i], p.Changes[i] = string(e.ActorKind), e.ActorID, owners.String(), string(changes)
		p.OccurredAts[i], p.ContainerIds[i], p.Snapshots[i] = e.OccurredAt, e.ContainerID, string(e.Snapshot)
	}
	return q.AppendEventRows(ctx, p)
}

// row maps one event to the parameters of a single INSERT.
func row(e crm.Event) (query.AppendEventParams, error) {
	changes, err := encodeChanges(e.Changes)
	if err != nil {
		return query.AppendEventParams{}, err
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
	return query.AppendEventParams{
		OrgID: e.OrgID, ID: e.ID, Type: e.Type, RecordType: e.RecordType, RecordID: e.RecordID,
		ActorKind: string(e.ActorKind), ActorID: actor, OwnerIds: owners, Changes: changes,
		OccurredAt: e.OccurredAt, ContainerID: container, Snapshot: e.Snapshot,
	}, nil
}

func encodeChanges(cs []crm.FieldChange) ([]byte, error) {
	if cs == nil {
		return []byte("[]"), nil
	}
	b, err := json.Marshal(cs)
	if err != nil {
		return nil, fmt.Errorf("encode event changes: %w", err)
	}
	return b, nil
}

// FromRow maps a stored event and its sequence number (0: not yet published) to the domain type.
func FromRow(r query.Event, seq int64) crm.Event {
	e := crm.Event{
		ID: r.ID, OrgID: r.OrgID, Seq: seq, Type: r.Type, RecordType: r.RecordType, RecordID: r.RecordID,
		ActorKind: crm.ActorKind(r.ActorKind), OwnerIDs: r.OwnerIds, OccurredAt: r.OccurredAt,
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
