package service

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
	"github.com/rapportcrm/rapport/internal/rules/routing"
	"github.com/rapportcrm/rapport/internal/rules/workhours"
	"github.com/rapportcrm/rapport/worker/jobargs"
)

// Notification kinds of lead routing and the first-touch SLA.
const (
	KindLeadAssigned    = "lead_assigned"     // to the new owner
	KindLeadSLABreached = "lead_sla_breached" // to the owner whose lead waits past its first-touch deadline
	KindLeadSLATeam     = "lead_sla_team"     // to that owner's manager
)

// AssignmentRule is an ordered rule of the organization: leads matching all its criteria go to its
// target user, or to a member of its target team by the rule's strategy.
type AssignmentRule struct {
	ID           crm.ID
	OrgID        crm.ID
	Position     int32 // 0 is tried first
	Name         string
	Criteria     []criteria.Criterion
	Strategy     routing.Strategy
	TargetUserID crm.ID
	TargetTeamID crm.ID
	Capacity     *int32 // most open leads per member; nil: no cap
	LastUserID   crm.ID // the member the rule last gave a lead to
	Active       bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Version      int32
}

// GlobalID returns the rule's global ID.
func (r AssignmentRule) GlobalID() string { return crm.GlobalID(crm.TypeAssignmentRule, r.ID) }

// AssignmentRuleInput is a rule to create. Position nil appends it at the end.
type AssignmentRuleInput struct {
	Name         string
	Criteria     []criteria.Criterion
	Strategy     routing.Strategy
	TargetUserID crm.ID
	TargetTeamID crm.ID
	Capacity     *int32
	Active       *bool // default true
	Position     *int32
}

// AssignmentRuleUpdate changes a rule; unset fields stay as they are.
type AssignmentRuleUpdate struct {
	ID              crm.ID
	ExpectedVersion int32
	Name            Opt[string]
	Criteria        Opt[[]criteria.Criterion]
	Strategy        Opt[routing.Strategy]
	TargetUserID    Opt[crm.ID]
	TargetTeamID    Opt[crm.ID]
	Capacity        Opt[*int32]
	Active          Opt[bool]
}

// AssignmentDecision is a stored (or, for a preview, computed) routing decision: the rule that
// matched, every candidate considered and why the chosen one.
type AssignmentDecision struct {
	ID         crm.ID // NilID for a preview
	LeadID     crm.ID
	RuleID     crm.ID // NilID for sticky, manual and unassigned decisions
	Sticky     routing.StickyKind
	Reason     string
	Candidates []routing.Considered
	ChosenID   crm.ID // NilID: nobody, the lead stays as it was
	PreviousID crm.ID // the owner before
	Manual     bool
	ActorKind  crm.ActorKind
	ActorID    crm.ID
	DecidedAt  time.Time
}

// ListAssignmentRules returns the organization's rules in the order they are tried.
func (s *Service) ListAssignmentRules(ctx context.Context, a *crm.Actor) ([]AssignmentRule, error) {
	if err := authorizeRouting(a); err != nil {
		return nil, err
	}
	var out []AssignmentRule
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.ListAssignmentRules(ctx, a.OrgID)
		for _, r := range rows {
			out = append(out, ruleFromRow(query.GetAssignmentRulesRow(r)))
		}
		return err
	})
	return out, err
}

// AssignmentRules returns live rules by ID, in the order of ids (zero rules for missing ones).
func (s *Service) AssignmentRules(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]AssignmentRule, error) {
	if err := authorizeRouting(a); err != nil {
		return nil, err
	}
	var out []AssignmentRule
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.GetAssignmentRules(ctx, query.GetAssignmentRulesParams{OrgID: a.OrgID, Ids: ids})
		for _, r := range rows {
			out = append(out, ruleFromRow(r))
		}
		return err
	})
	return inOrder(out, ids, func(r AssignmentRule) crm.ID { return r.ID }), err
}

// authorizeRouting lets lead readers and admins read the rules: they are configuration, and a
// salesperson may want to know why a lead went where it did.
func authorizeRouting(a *crm.Actor) error {
	if access.Allows(a, access.SettingsWrite) {
		return nil
	}
	return authorize(a, access.LeadsRead)
}

