// Package routing decides who gets a lead: the sticky owner the person already has, or the target of
// the first assignment rule whose criteria match and that has an eligible member (one user, or a
// team by round robin or by load, skipping people who are away, inactive or at capacity). The
// decision lists every candidate considered and why, so that it can be stored and explained.
package routing

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
)

// Strategy is how a rule picks the owner among its target's members.
type Strategy string

// Strategies.
const (
	StrategyUser        Strategy = "user"         // always the target user
	StrategyRoundRobin  Strategy = "round_robin"  // the next eligible member after the last one given a lead
	StrategyLeastLoaded Strategy = "least_loaded" // the eligible member with the fewest open leads
)

// Strategies lists every strategy.
var Strategies = []Strategy{StrategyUser, StrategyRoundRobin, StrategyLeastLoaded}

// Rule is an assignment rule as the decision needs it. Rules are tried in their order.
type Rule struct {
	ID           crm.ID
	Name         string
	Criteria     []criteria.Criterion
	Strategy     Strategy
	TargetUserID crm.ID // for StrategyUser
	TargetTeamID crm.ID // for the team strategies
	Capacity     int32  // most open leads a member may hold; 0: no cap
	LastUserID   crm.ID // the member the rule last gave a lead to (the round-robin turn)
	match        criteria.Predicate
}

