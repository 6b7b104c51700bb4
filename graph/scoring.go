package graph

import (
	"context"
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// typeLeadEvent is the global ID type of behaviour events (they are not nodes).
const typeLeadEvent = "LeadEvent"

// scoringRuleInput converts a scoring rule definition.
func scoringRuleInput(in model.ScoringRuleInput) (service.ScoringRuleInput, error) {
	capPoints, err := int32Ptr("capPoints", in.CapPoints.Value())
	if err != nil {
		return service.ScoringRuleInput{}, err
	}
	capDays, err := int32Ptr("capDays", in.CapDays.Value())
	if err != nil {
		return service.ScoringRuleInput{}, err
	}
	points, err := int32Ptr("points", &in.Points)
	if err != nil {
		return service.ScoringRuleInput{}, err
	}
	return service.ScoringRuleInput{Kind: in.Kind, Name: in.Name, Field: val(in.Field), Operator: val(in.Operator),
		Value: in.Value.Value(), EventType: val(in.EventType), URLPattern: val(in.URLPattern), Points: *points,
		CapPoints: capPoints, CapDays: capDays, Active: in.Active.Value()}, nil
}

func scoringRuleInputs(in []model.ScoringRuleInput) ([]service.ScoringRuleInput, error) {
	out := make([]service.ScoringRuleInput, len(in))
	for i, r := range in {
		var err error
		if out[i], err = scoringRuleInput(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// leadActivityInputs converts tracked events; a bad lead ID refuses the whole call, as it is the
// caller's bug rather than data.
func leadActivityInputs(in []model.LeadActivityInput) ([]service.LeadActivityInput, error) {
	out := make([]service.LeadActivityInput, len(in))
	for i, e := range in {
		lead, err := parseOptionalID(fmt.Sprintf("events[%d].leadId", i), crm.TypeLead, e.LeadID.Value())
		if err != nil {
			return nil, err
		}
		out[i] = service.LeadActivityInput{Type: e.Type, URL: val(e.URL), OccurredAt: e.OccurredAt, IdempotencyKey: e.IdempotencyKey,
			LeadID: lead, Email: val(e.Email), VisitorID: val(e.VisitorID), Properties: e.Properties.Value()}
	}
	return out, nil
}

// trackPayload reports each tracked event's result.
func trackPayload(res []service.TrackResult) *model.TrackLeadActivityPayload {
	p := &model.TrackLeadActivityPayload{Items: make([]model.LeadActivityResult, len(res))}
	for i, r := range res {
		item := model.LeadActivityResult{Index: i}
		if r.Err != nil {
			item.Error = captureError(r.Err)
			p.Failed++
		} else {
			outcome := r.Outcome
			item.Outcome = &outcome
			ev := crm.GlobalID(typeLeadEvent, r.EventID)
			item.EventID = &ev
			if r.LeadID != crm.NilID {
				lead := crm.GlobalID(crm.TypeLead, r.LeadID)
				item.LeadID = &lead
			}
			if r.Outcome == service.TrackRecorded {
				p.Recorded++
			} else {
				p.Duplicates++
			}
		}
		p.Items[i] = item
	}
	return p
}

// scoreBreakdown returns a lead's score ledger through the response cache.
func (r *Resolver) scoreBreakdown(ctx context.Context, id crm.ID) ([]service.ScoreEntry, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	got, err := cacheOf(ctx).scores.get(ctx, a, []crm.ID{id}, r.svc.ScoreBreakdowns)
	return got[id], err
}

// scores prefetches the score ledgers of a page of leads when score.breakdown is selected: one
// query for the page.
func (p *prefetch) scores(ctx context.Context, ls []crm.Lead, sets []ast.SelectionSet) error {
	if len(ls) == 0 || p.selected(sets, "LeadScore")["breakdown"] == nil {
		return nil
	}
	_, err := p.c.scores.get(ctx, p.a, crm.RefIDs(ls, leadID), p.r.svc.ScoreBreakdowns)
	return err
}
