package service_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/db"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/scoring"
	"github.com/rapportcrm/rapport/internal/service"
)

// prospect captures a lead with the attributes scoring reads and returns its ID.
func (e *env) prospect(email, title, industry string, size int32) crm.ID {
	e.t.Helper()
	in := service.LeadInput{Name: email, Email: email, Title: title, Industry: industry, Source: crm.SourceAPI}
	if size > 0 {
		in.CompanySize = &size
	}
	res, err := e.svc.CaptureLead(e.ctx, e.admin, in)
	require.NoError(e.t, err)
	return res.Lead.ID
}

type leadScore struct {
	Total, Fit, Engagement int32
	Grade, Status          string
	Qualified, Nurtured    bool
}

func (e *env) score(id crm.ID) leadScore {
	e.t.Helper()
	var s leadScore
	require.NoError(e.t, e.pool.QueryRow(e.ctx, `SELECT score_total, score_fit, score_engagement, grade, status,
		qualified_at IS NOT NULL, nurtured_at IS NOT NULL FROM leads WHERE id = $1`, id).
		Scan(&s.Total, &s.Fit, &s.Engagement, &s.Grade, &s.Status, &s.Qualified, &s.Nurtured))
	return s
}

// ledger returns the lead's score entries as comparable text, in a fixed order.
func (e *env) ledger(id crm.ID) []string {
	e.t.Helper()
	rows, err := e.pool.Query(e.ctx, `SELECT format('%s v%s %s %s %s %s %s %s', x.e->>'rule', x.e->>'version', x.e->>'event',
		x.e->>'part', x.e->>'points', x.e->>'reason', (x.e->>'at')::timestamptz, (x.e->>'expires')::timestamptz)
		FROM lead_score_ledgers l, json_array_elements(l.entries) AS x (e) WHERE l.lead_id = $1 ORDER BY 1`, id)
	require.NoError(e.t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(e.t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(e.t, rows.Err())
	return out
}

func ev(key string, typ scoring.EventType, url string, at time.Time) service.LeadActivityInput {
	return service.LeadActivityInput{IdempotencyKey: key, Type: typ, URL: url, OccurredAt: at}
}

// visitor captures a lead of 25 fit points (title, manufacturing, 500 people) who visited the
// pricing page (at visited, about two days ago) and opened the e-mail newsletter an hour later, scores
// it and returns its ID and the time of the visit.
func (e *env) visitor(email, title, newsletter string) (lead crm.ID, visited time.Time) {
	e.t.Helper()
	lead = e.prospect(email, title, "Manufacturing", 500)
	visited = time.Now().Add(-48 * time.Hour).Truncate(time.Second)
	visit := ev("p1", scoring.PageVisit, "https://acme.cn/pricing", visited)
	open := ev("o1", scoring.EmailOpen, newsletter, visited.Add(time.Hour))
	visit.LeadID, open.LeadID = lead, lead
	e.track(e.admin, visit, open)
	require.NoError(e.t, e.svc.ScoreLeads(e.ctx, e.org.ID, []crm.ID{lead}))
	return lead, visited
}

func (e *env) track(a *crm.Actor, ins ...service.LeadActivityInput) []service.TrackResult {
	e.t.Helper()
	res, err := e.svc.TrackLeadActivity(e.ctx, a, ins)
	require.NoError(e.t, err)
	return res
}

func TestNewOrganizationsGetTheDefaultScoringRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	rules, err := e.svc.ListScoringRules(e.ctx, e.rep1)
	require.NoError(t, err)
	require.Len(t, rules, 7)
	points := map[string]int32{}
	for _, r := range rules {
		points[r.Name] = r.Points
		require.Equal(t, int32(1), r.Version)
	}
	require.Equal(t, map[string]int32{"Visited the pricing page": 15, "Downloaded a case study": 10, "Attended a webinar": 20,
		"Opened a marketing e-mail": 2, "Job title is director or above": 10, "Company size over 100 people": 5,
		"In a target industry": 10}, points)
}

func TestScoringRuleCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := service.ScoringRuleInput{Kind: scoring.Attribute, Name: "Big budget", Field: "custom.budget", Operator: "gte",
		Value: json.RawMessage(`500000`), Points: 20}

	_, _, err := e.svc.CreateScoringRule(e.ctx, e.rep1, in)
	requireCode(t, err, crm.EFORBIDDEN)
	bad := in
	bad.Operator = "like"
	_, _, err = e.svc.CreateScoringRule(e.ctx, e.admin, bad)
	requireCode(t, err, crm.EINVALID, "operator")
	bad = in
	bad.Field = "shoeSize"
	_, _, err = e.svc.CreateScoringRule(e.ctx, e.admin, bad)
	requireCode(t, err, crm.EINVALID, "field")
	bad = service.ScoringRuleInput{Kind: scoring.Behaviour, Name: "Calls", EventType: "phone_call", Points: 5}
	_, _, err = e.svc.CreateScoringRule(e.ctx, e.admin, bad)
	requireCode(t, err, crm.EINVALID, "eventType")

	r, run, err := e.svc.CreateScoringRule(e.ctx, e.admin, in)
	require.NoError(t, err)
	require.Equal(t, int32(1), r.Version)
	require.Equal(t, "running", run.Status)
	require.Equal(t, 1, e.count("SELECT count(*) FROM river_job WHERE kind = 'lead.rescore' AND args->>'run_id' = $1", run.ID.String()))

	up := in
	up.Points = 25
	_, _, err = e.svc.UpdateScoringRule(e.ctx, e.admin, service.ScoringRuleUpdate{ID: r.ID, ExpectedVersion: 7, Rule: up})
	requireCode(t, err, crm.ECONFLICT)
	r2, run2, err := e.svc.UpdateScoringRule(e.ctx, e.admin, service.ScoringRuleUpdate{ID: r.ID, ExpectedVersion: 1, Rule: up})
	require.NoError(t, err)
	require.Equal(t, int32(2), r2.Version)
	require.Equal(t, int32(25), r2.Points)
	old, err := e.svc.ScoringRun(e.ctx, e.admin, run.ID)
	require.NoError(t, err)
	require.Equal(t, "superseded", old.Status, "a newer rule change supersedes the running rescore")

	_, err = e.svc.DeleteScoringRule(e.ctx, e.admin, r.ID, 1)
	requireCode(t, err, crm.ECONFLICT)
	_, err = e.svc.DeleteScoringRule(e.ctx, e.admin, r.ID, 2)
	require.NoError(t, err)
	rules, err := e.svc.ListScoringRules(e.ctx, e.admin)
	require.NoError(t, err)
	require.Len(t, rules, 7)
	got, err := e.svc.ScoringRules(e.ctx, e.admin, []crm.ID{r.ID})
	require.NoError(t, err)
	require.NotNil(t, got[0].DeletedAt, "deleted rules stay readable for the ledger")
	require.Equal(t, 3, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type LIKE 'scoring_rule.%'", r.ID))
	runs, err := e.svc.ScoringRuns(e.ctx, e.admin)
	require.NoError(t, err)
	require.Len(t, runs, 3)
	require.NotEqual(t, run2.ID, runs[0].ID)
	_, err = e.svc.ScoringRuns(e.ctx, e.support)
	requireCode(t, err, crm.EFORBIDDEN)
}

func TestTrackLeadActivityIsIdempotentPerKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lead := e.prospect("wang@acme.cn", "Engineer", "", 10)
	at := time.Now().Add(-time.Hour)
	byID := ev("k1", scoring.PageVisit, "https://acme.cn/pricing", at)
	byID.LeadID = lead
	byEmail := ev("k2", scoring.Webinar, "", at)
	byEmail.Email = " WANG@acme.cn "
	again := ev("k1", scoring.PageVisit, "https://acme.cn/pricing", at)
	again.LeadID = lead
	bad := ev("k3", "phone_call", "", at)
	bad.LeadID = lead
	unknown := ev("k4", scoring.EmailOpen, "", at)
	unknown.LeadID = crm.NewID()

	jobs := e.count("SELECT count(*) FROM river_job WHERE kind = 'lead.score'") // the capture's own
	res := e.track(e.admin, byID, byEmail, again, bad, unknown)
	require.Equal(t, service.TrackRecorded, res[0].Outcome)
	require.Equal(t, lead, res[0].LeadID)
	require.Equal(t, service.TrackRecorded, res[1].Outcome)
	require.Equal(t, lead, res[1].LeadID, "matched by e-mail")
	require.Equal(t, service.TrackDuplicate, res[2].Outcome, "a key repeated in the same call")
	require.Equal(t, res[0].EventID, res[2].EventID)
	requireCode(t, res[3].Err, crm.EINVALID, "type")
	requireCode(t, res[4].Err, crm.ENOTFOUND)
	require.Equal(t, 2, e.count("SELECT count(*) FROM lead_events WHERE lead_id = $1", lead))
	require.Equal(t, jobs+1, e.count("SELECT count(*) FROM river_job WHERE kind = 'lead.score'"), "one scoring job per call")

	res2 := e.track(e.admin, byID, byEmail)
	for i := range res2 {
		require.Equal(t, service.TrackDuplicate, res2[i].Outcome)
		require.Equal(t, res[i].EventID, res2[i].EventID)
		require.Equal(t, lead, res2[i].LeadID)
	}
	require.Equal(t, 2, e.count("SELECT count(*) FROM lead_events WHERE lead_id = $1", lead))
	require.Equal(t, jobs+1, e.count("SELECT count(*) FROM river_job WHERE kind = 'lead.score'"), "nothing new, nothing to score")

	_, err := e.svc.TrackLeadActivity(e.ctx, e.support, []service.LeadActivityInput{byID})
	requireCode(t, err, crm.EFORBIDDEN)
	_, err = e.svc.TrackLeadActivity(e.ctx, e.admin, make([]service.LeadActivityInput, service.MaxTrackBatch+1))
	requireCode(t, err, crm.EINVALID, "events")
}

