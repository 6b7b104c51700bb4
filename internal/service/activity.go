package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/followup"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
)

// maxParticipants bounds the users and the contacts who took part in one activity.
const maxParticipants = 50

// ActivityInput is an activity to log on a record.
type ActivityInput struct {
	Type                  crm.ActivityType
	RecordType            string // Lead, Contact, Account or Opportunity
	RecordID              crm.ID
	Subject               string
	Body                  string
	Direction             string // "inbound", "outbound" or "" (calls and e-mails only)
	DurationSeconds       *int32
	Outcome               string
	OccurredAt            *time.Time  // nil: now
	OwnerID               Opt[crm.ID] // unset: the logging user
	ParticipantUserIDs    []crm.ID
	ParticipantContactIDs []crm.ID
	IdempotencyKey        string
}

// LogActivity logs a call, meeting, e-mail or note on a contact, account or deal the actor sees.
// In the same transaction it moves the deal's last-activity clock (ending its stale period) and
// the follow-up clock of the account concerned (the record itself, the contact's account or the
// deal's account); neither is an edit of that record, so their versions stay. The activity.logged
// event is visible to the viewers of the activity's owner and of the record's owner.
func (s *Service) LogActivity(ctx context.Context, a *crm.Actor, in ActivityInput) (act crm.Activity, replayed bool, err error) {
	if err := authorize(a, access.ActivitiesWrite); err != nil {
		return act, false, err
	}
	now := s.now()
	act = crm.Activity{OrgID: a.OrgID, Type: in.Type, Subject: in.Subject, Body: in.Body, Direction: in.Direction,
		DurationSeconds: in.DurationSeconds, Outcome: in.Outcome, OccurredAt: now, RecordType: in.RecordType,
		RecordID: in.RecordID, OwnerID: in.OwnerID.apply(defaultOwner(a)),
		ParticipantUserIDs: distinctIDs(in.ParticipantUserIDs), ParticipantContactIDs: distinctIDs(in.ParticipantContactIDs)}
	if in.OccurredAt != nil {
		act.OccurredAt = in.OccurredAt.UTC().Truncate(time.Microsecond)
	}
	if err := normalizeActivity(&act, now); err != nil {
		return act, false, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		id, again, err := w.idempotent(in.IdempotencyKey, "logActivity", in, s.cfg.IdempotencyTTL, func(id crm.ID) error {
			act.ID = id
			return w.logActivity(&act, in.OwnerID.Set)
		})
		if err != nil || !again {
			return err
		}
		replayed = true
		acts, err := w.q.GetActivities(w.ctx, query.GetActivitiesParams{OrgID: a.OrgID, Ids: []crm.ID{id}, ViewerID: viewer(a)})
		if err != nil || len(acts) == 0 {
			return errors.Join(err, crm.NotFound("activity", id))
		}
		act = activityFromRow(acts[0])
		return nil
	})
	return act, replayed, err
}

