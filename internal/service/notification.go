package service

import (
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
)

// notify puts a notification in a user's inbox in the writer's transaction and emits
// notification.created (seen only by the recipient), whose snapshot carries the notification so
// that live delivery needs no read. A non-empty dedupKey makes the call idempotent per user: the
// same key never notifies the same user twice. It reports whether a notification was created.
func (w *writer) notify(n crm.Notification, dedupKey string) (bool, error) {
	if n.UserID == crm.NilID {
		return false, nil
	}
	n.ID, n.OrgID, n.CreatedAt = crm.NewID(), w.actor.OrgID, w.now
	_, err := w.q.CreateNotification(w.ctx, query.CreateNotificationParams{
		OrgID: n.OrgID, ID: n.ID, UserID: n.UserID, Kind: n.Kind, Title: n.Title, Body: n.Body,
		RecordType: strOrNil(n.RecordType), RecordID: idOrNil(n.RecordID), DedupKey: strOrNil(dedupKey), Now: w.now,
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil // already notified under this key
	} else if err != nil {
		return false, err
	}
	w.emit("notification.created", crm.TypeNotification, n.ID, nil, n.UserID)
	w.events[len(w.events)-1].Snapshot = mustJSON(n) // decoded by the live delivery
	return true, nil
}
