package service

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
)

// LeadFilter narrows a lead list. Set conditions combine with AND.
type LeadFilter struct {
	Search     *string
	Statuses   []crm.LeadStatus
	OwnerIDs   []crm.ID
	Unassigned *bool
	Score      *IntRange
	Grades     []string
	Sources    []crm.LeadSource
	Campaign   *string
	SLAStates  []crm.SLAState
	CreatedAt  *TimeRange
	Spam       bool
	Deleted    bool
}

// OrderScore sorts leads by score.
const OrderScore = "SCORE"

var leadSortKeys = map[string]sortKey{
	OrderName:      textKey("name"),
	OrderCreatedAt: timeKey("created_at"),
	OrderUpdatedAt: timeKey("updated_at"),
	OrderScore: {column: "score_total",
		decode: func(s string) (any, error) { n, err := strconv.ParseInt(s, 10, 32); return int32(n), err },
		encode: func(v any) string { return strconv.Itoa(int(v.(int32))) }},
}

func (s *Service) leadQuery(a *crm.Actor, f LeadFilter) *listQuery {
	q := &listQuery{table: "leads", columns: "*", sortKeys: leadSortKeys}
	q.cond("org_id = %s", a.OrgID)
	q.deleted(f.Deleted)
	q.visibleTo(a.OrgID, viewer(a))
	q.cond("spam = %s", f.Spam)
	q.where = append(q.where, "merged_into_id IS NULL")
	if f.Search != nil && strings.TrimSpace(*f.Search) != "" {
		like := "%" + escapeLike(strings.TrimSpace(*f.Search)) + "%"
		q.cond("(name ILIKE %[1]s OR company ILIKE %[1]s OR email ILIKE %[1]s)", like)
	}
	if f.Statuses != nil {
		q.cond("status = ANY(%s)", strs(f.Statuses))
	}
	ownerFilters(q, a.OrgID, f.OwnerIDs, nil, nil)
	if f.Unassigned != nil {
		if *f.Unassigned {
			q.where = append(q.where, "owner_id IS NULL")
		} else {
			q.where = append(q.where, "owner_id IS NOT NULL")
		}
	}
	q.intRange("score_total", f.Score)
	if f.Grades != nil {
		q.cond("grade = ANY(%s)", f.Grades)
	}
	if f.Sources != nil {
		q.cond("source = ANY(%s)", strs(f.Sources))
	}
	if f.Campaign != nil {
		q.cond("campaign = %s", *f.Campaign)
	}
	if f.SLAStates != nil {
		q.cond("sla_state = ANY(%s)", strs(f.SLAStates))
	}
	q.timeRange("created_at", f.CreatedAt)
	return q
}

// strs converts a list of string-typed values to []string for a query parameter.
func strs[T ~string](vs []T) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out
}

// ListLeads returns one page of the leads the actor may see.
func (s *Service) ListLeads(ctx context.Context, a *crm.Actor, f LeadFilter, o Order, p Page) ([]crm.Lead, PageInfo, error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return nil, PageInfo{}, err
	}
	ls, info, err := runPage(ctx, s, a, s.leadQuery(a, f), o, p, leadFromRow, func(l crm.Lead) string {
		return LeadCursor(o, l)
	})
	for i := range ls {
		ls[i] = maskLead(a, ls[i])
	}
	return ls, info, err
}

// CountLeads counts the leads matching f that the actor may see.
func (s *Service) CountLeads(ctx context.Context, a *crm.Actor, f LeadFilter) (int, error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return 0, err
	}
	return s.count(ctx, a, s.leadQuery(a, f))
}

// LeadCursor returns the cursor of a lead in a list sorted by o.
func LeadCursor(o Order, l crm.Lead) string {
	key, orderName, err := sortFor(leadSortKeys, o)
	if err != nil {
		return ""
	}
	var v any
	if strings.TrimSuffix(orderName, "_DESC") == OrderScore {
		v = l.ScoreTotal
	} else {
		v = sortValue(orderName, l.Name, l.CreatedAt, l.UpdatedAt)
	}
	return encodeCursor(orderName, key.encode(v), l.ID)
}

// MaxLeadTouches is the most touches listed per lead.
const MaxLeadTouches = MaxPageSize

// LeadTouches returns the latest touches (at most MaxLeadTouches) of each lead, in the order of
// leadIDs: one query for a page of leads. The caller has checked that the leads are visible.
func (s *Service) LeadTouches(ctx context.Context, a *crm.Actor, leadIDs []crm.ID) ([][]crm.Touch, error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return nil, err
	}
	var rows []query.LeadTouch
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.LeadTouches(ctx, query.LeadTouchesParams{OrgID: a.OrgID, LeadIds: leadIDs})
		return err
	})
	byLead := make(map[crm.ID][]crm.Touch, len(leadIDs))
	for _, r := range rows {
		id := idOf(r.LeadID)
		if len(byLead[id]) >= MaxLeadTouches {
			continue
		}
		t := crm.Touch{ID: r.ID, OrgID: r.OrgID, LeadID: id, ContactID: idOf(r.ContactID), Source: crm.LeadSource(r.Source),
			Campaign: r.Campaign, FormID: idOf(r.FormID), ImportID: idOf(r.ImportID), Payload: r.Payload, ReceivedAt: r.ReceivedAt}
		_ = json.Unmarshal(r.Utm, &t.UTM)
		byLead[id] = append(byLead[id], t)
	}
	out := make([][]crm.Touch, len(leadIDs))
	for i, id := range leadIDs {
		out[i] = byLead[id]
	}
	return out, err
}

// LeadDuplicate is a lead that may be the same person or company as another, and why.
type LeadDuplicate struct {
	Lead    crm.Lead
	Reasons []string // EMAIL, PHONE, REGISTRATION_CODE, WEBSITE, NAME_AND_COMPANY
}
