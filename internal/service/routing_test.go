package service_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
	"github.com/rapportcrm/rapport/internal/rules/routing"
	"github.com/rapportcrm/rapport/internal/rules/scoring"
	"github.com/rapportcrm/rapport/internal/service"
	"github.com/rapportcrm/rapport/worker/jobargs"
)

// lead captures a lead through the API path.
func (e *env) lead(name string, opts ...func(*service.LeadInput)) crm.Lead {
	e.t.Helper()
	in := service.LeadInput{Name: name, Email: fmt.Sprintf("%s@example.cn", name), Source: crm.SourceWebForm}
	for _, o := range opts {
		o(&in)
	}
	res, err := e.svc.CaptureLead(e.ctx, e.admin, in)
	require.NoError(e.t, err)
	require.Equal(e.t, service.CaptureCreated, res.Outcome)
	return res.Lead
}

func (e *env) rule(in service.AssignmentRuleInput) service.AssignmentRule {
	e.t.Helper()
	if in.Name == "" {
		in.Name = "rule"
	}
	r, err := e.svc.CreateAssignmentRule(e.ctx, e.admin, in)
	require.NoError(e.t, err)
	return r
}

func crit(field string, op criteria.Operator, value string) criteria.Criterion {
	return criteria.Criterion{Field: field, Operator: op, Value: json.RawMessage(value)}
}

// inbound makes a team of n reps and returns it with its members in round-robin (ID) order.
func (e *env) inbound(n int) (crm.Team, []*crm.Actor) {
	e.t.Helper()
	team := e.team("Inbound", crm.NilID, e.manager.UserID)
	reps := make([]*crm.Actor, n)
	for i := range reps {
		reps[i] = e.user(fmt.Sprintf("in%d@acme.test", i), crm.RoleSalesRep, team.ID)
	}
	slices.SortFunc(reps, func(a, b *crm.Actor) int { return bytes.Compare(a.UserID[:], b.UserID[:]) })
	return team, reps
}

func (e *env) owner(leadID crm.ID) crm.Lead {
	e.t.Helper()
	l, err := e.svc.Lead(e.ctx, e.admin, leadID)
	require.NoError(e.t, err)
	return l
}

func TestRoundRobinStaysFairUnderConcurrentAssignment(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	team, reps := e.inbound(3)
	e.rule(service.AssignmentRuleInput{Name: "Inbound", Strategy: routing.StrategyRoundRobin, TargetTeamID: team.ID})
	const n = 12
	leads := make([]crm.Lead, n)
	for i := range leads {
		leads[i] = e.lead(fmt.Sprintf("rr%d", i))
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	decisions := make([]service.AssignmentDecision, n)
	for i := range leads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			decisions[i], errs[i] = e.svc.AssignLead(e.ctx, e.admin, leads[i].ID)
		}()
	}
	wg.Wait()
	counts := map[crm.ID]int{}
	for i, d := range decisions {
		require.NoError(t, errs[i])
		require.NotEqual(t, crm.NilID, d.ChosenID, d.Reason)
		counts[d.ChosenID]++
		// The candidates are listed in round-robin order from the turn the decision followed: the
		// chosen one is the first, so no decision skipped anyone's turn.
		require.Equal(t, d.ChosenID, d.Candidates[0].UserID, d.Reason)
		require.Equal(t, d.ChosenID, e.owner(leads[i].ID).OwnerID)
	}
	for _, r := range reps {
		require.Equal(t, n/len(reps), counts[r.UserID], "every member gets the same share: %v", counts)
	}
	require.Equal(t, n, e.count("SELECT count(*) FROM assignment_decisions WHERE org_id = $1 AND rule_id IS NOT NULL", e.org.ID))
	require.Equal(t, n, e.count("SELECT count(*) FROM events WHERE org_id = $1 AND type = 'lead.assigned'", e.org.ID))
	require.Equal(t, n, e.count("SELECT count(*) FROM notifications WHERE org_id = $1 AND kind = 'lead_assigned'", e.org.ID))
}