// CreateAssignmentRule adds a rule (admins) at Position (default: last); the rules from there on
// move down by one.
func (s *Service) CreateAssignmentRule(ctx context.Context, a *crm.Actor, in AssignmentRuleInput) (r AssignmentRule, err error) {
	if err := authorize(a, access.SettingsWrite); err != nil {
		return r, err
	}
	r = AssignmentRule{ID: crm.NewID(), OrgID: a.OrgID, Name: in.Name, Criteria: in.Criteria, Strategy: in.Strategy,
		TargetUserID: in.TargetUserID, TargetTeamID: in.TargetTeamID, Capacity: in.Capacity, Active: true, Version: 1}
	if in.Active != nil {
		r.Active = *in.Active
	}
	err = s.write(ctx, a, func(w *writer) error {
		if err := w.checkRule(&r); err != nil {
			return err
		}
		order, err := w.ruleOrder()
		if err != nil {
			return err
		}
		at := len(order)
		if in.Position != nil {
			if *in.Position < 0 {
				return crm.Invalid("position", "The position counts from 0 (tried first).")
			}
			at = min(at, int(*in.Position))
		}
		order = slices.Insert(order, at, r.ID)
		r.Position, r.CreatedAt, r.UpdatedAt = int32(at), w.now, w.now
		if err := w.q.CreateAssignmentRule(w.ctx, query.CreateAssignmentRuleParams{OrgID: a.OrgID, ID: r.ID, Position: r.Position,
			Name: r.Name, Criteria: mustJSON(r.Criteria), TargetUserID: idOrNil(r.TargetUserID), TargetTeamID: idOrNil(r.TargetTeamID),
			Strategy: string(r.Strategy), Capacity: r.Capacity, Active: r.Active, Now: w.now}); err != nil {
			return err
		}
		if err := w.setRuleOrder(order); err != nil {
			return err
		}
		w.emit("assignment_rule.created", crm.TypeAssignmentRule, r.ID, diff(nil, ruleFields(r)))
		return nil
	})
	return r, err
}

// UpdateAssignmentRule changes a rule (admins), checking expectedVersion.
func (s *Service) UpdateAssignmentRule(ctx context.Context, a *crm.Actor, in AssignmentRuleUpdate) (r AssignmentRule, err error) {
	if err := authorize(a, access.SettingsWrite); err != nil {
		return r, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		before, err := w.lockRule(in.ID, in.ExpectedVersion)
		if err != nil {
			return err
		}
		r = before
		r.Name = in.Name.apply(r.Name)
		r.Criteria = in.Criteria.apply(r.Criteria)
		r.Strategy = in.Strategy.apply(r.Strategy)
		r.TargetUserID = in.TargetUserID.apply(r.TargetUserID)
		r.TargetTeamID = in.TargetTeamID.apply(r.TargetTeamID)
		r.Capacity = in.Capacity.apply(r.Capacity)
		r.Active = in.Active.apply(r.Active)
		// Switching between a user and a team target clears the other side when it was not sent.
		if in.Strategy.Set && r.Strategy == routing.StrategyUser && !in.TargetTeamID.Set {
			r.TargetTeamID = crm.NilID
		} else if in.Strategy.Set && r.Strategy != routing.StrategyUser && !in.TargetUserID.Set {
			r.TargetUserID = crm.NilID
		}
		if err := w.checkRule(&r); err != nil {
			return err
		}
		changes := diff(ruleFields(before), ruleFields(r))
		if len(changes) == 0 {
			return nil
		}
		res, err := w.q.UpdateAssignmentRule(w.ctx, query.UpdateAssignmentRuleParams{OrgID: a.OrgID, ID: r.ID, Name: r.Name,
			Criteria: mustJSON(r.Criteria), TargetUserID: idOrNil(r.TargetUserID), TargetTeamID: idOrNil(r.TargetTeamID),
			Strategy: string(r.Strategy), Capacity: r.Capacity, Active: r.Active, Now: w.now})
		if err != nil {
			return err
		}
		r.Version, r.UpdatedAt = res.Version, res.UpdatedAt
		w.emit("assignment_rule.updated", crm.TypeAssignmentRule, r.ID, changes)
		return nil
	})
	return r, err
}