func TestVisitorEventsAttachToTheIdentifiedLead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lead := e.prospect("li@acme.cn", "", "", 0)
	other := e.prospect("zhao@acme.cn", "", "", 0)
	at := time.Now().Add(-time.Hour)
	anon := func(key string) service.LeadActivityInput {
		in := ev(key, scoring.PageVisit, "https://acme.cn/pricing", at)
		in.VisitorID = "v-123"
		return in
	}
	jobs := e.count("SELECT count(*) FROM river_job WHERE kind = 'lead.score'") // the captures' own
	res := e.track(e.admin, anon("a1"), anon("a2"))
	require.Equal(t, crm.NilID, res[0].LeadID)
	require.Equal(t, 2, e.count("SELECT count(*) FROM lead_events WHERE visitor_id = 'v-123' AND lead_id IS NULL"))
	require.Equal(t, jobs, e.count("SELECT count(*) FROM river_job WHERE kind = 'lead.score'"), "anonymous events score nobody")

	n, err := e.svc.IdentifyVisitor(e.ctx, e.admin, "v-123", lead)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.Equal(t, 2, e.count("SELECT count(*) FROM lead_events WHERE lead_id = $1", lead))
	require.Equal(t, jobs+1, e.count("SELECT count(*) FROM river_job WHERE kind = 'lead.score'"))

	// Later events of the visitor go straight to the lead.
	res = e.track(e.admin, anon("a3"))
	require.Equal(t, lead, res[0].LeadID)
	_, err = e.svc.IdentifyVisitor(e.ctx, e.admin, "v-123", other)
	requireCode(t, err, crm.ECONFLICT)
	n, err = e.svc.IdentifyVisitor(e.ctx, e.admin, "v-123", lead)
	require.NoError(t, err)
	require.Zero(t, n, "identifying again attaches nothing more")

	// A visitor id sent with a known lead identifies the visitor too.
	in := ev("b1", scoring.EmailOpen, "", at)
	in.LeadID, in.VisitorID = other, "v-456"
	e.track(e.admin, in)
	anonymous := ev("b0", scoring.Download, "https://acme.cn/case-study.pdf", at)
	anonymous.VisitorID = "v-456"
	res = e.track(e.admin, anonymous)
	require.Equal(t, other, res[0].LeadID)
}

