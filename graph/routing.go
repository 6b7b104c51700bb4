package graph

import (
	"context"

	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
	"github.com/rapportcrm/rapport/internal/service"
)

func criteriaInput(in []model.AssignmentCriterionInput) []criteria.Criterion {
	out := make([]criteria.Criterion, len(in))
	for i, c := range in {
		out[i] = criteria.Criterion{Field: c.Field, Operator: criteria.Operator(c.Operator), Value: c.Value.Value()}
	}
	return out
}

func assignmentRuleInput(in model.CreateAssignmentRuleInput) (service.AssignmentRuleInput, error) {
	out := service.AssignmentRuleInput{Name: in.Name, Criteria: criteriaInput(in.Criteria.Value()), Strategy: in.Strategy,
		Active: in.Active.Value()}
	var err error
	if out.TargetUserID, err = parseOptionalID("targetUserId", crm.TypeUser, in.TargetUserID.Value()); err != nil {
		return out, err
	}
	if out.TargetTeamID, err = parseOptionalID("targetTeamId", crm.TypeTeam, in.TargetTeamID.Value()); err != nil {
		return out, err
	}
	if out.Capacity, err = int32Ptr("capacity", in.Capacity.Value()); err != nil {
		return out, err
	}
	out.Position, err = int32Ptr("position", in.Position.Value())
	return out, err
}

func assignmentRuleUpdate(in model.UpdateAssignmentRuleInput) (out service.AssignmentRuleUpdate, err error) {
	out = service.AssignmentRuleUpdate{Name: opt(in.Name), Strategy: opt(in.Strategy), Active: opt(in.Active)}
	if out.ID, err = parseID("id", crm.TypeAssignmentRule, in.ID); err != nil {
		return out, err
	}
	v, err := int32Ptr("expectedVersion", &in.ExpectedVersion)
	if err != nil {
		return out, err
	}
	out.ExpectedVersion = *v
	if in.Criteria.IsSet() {
		out.Criteria = service.Some(criteriaInput(in.Criteria.Value()))
	}
	if out.TargetUserID, err = optID("targetUserId", crm.TypeUser, in.TargetUserID); err != nil {
		return out, err
	}
	if out.TargetTeamID, err = optID("targetTeamId", crm.TypeTeam, in.TargetTeamID); err != nil {
		return out, err
	}
	out.Capacity, err = optInt32("capacity", in.Capacity)
	return out, err
}

// assignmentRule resolves a rule reference; removed rules are nil.
func (r *Resolver) assignmentRule(ctx context.Context, id crm.ID) (*service.AssignmentRule, error) {
	if id == crm.NilID {
		return nil, nil
	}
	return one(ctx, id, r.svc.AssignmentRules, func(x service.AssignmentRule) crm.ID { return x.ID })
}

// decisionActor is the user who took a decision, when a user did.
func (r *Resolver) decisionActor(ctx context.Context, d *service.AssignmentDecision) (*crm.User, error) {
	if d.ActorKind != crm.ActorUser {
		return nil, nil
	}
	return r.user(ctx, d.ActorID)
}