// logActivity checks an activity's references, inserts it, moves the clocks of the records it
// concerns and emits activity.logged.
func (w *writer) logActivity(act *crm.Activity, explicitOwner bool) error {
	ref, err := w.recordRef("recordId", act.RecordType, act.RecordID)
	if err != nil {
		return err
	}
	if err := w.checkOwner(act.OwnerID, explicitOwner); err != nil {
		return err
	}
	if err := w.checkParticipants(act.ParticipantUserIDs, act.ParticipantContactIDs); err != nil {
		return err
	}
	act.CreatedAt, act.UpdatedAt, act.Version = w.now, w.now, 1
	if err := w.q.CreateActivity(w.ctx, query.CreateActivityParams{
		OrgID: act.OrgID, ID: act.ID, Type: string(act.Type), Subject: act.Subject, Body: act.Body,
		Direction: strOrNil(act.Direction), DurationSeconds: act.DurationSeconds, Outcome: act.Outcome,
		OccurredAt: act.OccurredAt, RecordType: act.RecordType, RecordID: act.RecordID, OwnerID: idOrNil(act.OwnerID),
		ParticipantUserIds: nonNilIDs(act.ParticipantUserIDs), ParticipantContactIds: nonNilIDs(act.ParticipantContactIDs),
		Now: w.now,
	}); err != nil {
		return err
	}
	if act.RecordType == crm.TypeOpportunity {
		if err := w.q.TouchOpportunityActivity(w.ctx, query.TouchOpportunityActivityParams{
			OrgID: act.OrgID, ID: act.RecordID, OccurredAt: act.OccurredAt}); err != nil {
			return err
		}
	}
	if act.RecordType == crm.TypeLead && act.Type != crm.ActivityNote {
		// A call, e-mail or meeting is the first touch the lead's SLA waits for.
		if err := w.leadContacted(act.RecordID, act.OccurredAt); err != nil {
			return err
		}
	}
	if ref.AccountID != crm.NilID {
		if err := w.q.TouchAccountActivity(w.ctx, query.TouchAccountActivityParams{
			OrgID: act.OrgID, ID: ref.AccountID, OccurredAt: act.OccurredAt}); err != nil {
			return err
		}
	}
	w.emit("activity.logged", crm.TypeActivity, act.ID, diff(nil, activityFields(*act)), act.OwnerID, ref.OwnerID)
	return nil
}

// checkParticipants verifies that participant users belong to the organization and that
// participant contacts exist and are visible to the actor.
func (w *writer) checkParticipants(users, contacts []crm.ID) error {
	if len(users) > 0 {
		rows, err := w.q.GetUsers(w.ctx, query.GetUsersParams{OrgID: w.actor.OrgID, Ids: users})
		if err != nil {
			return err
		}
		if len(rows) != len(users) {
			return crm.Invalid("participantUserIds", "Every participant user must be a user of this organization.")
		}
	}
	if len(contacts) > 0 {
		rows, err := w.q.GetContacts(w.ctx, query.GetContactsParams{OrgID: w.actor.OrgID, Ids: contacts, ViewerID: viewer(w.actor)})
		if err != nil {
			return err
		}
		if len(rows) != len(contacts) {
			return crm.Invalid("participantContactIds", "Every participant contact must be a contact you can see.")
		}
	}
	return nil
}

// recordRef is what activities and tasks need of the record they hang off.
type recordRef struct {
	OwnerID   crm.ID
	AccountID crm.ID // the account itself, the contact's account or the deal's account
	Name      string
	Deleted   bool
	Moved     string // why nothing more may be written on it (a converted or merged lead), if so
}

