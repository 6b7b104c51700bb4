package service

import (
	"context"
	"encoding/json"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
	"github.com/rapportcrm/rapport/internal/rules/scoring"
)

// MaxTrackBatch is how many behaviour events one trackLeadActivity call takes.
const MaxTrackBatch = 500

// Limits of a behaviour event.
const (
	maxEventURL        = 2048
	maxVisitorID       = 255
	maxEventProperties = 4096
	maxEventFuture     = 24 * time.Hour // clocks of trackers drift, but not by days
)

// LeadActivityInput is one behaviour event of a lead: its type, URL and time, an idempotency key,
// and the lead by ID, by e-mail or by an anonymous visitor id (the first one given wins; a visitor id
// sent along with a lead ID or e-mail identifies the visitor as that lead).
type LeadActivityInput struct {
	Type           scoring.EventType
	URL            string
	OccurredAt     time.Time
	IdempotencyKey string
	LeadID         crm.ID
	Email          string
	VisitorID      string
	Properties     json.RawMessage
}

// TrackOutcome says what became of a tracked event.
type TrackOutcome string

// Track outcomes.
const (
	TrackRecorded  TrackOutcome = "recorded"  // stored now
	TrackDuplicate TrackOutcome = "duplicate" // its idempotency key was seen before: nothing stored
)

// TrackResult is the result of one tracked event: the stored event (and its lead, NilID while the
// visitor is anonymous), or why it was refused.
type TrackResult struct {
	EventID crm.ID
	LeadID  crm.ID
	Outcome TrackOutcome
	Err     error
}

// TrackLeadActivity records behaviour events (users and API keys with leads:write), up to
// MaxTrackBatch per call, each with its own result: a bad event is refused alone, a repeated
// idempotency key is reported as a duplicate and stores nothing. The events are inserted with one
// statement, and one ScoreLeads job for the leads they concern is enqueued in the same transaction.
func (s *Service) TrackLeadActivity(ctx context.Context, a *crm.Actor, ins []LeadActivityInput) ([]TrackResult, error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return nil, err
	}
	if len(ins) == 0 {
		return nil, crm.Invalid("events", "Send at least one event.")
	}
	if len(ins) > MaxTrackBatch {
		return nil, crm.Invalid("events", "Send at most %d events per call; this call has %d.", MaxTrackBatch, len(ins))
	}
	var out []TrackResult
	err := s.write(ctx, a, func(w *writer) (err error) {
		out, err = w.trackLeadActivity(ins)
		return err
	})
	return out, err
}

type trackItem struct {
	in    LeadActivityInput
	email string
	lead  crm.ID
}