// ReorderAssignmentRules sets the order in which the rules are tried (admins). ids must name every
// live rule once.
func (s *Service) ReorderAssignmentRules(ctx context.Context, a *crm.Actor, ids []crm.ID) (rules []AssignmentRule, err error) {
	if err := authorize(a, access.SettingsWrite); err != nil {
		return nil, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		order, err := w.ruleOrder()
		if err != nil {
			return err
		}
		if len(ids) != len(order) || len(distinctIDs(ids)) != len(ids) {
			return crm.Invalid("ids", "List every assignment rule exactly once (%d rules).", len(order))
		}
		for _, id := range ids {
			if !slices.Contains(order, id) {
				return crm.Invalid("ids", "Assignment rule %s does not exist.", crm.GlobalID(crm.TypeAssignmentRule, id))
			}
		}
		if slices.Equal(order, ids) {
			return nil
		}
		if err := w.setRuleOrder(ids); err != nil {
			return err
		}
		before, after := make([]string, len(order)), make([]string, len(ids))
		for i := range ids {
			before[i], after[i] = crm.GlobalID(crm.TypeAssignmentRule, order[i]), crm.GlobalID(crm.TypeAssignmentRule, ids[i])
		}
		w.emit("assignment_rule.reordered", crm.TypeAssignmentRule, ids[0],
			[]crm.FieldChange{{Field: "order", Before: mustJSON(before), After: mustJSON(after)}})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.ListAssignmentRules(ctx, a)
}

// DeleteAssignmentRule removes a rule (admins); the rules after it move up.
func (s *Service) DeleteAssignmentRule(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32) error {
	if err := authorize(a, access.SettingsWrite); err != nil {
		return err
	}
	return s.write(ctx, a, func(w *writer) error {
		order, err := w.ruleOrder()
		if err != nil {
			return err
		}
		if _, err := w.lockRule(id, expectedVersion); err != nil {
			return err
		}
		if err := w.q.DeleteAssignmentRule(w.ctx, query.DeleteAssignmentRuleParams{OrgID: w.actor.OrgID, ID: id, Now: w.now}); err != nil {
			return err
		}
		if err := w.setRuleOrder(slices.DeleteFunc(order, func(x crm.ID) bool { return x == id })); err != nil {
			return err
		}
		w.emit("assignment_rule.deleted", crm.TypeAssignmentRule, id, []crm.FieldChange{deletedChange(&w.now)})
		return nil
	})
}

// ruleOrder locks every live rule of the organization and returns their IDs in the order tried.
func (w *writer) ruleOrder() ([]crm.ID, error) {
	rows, err := w.q.LockAssignmentRules(w.ctx, w.actor.OrgID)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(rows, func(a, b query.LockAssignmentRulesRow) int { return int(a.Position - b.Position) })
	ids := make([]crm.ID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	return ids, nil
}

// setRuleOrder numbers the rules 0, 1, ... in the given order.
func (w *writer) setRuleOrder(ids []crm.ID) error {
	positions := make([]int32, len(ids))
	for i := range positions {
		positions[i] = int32(i)
	}
	return w.q.SetAssignmentRulePositions(w.ctx, query.SetAssignmentRulePositionsParams{OrgID: w.actor.OrgID, Ids: ids, Positions: positions})
}

func (w *writer) lockRule(id crm.ID, expectedVersion int32) (AssignmentRule, error) {
	rows, err := w.q.LockAssignmentTurns(w.ctx, query.LockAssignmentTurnsParams{OrgID: w.actor.OrgID, Ids: []crm.ID{id}})
	if err != nil {
		return AssignmentRule{}, err
	}
	if len(rows) == 0 {
		return AssignmentRule{}, crm.NotFound("assignment rule", id)
	}
	got, err := w.q.GetAssignmentRules(w.ctx, query.GetAssignmentRulesParams{OrgID: w.actor.OrgID, Ids: []crm.ID{id}})
	if err != nil {
		return AssignmentRule{}, err
	}
	if len(got) == 0 {
		return AssignmentRule{}, crm.NotFound("assignment rule", id)
	}
	r := ruleFromRow(got[0])
	return r, checkVersion("assignment rule", r.Version, expectedVersion)
}

// checkRule normalizes and validates a rule: its criteria compile, its target exists in the
// organization (an active user, or a team).
func (w *writer) checkRule(r *AssignmentRule) (err error) {
	if r.Name, err = normalize.Text("name", r.Name, 100); err != nil {
		return err
	}
	if r.Name == "" {
		return crm.Invalid("name", "The assignment rule needs a name.")
	}
	if len(r.Criteria) > 50 {
		return crm.Invalid("criteria", "An assignment rule has at most 50 criteria.")
	}
	if r.Criteria == nil {
		r.Criteria = []criteria.Criterion{}
	}
	if r.Capacity != nil && *r.Capacity <= 0 {
		return crm.Invalid("capacity", "The capacity is a number of open leads, 1 or more; leave it out for no cap.")
	}
	rr := r.decisionRule()
	if err := rr.Compile(); err != nil {
		var fe *routing.FieldError
		if errors.As(err, &fe) {
			return crm.Invalid(fe.Field, "%s", fe.Message)
		}
		return err
	}
	if r.TargetUserID != crm.NilID {
		users, err := w.q.GetUsers(w.ctx, query.GetUsersParams{OrgID: w.actor.OrgID, Ids: []crm.ID{r.TargetUserID}})
		if err != nil {
			return err
		}
		if len(users) == 0 || !users[0].Active {
			return crm.Invalid("targetUserId", "No active user %s in this organization.", crm.GlobalID(crm.TypeUser, r.TargetUserID))
		}
	}
	if r.TargetTeamID != crm.NilID {
		teams, err := w.q.ListTeams(w.ctx, w.actor.OrgID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(teams, func(t query.Team) bool { return t.ID == r.TargetTeamID }) {
			return crm.Invalid("targetTeamId", "No team %s in this organization.", crm.GlobalID(crm.TypeTeam, r.TargetTeamID))
		}
	}
	return nil
}

// decisionRule is the rule as rules/routing reads it (not yet compiled).
func (r AssignmentRule) decisionRule() routing.Rule {
	rr := routing.Rule{ID: r.ID, Name: r.Name, Criteria: r.Criteria, Strategy: r.Strategy, TargetUserID: r.TargetUserID,
		TargetTeamID: r.TargetTeamID, LastUserID: r.LastUserID}
	if r.Capacity != nil {
		rr.Capacity = *r.Capacity
	}
	return rr
}

func ruleFromRow(r query.GetAssignmentRulesRow) AssignmentRule {
	out := AssignmentRule{ID: r.ID, OrgID: r.OrgID, Position: r.Position, Name: r.Name, Strategy: routing.Strategy(r.Strategy),
		TargetUserID: idOf(r.TargetUserID), TargetTeamID: idOf(r.TargetTeamID), Capacity: r.Capacity,
		LastUserID: idOf(r.RrLastUserID), Active: r.Active, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
	if json.Unmarshal(r.Criteria, &out.Criteria) != nil || out.Criteria == nil {
		out.Criteria = []criteria.Criterion{}
	}
	return out
}

func ruleFields(r AssignmentRule) fields {
	return fields{"name": r.Name, "criteria": r.Criteria, "strategy": r.Strategy, "targetUserId": idOrNil(r.TargetUserID),
		"targetTeamId": idOrNil(r.TargetTeamID), "capacity": r.Capacity, "active": r.Active, "position": r.Position}
}

// AssignLead routes a lead by the rules now (sticky owner first) and stores the decision. A lead
// nobody can take stays as it was, with the decision saying why.
func (s *Service) AssignLead(ctx context.Context, a *crm.Actor, leadID crm.ID) (d AssignmentDecision, err error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return d, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		l, err := w.routableLead(leadID, viewer(a))
		if err != nil {
			return err
		}
		if err := checkRoutable(l); err != nil {
			return err
		}
		d, err = w.routeLead(&l, nil)
		return err
	})
	return d, err
}

// PreviewAssignment returns the decision AssignLead would take now, without locks or writes.
func (s *Service) PreviewAssignment(ctx context.Context, a *crm.Actor, leadID crm.ID) (d AssignmentDecision, err error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return d, err
	}
	err = s.read(ctx, a, func(q *query.Queries) error {
		l, err := readLead(ctx, q, a, leadID)
		if err != nil {
			return err
		}
		r, err := gatherRoutes(ctx, q, a.OrgID, []*crm.Lead{&l}, false)
		if err != nil {
			return err
		}
		d = decisionRecord(r.decide(&l, nil), &l, a, s.now())
		return nil
	})
	return d, err
}

// ReassignLead gives a lead to a person by hand, with a reason; the change is stored as a manual
// decision and an event, and the new owner's first-touch timer starts unless the lead was already
// contacted.
func (s *Service) ReassignLead(ctx context.Context, a *crm.Actor, leadID, ownerID crm.ID, reason string) (d AssignmentDecision, err error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return d, err
	}
	if reason, err = normalize.Text("reason", reason, 500); err != nil {
		return d, err
	}
	if reason == "" {
		return d, crm.Invalid("reason", "Say why the lead changes hands; the reason is kept with the decision.")
	}
	err = s.write(ctx, a, func(w *writer) error {
		l, err := w.routableLead(leadID, viewer(a))
		if err != nil {
			return err
		}
		if err := checkRoutable(l); err != nil {
			return err
		}
		cands, err := w.q.RoutingCandidates(w.ctx, query.RoutingCandidatesParams{OrgID: a.OrgID, UserIds: []crm.ID{ownerID}, TeamIds: []crm.ID{}})
		if err != nil {
			return err
		}
		if len(cands) == 0 || !cands[0].Active {
			return crm.Invalid("ownerId", "No active user %s in this organization.", crm.GlobalID(crm.TypeUser, ownerID))
		}
		if ownerID == l.OwnerID {
			return crm.Invalid("ownerId", "The lead already belongs to this user.")
		}
		c := candidateFromRow(cands[0])
		d = AssignmentDecision{ID: crm.NewID(), LeadID: l.ID, Reason: "Reassigned by hand: " + reason,
			Candidates: []routing.Considered{{UserID: c.UserID, OpenLeads: c.OpenLeads, Eligible: true, Reason: "chosen by hand"}},
			ChosenID:   c.UserID, PreviousID: l.OwnerID, Manual: true, ActorKind: a.Kind, ActorID: a.ID(), DecidedAt: w.now}
		if err := w.storeDecisions(d); err != nil {
			return err
		}
		return w.giveLead(&l, c.UserID, c.TeamID, d)
	})
	return d, err
}

