package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
)

// sweepBatch is how many rows one sweep transaction changes: small enough that each transaction
// holds its row locks for milliseconds, large enough that 200,000 rows take a few hundred
// transactions.
const sweepBatch = 1000

// forEachOrganization runs sweep for every organization as that organization's system actor and
// adds up what it changed. A failing organization does not stop the others; their errors are
// returned together.
func (s *Service) forEachOrganization(ctx context.Context, name string, sweep func(context.Context, *crm.Actor) (int, error)) (int, error) {
	var ids []crm.ID
	if err := db.AsSystem(ctx, s.pool, func(tx pgx.Tx) (err error) {
		ids, err = query.New(tx).ListOrganizationIDs(ctx)
		return err
	}); err != nil {
		return 0, err
	}
	total := 0
	var errs []error
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := sweep(ctx, crm.SystemActor(id))
		total += n
		if err != nil {
			errs = append(errs, fmt.Errorf("%s in organization %s: %w", name, id, err))
		}
	}
	return total, errors.Join(errs...)
}

// notifyAll is notify for many notifications in one statement: each one whose recipient already
// has its dedup key is skipped; the others land in the inbox with a notification.created event.
// Notifications without a recipient are ignored. It returns how many were created.
func (w *writer) notifyAll(ns []crm.Notification, dedupKeys []string) (int, error) {
	p := query.CreateNotificationsParams{OrgID: w.actor.OrgID, Now: w.now}
	for i := range ns {
		n := &ns[i]
		if n.UserID == crm.NilID {
			continue
		}
		n.ID, n.OrgID, n.CreatedAt = crm.NewID(), w.actor.OrgID, w.now
		p.Ids = append(p.Ids, n.ID)
		p.UserIds = append(p.UserIds, n.UserID)
		p.Kinds = append(p.Kinds, n.Kind)
		p.Titles = append(p.Titles, n.Title)
		p.Bodies = append(p.Bodies, n.Body)
		p.RecordTypes = append(p.RecordTypes, n.RecordType)
		p.RecordIds = append(p.RecordIds, n.RecordID)
		p.DedupKeys = append(p.DedupKeys, dedupKeys[i])
	}
	if len(p.Ids) == 0 {
		return 0, nil
	}
	created, err := w.q.CreateNotifications(w.ctx, p)
	if err != nil {
		return 0, err
	}
	made := make(map[crm.ID]bool, len(created))
	for _, id := range created {
		made[id] = true
	}
	for _, n := range ns {
		if n.UserID == crm.NilID || !made[n.ID] {
			continue
		}
		w.emit("notification.created", crm.TypeNotification, n.ID, nil, n.UserID)
		w.events[len(w.events)-1].Snapshot = mustJSON(n) // decoded by the live delivery
	}
	return len(created), nil
}