// lookupRecord finds a lead, contact, account or deal the actor sees. found is false when it does not
// exist or is invisible; an unsupported type is an EINVALID error on field.
func lookupRecord(ctx context.Context, q *query.Queries, a *crm.Actor, field, typ string, id crm.ID) (ref recordRef, found bool, err error) {
	switch typ {
	case crm.TypeAccount:
		rows, err := q.GetAccounts(ctx, query.GetAccountsParams{OrgID: a.OrgID, Ids: []crm.ID{id}, ViewerID: viewer(a)})
		if err != nil || len(rows) == 0 {
			return ref, false, err
		}
		r := rows[0]
		return recordRef{OwnerID: idOf(r.OwnerID), AccountID: r.ID, Name: r.Name, Deleted: r.DeletedAt != nil}, true, nil
	case crm.TypeContact:
		rows, err := q.GetContacts(ctx, query.GetContactsParams{OrgID: a.OrgID, Ids: []crm.ID{id}, ViewerID: viewer(a)})
		if err != nil || len(rows) == 0 {
			return ref, false, err
		}
		r := rows[0]
		return recordRef{OwnerID: idOf(r.OwnerID), AccountID: idOf(r.AccountID), Name: r.Name, Deleted: r.DeletedAt != nil}, true, nil
	case crm.TypeOpportunity:
		if err := authorize(a, access.DealsRead); err != nil {
			return ref, false, err
		}
		rows, err := q.GetOpportunities(ctx, query.GetOpportunitiesParams{OrgID: a.OrgID, Ids: []crm.ID{id}, ViewerID: viewer(a)})
		if err != nil || len(rows) == 0 {
			return ref, false, err
		}
		r := rows[0]
		return recordRef{OwnerID: idOf(r.OwnerID), AccountID: r.AccountID, Name: r.Name, Deleted: r.DeletedAt != nil}, true, nil
	case crm.TypeLead:
		if err := authorize(a, access.LeadsRead); err != nil {
			return ref, false, err
		}
		rows, err := q.LeadsByID(ctx, query.LeadsByIDParams{OrgID: a.OrgID, Ids: []crm.ID{id}, ViewerID: viewer(a)})
		if err != nil || len(rows) == 0 {
			return ref, false, err
		}
		r := rows[0]
		ref = recordRef{OwnerID: idOf(r.OwnerID), Name: r.Name, Deleted: r.DeletedAt != nil}
		switch {
		case r.ContactID != nil && r.Status == string(crm.LeadConverted):
			ref.Moved = fmt.Sprintf("The lead %q was converted; its history is on contact %s now.", r.Name, crm.GlobalID(crm.TypeContact, *r.ContactID))
		case r.MergedIntoID != nil:
			ref.Moved = fmt.Sprintf("The lead %q was merged into lead %s.", r.Name, crm.GlobalID(crm.TypeLead, *r.MergedIntoID))
		}
		return ref, true, nil
	}
	return ref, false, crm.Invalid(field, "Activities and tasks hang off a lead, a contact, an account or an opportunity, not a %s.", typ)
}

// recordRef returns a live record the actor sees, for a reference written into another record.
func (w *writer) recordRef(field, typ string, id crm.ID) (recordRef, error) {
	ref, found, err := lookupRecord(w.ctx, w.q, w.actor, field, typ, id)
	if err != nil {
		return ref, err
	}
	if !found {
		return ref, crm.Invalid(field, "%s %s does not exist or you cannot see it.", typ, id)
	}
	if ref.Deleted {
		return ref, crm.Invalid(field, "The %s %q is deleted; restore it first.", typ, ref.Name)
	}
	if ref.Moved != "" {
		return ref, crm.Invalid(field, "%s", ref.Moved)
	}
	return ref, nil
}

// Activities returns the activities with the given IDs that the actor may see, in the order of ids;
// missing or invisible ones are zero Activities (for batched lookups and node(id:)).
func (s *Service) Activities(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.Activity, error) {
	if err := authorize(a, access.ActivitiesRead); err != nil {
		return nil, err
	}
	var rows []query.Activity
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.GetActivities(ctx, query.GetActivitiesParams{OrgID: a.OrgID, Ids: ids, ViewerID: viewer(a)})
		return err
	})
	acts := make([]crm.Activity, len(rows))
	for i, r := range rows {
		acts[i] = activityFromRow(r)
	}
	return inOrder(acts, ids, func(x crm.Activity) crm.ID { return x.ID }), err
}

// timelineOrder names the timeline's order in its cursors.
const timelineOrder = "TIMELINE"

// ActivityCursor returns the position of an activity in a timeline.
func ActivityCursor(x crm.Activity) string {
	return encodeCursor(timelineOrder, x.OccurredAt.UTC().Format(time.RFC3339Nano), x.ID)
}