func TestLeastLoadedRespectsCapacityAndAway(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	team, reps := e.inbound(3)
	capacity := int32(1)
	e.rule(service.AssignmentRuleInput{Name: "Big", Strategy: routing.StrategyLeastLoaded, TargetTeamID: team.ID, Capacity: &capacity,
		Criteria: []criteria.Criterion{crit("companySize", criteria.Gte, `100`)}})
	fallback := e.rule(service.AssignmentRuleInput{Name: "Fallback", Strategy: routing.StrategyUser, TargetUserID: e.manager.UserID})
	_, err := e.svc.SetUserAway(e.ctx, reps[0], reps[0].UserID, true)
	require.NoError(t, err)
	// reps[1] already holds an open lead.
	held := e.lead("held")
	_, err = e.svc.ReassignLead(e.ctx, e.admin, held.ID, reps[1].UserID, "Met at the trade fair")
	require.NoError(t, err)

	size := int32(500)
	big := func(in *service.LeadInput) { in.CompanySize = &size }
	d, err := e.svc.AssignLead(e.ctx, e.admin, e.lead("big1", big).ID)
	require.NoError(t, err)
	require.Equal(t, reps[2].UserID, d.ChosenID, d.Reason)
	reasons := map[crm.ID]string{}
	for _, c := range d.Candidates {
		reasons[c.UserID] = c.Reason
	}
	require.Equal(t, "away", reasons[reps[0].UserID])
	require.Equal(t, "at capacity (1 of 1 open leads)", reasons[reps[1].UserID])
	require.Equal(t, "chosen", reasons[reps[2].UserID])

	// Now everyone is away or full: the rule falls through to the next one, and says so.
	d, err = e.svc.AssignLead(e.ctx, e.admin, e.lead("big2", big).ID)
	require.NoError(t, err)
	require.Equal(t, e.manager.UserID, d.ChosenID)
	require.Equal(t, fallback.ID, d.RuleID)
	require.Contains(t, d.Reason, "none of its 3 candidates is eligible")

	// Back from holiday, reps[0] has the fewest open leads.
	_, err = e.svc.SetUserAway(e.ctx, e.admin, reps[0].UserID, false)
	require.NoError(t, err)
	d, err = e.svc.AssignLead(e.ctx, e.admin, e.lead("big3", big).ID)
	require.NoError(t, err)
	require.Equal(t, reps[0].UserID, d.ChosenID, d.Reason)
}

func TestNoRuleLeavesTheLeadUnassignedWithAReason(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.rule(service.AssignmentRuleInput{Name: "Zhejiang", Strategy: routing.StrategyUser, TargetUserID: e.rep1.UserID,
		Criteria: []criteria.Criterion{crit("region", criteria.Eq, `"浙江"`)}})
	l := e.lead("nobody", func(in *service.LeadInput) { in.Region = "广东" })
	d, err := e.svc.AssignLead(e.ctx, e.admin, l.ID)
	require.NoError(t, err)
	require.Equal(t, crm.NilID, d.ChosenID)
	require.Contains(t, d.Reason, "no assignment rule matches")
	require.Equal(t, crm.NilID, e.owner(l.ID).OwnerID)
	history, err := e.svc.AssignmentDecisions(e.ctx, e.admin, l.ID)
	require.NoError(t, err)
	require.Len(t, history, 1)
	require.Equal(t, d.Reason, history[0].Reason)
}

func TestStickyOwnerWinsOverTheRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	team, _ := e.inbound(2)
	e.rule(service.AssignmentRuleInput{Name: "Inbound", Strategy: routing.StrategyRoundRobin, TargetTeamID: team.ID})
	// The person became a contact after the lead was captured (capture itself touches the contact).
	wang := e.lead("wang", func(in *service.LeadInput) { in.Email = "wang.li@example.cn" })
	e.contact(e.rep2, "Wang", "Li", func(in *service.ContactInput) {
		in.Emails = []string{"wang.li@example.cn"}
		in.AllowDuplicate = true
	})
	e.account(e.rep1b, "Acme Manufacturing", func(in *service.AccountInput) { in.Domain = "acme-mfg.cn" })

	d, err := e.svc.AssignLead(e.ctx, e.admin, wang.ID)
	require.NoError(t, err)
	require.Equal(t, e.rep2.UserID, d.ChosenID)
	require.Equal(t, routing.StickyContact, d.Sticky)
	require.Equal(t, crm.NilID, d.RuleID)

	d, err = e.svc.AssignLead(e.ctx, e.admin, e.lead("zhao", func(in *service.LeadInput) { in.Website = "acme-mfg.cn" }).ID)
	require.NoError(t, err)
	require.Equal(t, e.rep1b.UserID, d.ChosenID, d.Reason)
	require.Equal(t, routing.StickyAccount, d.Sticky)

	// A lead that already has its owner stays with it; the decision says so and nothing changes.
	l := e.lead("chen")
	first, err := e.svc.AssignLead(e.ctx, e.admin, l.ID)
	require.NoError(t, err)
	again, err := e.svc.AssignLead(e.ctx, e.admin, l.ID)
	require.NoError(t, err)
	require.Equal(t, first.ChosenID, again.ChosenID)
	require.Equal(t, routing.StickyLead, again.Sticky)
	history, err := e.svc.AssignmentDecisions(e.ctx, e.admin, l.ID)
	require.NoError(t, err)
	require.Len(t, history, 2)
	require.Equal(t, routing.StickyLead, history[0].Sticky)
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'lead.assigned'", l.ID))
}

func TestPreviewAssignmentWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	team, reps := e.inbound(2)
	r := e.rule(service.AssignmentRuleInput{Name: "Inbound", Strategy: routing.StrategyRoundRobin, TargetTeamID: team.ID})
	l := e.lead("preview")
	events := e.count("SELECT count(*) FROM events WHERE org_id = $1", e.org.ID)
	for range 2 {
		d, err := e.svc.PreviewAssignment(e.ctx, e.rep1, l.ID)
		require.NoError(t, err)
		require.Equal(t, reps[0].UserID, d.ChosenID)
		require.Equal(t, r.ID, d.RuleID)
		require.Equal(t, crm.NilID, d.ID)
	}
	require.Zero(t, e.count("SELECT count(*) FROM assignment_decisions WHERE org_id = $1", e.org.ID))
	require.Zero(t, e.count("SELECT count(*) FROM assignment_rules WHERE id = $1 AND rr_last_user_id IS NOT NULL", r.ID))
	require.Equal(t, events, e.count("SELECT count(*) FROM events WHERE org_id = $1", e.org.ID))
	require.Equal(t, crm.NilID, e.owner(l.ID).OwnerID)
}

func TestManualReassignmentIsAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.rule(service.AssignmentRuleInput{Name: "All", Strategy: routing.StrategyUser, TargetUserID: e.rep1.UserID})
	l := e.lead("manual")
	_, err := e.svc.AssignLead(e.ctx, e.admin, l.ID)
	require.NoError(t, err)

	_, err = e.svc.ReassignLead(e.ctx, e.admin, l.ID, e.rep2.UserID, "  ")
	requireCode(t, err, crm.EINVALID, "reason")
	_, err = e.svc.ReassignLead(e.ctx, e.rep2, l.ID, e.rep2.UserID, "mine")
	requireCode(t, err, crm.ENOTFOUND) // rep2 does not see rep1's lead
	d, err := e.svc.ReassignLead(e.ctx, e.manager, l.ID, e.rep2.UserID, "Speaks Cantonese")
	require.NoError(t, err)
	require.True(t, d.Manual)
	require.Equal(t, e.rep1.UserID, d.PreviousID)
	require.Equal(t, e.manager.UserID, d.ActorID)

	got := e.owner(l.ID)
	require.Equal(t, e.rep2.UserID, got.OwnerID)
	require.Equal(t, crm.SLARunning, got.SLAState)
	history, err := e.svc.AssignmentDecisions(e.ctx, e.rep2, l.ID)
	require.NoError(t, err)
	require.Len(t, history, 2)
	require.True(t, history[0].Manual)
	require.Contains(t, history[0].Reason, "Speaks Cantonese")
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'lead.reassigned' AND actor_id = $2", l.ID, e.manager.UserID))
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'lead_assigned' AND record_id = $2", e.rep2.UserID, l.ID))
}

