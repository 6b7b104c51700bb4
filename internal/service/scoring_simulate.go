package service

import (
	"context"
	"time"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/scoring"
)

// SimulationSide is the score distribution of the simulated leads under one rule set.
type SimulationSide struct {
	Buckets   []scoring.Bucket // totals in buckets of 10 points, lowest first, empty buckets left out
	GradeA    int
	GradeB    int
	GradeC    int
	Qualified int // sales-qualified leads (at or above the qualification threshold)
	Nurture   int // leads in the nurture band
	Average   float64
}

// Simulation compares the current rules with proposed ones over existing leads.
type Simulation struct {
	Leads    int            // leads scored
	Changed  int            // leads whose total would change
	Current  SimulationSide // under the active rules
	Proposed SimulationSide // under the proposed rules
}

// SimulateScoringRules scores the organization's live leads (created at or after since, when set)
// under the current rules and under proposed ones, as if the proposed set replaced the current one,
// and returns both distributions. Nothing is saved. Administrators and holders of aggregates:read.
func (s *Service) SimulateScoringRules(ctx context.Context, a *crm.Actor, proposed []ScoringRuleInput, since *time.Time) (sim Simulation, err error) {
	if !access.Allows(a, access.SettingsWrite) {
		if err := authorize(a, access.AggregatesRead); err != nil {
			return sim, err
		}
	}
	if len(proposed) > 200 {
		return sim, crm.Invalid("rules", "Simulate at most 200 rules at once.")
	}
	next := make([]scoring.Rule, len(proposed))
	for i, in := range proposed {
		r, err := scoringRuleOf(in)
		if err != nil {
			if e, ok := err.(*crm.Error); ok {
				return sim, crm.Invalid(e.Field, "Rule %d: %s", i+1, e.Message)
			}
			return sim, err
		}
		r.ID, r.Version = crm.NewID(), 1
		next[i] = r
	}
	var org query.Organization
	var current []query.ScoringRule
	if err := s.read(ctx, a, func(q *query.Queries) (err error) {
		if org, err = q.GetOrganization(ctx, a.OrgID); err != nil {
			return err
		}
		current, err = q.ListScoringRules(ctx, a.OrgID)
		return err
	}); err != nil {
		return sim, err
	}
	st := orgFromRow(org).Settings
	curSet, _ := scoring.Compile(scoringRulesFromRows(current))
	nextSet, _ := scoring.Compile(next)
	from := time.Time{}
	if since != nil {
		from = *since
	}
	now := s.now()
	local := now.In(st.Location())
	curH, nextH := scoring.NewHistogram(10), scoring.NewHistogram(10)
	var curSum, nextSum int64
	after := crm.NilID
	for {
		var leads []query.Lead
		var events []query.LeadEventsForScoringRow
		err := s.read(ctx, a, func(q *query.Queries) (err error) {
			leads, err = q.SimulationLeads(ctx, query.SimulationLeadsParams{OrgID: a.OrgID, AfterID: after, Since: from, BatchSize: scoreBatch})
			if err != nil || len(leads) == 0 {
				return err
			}
			ids := make([]crm.ID, len(leads))
			for i, l := range leads {
				ids[i] = l.ID
			}
			events, err = q.LeadEventsForScoring(ctx, query.LeadEventsForScoringParams{OrgID: a.OrgID, LeadIds: ids})
			return err
		})
		if err != nil {
			return sim, err
		}
		if len(leads) == 0 {
			break
		}
		byLead := make(map[crm.ID][]scoring.Event, len(leads))
		for _, e := range events {
			byLead[e.LeadID] = append(byLead[e.LeadID], scoring.Event{ID: e.ID, Type: scoring.EventType(e.Type), URL: e.Url, OccurredAt: e.OccurredAt})
		}
		for _, row := range leads {
			lead := leadFromRow(row)
			evs := byLead[lead.ID]
			cur := scoring.Tally(curSet.Evaluate(&lead, evs, local, st.Leads), now, st.Leads)
			nxt := scoring.Tally(nextSet.Evaluate(&lead, evs, local, st.Leads), now, st.Leads)
			curH.Add(cur.Total, st.Leads)
			nextH.Add(nxt.Total, st.Leads)
			curSum += int64(cur.Total)
			nextSum += int64(nxt.Total)
			if cur.Total != nxt.Total {
				sim.Changed++
			}
		}
		after = leads[len(leads)-1].ID
		if len(leads) < scoreBatch {
			break
		}
	}
	sim.Leads = curH.Leads
	sim.Current, sim.Proposed = simulationSide(curH, curSum), simulationSide(nextH, nextSum)
	return sim, nil
}

func simulationSide(h *scoring.Histogram, sum int64) SimulationSide {
	side := SimulationSide{Buckets: h.Buckets(), GradeA: h.Grades["A"], GradeB: h.Grades["B"], GradeC: h.Grades["C"],
		Qualified: h.Qualified, Nurture: h.Nurture}
	if h.Leads > 0 {
		side.Average = float64(sum) / float64(h.Leads)
	}
	return side
}