// AssignmentDecisions returns a lead's routing decisions, newest first (at most 100).
func (s *Service) AssignmentDecisions(ctx context.Context, a *crm.Actor, leadID crm.ID) ([]AssignmentDecision, error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return nil, err
	}
	var out []AssignmentDecision
	err := s.read(ctx, a, func(q *query.Queries) error {
		if _, err := readLead(ctx, q, a, leadID); err != nil {
			return err
		}
		rows, err := q.ListAssignmentDecisions(ctx, query.ListAssignmentDecisionsParams{OrgID: a.OrgID, LeadID: leadID, MaxRows: MaxPageSize})
		for _, r := range rows {
			d := AssignmentDecision{ID: r.ID, LeadID: r.LeadID, RuleID: idOf(r.RuleID), Reason: r.Reason, ChosenID: idOf(r.ChosenID),
				PreviousID: idOf(r.PreviousID), Manual: r.Manual, ActorKind: crm.ActorKind(r.ActorKind), ActorID: idOf(r.ActorID), DecidedAt: r.DecidedAt}
			_ = json.Unmarshal(r.Candidates, &d.Candidates)
			for _, c := range d.Candidates {
				if c.Sticky != "" && c.UserID == d.ChosenID && c.Eligible {
					d.Sticky = c.Sticky
				}
			}
			out = append(out, d)
		}
		return err
	})
	return out, err
}

