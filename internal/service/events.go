package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/eventlog"
	"github.com/rapportcrm/rapport/internal/rules/access"
)

// recordTypes are the record types events name, for validating type filters.
var recordTypes = []string{crm.TypeAccount, crm.TypeContact, crm.TypeUser, crm.TypeTeam, crm.TypeOrganization, crm.TypeAPIKey,
	crm.TypePipeline, crm.TypeOpportunity, crm.TypeActivity, crm.TypeTask, crm.TypeNotification}

// EventCursor encodes an event's position in its organization's log.
func EventCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("seq:" + strconv.FormatInt(seq, 10)))
}

// parseEventCursor decodes an EventCursor; "" is the start of the log.
func parseEventCursor(field, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if rest, ok := strings.CutPrefix(string(b), "seq:"); err == nil && ok {
		if seq, err := strconv.ParseInt(rest, 10, 64); err == nil && seq >= 0 {
			return seq, nil
		}
	}
	return 0, crm.Invalid(field, "The cursor is not one this API returned; pass the cursor of the last event you received.")
}

// Changes returns up to first published events after the cursor, oldest first: the pull change
// feed for BI and partners. The end cursor advances past events the actor may not see, so paging
// always makes progress. There is no limit on how far back a client may start.
func (s *Service) Changes(ctx context.Context, a *crm.Actor, after string, types []string, first int) ([]crm.Event, PageInfo, error) {
	if err := authorize(a, access.ChangesRead); err != nil {
		return nil, PageInfo{}, err
	}
	from, err := parseEventCursor("after", after)
	if err != nil {
		return nil, PageInfo{}, err
	}
	if err := checkTypes(types); err != nil {
		return nil, PageInfo{}, err
	}
	if first <= 0 || first > MaxPageSize*10 {
		return nil, PageInfo{}, crm.Invalid("first", "first is between 1 and %d.", MaxPageSize*10)
	}
	var events []crm.Event
	info := PageInfo{HasPreviousPage: from > 0, StartCursor: after, EndCursor: after}
	err = s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.EventsAfter(ctx, query.EventsAfterParams{OrgID: a.OrgID, AfterSeq: from, UntilSeq: math.MaxInt64,
			RecordTypes: nonNil(types), MaxEvents: int32(first)})
		if err != nil {
			return err
		}
		see, err := s.eventFilter(ctx, q, a)
		if err != nil {
			return err
		}
		for _, r := range rows {
			e := eventlog.FromRow(r.Event, r.Seq)
			if see(e) {
				events = append(events, maskEvent(a, e))
			}
		}
		if len(rows) > 0 {
			info.EndCursor = EventCursor(rows[len(rows)-1].Seq)
			info.HasNextPage = len(rows) == first
		}
		return nil
	})
	return events, info, err
}

// AuditTrail returns who changed what and when on a record (and on records merged into it),
// oldest first, including events not yet published to the feed.
func (s *Service) AuditTrail(ctx context.Context, a *crm.Actor, recordType string, id crm.ID, after string, first int) ([]crm.Event, PageInfo, error) {
	if err := authorize(a, access.AuditRead); err != nil {
		return nil, PageInfo{}, err
	}
	if first <= 0 || first > MaxPageSize {
		return nil, PageInfo{}, crm.Invalid("first", "first is between 1 and %d.", MaxPageSize)
	}
	afterID := crm.NilID
	if after != "" {
		c, err := decodeCursor("after", after, "AUDIT")
		if err != nil {
			return nil, PageInfo{}, err
		}
		afterID = c.ID
	}
	ids := []crm.ID{id}
	var err error
	switch recordType {
	case crm.TypeAccount:
		_, err = s.Account(ctx, a, id)
	case crm.TypeContact:
		_, err = s.Contact(ctx, a, id)
	default:
		if access.Scope(a) != access.ScopeAll || !access.Allows(a, access.UsersWrite) {
			err = crm.Errorf(crm.EFORBIDDEN, "Only administrators read the audit trail of %s records.", recordType)
		}
	}
	if err != nil {
		return nil, PageInfo{}, err
	}
	var events []crm.Event
	info := PageInfo{HasPreviousPage: after != ""}
	err = s.read(ctx, a, func(q *query.Queries) error {
		var merged []crm.ID
		var err error
		switch recordType {
		case crm.TypeAccount:
			merged, err = q.MergedAccountIDs(ctx, query.MergedAccountIDsParams{OrgID: a.OrgID, ID: &id})
		case crm.TypeContact:
			merged, err = q.MergedContactIDs(ctx, query.MergedContactIDsParams{OrgID: a.OrgID, ID: &id})
		}
		if err != nil {
			return err
		}
		rows, err := q.RecordEvents(ctx, query.RecordEventsParams{OrgID: a.OrgID, RecordIds: append(ids, merged...),
			AfterID: afterID, MaxEvents: int32(first + 1)})
		if err != nil {
			return err
		}
		if len(rows) > first {
			rows, info.HasNextPage = rows[:first], true
		}
		for _, r := range rows {
			events = append(events, maskEvent(a, eventlog.FromRow(r.Event, r.Seq)))
		}
		return nil
	})
	if len(events) > 0 {
		info.StartCursor = encodeCursor("AUDIT", "", events[0].ID)
		info.EndCursor = encodeCursor("AUDIT", "", events[len(events)-1].ID)
	}
	return events, info, err
}