// FieldError is what is wrong with a rule, and where, for BAD_USER_INPUT.
type FieldError struct {
	Field   string // e.g. "criteria[1]", "strategy"
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

// Compile checks the rule and prepares its criteria for Decide. The error is a *FieldError naming
// the criterion (criteria[i], counted from 0) or the setting that cannot work.
func (r *Rule) Compile() error {
	switch r.Strategy {
	case StrategyUser:
		if r.TargetUserID == crm.NilID {
			return &FieldError{"targetUserId", "A rule with the user strategy needs a target user."}
		}
		if r.TargetTeamID != crm.NilID {
			return &FieldError{"targetTeamId", "A rule with the user strategy names a user, not a team."}
		}
	case StrategyRoundRobin, StrategyLeastLoaded:
		if r.TargetTeamID == crm.NilID {
			return &FieldError{"targetTeamId", "A rule with the " + string(r.Strategy) + " strategy needs a target team."}
		}
		if r.TargetUserID != crm.NilID {
			return &FieldError{"targetUserId", "A rule with a team strategy names a team, not a user."}
		}
	default:
		names := make([]string, len(Strategies))
		for i, s := range Strategies {
			names[i] = string(s)
		}
		return &FieldError{"strategy", fmt.Sprintf("Unknown strategy %q; use one of %s.", r.Strategy, strings.Join(names, ", "))}
	}
	if r.Capacity < 0 {
		return &FieldError{"capacity", "The capacity is a number of open leads, 1 or more (or none for no cap)."}
	}
	ps := make([]criteria.Predicate, len(r.Criteria))
	for i, c := range r.Criteria {
		p, err := c.Compile()
		if err != nil {
			return &FieldError{"criteria[" + strconv.Itoa(i) + "]", fmt.Sprintf("Criterion %d (%s): %v.", i+1, c.Field, err)}
		}
		ps[i] = p
	}
	r.match = func(l *crm.Lead) bool {
		for _, p := range ps {
			if !p(l) {
				return false
			}
		}
		return true
	}
	return nil
}

// Matches reports whether the lead meets all of the rule's criteria. The rule must be compiled.
func (r *Rule) Matches(l *crm.Lead) bool { return r.match == nil || r.match(l) }

// NeedsTurn reports whether the rule keeps a round-robin turn (the team strategies), which the
// service advances under the rule's row lock.
func (r *Rule) NeedsTurn() bool { return r.Strategy != StrategyUser }

// Matching returns the indexes of the rules the lead matches, in order.
func Matching(rules []Rule, l *crm.Lead) []int {
	var out []int
	for i := range rules {
		if rules[i].Matches(l) {
			out = append(out, i)
		}
	}
	return out
}

// Candidate is a person a rule may give the lead to.
type Candidate struct {
	UserID    crm.ID
	TeamID    crm.ID
	Name      string // for the reasons; the ID when empty
	Away      bool
	Active    bool
	OpenLeads int32
}

// StickyKind says where a sticky owner comes from.
type StickyKind string

// Sticky owners, in the order they are tried.
const (
	StickyLead    StickyKind = "lead"    // the lead's own owner
	StickyContact StickyKind = "contact" // the owner of the contact the person already is
	StickyAccount StickyKind = "account" // the owner of the account of the person's company
)

// Sticky is an owner the person already has.
type Sticky struct {
	Kind      StickyKind
	Candidate Candidate
}

// Options are what a decision takes besides rules and lead.
type Options struct {
	Sticky  []Sticky // in precedence order: lead, contact, account
	Exclude []crm.ID // people who must not get the lead (the previous owner on reassignment)
}

// Considered is one candidate of a decision and whether they could get the lead.
type Considered struct {
	RuleID    crm.ID     `json:"ruleId,omitempty"` // NilID for a sticky owner
	UserID    crm.ID     `json:"userId"`
	Sticky    StickyKind `json:"sticky,omitempty"`
	OpenLeads int32      `json:"openLeads"`
	Eligible  bool       `json:"eligible"`
	Reason    string     `json:"reason"` // why not, or why chosen
}

// Decision is who gets the lead and why. A zero ChosenID means nobody: the lead stays unassigned.
type Decision struct {
	RuleID     crm.ID     // the rule that chose; NilID for sticky or no decision
	Sticky     StickyKind // set when a sticky owner was chosen
	Strategy   Strategy
	Candidates []Considered
	ChosenID   crm.ID
	TeamID     crm.ID // the chosen member's team
	TurnAfter  crm.ID // the rule's round-robin turn the choice followed (NilID at the start)
	Reason     string
}

// Decide picks the lead's owner: first a sticky owner who can take it, then the first matching rule
// with an eligible member. candidates holds each team rule's members (and a user rule's user) by
// rule ID, in a stable order (the service orders them by user ID); turns holds the rules' round-robin
// turns when they differ from Rule.LastUserID (read under the rule's lock). Rules must be compiled.
func Decide(rules []Rule, l *crm.Lead, candidates map[crm.ID][]Candidate, turns map[crm.ID]crm.ID, o Options) Decision {
	var d Decision
	var why []string
	for _, s := range o.Sticky {
		c := s.Candidate
		if c.UserID == crm.NilID {
			continue
		}
		ok, reason := eligible(c, 0, o.Exclude)
		if ok {
			reason = "already owns the " + string(s.Kind)
		}
		d.Candidates = append(d.Candidates, Considered{UserID: c.UserID, Sticky: s.Kind, OpenLeads: c.OpenLeads, Eligible: ok, Reason: reason})
		if ok {
			d.Sticky, d.ChosenID, d.TeamID = s.Kind, c.UserID, c.TeamID
			d.Reason = "Sticky: " + name(c) + " already owns this person's " + string(s.Kind) + "."
			return d
		}
		why = append(why, "sticky "+string(s.Kind)+" owner "+name(c)+" is "+reason)
	}
	matched := false
	for i := range rules {
		r := &rules[i]
		if !r.Matches(l) {
			continue
		}
		matched = true
		turn := r.LastUserID
		if t, ok := turns[r.ID]; ok {
			turn = t
		}
		chosen, considered := pick(r, candidates[r.ID], turn, o.Exclude)
		if d.Candidates == nil {
			d.Candidates = considered // the usual case: the first rule that matches; no copy
		} else {
			d.Candidates = append(d.Candidates, considered...)
		}
		if chosen == nil {
			if len(considered) == 0 {
				why = append(why, "rule "+quote(r.Name)+" matched but its target has no members")
			} else {
				why = append(why, "rule "+quote(r.Name)+" matched but none of its "+strconv.Itoa(len(considered))+" candidates is eligible")
			}
			continue
		}
		d.RuleID, d.Strategy, d.ChosenID, d.TeamID, d.TurnAfter = r.ID, r.Strategy, chosen.UserID, chosen.TeamID, turn
		var how string
		switch r.Strategy {
		case StrategyUser:
			how = "the rule's user"
		case StrategyRoundRobin:
			how = "next in the round robin"
			if turn != crm.NilID {
				how += " after " + nameOf(candidates[r.ID], turn)
			}
		case StrategyLeastLoaded:
			how = "fewest open leads (" + strconv.Itoa(int(chosen.OpenLeads)) + ")"
			if r.Capacity > 0 {
				how += " under the cap of " + strconv.Itoa(int(r.Capacity))
			}
		}
		d.Reason = "Rule " + quote(r.Name) + " matched: " + name(*chosen) + ", " + how + "."
		if len(why) > 0 {
			d.Reason += " Before that: " + strings.Join(why, "; ") + "."
		}
		return d
	}
	if !matched {
		why = append(why, "no assignment rule matches the lead")
	}
	d.Reason = "Unassigned: " + strings.Join(why, "; ") + "."
	return d
}

// pick chooses among a rule's candidates. Members are taken in the round-robin order: the stable
// order started after the turn (the member the rule last gave a lead to, or where they would sort
// if they have since left).
func pick(r *Rule, cs []Candidate, turn crm.ID, exclude []crm.ID) (*Candidate, []Considered) {
	if len(cs) == 0 {
		return nil, nil
	}
	if !slices.IsSortedFunc(cs, byUser) {
		cs = slices.Clone(cs)
		slices.SortFunc(cs, byUser)
	}
	start := 0
	if turn != crm.NilID {
		start, _ = slices.BinarySearchFunc(cs, turn, func(c Candidate, id crm.ID) int { return bytes.Compare(c.UserID[:], id[:]) })
		if start < len(cs) && cs[start].UserID == turn {
			start++
		}
	}
	considered := make([]Considered, len(cs))
	best := -1
	for k := range cs {
		i := (start + k) % len(cs)
		c := &cs[i]
		ok, reason := eligible(*c, r.Capacity, exclude)
		considered[k] = Considered{RuleID: r.ID, UserID: c.UserID, OpenLeads: c.OpenLeads, Eligible: ok, Reason: reason}
		if !ok {
			continue
		}
		switch {
		case best < 0:
			best = k
		case r.Strategy == StrategyLeastLoaded && c.OpenLeads < cs[(start+best)%len(cs)].OpenLeads:
			best = k
		}
	}
	if best < 0 {
		return nil, considered
	}
	considered[best].Reason = "chosen"
	return &cs[(start+best)%len(cs)], considered
}

func byUser(a, b Candidate) int { return bytes.Compare(a.UserID[:], b.UserID[:]) }

// eligible says whether a candidate can take a lead, and if not why.
func eligible(c Candidate, capacity int32, exclude []crm.ID) (bool, string) {
	switch {
	case slices.Contains(exclude, c.UserID):
		return false, "excluded (the previous owner)"
	case !c.Active:
		return false, "inactive"
	case c.Away:
		return false, "away"
	case capacity > 0 && c.OpenLeads >= capacity:
		return false, "at capacity (" + strconv.Itoa(int(c.OpenLeads)) + " of " + strconv.Itoa(int(capacity)) + " open leads)"
	}
	return true, "eligible"
}

func name(c Candidate) string {
	if c.Name != "" {
		return c.Name
	}
	return c.UserID.String()
}

func nameOf(cs []Candidate, id crm.ID) string {
	for _, c := range cs {
		if c.UserID == id {
			return name(c)
		}
	}
	return id.String()
}

func quote(s string) string { return "\u201c" + s + "\u201d" }