// SetUserAway marks a user away (no new leads from the rules) or back. Users set their own flag;
// admins anyone's.
func (s *Service) SetUserAway(ctx context.Context, a *crm.Actor, userID crm.ID, away bool) (u crm.User, err error) {
	if a == nil {
		return u, authorize(a, "")
	}
	if !(a.Kind == crm.ActorUser && a.UserID == userID) {
		if err := authorize(a, access.UsersWrite); err != nil {
			return u, err
		}
	}
	err = s.write(ctx, a, func(w *writer) error {
		row, err := w.q.GetUserForUpdate(w.ctx, query.GetUserForUpdateParams{OrgID: a.OrgID, ID: userID})
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("user", userID)
		} else if err != nil {
			return err
		}
		u = userFromRow(query.GetUsersRow(row))
		if u.Away == away {
			return nil
		}
		res, err := w.q.SetUserAway(w.ctx, query.SetUserAwayParams{OrgID: a.OrgID, ID: userID, Away: away, Now: w.now})
		if err != nil {
			return err
		}
		u.Away, u.Version, u.UpdatedAt = away, res.Version, res.UpdatedAt
		w.emit("user.updated", crm.TypeUser, u.ID, []crm.FieldChange{{Field: "away", Before: mustJSON(!away), After: mustJSON(away)}})
		return nil
	})
	return u, err
}