func (w *writer) trackLeadActivity(ins []LeadActivityInput) ([]TrackResult, error) {
	org := w.actor.OrgID
	out := make([]TrackResult, len(ins))
	items := make([]trackItem, len(ins))
	var leadIDs []crm.ID
	var emails []string
	for i, in := range ins {
		it, err := w.normalizeActivity(in)
		if err != nil {
			out[i].Err = err
			continue
		}
		items[i] = it
		if it.in.LeadID != crm.NilID {
			leadIDs = append(leadIDs, it.in.LeadID)
		} else if it.email != "" {
			emails = append(emails, it.email)
		}
	}

	// Resolve leads by ID (a merged lead's behaviour goes to the survivor) and by e-mail, among the
	// leads the actor sees.
	byID := map[crm.ID]crm.ID{}
	if len(leadIDs) > 0 {
		rows, err := w.q.LiveLeads(w.ctx, query.LiveLeadsParams{OrgID: org, Ids: leadIDs, ViewerID: viewer(w.actor)})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			byID[r.ID] = r.TargetID
		}
	}
	byEmail := map[string]crm.ID{}
	if len(emails) > 0 {
		rows, err := w.q.LeadsByEmail(w.ctx, query.LeadsByEmailParams{OrgID: org, Emails: emails, ViewerID: viewer(w.actor)})
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			byEmail[r.Email] = r.ID
		}
	}
	links := map[crm.ID][]string{}
	var anonymous []string
	for i := range items {
		it := &items[i]
		if out[i].Err != nil {
			continue
		}
		switch {
		case it.in.LeadID != crm.NilID:
			if it.lead = byID[it.in.LeadID]; it.lead == crm.NilID {
				out[i].Err = crm.NotFound("lead", it.in.LeadID)
				continue
			}
		case it.email != "":
			if it.lead = byEmail[it.email]; it.lead == crm.NilID {
				out[i].Err = crm.Invalid("email", "No lead has the e-mail %s: capture the lead first, or send a visitor id.", it.email)
				continue
			}
		default:
			anonymous = append(anonymous, it.in.VisitorID)
			continue
		}
		if it.in.VisitorID != "" {
			links[it.lead] = append(links[it.lead], it.in.VisitorID)
		}
	}

	touched := map[crm.ID]bool{}
	for lead, visitors := range links {
		n, err := w.attachVisitors(lead, visitors)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			touched[lead] = true
		}
	}
	// Anonymous events of visitors identified before (or just now) belong to their lead.
	if len(anonymous) > 0 {
		rows, err := w.q.VisitorLeads(w.ctx, query.VisitorLeadsParams{OrgID: org, VisitorIds: anonymous})
		if err != nil {
			return nil, err
		}
		known := make(map[string]crm.ID, len(rows))
		for _, r := range rows {
			known[r.VisitorID] = r.LeadID
		}
		for i := range items {
			if out[i].Err == nil && items[i].lead == crm.NilID {
				items[i].lead = known[items[i].in.VisitorID]
			}
		}
	}

	// One INSERT for every event; a key repeated within the call is inserted once.
	var p query.InsertLeadEventsParams
	first := map[string]int{}
	for i, it := range items {
		if out[i].Err != nil {
			continue
		}
		if _, dup := first[it.in.IdempotencyKey]; dup {
			continue
		}
		first[it.in.IdempotencyKey] = i
		out[i].EventID, out[i].LeadID = crm.NewID(), it.lead
		props := it.in.Properties
		if len(props) == 0 {
			props = json.RawMessage("{}")
		}
		p.Ids = append(p.Ids, out[i].EventID)
		p.LeadIds = append(p.LeadIds, it.lead)
		p.VisitorIds = append(p.VisitorIds, it.in.VisitorID)
		p.Types = append(p.Types, string(it.in.Type))
		p.Urls = append(p.Urls, it.in.URL)
		p.OccurredAts = append(p.OccurredAts, it.in.OccurredAt)
		p.Keys = append(p.Keys, it.in.IdempotencyKey)
		p.Properties = append(p.Properties, props)
	}
	inserted := map[string]bool{}
	if len(p.Ids) > 0 {
		p.OrgID, p.Now = org, w.now
		keys, err := w.q.InsertLeadEvents(w.ctx, p)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			inserted[k] = true
		}
	}
	var repeated []string
	for i, it := range items {
		if out[i].Err != nil {
			continue
		}
		if first[it.in.IdempotencyKey] == i && inserted[it.in.IdempotencyKey] {
			out[i].Outcome = TrackRecorded
			if it.lead != crm.NilID {
				touched[it.lead] = true
			}
			continue
		}
		out[i].Outcome = TrackDuplicate
		repeated = append(repeated, it.in.IdempotencyKey)
	}
	if len(repeated) > 0 {
		rows, err := w.q.LeadEventsByKey(w.ctx, query.LeadEventsByKeyParams{OrgID: org, Keys: repeated})
		if err != nil {
			return nil, err
		}
		prior := make(map[string]query.LeadEventsByKeyRow, len(rows))
		for _, r := range rows {
			prior[r.IdempotencyKey] = r
		}
		for i, it := range items {
			if out[i].Err == nil && out[i].Outcome == TrackDuplicate {
				r := prior[it.in.IdempotencyKey]
				out[i].EventID, out[i].LeadID = r.ID, crm.NilID
				if r.LeadID != nil {
					out[i].LeadID = *r.LeadID
				}
			}
		}
	}
	return out, w.enqueueScoring(touched)
}