func TestFirstTouchSLABreachNotifiesOwnerAndManagerThenReassigns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.rule(service.AssignmentRuleInput{Name: "East", Strategy: routing.StrategyRoundRobin, TargetTeamID: e.teamOf(e.rep1)})
	l := e.lead("slow")
	d, err := e.svc.AssignLead(e.ctx, e.admin, l.ID)
	require.NoError(t, err)
	first := e.owner(l.ID)
	require.Equal(t, d.ChosenID, first.OwnerID)
	require.Equal(t, crm.SLARunning, first.SLAState)
	require.NotNil(t, first.SLADueAt)
	// The timer is a River job at the deadline.
	require.Equal(t, 1, e.count(`SELECT count(*) FROM river_job WHERE kind = 'lead.sla' AND args->>'stage' = 'breach'
		AND args->>'lead_id' = $1 AND scheduled_at = $2`, l.ID.String(), *first.SLADueAt))

	require.NoError(t, e.svc.LeadSLADue(e.ctx, e.org.ID, l.ID, *first.SLADueAt, jobargs.SLAStageBreach))
	require.NoError(t, e.svc.LeadSLADue(e.ctx, e.org.ID, l.ID, *first.SLADueAt, jobargs.SLAStageBreach)) // a second run does nothing
	require.Equal(t, crm.SLABreached, e.owner(l.ID).SLAState)
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'lead_sla_breached' AND record_id = $2", first.OwnerID, l.ID))
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE user_id = $1 AND kind = 'lead_sla_team' AND record_id = $2", e.manager.UserID, l.ID))
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'lead.sla_breached'", l.ID))
	require.Equal(t, 1, e.count("SELECT count(*) FROM river_job WHERE kind = 'lead.sla' AND args->>'stage' = 'reassign' AND args->>'lead_id' = $1", l.ID.String()))

	// A stale job of another deadline does nothing.
	require.NoError(t, e.svc.LeadSLADue(e.ctx, e.org.ID, l.ID, first.SLADueAt.Add(time.Hour), jobargs.SLAStageReassign))
	require.Equal(t, first.OwnerID, e.owner(l.ID).OwnerID)

	require.NoError(t, e.svc.LeadSLADue(e.ctx, e.org.ID, l.ID, *first.SLADueAt, jobargs.SLAStageReassign))
	second := e.owner(l.ID)
	require.NotEqual(t, first.OwnerID, second.OwnerID)
	require.NotEqual(t, crm.NilID, second.OwnerID)
	require.Equal(t, crm.SLARunning, second.SLAState)
	history, err := e.svc.AssignmentDecisions(e.ctx, e.admin, l.ID)
	require.NoError(t, err)
	require.Len(t, history, 2)
	require.Equal(t, first.OwnerID, history[0].PreviousID)
	require.Equal(t, second.OwnerID, history[0].ChosenID)
	require.Equal(t, crm.ActorSystem, history[0].ActorKind)
	excluded := false
	for _, c := range history[0].Candidates {
		excluded = excluded || (c.UserID == first.OwnerID && c.Reason == "excluded (the previous owner)")
	}
	require.True(t, excluded, "%+v", history[0].Candidates)
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'lead.reassigned'", l.ID))
}

func TestSweepRepairsLostSLATimers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.rule(service.AssignmentRuleInput{Name: "East", Strategy: routing.StrategyRoundRobin, TargetTeamID: e.teamOf(e.rep1)})
	l := e.lead("lost")
	d, err := e.svc.AssignLead(e.ctx, e.admin, l.ID)
	require.NoError(t, err)
	// The jobs are lost and the deadline long past.
	_, err = e.pool.Exec(e.ctx, "DELETE FROM river_job")
	require.NoError(t, err)
	past := time.Now().Add(-30 * 24 * time.Hour).UTC().Truncate(time.Microsecond)
	_, err = e.pool.Exec(e.ctx, "UPDATE leads SET sla_due_at = $2 WHERE id = $1", l.ID, past)
	require.NoError(t, err)
	_, err = e.pool.Exec(e.ctx, "UPDATE assignment_decisions SET decided_at = $2 WHERE lead_id = $1", l.ID, past.Add(-time.Hour))
	require.NoError(t, err)

	n, err := e.svc.SweepLeadSLAs(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, crm.SLABreached, e.owner(l.ID).SLAState)
	require.Equal(t, 1, e.count("SELECT count(*) FROM notifications WHERE kind = 'lead_sla_breached' AND record_id = $1", l.ID))

	// The next sweep finds the reassignment overdue too (30 days is past any second period).
	n, err = e.svc.SweepLeadSLAs(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	got := e.owner(l.ID)
	require.NotEqual(t, d.ChosenID, got.OwnerID)
	require.Equal(t, crm.SLARunning, got.SLAState)

	n, err = e.svc.SweepLeadSLAs(e.ctx)
	require.NoError(t, err)
	require.Zero(t, n, "nothing left to repair")
}

func TestAssignmentRulesCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	team, _ := e.inbound(1)
	_, err := e.svc.CreateAssignmentRule(e.ctx, e.rep1, service.AssignmentRuleInput{Name: "x", Strategy: routing.StrategyUser, TargetUserID: e.rep1.UserID})
	requireCode(t, err, crm.EFORBIDDEN)
	_, err = e.svc.CreateAssignmentRule(e.ctx, e.admin, service.AssignmentRuleInput{Name: "bad", Strategy: routing.StrategyRoundRobin, TargetTeamID: team.ID,
		Criteria: []criteria.Criterion{crit("region", criteria.Eq, `"浙江"`), crit("shoeSize", criteria.Gt, `9`)}})
	requireCode(t, err, crm.EINVALID, "criteria[1]")
	_, err = e.svc.CreateAssignmentRule(e.ctx, e.admin, service.AssignmentRuleInput{Name: "bad", Strategy: routing.StrategyRoundRobin, TargetTeamID: crm.NewID()})
	requireCode(t, err, crm.EINVALID, "targetTeamId")
	_, err = e.svc.CreateAssignmentRule(e.ctx, e.admin, service.AssignmentRuleInput{Name: "bad", Strategy: routing.StrategyUser, TargetUserID: crm.NewID()})
	requireCode(t, err, crm.EINVALID, "targetUserId")
	_, err = e.svc.CreateAssignmentRule(e.ctx, e.admin, service.AssignmentRuleInput{Name: "bad", Strategy: "random", TargetTeamID: team.ID})
	requireCode(t, err, crm.EINVALID, "strategy")

	a := e.rule(service.AssignmentRuleInput{Name: "A", Strategy: routing.StrategyUser, TargetUserID: e.rep1.UserID})
	b := e.rule(service.AssignmentRuleInput{Name: "B", Strategy: routing.StrategyRoundRobin, TargetTeamID: team.ID})
	zero := int32(0)
	c := e.rule(service.AssignmentRuleInput{Name: "C", Strategy: routing.StrategyUser, TargetUserID: e.rep2.UserID, Position: &zero})
	names := func() []string {
		rules, err := e.svc.ListAssignmentRules(e.ctx, e.rep1)
		require.NoError(t, err)
		var out []string
		for i, r := range rules {
			require.Equal(t, int32(i), r.Position)
			out = append(out, r.Name)
		}
		return out
	}
	require.Equal(t, []string{"C", "A", "B"}, names())

	_, err = e.svc.UpdateAssignmentRule(e.ctx, e.admin, service.AssignmentRuleUpdate{ID: a.ID, ExpectedVersion: a.Version + 1, Name: service.Some("A2")})
	requireCode(t, err, crm.ECONFLICT)
	_, err = e.svc.UpdateAssignmentRule(e.ctx, e.admin, service.AssignmentRuleUpdate{ID: a.ID, ExpectedVersion: a.Version,
		Criteria: service.Some([]criteria.Criterion{crit("industry", "like", `"x"`)})})
	requireCode(t, err, crm.EINVALID, "criteria[0]")
	a2, err := e.svc.UpdateAssignmentRule(e.ctx, e.admin, service.AssignmentRuleUpdate{ID: a.ID, ExpectedVersion: a.Version,
		Name: service.Some("A2"), Strategy: service.Some(routing.StrategyLeastLoaded), TargetTeamID: service.Some(team.ID)})
	require.NoError(t, err)
	require.Equal(t, a.Version+1, a2.Version)
	require.Equal(t, crm.NilID, a2.TargetUserID)

	_, err = e.svc.ReorderAssignmentRules(e.ctx, e.admin, []crm.ID{a.ID, b.ID})
	requireCode(t, err, crm.EINVALID, "ids")
	_, err = e.svc.ReorderAssignmentRules(e.ctx, e.admin, []crm.ID{b.ID, a.ID, c.ID})
	require.NoError(t, err)
	require.Equal(t, []string{"B", "A2", "C"}, names())

	require.NoError(t, e.svc.DeleteAssignmentRule(e.ctx, e.admin, b.ID, b.Version))
	require.Equal(t, []string{"A2", "C"}, names())
	requireCode(t, e.svc.DeleteAssignmentRule(e.ctx, e.admin, b.ID, b.Version), crm.ENOTFOUND)
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'assignment_rule.deleted'", b.ID))
}

