package service

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/leads"
	"github.com/rapportcrm/rapport/internal/rules/routing"
)

// routeLead routes one lead the transaction holds locked; see routeLeads.
func (w *writer) routeLead(l *crm.Lead, exclude []crm.ID) (AssignmentDecision, error) {
	ds, err := w.routeLeads([]*crm.Lead{l}, exclude)
	if err != nil {
		return AssignmentDecision{}, err
	}
	return ds[0], nil
}

// routeLeads routes leads the transaction holds locked, one after the other in the given order:
// the sticky owner the person already has, else the first matching rule with an eligible member
// (people in exclude never get them). What the decisions need is read once for all the leads
// (gatherRoutes), the round-robin turns of the matching rules under their row locks; each decision
// takes the turn and the load the ones before it left, exactly as routing the leads one by one
// would, and the turns reached are written back in this transaction, so concurrent routings through
// one rule take turns. The decisions are stored with one statement; a lead whose decision names a
// new owner is assigned, the owner notified and the first-touch timer started.
func (w *writer) routeLeads(leads []*crm.Lead, exclude []crm.ID) ([]AssignmentDecision, error) {
	r, err := gatherRoutes(w.ctx, w.q, w.actor.OrgID, leads, true)
	if err != nil {
		return nil, err
	}
	ds := make([]AssignmentDecision, len(leads))
	teams := make([]crm.ID, len(leads))
	for i, l := range leads {
		rd := r.decide(l, exclude)
		ds[i] = decisionRecord(rd, l, w.actor, w.now)
		ds[i].ID, teams[i] = crm.NewID(), rd.TeamID
	}
	if len(r.advanced) > 0 {
		turns := query.AdvanceAssignmentTurnsParams{OrgID: w.actor.OrgID}
		for _, id := range r.advanced {
			turns.Ids = append(turns.Ids, id)
			turns.UserIds = append(turns.UserIds, r.turns[id])
		}
		if err := w.q.AdvanceAssignmentTurns(w.ctx, turns); err != nil {
			return nil, err
		}
	}
	if err := w.storeDecisions(ds...); err != nil {
		return nil, err
	}
	for i, l := range leads {
		if ds[i].ChosenID != crm.NilID {
			if err := w.giveLead(l, ds[i].ChosenID, teams[i], ds[i]); err != nil {
				return nil, err
			}
		}
	}
	return ds, nil
}

func decisionRecord(rd routing.Decision, l *crm.Lead, a *crm.Actor, now time.Time) AssignmentDecision {
	return AssignmentDecision{LeadID: l.ID, RuleID: rd.RuleID, Sticky: rd.Sticky, Reason: rd.Reason, Candidates: rd.Candidates,
		ChosenID: rd.ChosenID, PreviousID: l.OwnerID, ActorKind: a.Kind, ActorID: a.ID(), DecidedAt: now}
}

// storeDecisions stores decisions the writer's actor took now, with one statement.
func (w *writer) storeDecisions(ds ...AssignmentDecision) error {
	p := query.InsertAssignmentDecisionsParams{OrgID: w.actor.OrgID, ActorKind: string(w.actor.Kind), ActorID: idOrNil(w.actor.ID()),
		DecidedAt: w.now}
	for _, d := range ds {
		cands := d.Candidates
		if cands == nil {
			cands = []routing.Considered{}
		}
		p.Manual = p.Manual || d.Manual
		p.Ids = append(p.Ids, d.ID)
		p.LeadIds = append(p.LeadIds, d.LeadID)
		p.RuleIds = append(p.RuleIds, d.RuleID)
		p.Reasons = append(p.Reasons, d.Reason)
		p.Candidates = append(p.Candidates, string(mustJSON(cands)))
		p.ChosenIds = append(p.ChosenIds, d.ChosenID)
		p.PreviousIds = append(p.PreviousIds, d.PreviousID)
	}
	return w.q.InsertAssignmentDecisions(w.ctx, p)
}

// router holds what routing decisions need for a set of leads, read once: the live rules, the
// owners each person already has, everyone who may be considered (with their open-lead counts) and
// the rules' round-robin turns. decide takes the decisions one lead at a time and carries each one's
// effect (a turn taken, one more open lead for the new owner) to the next.
type router struct {
	rules    []routing.Rule
	sticky   map[crm.ID][]stickyOwner      // by lead, in precedence order
	people   map[crm.ID]*routing.Candidate // by user
	members  map[crm.ID][]crm.ID           // by rule: its team's members in user-ID order, or its user
	turns    map[crm.ID]crm.ID             // by rule
	advanced []crm.ID                      // rules whose turn decide moved, in the order it first did
}

type stickyOwner struct {
	kind routing.StickyKind
	id   crm.ID
}