// normalizeActivity checks one event; errors name the field at fault.
func (w *writer) normalizeActivity(in LeadActivityInput) (trackItem, error) {
	it := trackItem{in: in}
	if !in.Type.Valid() {
		return it, crm.Invalid("type", "Unknown event type %q.", in.Type)
	}
	key := strings.TrimSpace(in.IdempotencyKey)
	if key == "" || len(key) > maxIdempotencyKey {
		return it, crm.Invalid("idempotencyKey", "Every event needs an idempotency key of 1 to %d characters.", maxIdempotencyKey)
	}
	it.in.IdempotencyKey = key
	it.in.URL = strings.TrimSpace(in.URL)
	if len(it.in.URL) > maxEventURL || !utf8.ValidString(it.in.URL) {
		return it, crm.Invalid("url", "The URL must be UTF-8 of at most %d bytes.", maxEventURL)
	}
	if in.OccurredAt.IsZero() {
		return it, crm.Invalid("occurredAt", "Send when the event happened.")
	}
	if in.OccurredAt.After(w.now.Add(maxEventFuture)) {
		return it, crm.Invalid("occurredAt", "The event's time %s lies in the future.", in.OccurredAt.UTC().Format(time.RFC3339))
	}
	it.in.OccurredAt = in.OccurredAt.UTC().Truncate(time.Microsecond)
	it.in.VisitorID = strings.TrimSpace(in.VisitorID)
	if len(it.in.VisitorID) > maxVisitorID || !utf8.ValidString(it.in.VisitorID) {
		return it, crm.Invalid("visitorId", "A visitor id is UTF-8 of at most %d bytes.", maxVisitorID)
	}
	if len(in.Properties) > maxEventProperties {
		return it, crm.Invalid("properties", "Event properties take at most %d bytes of JSON.", maxEventProperties)
	}
	if len(in.Properties) > 0 {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(in.Properties, &obj); err != nil || obj == nil {
			return it, crm.Invalid("properties", "Event properties must be a JSON object.")
		}
	}
	if in.LeadID == crm.NilID && strings.TrimSpace(in.Email) != "" {
		email, err := normalize.Email("email", in.Email)
		if err != nil {
			return it, err
		}
		it.email = email
	}
	if in.LeadID == crm.NilID && it.email == "" && it.in.VisitorID == "" {
		return it, crm.Invalid("leadId", "Say whose event this is: a lead ID, an e-mail or a visitor id.")
	}
	return it, nil
}

// IdentifyVisitor links an anonymous visitor id to a lead the actor sees (leads:write) and gives the
// lead the visitor's anonymous events, rescoring it in the same transaction when there were any. A
// visitor already identified as another lead is a CONFLICT. It returns how many events it attached.
func (s *Service) IdentifyVisitor(ctx context.Context, a *crm.Actor, visitorID string, leadID crm.ID) (attached int, err error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return 0, err
	}
	visitorID = strings.TrimSpace(visitorID)
	if visitorID == "" || len(visitorID) > maxVisitorID || !utf8.ValidString(visitorID) {
		return 0, crm.Invalid("visitorId", "A visitor id is UTF-8 of 1 to %d bytes.", maxVisitorID)
	}
	err = s.write(ctx, a, func(w *writer) error {
		rows, err := w.q.LiveLeads(w.ctx, query.LiveLeadsParams{OrgID: a.OrgID, Ids: []crm.ID{leadID}, ViewerID: viewer(a)})
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return crm.NotFound("lead", leadID)
		}
		lead := rows[0].TargetID
		linked, err := w.q.VisitorLeads(w.ctx, query.VisitorLeadsParams{OrgID: a.OrgID, VisitorIds: []string{visitorID}})
		if err != nil {
			return err
		}
		if len(linked) > 0 && linked[0].LeadID != lead {
			return crm.Errorf(crm.ECONFLICT, "The visitor %q was already identified as another lead.", visitorID).
				With("existingId", crm.GlobalID(crm.TypeLead, linked[0].LeadID))
		}
		if attached, err = w.attachVisitors(lead, []string{visitorID}); err != nil {
			return err
		}
		return w.enqueueScoring(map[crm.ID]bool{lead: attached > 0})
	})
	return attached, err
}

// linkVisitors records that the anonymous visitor ids belong to the lead and gives the lead their
// anonymous behaviour events. Capture calls it for a lead submitted with a visitor id; the caller
// enqueues the lead's scoring (capture does for every lead it touches). A visitor id already linked
// to another lead stays with that lead.
func (w *writer) linkVisitors(leadID crm.ID, visitorIDs []string) error {
	_, err := w.attachVisitors(leadID, visitorIDs)
	return err
}

// attachVisitors is linkVisitors returning how many events the lead received.
func (w *writer) attachVisitors(leadID crm.ID, visitorIDs []string) (int, error) {
	ids := make([]string, 0, len(visitorIDs))
	for _, v := range visitorIDs {
		if v = strings.TrimSpace(v); v != "" && len(v) <= maxVisitorID && utf8.ValidString(v) {
			ids = append(ids, v)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	org := w.actor.OrgID
	if err := w.q.LinkVisitors(w.ctx, query.LinkVisitorsParams{OrgID: org, VisitorIds: ids, LeadID: leadID, Now: w.now}); err != nil {
		return 0, err
	}
	n, err := w.q.AttachVisitorEvents(w.ctx, query.AttachVisitorEventsParams{OrgID: org, LeadID: leadID, VisitorIds: ids})
	return int(n), err
}

// enqueueScoring inserts one ScoreLeads job for the leads marked true, in the writer's transaction.
func (w *writer) enqueueScoring(leads map[crm.ID]bool) error {
	var ids []crm.ID
	for id, ok := range leads {
		if ok {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return w.scoreLater(ids...)
}