// routableLead locks a live, unmerged lead the viewer (nil: anyone) sees.
func (w *writer) routableLead(id crm.ID, viewer *crm.ID) (crm.Lead, error) {
	l, err := w.lockLead(id, viewer)
	if err == nil && (l.DeletedAt != nil || l.MergedIntoID != crm.NilID) {
		return l, crm.NotFound("lead", id)
	}
	return l, err
}

// checkRoutable refuses leads that are no longer anyone's to work: converted, or spam.
func checkRoutable(l crm.Lead) error {
	if l.Status == crm.LeadConverted {
		return crm.Errorf(crm.ECONFLICT, "This lead was converted; its contact has an owner already.")
	}
	if l.Spam {
		return crm.Invalid("id", "This lead was captured as spam; spam is never routed.")
	}
	return nil
}

// readLead reads a live lead the actor sees, without a lock.
func readLead(ctx context.Context, q *query.Queries, a *crm.Actor, id crm.ID) (crm.Lead, error) {
	rows, err := q.LeadsByID(ctx, query.LeadsByIDParams{OrgID: a.OrgID, Ids: []crm.ID{id}, ViewerID: viewer(a)})
	if err != nil {
		return crm.Lead{}, err
	}
	if len(rows) == 0 || rows[0].DeletedAt != nil || rows[0].MergedIntoID != nil {
		return crm.Lead{}, crm.NotFound("lead", id)
	}
	return leadFromRow(rows[0]), nil
}

// giveLead makes to the lead's owner as decided by d. Assignment leaves the lead's status as it is
// (a new lead stays new, a qualified one qualified): "working" is a salesperson's call. Unless the
// lead was already contacted, the new owner's first-touch timer starts: due after the
// organization's first-touch minutes of working time, with a River job at that moment.
func (w *writer) giveLead(l *crm.Lead, to, team crm.ID, d AssignmentDecision) error {
	if to == l.OwnerID && l.SLAState != crm.SLANone {
		return nil // sticky to the lead's own owner: nothing changes
	}
	settings, err := w.settings()
	if err != nil {
		return err
	}
	before := *l
	var due *time.Time
	if l.ContactedAt == nil {
		t := workhours.Add(w.now, int(firstTouchMinutes(settings)), settings.WorkingHours, settings.Location())
		due = &t
	}
	res, err := w.q.AssignLeadOwner(w.ctx, query.AssignLeadOwnerParams{OrgID: w.actor.OrgID, ID: l.ID, OwnerID: &to,
		TeamID: idOrNil(team), Now: w.now, SlaDueAt: due})
	if err != nil {
		return err
	}
	now := w.now
	l.OwnerID, l.TeamID, l.AssignedAt, l.Version, l.UpdatedAt = to, team, &now, res.Version, res.UpdatedAt
	l.SLAState, l.SLADueAt = crm.SLAState(res.SlaState), res.SlaDueAt
	typ := "lead.assigned"
	if before.OwnerID != crm.NilID {
		typ = "lead.reassigned"
	}
	w.emitLead(typ, *l, diff(leadAssignmentFields(before), leadAssignmentFields(*l)), before.OwnerID)
	if due != nil {
		if _, err := w.jobs.InsertTx(w.ctx, w.tx, jobargs.LeadSLA{OrgID: w.actor.OrgID, LeadID: l.ID, DueAt: *due, Stage: jobargs.SLAStageBreach},
			&river.InsertOpts{ScheduledAt: *due}); err != nil {
			return err
		}
	}
	if to == w.actor.UserID {
		return nil // nobody needs telling what they did themselves
	}
	body := d.Reason
	if due != nil {
		body += " Contact them by " + due.In(settings.Location()).Format("2 January 2006 15:04") + "."
	}
	_, err = w.notify(crm.Notification{UserID: to, Kind: KindLeadAssigned, Title: "New lead: " + leadLabel(l), Body: body,
		RecordType: crm.TypeLead, RecordID: l.ID}, "lead_assigned:"+d.ID.String())
	return err
}

