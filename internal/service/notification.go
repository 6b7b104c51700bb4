package service

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
)

// NotificationDelivery is a notification delivered live, with its position in the event log.
type NotificationDelivery struct {
	Seq          int64
	Notification crm.Notification
}

// notify puts a notification in a user's inbox in the writer's transaction and emits
// notification.created (seen only by the recipient), whose snapshot carries the notification so
// that live delivery needs no read. A non-empty dedupKey makes the call idempotent per user: the
// same key never notifies the same user twice. It reports whether a notification was created.
func (w *writer) notify(n crm.Notification, dedupKey string) (bool, error) {
	created, err := w.notifyAll([]crm.Notification{n}, []string{dedupKey})
	return created > 0, err
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

// inbox returns the user whose inbox the actor reads: notifications belong to users only.
func inbox(a *crm.Actor) (crm.ID, error) {
	if a == nil {
		return crm.NilID, authorize(a, "")
	}
	if a.Kind != crm.ActorUser {
		return crm.NilID, crm.Errorf(crm.EFORBIDDEN, "Only users have an inbox; sign in as a user to read notifications.")
	}
	return a.UserID, nil
}

// inboxOrder names the inbox order in its cursors.
const inboxOrder = "INBOX"

// NotificationCursor returns the position of a notification in its inbox.
func NotificationCursor(n crm.Notification) string {
	return encodeCursor(inboxOrder, n.CreatedAt.UTC().Format(time.RFC3339Nano), n.ID)
}

// ListNotifications returns a page of the actor's own inbox, newest first.
func (s *Service) ListNotifications(ctx context.Context, a *crm.Actor, unreadOnly bool, first int, after string) ([]crm.Notification, PageInfo, error) {
	user, err := inbox(a)
	if err != nil {
		return nil, PageInfo{}, err
	}
	if err := checkFirst(first); err != nil {
		return nil, PageInfo{}, err
	}
	params := query.ListNotificationsParams{OrgID: a.OrgID, UserID: user, UnreadOnly: unreadOnly, MaxRows: int32(first + 1)}
	if params.AfterAt, params.AfterID, err = timeCursor(after, inboxOrder); err != nil {
		return nil, PageInfo{}, err
	}
	var rows []query.Notification
	if err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.ListNotifications(ctx, params)
		return err
	}); err != nil {
		return nil, PageInfo{}, err
	}
	out := make([]crm.Notification, len(rows))
	for i, r := range rows {
		out[i] = notificationFromRow(r)
	}
	out, info := finishPage(out, first, false, Page{After: after}, NotificationCursor)
	return out, info, nil
}

// UnreadNotifications counts the unread notifications of the actor's inbox.
func (s *Service) UnreadNotifications(ctx context.Context, a *crm.Actor) (n int, err error) {
	user, err := inbox(a)
	if err != nil {
		return 0, err
	}
	err = s.read(ctx, a, func(q *query.Queries) error {
		c, err := q.CountUnreadNotifications(ctx, query.CountUnreadNotificationsParams{OrgID: a.OrgID, UserID: user})
		n = int(c)
		return err
	})
	return n, err
}

// Notifications returns the actor's own notifications with the given IDs, in the order of ids;
// others' and missing ones are zero Notifications.
func (s *Service) Notifications(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.Notification, error) {
	user, err := inbox(a)
	if err != nil {
		return nil, err
	}
	var rows []query.Notification
	err = s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.GetNotifications(ctx, query.GetNotificationsParams{OrgID: a.OrgID, UserID: user, Ids: ids})
		return err
	})
	out := make([]crm.Notification, len(rows))
	for i, r := range rows {
		out[i] = notificationFromRow(r)
	}
	return inOrder(out, ids, func(n crm.Notification) crm.ID { return n.ID }), err
}

// MarkNotificationsRead marks the actor's unread notifications with the given IDs read, or all of
// them when ids is nil. IDs of notifications that are not the actor's are ignored. It returns how
// many were marked and how many unread remain.
func (s *Service) MarkNotificationsRead(ctx context.Context, a *crm.Actor, ids []crm.ID) (marked, unread int, err error) {
	user, err := inbox(a)
	if err != nil {
		return 0, 0, err
	}
	if len(ids) > MaxPageSize {
		return 0, 0, crm.Invalid("ids", "Mark at most %d notifications at a time, or leave ids out to mark all.", MaxPageSize)
	}
	if ids != nil {
		ids = distinctIDs(ids)
	}
	err = s.write(ctx, a, func(w *writer) error {
		n, err := w.q.MarkNotificationsRead(w.ctx, query.MarkNotificationsReadParams{OrgID: a.OrgID, UserID: user, Ids: ids, Now: w.now})
		if err != nil {
			return err
		}
		c, err := w.q.CountUnreadNotifications(w.ctx, query.CountUnreadNotificationsParams{OrgID: a.OrgID, UserID: user})
		marked, unread = int(n), int(c)
		return err
	})
	return marked, unread, err
}

// SubscribeNotifications streams the actor's new notifications: first those created after the
// cursor (when given), then live ones, with no gap and no duplicate. Each carries its position in
// the event log. The stream ends when ctx ends.
func (s *Service) SubscribeNotifications(ctx context.Context, a *crm.Actor, after *string) (<-chan NotificationDelivery, error) {
	user, err := inbox(a)
	if err != nil {
		return nil, err
	}
	in, err := s.subscribe(ctx, a, after, func(e crm.Event) bool {
		return e.RecordType == crm.TypeNotification && e.Type == "notification.created"
	})
	if err != nil {
		return nil, err
	}
	out := make(chan NotificationDelivery)
	go func() {
		defer close(out)
		for e := range in {
			var n crm.Notification
			if json.Unmarshal(e.Snapshot, &n) != nil || n.UserID != user {
				continue
			}
			select {
			case out <- NotificationDelivery{Seq: e.Seq, Notification: n}:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

func notificationFromRow(r query.Notification) crm.Notification {
	return crm.Notification{ID: r.ID, OrgID: r.OrgID, UserID: r.UserID, Kind: r.Kind, Title: r.Title, Body: r.Body,
		RecordType: strOf(r.RecordType), RecordID: idOf(r.RecordID), CreatedAt: r.CreatedAt, ReadAt: r.ReadAt}
}