func TestScoringTwiceGivesTheSameLedger(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lead, at := e.visitor("chen@acme.cn", "销售总监", "newsletter")
	first := e.ledger(lead)
	require.Len(t, first, 5)
	require.Equal(t, leadScore{Total: 42, Fit: 25, Engagement: 17, Grade: "B", Status: "nurturing", Nurtured: true}, e.score(lead))

	require.NoError(t, e.svc.ScoreLeads(e.ctx, e.org.ID, []crm.ID{lead, lead}))
	require.Equal(t, first, e.ledger(lead))
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'lead.scored'", lead))

	bd, err := e.svc.ScoreBreakdowns(e.ctx, e.admin, []crm.ID{lead, crm.NewID()})
	require.NoError(t, err)
	require.Len(t, bd[0], 5)
	require.Empty(t, bd[1])
	require.Equal(t, scoring.Fit, bd[0][0].Part)
	var reasons []string
	for _, x := range bd[0] {
		reasons = append(reasons, x.Reason)
	}
	require.Contains(t, reasons, fmt.Sprintf("Visited https://acme.cn/pricing on %s: +15 (Visited the pricing page)",
		at.In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)))
}

func TestThresholdsQualifyAndEnrolOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hot := e.prospect("hot@acme.cn", "CEO", "software", 1000) // fit 25
	warm := e.prospect("warm@acme.cn", "Engineer", "", 50)    // fit 0
	cold := e.prospect("cold@acme.cn", "Engineer", "", 5)     // fit 0
	at := time.Now().Add(-time.Hour)
	var ins []service.LeadActivityInput
	for i, typ := range []scoring.EventType{scoring.Webinar, scoring.Webinar, scoring.Webinar} {
		in := ev(fmt.Sprintf("h%d", i), typ, "", at.Add(time.Duration(i)*time.Minute))
		in.LeadID = hot
		ins = append(ins, in)
	}
	for i := range 2 {
		in := ev(fmt.Sprintf("w%d", i), scoring.Webinar, "", at.Add(time.Duration(i)*time.Minute))
		in.LeadID = warm
		ins = append(ins, in)
	}
	e.track(e.admin, ins...)
	require.NoError(t, e.svc.ScoreLeads(e.ctx, e.org.ID, []crm.ID{hot, warm, cold}))

	require.Equal(t, leadScore{Total: 85, Fit: 25, Engagement: 60, Grade: "A", Status: "qualified", Qualified: true}, e.score(hot))
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'lead.qualified'", hot))
	require.Equal(t, leadScore{Total: 40, Engagement: 40, Grade: "B", Status: "nurturing", Nurtured: true}, e.score(warm))
	require.Equal(t, 1, e.count("SELECT count(*) FROM nurture_enrolments WHERE lead_id = $1 AND left_at IS NULL", warm))
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'lead.nurture_enrolled'", warm))
	require.Equal(t, leadScore{Grade: "C", Status: "new"}, e.score(cold))
	require.Zero(t, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type <> 'lead.created'", cold), "an unchanged score says nothing")

	// Once per enrolment: more points within the band enrol nobody again.
	in := ev("w9", scoring.EmailOpen, "", at)
	in.LeadID = warm
	e.track(e.admin, in)
	require.NoError(t, e.svc.ScoreLeads(e.ctx, e.org.ID, []crm.ID{warm}))
	require.Equal(t, int32(42), e.score(warm).Total)
	require.Equal(t, 1, e.count("SELECT count(*) FROM nurture_enrolments WHERE lead_id = $1", warm))
	require.Equal(t, 1, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'lead.nurture_enrolled'", warm))

	// The warm lead crosses into SQL: it is qualified and leaves the nurture track.
	in = ev("w10", scoring.Webinar, "", at)
	in.LeadID = warm
	e.track(e.admin, in)
	in = ev("w11", scoring.Webinar, "", at)
	in.LeadID = warm
	e.track(e.admin, in)
	require.NoError(t, e.svc.ScoreLeads(e.ctx, e.org.ID, []crm.ID{warm}))
	require.Equal(t, leadScore{Total: 82, Engagement: 82, Grade: "A", Status: "qualified", Qualified: true}, e.score(warm))
	require.Equal(t, 1, e.count("SELECT count(*) FROM nurture_enrolments WHERE lead_id = $1 AND left_at IS NOT NULL", warm))
}

func TestRescoreRunWalksEveryLeadAndDecayRemovesExpiredPoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var leads []crm.ID
	for i := range 5 {
		leads = append(leads, e.prospect(fmt.Sprintf("l%d@acme.cn", i), "Director", "", 0))
	}
	_, run, err := e.svc.CreateScoringRule(e.ctx, e.admin, service.ScoringRuleInput{Kind: scoring.Attribute, Name: "From China",
		Field: "emailDomain", Operator: "eq", Value: json.RawMessage(`"acme.cn"`), Points: 30})
	require.NoError(t, err)
	require.Equal(t, int32(5), run.Total)
	require.NoError(t, e.svc.RescoreLeads(e.ctx, e.org.ID, run.ID))
	got, err := e.svc.ScoringRun(e.ctx, e.admin, run.ID)
	require.NoError(t, err)
	require.Equal(t, "done", got.Status)
	require.Equal(t, int32(5), got.Done)
	require.Equal(t, int32(5), got.Changed)
	require.NotNil(t, got.FinishedAt)
	for _, id := range leads {
		require.Equal(t, int32(40), e.score(id).Total)
	}
	require.NoError(t, e.svc.RescoreLeads(e.ctx, e.org.ID, run.ID), "a finished run does nothing more")

	// An entry that stopped counting is found by the decay job, and the lead rescored without it.
	var ruleID crm.ID
	require.NoError(t, e.pool.QueryRow(e.ctx, "SELECT id FROM scoring_rules WHERE org_id = $1 AND event_type = 'webinar'", e.org.ID).Scan(&ruleID))
	// Expired points, also of a lead that is no longer scored (deleted): both leave the ledger.
	for _, id := range leads[:2] {
		_, err = e.pool.Exec(e.ctx, `UPDATE lead_score_ledgers
			SET entries = (entries::jsonb || jsonb_build_array(jsonb_build_object('rule', $3::uuid, 'version', 1, 'event', gen_random_uuid(),
			        'part', 'engagement', 'points', 20, 'reason', 'old webinar', 'at', now() - interval '100 days',
			        'expires', now() - interval '10 days')))::json,
			    expires_at = now() - interval '10 days'
			WHERE org_id = $1 AND lead_id = $2`, e.org.ID, id, ruleID)
		require.NoError(t, err)
	}
	_, err = e.pool.Exec(e.ctx, "UPDATE leads SET score_total = 60, score_engagement = 20 WHERE id = $1", leads[0])
	require.NoError(t, err)
	_, err = e.pool.Exec(e.ctx, "UPDATE leads SET deleted_at = now() WHERE id = $1", leads[1])
	require.NoError(t, err)
	var kept []string
	for _, entry := range e.ledger(leads[1]) {
		if !strings.Contains(entry, "old webinar") {
			kept = append(kept, entry)
		}
	}
	require.Len(t, kept, 2)
	n, err := e.svc.DecayScores(e.ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 2)
	require.Equal(t, int32(40), e.score(leads[0]).Total)
	require.Zero(t, e.count(`SELECT count(*) FROM lead_score_ledgers l, json_array_elements(l.entries) AS x (e)
		WHERE (x.e->>'expires')::timestamptz <= now()`))
	require.Zero(t, e.count("SELECT count(*) FROM lead_score_ledgers WHERE expires_at <= now()"))
	require.Equal(t, kept, e.ledger(leads[1]), "the deleted lead keeps its other entries")
}

func TestSimulateScoringRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.prospect("a@acme.cn", "CEO", "software", 1000)
	b := e.prospect("b@acme.cn", "Engineer", "", 0)
	at := time.Now().Add(-time.Hour)
	var ins []service.LeadActivityInput
	for i, id := range []crm.ID{a, a, a, b} {
		in := ev(fmt.Sprintf("s%d", i), scoring.Webinar, "", at)
		in.LeadID = id
		ins = append(ins, in)
	}
	e.track(e.admin, ins...)
	rules := []service.ScoringRuleInput{
		{Kind: scoring.Behaviour, Name: "Webinar", EventType: scoring.Webinar, Points: 45},
	}
	sim, err := e.svc.SimulateScoringRules(e.ctx, e.analyst, rules, nil)
	require.NoError(t, err)
	require.Equal(t, 2, sim.Leads)
	require.Equal(t, 2, sim.Changed)
	require.Equal(t, 1, sim.Current.Qualified) // a: 25 fit + 3 x 20; b: 20
	require.Zero(t, sim.Current.Nurture)
	require.Equal(t, 1, sim.Proposed.Qualified) // a: 25 + 3 x 45; b: 45, nurture
	require.Equal(t, 1, sim.Proposed.Nurture)
	require.Equal(t, 1, sim.Proposed.GradeB)
	require.InDelta(t, 52.5, sim.Current.Average, 0.001)
	require.Zero(t, e.count("SELECT count(*) FROM lead_score_ledgers"), "a simulation saves nothing")

	_, err = e.svc.SimulateScoringRules(e.ctx, e.analyst, []service.ScoringRuleInput{{Kind: scoring.Attribute, Name: "x", Field: "industry", Operator: "like", Points: 1}}, nil)
	requireCode(t, err, crm.EINVALID, "operator")
	_, err = e.svc.SimulateScoringRules(e.ctx, e.rep1, rules, nil)
	requireCode(t, err, crm.EFORBIDDEN)
}