func firstTouchMinutes(s crm.Settings) int32 {
	if s.Leads.FirstTouchMinutes > 0 {
		return s.Leads.FirstTouchMinutes
	}
	return crm.DefaultLeadSettings().FirstTouchMinutes
}

func reassignMinutes(s crm.Settings) int32 {
	if s.Leads.ReassignMinutes > 0 {
		return s.Leads.ReassignMinutes
	}
	return crm.DefaultLeadSettings().ReassignMinutes
}

func leadLabel(l *crm.Lead) string {
	switch {
	case l.Name != "" && l.Company != "":
		return l.Name + " (" + l.Company + ")"
	case l.Name != "":
		return l.Name
	case l.Company != "":
		return l.Company
	}
	return "unnamed lead"
}

func leadAssignmentFields(l crm.Lead) fields {
	return fields{"ownerId": idOrNil(l.OwnerID), "teamId": idOrNil(l.TeamID), "assignedAt": l.AssignedAt,
		"slaState": l.SLAState, "slaDueAt": l.SLADueAt}
}

// leadContacted records the first call, e-mail or meeting logged on a lead: contactedAt is set
// once, and a running or breached first-touch timer stops (met before its deadline, late after).
// Activity logging calls it in its transaction for activities of those kinds on a Lead.
func (w *writer) leadContacted(leadID crm.ID, at time.Time) error {
	row, err := w.q.MarkLeadContacted(w.ctx, query.MarkLeadContactedParams{OrgID: w.actor.OrgID, ID: leadID, At: at})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	if row.ContactedAt == nil || !row.ContactedAt.Equal(at) {
		return nil // contacted before
	}
	w.emit("lead.contacted", crm.TypeLead, leadID, []crm.FieldChange{
		{Field: "contactedAt", Before: mustJSON(nil), After: mustJSON(at)},
		{Field: "slaState", After: mustJSON(row.SlaState)}}, idOf(row.OwnerID))
	return nil
}

// LeadSLADue acts on one stage of a lead's first-touch timer (the worker calls it at the job's
// time, the sweep for lost jobs). It does nothing unless the lead's timer is still the one due at
// dueAt and in the state the stage expects, so a job run twice, late or after the lead was
// contacted or reassigned is harmless.
//   - breach: the timer becomes breached; the owner and the owner's manager are notified and the
//     reassignment stage is scheduled after the organization's reassign minutes of working time.
//   - reassign: a breached lead still not contacted is routed again by the rules without its owner.
func (s *Service) LeadSLADue(ctx context.Context, orgID, leadID crm.ID, dueAt time.Time, stage string) error {
	a := crm.SystemActor(orgID)
	return s.write(ctx, a, func(w *writer) error {
		switch stage {
		case jobargs.SLAStageBreach:
			return w.breachLeadSLA(leadID, dueAt)
		case jobargs.SLAStageReassign:
			return w.reassignBreachedLead(leadID, dueAt)
		}
		return nil
	})
}