// AuditCursor returns the cursor of an audit-trail entry.
func AuditCursor(e crm.Event) string { return encodeCursor("AUDIT", "", e.ID) }

// Subscribe streams the organization's events of the given record types (all when empty) that
// the actor may see: first those after the cursor (when given), then live ones, with no gap and no
// duplicate. The stream ends when ctx ends.
func (s *Service) Subscribe(ctx context.Context, a *crm.Actor, types []string, after *string) (<-chan crm.Event, error) {
	if err := authorize(a, access.ChangesRead); err != nil {
		return nil, err
	}
	if err := checkTypes(types); err != nil {
		return nil, err
	}
	return s.subscribe(ctx, a, after, func(e crm.Event) bool { return len(types) == 0 || contains(types, e.RecordType) })
}

// subscribe streams, masked, the events after the cursor (or from now on) that the actor may see
// and keep accepts.
func (s *Service) subscribe(ctx context.Context, a *crm.Actor, after *string, keep func(crm.Event) bool) (<-chan crm.Event, error) {
	if s.hub == nil {
		return nil, crm.Errorf(crm.EINTERNAL, "This process does not serve subscriptions.")
	}
	var from *int64
	if after != nil {
		seq, err := parseEventCursor("after", *after)
		if err != nil {
			return nil, err
		}
		from = &seq
	}
	var see func(crm.Event) bool
	if err := s.read(ctx, a, func(q *query.Queries) (err error) {
		see, err = s.eventFilter(ctx, q, a)
		return err
	}); err != nil {
		return nil, err
	}
	in, err := s.hub.Subscribe(ctx, a.OrgID, from, func(e crm.Event) bool { return keep(e) && see(e) })
	if err != nil {
		return nil, err
	}
	out := make(chan crm.Event)
	go func() {
		defer close(out)
		for e := range in {
			select {
			case out <- maskEvent(a, e):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// eventFilter returns which events the actor may see: events of owned records (accounts, contacts,
// deals, activities, tasks) they may see by the record's owners before and after the change;
// notifications only by their recipient; pipelines by everyone who reads deals; and events of
// organization records (users, teams, settings, API keys) only for administrators. The visibility
// closure is read once.
func (s *Service) eventFilter(ctx context.Context, q *query.Queries, a *crm.Actor) (func(crm.Event) bool, error) {
	visible := map[crm.ID]struct{}{}
	if access.Scope(a) == access.ScopeVisible {
		owners, err := q.VisibleOwners(ctx, query.VisibleOwnersParams{OrgID: a.OrgID, ViewerID: a.UserID})
		if err != nil {
			return nil, err
		}
		for _, o := range owners {
			visible[o] = struct{}{}
		}
	}
	admin := access.Scope(a) == access.ScopeAll && access.Allows(a, access.UsersWrite)
	return func(e crm.Event) bool {
		if p, ok := readPermission[e.RecordType]; ok && !access.Allows(a, p) {
			return false
		}
		switch e.RecordType {
		case crm.TypeNotification:
			return a.Kind == crm.ActorUser && containsID(e.OwnerIDs, a.UserID)
		case crm.TypeLeadImport: // its uploader's, as LeadImports
			return access.Allows(a, access.LeadsRead) && (importOwner(a) == nil || containsID(e.OwnerIDs, a.UserID))
		case crm.TypePipeline:
			return access.Allows(a, access.DealsRead)
		case crm.TypeAccount, crm.TypeContact, crm.TypeOpportunity, crm.TypeActivity, crm.TypeTask, crm.TypeLead:
			if len(e.OwnerIDs) == 0 {
				return access.Visible(a, crm.NilID, visible)
			}
			for _, o := range e.OwnerIDs {
				if access.Visible(a, o, visible) {
					return true
				}
			}
			return false
		}
		return admin
	}, nil
}

// readPermission is the permission needed to see events of an owned record type.
var readPermission = map[string]access.Permission{
	crm.TypeAccount: access.AccountsRead, crm.TypeContact: access.ContactsRead, crm.TypeOpportunity: access.DealsRead,
	crm.TypeActivity: access.ActivitiesRead, crm.TypeTask: access.ActivitiesRead, crm.TypeLead: access.LeadsRead,
}

// maskEvent hides sensitive values in an event's changes from actors without the pii permission.
func maskEvent(a *crm.Actor, e crm.Event) crm.Event {
	if access.Allows(a, access.PII) {
		return e
	}
	changes := make([]crm.FieldChange, len(e.Changes))
	for i, c := range e.Changes {
		if access.Sensitive(e.RecordType, c.Field) {
			c.Before, c.After = maskJSON(c.Before), maskJSON(c.After)
		}
		changes[i] = c
	}
	e.Changes = changes
	return e
}

// maskJSON masks every string in a JSON value (a phone, an e-mail, or a list of them).
func maskJSON(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return nil
	}
	var mask func(any) any
	mask = func(v any) any {
		switch x := v.(type) {
		case string:
			if strings.Contains(x, "@") {
				return access.MaskEmail(x)
			}
			return access.MaskPhone(x)
		case []any:
			for i := range x {
				x[i] = mask(x[i])
			}
		}
		return v
	}
	return mustJSON(mask(v))
}

func checkTypes(types []string) error {
	for _, t := range types {
		if !contains(recordTypes, t) {
			return crm.Invalid("types", "Unknown record type %q; use one of %s.", t, strings.Join(recordTypes, ", "))
		}
	}
	return nil
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