func TestMigration00007ConvertsScoreEntriesIntoLedgers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lead, _ := e.visitor("wang@acme.cn", "CEO", "newsletter \"11\"")
	want := e.ledger(lead)
	require.Len(t, want, 5)
	wantBreakdown, err := e.svc.ScoreBreakdowns(e.ctx, e.admin, []crm.ID{lead})
	require.NoError(t, err)

	// The database as the previous version left it: one row per entry, no ledgers.
	_, err = e.pool.Exec(e.ctx, `INSERT INTO lead_score_entries (org_id, lead_id, rule_id, rule_version, event_id, part, points, reason, awarded_at, expires_at)
		SELECT l.org_id, l.lead_id, (x.e->>'rule')::uuid, (x.e->>'version')::int, (x.e->>'event')::uuid, x.e->>'part',
		       (x.e->>'points')::int, x.e->>'reason', (x.e->>'at')::timestamptz, (x.e->>'expires')::timestamptz
		FROM lead_score_ledgers l, json_array_elements(l.entries) AS x (e)`)
	require.NoError(t, err)
	// (and without the later migrations, which run again after it)
	_, err = e.pool.Exec(e.ctx, `DROP TABLE lead_score_ledgers; DROP TABLE contact_channels; DROP FUNCTION contact_channels_sync CASCADE;
		DROP TABLE stage_totals; DROP FUNCTION stage_totals_sync CASCADE;
		CREATE INDEX opportunities_board ON opportunities (org_id, pipeline_id, stage_id, currency)
		    INCLUDE (amount, probability, owner_id) WHERE deleted_at IS NULL;
		ALTER TABLE events ADD COLUMN seq bigint, ADD COLUMN published_at timestamptz;
		UPDATE events e SET seq = s.seq, published_at = s.published_at FROM event_seqs s WHERE s.org_id = e.org_id AND s.id = e.id;
		CREATE UNIQUE INDEX events_seq ON events (org_id, seq) WHERE seq IS NOT NULL;
		CREATE INDEX events_unpublished ON events (id) WHERE seq IS NULL;
		DROP TABLE event_queue, event_seqs;
		ALTER TABLE lead_touches ADD FOREIGN KEY (org_id) REFERENCES organizations (id);
		DROP FUNCTION org_rows_exist, org_rows_gone, org_id_fixed CASCADE;
		ALTER TABLE leads ADD FOREIGN KEY (org_id) REFERENCES organizations (id);
		ALTER TABLE events ADD FOREIGN KEY (org_id) REFERENCES organizations (id), ALTER COLUMN snapshot TYPE jsonb;
		ALTER TABLE lead_touches ALTER COLUMN payload DROP DEFAULT, ALTER COLUMN payload TYPE jsonb,
		    ALTER COLUMN payload SET DEFAULT '{}';
		DO $$ DECLARE c record; BEGIN
		    FOR c IN SELECT attrelid::regclass AS t, attname FROM pg_attribute
		             WHERE attrelid IN ('leads'::regclass, 'lead_touches'::regclass, 'events'::regclass) AND attnum > 0 AND NOT attisdropped AND attstattarget <> -1 LOOP
		        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS -1', c.t, c.attname);
		    END LOOP;
		END $$;
		DELETE FROM goose_db_version WHERE version_id >= 7`)
	require.NoError(t, err)
	require.NoError(t, db.Migrate(e.ctx, e.url))

	require.Equal(t, want, e.ledger(lead))
	got, err := e.svc.ScoreBreakdowns(e.ctx, e.admin, []crm.ID{lead})
	require.NoError(t, err)
	require.Equal(t, wantBreakdown, got, "the same entries in the same order")
	scored := e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'lead.scored'", lead)
	require.NoError(t, e.svc.ScoreLeads(e.ctx, e.org.ID, []crm.ID{lead}))
	require.Equal(t, want, e.ledger(lead), "a converted ledger is the one scoring writes")
	require.Equal(t, scored, e.count("SELECT count(*) FROM events WHERE record_id = $1 AND type = 'lead.scored'", lead))
}