func (w *writer) breachLeadSLA(leadID crm.ID, dueAt time.Time) error {
	row, err := w.q.BreachLeadSLA(w.ctx, query.BreachLeadSLAParams{OrgID: w.actor.OrgID, ID: leadID, DueAt: dueAt})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	} else if err != nil {
		return err
	}
	owner := idOf(row.OwnerID)
	w.emit("lead.sla_breached", crm.TypeLead, leadID, []crm.FieldChange{
		{Field: "slaState", Before: mustJSON(crm.SLARunning), After: mustJSON(crm.SLABreached)}}, owner)
	settings, err := w.settings()
	if err != nil {
		return err
	}
	loc := settings.Location()
	manager, err := w.managerOf(owner)
	if err != nil {
		return err
	}
	label := leadLabel(&crm.Lead{Name: row.Name})
	reassignAt := workhours.Add(dueAt, int(reassignMinutes(settings)), settings.WorkingHours, loc)
	key := "lead_sla:" + leadID.String() + ":" + dueAt.UTC().Format(time.RFC3339Nano)
	notes := []crm.Notification{
		{UserID: owner, Kind: KindLeadSLABreached, RecordType: crm.TypeLead, RecordID: leadID, Title: "First contact overdue: " + label,
			Body: "Nobody has called, e-mailed or met this lead since it was assigned; it was due by " + dueAt.In(loc).Format("2 January 2006 15:04") +
				". Unless it is contacted by " + reassignAt.In(loc).Format("2 January 2006 15:04") + ", it goes to someone else."},
		{UserID: manager, Kind: KindLeadSLATeam, RecordType: crm.TypeLead, RecordID: leadID, Title: "First contact overdue in your team: " + label,
			Body: "The lead's first-touch deadline passed on " + dueAt.In(loc).Format("2 January 2006 15:04") + " without a call, e-mail or meeting."},
	}
	if manager == owner {
		notes = notes[:1]
	}
	if _, err := w.notifyAll(notes, []string{key, key}); err != nil {
		return err
	}
	_, err = w.jobs.InsertTx(w.ctx, w.tx, jobargs.LeadSLA{OrgID: w.actor.OrgID, LeadID: leadID, DueAt: dueAt, Stage: jobargs.SLAStageReassign},
		&river.InsertOpts{ScheduledAt: reassignAt})
	return err
}

// managerOf returns who manages the user (access.ManagerOf over the team tree), or NilID.
func (w *writer) managerOf(user crm.ID) (crm.ID, error) {
	if user == crm.NilID {
		return crm.NilID, nil
	}
	urows, err := w.q.ListUsers(w.ctx, w.actor.OrgID)
	if err != nil {
		return crm.NilID, err
	}
	trows, err := w.q.ListTeams(w.ctx, w.actor.OrgID)
	if err != nil {
		return crm.NilID, err
	}
	users := make([]crm.User, len(urows))
	for i, r := range urows {
		users[i] = userFromRow(query.GetUsersRow(r))
	}
	teams := make([]crm.Team, len(trows))
	for i, r := range trows {
		teams[i] = teamFromRow(r)
	}
	return access.ManagerOf(users, teams)[user], nil
}

func (w *writer) reassignBreachedLead(leadID crm.ID, dueAt time.Time) error {
	l, err := w.routableLead(leadID, nil)
	if crm.ErrorCode(err) == crm.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if l.SLAState != crm.SLABreached || l.ContactedAt != nil || l.SLADueAt == nil || !l.SLADueAt.Equal(dueAt) ||
		l.Status == crm.LeadConverted || l.Status == crm.LeadDisqualified {
		return nil
	}
	var exclude []crm.ID
	if l.OwnerID != crm.NilID {
		exclude = []crm.ID{l.OwnerID}
	}
	_, err = w.routeLead(&l, exclude)
	return err
}

// SweepLeadSLAs repairs first-touch timers whose job was lost: every running lead past its deadline
// is breached, and every breached lead past its reassignment time (and not routed since) is routed
// again, as the jobs would have done. It returns how many leads it acted on. A periodic job runs it;
// acting twice is harmless (LeadSLADue checks the timer's state).
func (s *Service) SweepLeadSLAs(ctx context.Context) (int, error) {
	return s.forEachOrganization(ctx, "lead SLA sweep", s.sweepLeadSLAs)
}

func (s *Service) sweepLeadSLAs(ctx context.Context, a *crm.Actor) (int, error) {
	now := s.now()
	var (
		rows []query.OverdueLeadSLAsRow
		org  query.Organization
	)
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		if org, err = q.GetOrganization(ctx, a.OrgID); err != nil {
			return err
		}
		rows, err = q.OverdueLeadSLAs(ctx, query.OverdueLeadSLAsParams{OrgID: a.OrgID, Now: now, MaxRows: sweepBatch})
		return err
	})
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	settings := orgFromRow(org).Settings
	cal := workhours.New(settings.WorkingHours, settings.Location())
	n := 0
	for _, r := range rows {
		stage := jobargs.SLAStageBreach
		if crm.SLAState(r.SlaState) == crm.SLABreached {
			if cal.Add(r.SlaDueAt, int(reassignMinutes(settings))).After(now) {
				continue
			}
			stage = jobargs.SLAStageReassign
		}
		if err := s.LeadSLADue(ctx, a.OrgID, r.ID, r.SlaDueAt, stage); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