func TestSetUserAway(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	u, err := e.svc.SetUserAway(e.ctx, e.rep1, e.rep1.UserID, true)
	require.NoError(t, err)
	require.True(t, u.Away)
	_, err = e.svc.SetUserAway(e.ctx, e.rep1, e.rep2.UserID, true)
	requireCode(t, err, crm.EFORBIDDEN)
	u, err = e.svc.SetUserAway(e.ctx, e.admin, e.rep1.UserID, false)
	require.NoError(t, err)
	require.False(t, u.Away)
	got, err := e.svc.Users(e.ctx, e.admin, []crm.ID{e.rep1.UserID})
	require.NoError(t, err)
	require.False(t, got[0].Away)
}

// teamOf returns the team of a user.
func (e *env) teamOf(a *crm.Actor) crm.ID {
	e.t.Helper()
	us, err := e.svc.Users(e.ctx, e.admin, []crm.ID{a.UserID})
	require.NoError(e.t, err)
	return us[0].TeamID
}

func TestContactStopsTheFirstTouchTimer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.rule(service.AssignmentRuleInput{Name: "All", Strategy: routing.StrategyUser, TargetUserID: e.rep1.UserID})
	onTime, late := e.lead("ontime"), e.lead("late")
	for _, l := range []crm.Lead{onTime, late} {
		_, err := e.svc.AssignLead(e.ctx, e.admin, l.ID)
		require.NoError(t, err)
	}
	due := *e.owner(late.ID).SLADueAt
	require.NoError(t, e.svc.LeadSLADue(e.ctx, e.org.ID, late.ID, due, jobargs.SLAStageBreach))

	now := time.Now().UTC().Truncate(time.Microsecond)
	logOn := func(l crm.Lead, typ crm.ActivityType, at time.Time) {
		t.Helper()
		_, _, err := e.svc.LogActivity(e.ctx, e.rep1, service.ActivityInput{Type: typ, Subject: "reached out",
			RecordType: crm.TypeLead, RecordID: l.ID, OccurredAt: &at})
		require.NoError(t, err)
	}
	logOn(onTime, crm.ActivityNote, now.Add(-time.Minute)) // a note is not a contact
	require.Equal(t, crm.SLARunning, e.owner(onTime.ID).SLAState)
	logOn(onTime, crm.ActivityCall, now)
	// Move the breached lead's deadline into the past, as if the owner called a day late.
	_, err := e.pool.Exec(e.ctx, `UPDATE leads SET sla_due_at = $2 WHERE id = $1`, late.ID, now.Add(-24*time.Hour))
	require.NoError(t, err)
	due = now.Add(-24 * time.Hour)
	logOn(late, crm.ActivityEmail, now)
	logOn(onTime, crm.ActivityMeeting, time.Now().UTC()) // later contacts change nothing
	got := e.owner(onTime.ID)
	require.Equal(t, crm.SLAMet, got.SLAState)
	require.True(t, got.ContactedAt.Equal(now))
	require.Equal(t, crm.SLALate, e.owner(late.ID).SLAState)
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'lead.contacted'", onTime.ID))

	// The timer's jobs find nothing to do.
	require.NoError(t, e.svc.LeadSLADue(e.ctx, e.org.ID, onTime.ID, *got.SLADueAt, jobargs.SLAStageBreach))
	require.NoError(t, e.svc.LeadSLADue(e.ctx, e.org.ID, late.ID, due, jobargs.SLAStageReassign))
	require.Equal(t, crm.SLAMet, e.owner(onTime.ID).SLAState)
	require.Equal(t, e.rep1.UserID, e.owner(late.ID).OwnerID)
}