// gatherRoutes reads what deciding the routes of leads takes. With lock, the turns of the team rules
// any of the leads matches are read under their row locks (taken in ID order, the one order of rule
// locks) and the candidates' loads after them, so they include every lead committed before; a
// preview reads without locks.
func gatherRoutes(ctx context.Context, q *query.Queries, orgID crm.ID, leads []*crm.Lead, lock bool) (*router, error) {
	r := &router{sticky: map[crm.ID][]stickyOwner{}, people: map[crm.ID]*routing.Candidate{}, members: map[crm.ID][]crm.ID{},
		turns: map[crm.ID]crm.ID{}}
	var userIDs []crm.ID
	if err := r.gatherSticky(ctx, q, orgID, leads); err != nil {
		return nil, err
	}
	for _, owners := range r.sticky {
		for _, o := range owners {
			userIDs = append(userIDs, o.id)
		}
	}
	rows, err := q.ListAssignmentRules(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		if !row.Active {
			continue
		}
		rule := ruleFromRow(query.GetAssignmentRulesRow(row)).decisionRule()
		if rule.Compile() != nil {
			continue // validated when saved; a criterion the code no longer knows never matches
		}
		r.rules = append(r.rules, rule)
	}
	matched := make([]bool, len(r.rules))
	for _, l := range leads {
		for _, i := range routing.Matching(r.rules, l) {
			matched[i] = true
		}
	}
	var teamIDs, lockIDs []crm.ID
	for i := range r.rules {
		rule := &r.rules[i]
		switch {
		case !matched[i]:
		case rule.NeedsTurn():
			teamIDs = append(teamIDs, rule.TargetTeamID)
			lockIDs = append(lockIDs, rule.ID)
		default:
			userIDs = append(userIDs, rule.TargetUserID)
		}
	}
	if lock && len(lockIDs) > 0 {
		locked, err := q.LockAssignmentTurns(ctx, query.LockAssignmentTurnsParams{OrgID: orgID, Ids: lockIDs})
		if err != nil {
			return nil, err
		}
		for _, t := range locked {
			r.turns[t.ID] = idOf(t.RrLastUserID)
		}
	}
	if len(teamIDs)+len(userIDs) == 0 {
		return r, nil
	}
	cands, err := q.RoutingCandidates(ctx, query.RoutingCandidatesParams{OrgID: orgID, TeamIds: nonNilIDs(distinctIDs(teamIDs)),
		UserIds: nonNilIDs(distinctIDs(userIDs))})
	if err != nil {
		return nil, err
	}
	for _, c := range cands { // in user-ID order
		cand := candidateFromRow(c)
		r.people[c.ID] = &cand
		for i := range r.rules {
			rule := &r.rules[i]
			if matched[i] && ((rule.NeedsTurn() && cand.TeamID == rule.TargetTeamID) || (!rule.NeedsTurn() && cand.UserID == rule.TargetUserID)) {
				r.members[rule.ID] = append(r.members[rule.ID], cand.UserID)
			}
		}
	}
	return r, nil
}

// gatherSticky finds the owners the people of the leads already have, in precedence order: the
// lead's own owner, the owners of contacts with the lead's e-mail or phone, the owners of accounts
// with its registration code or web domain.
func (r *router) gatherSticky(ctx context.Context, q *query.Queries, orgID crm.ID, leads []*crm.Lead) error {
	var p query.StickyOwnersParams
	for _, l := range leads {
		if l.OwnerID != crm.NilID {
			r.sticky[l.ID] = append(r.sticky[l.ID], stickyOwner{routing.StickyLead, l.OwnerID})
		}
		if l.Email != "" || l.Phone != "" || l.RegistrationCode != "" || l.Website != "" {
			p.LeadIds = append(p.LeadIds, l.ID)
			p.Emails = append(p.Emails, l.Email)
			p.Phones = append(p.Phones, l.Phone)
			p.RegistrationCodes = append(p.RegistrationCodes, l.RegistrationCode)
			p.Domains = append(p.Domains, strings.ToLower(l.Website))
		}
	}
	if len(p.LeadIds) == 0 {
		return nil
	}
	p.OrgID = orgID
	rows, err := q.StickyOwners(ctx, p)
	for _, row := range rows {
		kind := routing.StickyContact
		if row.Kind == 2 {
			kind = routing.StickyAccount
		}
		r.sticky[row.LeadID] = append(r.sticky[row.LeadID], stickyOwner{kind, row.OwnerID})
	}
	return err
}

// decide takes the routing decision of one of the gathered leads and records its effect for the
// leads decided after it: the rule's turn moves to the chosen member, who has one more open lead
// (and the owner the lead leaves one fewer).
func (r *router) decide(l *crm.Lead, exclude []crm.ID) routing.Decision {
	opts := routing.Options{Exclude: exclude}
	var seen []crm.ID
	for _, o := range r.sticky[l.ID] {
		if slices.Contains(seen, o.id) {
			continue
		}
		seen = append(seen, o.id)
		if c, ok := r.people[o.id]; ok {
			opts.Sticky = append(opts.Sticky, routing.Sticky{Kind: o.kind, Candidate: *c})
		}
	}
	var byRule map[crm.ID][]routing.Candidate
	for _, i := range routing.Matching(r.rules, l) {
		rule := &r.rules[i]
		if byRule == nil {
			byRule = map[crm.ID][]routing.Candidate{}
		}
		cs := make([]routing.Candidate, 0, len(r.members[rule.ID]))
		for _, id := range r.members[rule.ID] {
			cs = append(cs, *r.people[id])
		}
		byRule[rule.ID] = cs
	}
	d := routing.Decide(r.rules, l, byRule, r.turns, opts)
	if d.ChosenID == crm.NilID {
		return d
	}
	if d.RuleID != crm.NilID && d.Strategy != routing.StrategyUser {
		if !slices.Contains(r.advanced, d.RuleID) {
			r.advanced = append(r.advanced, d.RuleID)
		}
		r.turns[d.RuleID] = d.ChosenID
	}
	if d.ChosenID != l.OwnerID && leads.Open(l.Status) {
		if c, ok := r.people[d.ChosenID]; ok {
			c.OpenLeads++
		}
		if c, ok := r.people[l.OwnerID]; ok {
			c.OpenLeads--
		}
	}
	return d
}

func candidateFromRow(r query.RoutingCandidatesRow) routing.Candidate {
	return routing.Candidate{UserID: r.ID, TeamID: idOf(r.TeamID), Name: r.Name, Away: r.Away, Active: r.Active, OpenLeads: r.OpenLeads}
}