// Timeline returns a page of the activities of a record the actor sees, newest first: an
// account's include those of its contacts and deals, a contact's those of the deals it takes part
// in, each only when the actor sees that related record. A record the actor does not see is
// ENOTFOUND.
func (s *Service) Timeline(ctx context.Context, a *crm.Actor, typ string, id crm.ID, types []crm.ActivityType, first int, after string) ([]crm.Activity, PageInfo, error) {
	if err := authorize(a, access.ActivitiesRead); err != nil {
		return nil, PageInfo{}, err
	}
	if err := checkFirst(first); err != nil {
		return nil, PageInfo{}, err
	}
	params := query.TimelineParams{OrgID: a.OrgID, RecordType: typ, RecordID: id, ViewerID: viewer(a),
		WithDeals: access.Allows(a, access.DealsRead), Types: make([]string, len(types)), MaxRows: int32(first + 1)}
	for i, t := range types {
		params.Types[i] = string(t)
	}
	var err error
	if params.AfterAt, params.AfterID, err = timeCursor(after, timelineOrder); err != nil {
		return nil, PageInfo{}, err
	}
	var rows []query.Activity
	err = s.read(ctx, a, func(q *query.Queries) error {
		_, found, err := lookupRecord(ctx, q, a, "recordId", typ, id)
		if err != nil {
			return err
		}
		if !found {
			return crm.NotFound(typ, id)
		}
		rows, err = q.Timeline(ctx, params)
		return err
	})
	if err != nil {
		return nil, PageInfo{}, err
	}
	acts := make([]crm.Activity, len(rows))
	for i, r := range rows {
		acts[i] = activityFromRow(r)
	}
	acts, info := finishPage(acts, first, false, Page{After: after}, ActivityCursor)
	return acts, info, nil
}

// normalizeActivity validates and normalizes an activity's own fields in place.
func normalizeActivity(x *crm.Activity, now time.Time) (err error) {
	if err := followup.CheckActivity(*x, now); err != nil {
		return err
	}
	if x.Subject, err = normalize.Text("subject", x.Subject, 300); err != nil {
		return err
	}
	if x.Body, err = normalize.Note("body", x.Body, 20000); err != nil {
		return err
	}
	if x.Outcome, err = normalize.Text("outcome", x.Outcome, 200); err != nil {
		return err
	}
	if len(x.ParticipantUserIDs) > maxParticipants {
		return crm.Invalid("participantUserIds", "At most %d participant users.", maxParticipants)
	}
	if len(x.ParticipantContactIDs) > maxParticipants {
		return crm.Invalid("participantContactIds", "At most %d participant contacts.", maxParticipants)
	}
	return nil
}

func activityFromRow(r query.Activity) crm.Activity {
	return crm.Activity{
		ID: r.ID, OrgID: r.OrgID, Type: crm.ActivityType(r.Type), Subject: r.Subject, Body: r.Body,
		Direction: strOf(r.Direction), DurationSeconds: r.DurationSeconds, Outcome: r.Outcome, OccurredAt: r.OccurredAt,
		RecordType: r.RecordType, RecordID: r.RecordID, OwnerID: idOf(r.OwnerID),
		ParticipantUserIDs: r.ParticipantUserIds, ParticipantContactIDs: r.ParticipantContactIds,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DeletedAt: r.DeletedAt, Version: r.Version,
	}
}

// activityFields are the activity's fields as events show them.
func activityFields(x crm.Activity) fields {
	return fields{
		"type": x.Type, "subject": x.Subject, "body": x.Body, "direction": x.Direction,
		"durationSeconds": x.DurationSeconds, "outcome": x.Outcome, "occurredAt": x.OccurredAt,
		"recordType": x.RecordType, "recordId": x.RecordID, "ownerId": idOrNil(x.OwnerID),
		"participantUserIds": x.ParticipantUserIDs, "participantContactIds": x.ParticipantContactIDs,
	}
}

// distinctIDs drops repeated and nil IDs, keeping the first occurrence's order.
func distinctIDs(ids []crm.ID) []crm.ID {
	out := make([]crm.ID, 0, len(ids))
	for _, id := range ids {
		if id != crm.NilID && !containsID(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func nonNilIDs(ids []crm.ID) []crm.ID {
	if ids == nil {
		return []crm.ID{}
	}
	return ids
}
