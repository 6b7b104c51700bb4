package graph

import (
	"context"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
	"github.com/rapportcrm/rapport/internal/rules/routing"
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

func assignmentRuleID(x service.AssignmentRule) crm.ID { return x.ID }

// assignmentRule resolves a rule reference through the response's cache; removed rules are nil.
func (r *Resolver) assignmentRule(ctx context.Context, id crm.ID) (*service.AssignmentRule, error) {
	return ref(ctx, id, func(c *cache) *table[service.AssignmentRule] { return &c.assignmentRules }, r.svc.AssignmentRules, assignmentRuleID)
}

// prefetchAssignmentRules fetches ahead the users and teams a list of rules selects.
func (r *Resolver) prefetchAssignmentRules(ctx context.Context, a *crm.Actor, rules []service.AssignmentRule) error {
	p := r.prefetcher(ctx, a)
	p.c.assignmentRules.put(rules, assignmentRuleID)
	return p.assignmentRules(ctx, rules, selection(ctx))
}

func (p *prefetch) assignmentRules(ctx context.Context, rules []service.AssignmentRule, sets []ast.SelectionSet) error {
	return refFields(ctx, p, rules, sets, "AssignmentRule",
		refField[service.AssignmentRule]{"targetUser", crm.TypeUser, func(x service.AssignmentRule) crm.ID { return x.TargetUserID }},
		refField[service.AssignmentRule]{"targetTeam", crm.TypeTeam, func(x service.AssignmentRule) crm.ID { return x.TargetTeamID }},
		refField[service.AssignmentRule]{"lastAssigned", crm.TypeUser, func(x service.AssignmentRule) crm.ID { return x.LastUserID }})
}

// prefetchDecisions fetches ahead what assignment decisions and their candidates select: the
// lead, the rules and the users.
func (r *Resolver) prefetchDecisions(ctx context.Context, a *crm.Actor, ds []service.AssignmentDecision) error {
	p := r.prefetcher(ctx, a)
	sets := selection(ctx)
	if len(ds) == 0 || len(sets) == 0 {
		return nil
	}
	fields := p.selected(sets, "AssignmentDecision")
	var candidates []routing.Considered
	for _, d := range ds {
		candidates = append(candidates, d.Candidates...)
	}
	cfields := p.selected(subSelections(fields["candidates"]), "AssignmentCandidate")
	ruleIDs := crm.RefIDs(candidates, func(c routing.Considered) crm.ID { return c.RuleID })
	if cfields["rule"] == nil {
		ruleIDs = nil
	}
	if fields["rule"] != nil {
		ruleIDs = append(ruleIDs, crm.RefIDs(ds, func(d service.AssignmentDecision) crm.ID { return d.RuleID })...)
	}
	if len(ruleIDs) > 0 {
		got, err := p.c.assignmentRules.get(ctx, p.a, crm.RefIDs(ruleIDs, self), p.r.svc.AssignmentRules, assignmentRuleID)
		if err == nil {
			err = p.assignmentRules(ctx, values(got), append(subSelections(fields["rule"]), subSelections(cfields["rule"])...))
		}
		if err != nil {
			return err
		}
	}
	err := refFields(ctx, p, ds, sets, "AssignmentDecision",
		refField[service.AssignmentDecision]{"lead", crm.TypeLead, func(d service.AssignmentDecision) crm.ID { return d.LeadID }},
		refField[service.AssignmentDecision]{"chosen", crm.TypeUser, func(d service.AssignmentDecision) crm.ID { return d.ChosenID }},
		refField[service.AssignmentDecision]{"previous", crm.TypeUser, func(d service.AssignmentDecision) crm.ID { return d.PreviousID }},
		refField[service.AssignmentDecision]{"actor", crm.TypeUser, func(d service.AssignmentDecision) crm.ID {
			if d.ActorKind == crm.ActorUser {
				return d.ActorID
			}
			return crm.NilID
		}})
	if err != nil {
		return err
	}
	return refFields(ctx, p, candidates, subSelections(fields["candidates"]), "AssignmentCandidate",
		refField[routing.Considered]{"user", crm.TypeUser, func(c routing.Considered) crm.ID { return c.UserID }})
}

// decisionActor is the user who took a decision, when a user did.
func (r *Resolver) decisionActor(ctx context.Context, d *service.AssignmentDecision) (*crm.User, error) {
	if d.ActorKind != crm.ActorUser {
		return nil, nil
	}
	return r.user(ctx, d.ActorID)
}