// qualifyTogether makes n leads sales-qualified in one scoring batch (25 fit points and three
// webinars each) and returns them in ID order, the order the batch routes them in.
func (e *env) qualifyTogether(prefix string, n int) []crm.ID {
	e.t.Helper()
	ids := make([]crm.ID, n)
	var ins []service.LeadActivityInput
	at := time.Now().Add(-time.Hour)
	for i := range ids {
		ids[i] = e.prospect(fmt.Sprintf("%s%d@acme.cn", prefix, i), "销售总监", "Manufacturing", 500)
		for k := range 3 {
			in := service.LeadActivityInput{IdempotencyKey: fmt.Sprintf("%s%d-%d", prefix, i, k), Type: scoring.Webinar, OccurredAt: at}
			in.LeadID = ids[i]
			ins = append(ins, in)
		}
	}
	e.track(e.admin, ins...)
	require.NoError(e.t, e.svc.ScoreLeads(e.ctx, e.org.ID, ids))
	slices.SortFunc(ids, func(a, b crm.ID) int { return bytes.Compare(a[:], b[:]) })
	for _, id := range ids {
		require.Equal(e.t, "qualified", e.score(id).Status)
	}
	return ids
}

func TestLeadsQualifiedTogetherTakeTurnsInTheRoundRobin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	team, reps := e.inbound(3)
	rule := e.rule(service.AssignmentRuleInput{Name: "Inbound", Strategy: routing.StrategyRoundRobin, TargetTeamID: team.ID})
	leads := e.qualifyTogether("rr", 7)
	for i, id := range leads {
		ds, err := e.svc.AssignmentDecisions(e.ctx, e.admin, id)
		require.NoError(t, err)
		require.Len(t, ds, 1)
		want := reps[i%len(reps)].UserID
		require.Equal(t, want, ds[0].ChosenID, ds[0].Reason)
		require.Equal(t, want, ds[0].Candidates[0].UserID, "the turn the decision followed was the one before it left")
		require.Equal(t, rule.ID, ds[0].RuleID)
		require.Equal(t, want, e.owner(id).OwnerID)
		require.Equal(t, 1, e.count("SELECT count(*) FROM tasks WHERE record_id = $1 AND kind = 'first_contact' AND owner_id = $2", id, want))
	}
	var turn crm.ID
	require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT rr_last_user_id FROM assignment_rules WHERE id = $1", rule.ID).Scan(&turn))
	require.Equal(t, reps[(len(leads)-1)%len(reps)].UserID, turn, "the turn is where the batch left it")
	require.Equal(t, len(leads), e.count("SELECT count(*) FROM events WHERE org_id = $1 AND type = 'lead.assigned'", e.org.ID))
	require.Equal(t, len(leads), e.count("SELECT count(*) FROM events WHERE org_id = $1 AND type = 'lead.qualified'", e.org.ID))
}

func TestLeadsQualifiedTogetherFillCapacityThenFallThrough(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	team, reps := e.inbound(3)
	capacity := int32(2)
	e.rule(service.AssignmentRuleInput{Name: "Load", Strategy: routing.StrategyLeastLoaded, TargetTeamID: team.ID, Capacity: &capacity})
	fallback := e.rule(service.AssignmentRuleInput{Name: "Fallback", Strategy: routing.StrategyUser, TargetUserID: e.manager.UserID})
	_, err := e.svc.SetUserAway(e.ctx, reps[0], reps[0].UserID, true)
	require.NoError(t, err)
	leads := e.qualifyTogether("ll", 5)
	counts := map[crm.ID]int{}
	for _, id := range leads {
		counts[e.owner(id).OwnerID]++
	}
	require.Equal(t, map[crm.ID]int{reps[1].UserID: 2, reps[2].UserID: 2, e.manager.UserID: 1}, counts,
		"each decision counts the leads the ones before it gave")
	ds, err := e.svc.AssignmentDecisions(e.ctx, e.admin, leads[4])
	require.NoError(t, err)
	require.Equal(t, fallback.ID, ds[0].RuleID)
	require.Contains(t, ds[0].Reason, "none of its 3 candidates is eligible")
}