func TestRescoreRunScoresBatchesSideBySide(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 4500 // three batches, the last one short
	_, err := e.pool.Exec(e.ctx, `
		INSERT INTO leads (org_id, id, name, title, email, source, first_touch_at, last_touch_at, created_at, updated_at)
		SELECT $1, gen_random_uuid(), 'Lead ' || i, CASE WHEN i % 2 = 0 THEN 'CEO' ELSE 'Engineer' END,
		       'lead' || i || '@walk.test', 'api', now(), now(), now(), now()
		FROM generate_series(1, $2::int) AS i`, e.org.ID, n)
	require.NoError(t, err)
	_, run, err := e.svc.CreateScoringRule(e.ctx, e.admin, service.ScoringRuleInput{Kind: scoring.Attribute, Name: "Walk",
		Field: "emailDomain", Operator: "eq", Value: json.RawMessage(`"walk.test"`), Points: 30})
	require.NoError(t, err)
	require.Equal(t, int32(n), run.Total)
	require.NoError(t, e.svc.RescoreLeads(e.ctx, e.org.ID, run.ID))
	got, err := e.svc.ScoringRun(e.ctx, e.admin, run.ID)
	require.NoError(t, err)
	require.Equal(t, "done", got.Status)
	require.Equal(t, int32(n), got.Done)
	require.Equal(t, int32(n), got.Changed)
	require.Equal(t, n/2, e.count("SELECT count(*) FROM leads WHERE org_id = $1 AND score_total = 40", e.org.ID))
	require.Equal(t, n/2, e.count("SELECT count(*) FROM leads WHERE org_id = $1 AND score_total = 30", e.org.ID))
	require.Equal(t, n, e.count("SELECT count(*) FROM lead_score_ledgers WHERE org_id = $1", e.org.ID))
	require.Equal(t, 1, e.count(`SELECT count(*) FROM scoring_runs r
		WHERE r.id = $1 AND r.last_lead_id = (SELECT id FROM leads WHERE org_id = r.org_id ORDER BY id DESC LIMIT 1)`, run.ID), "the cursor is past the last lead")
}
