package scoring

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
)

func id(n int) crm.ID { return crm.ID{14: byte(n >> 8), 15: byte(n)} }

func ptr[T any](v T) *T { return &v }

// defaults returns the default rules with IDs 1..7 in table order.
func defaults() []Rule {
	rules := DefaultRules()
	for i := range rules {
		rules[i].ID = id(i + 1)
	}
	return rules
}

var (
	t0       = time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC)
	settings = crm.DefaultLeadSettings()
)

func TestValidate(t *testing.T) {
	t.Parallel()
	attr := func(field string, op criteria.Operator, value string) Rule {
		return Rule{Kind: Attribute, Name: "r", Points: 5, Criterion: criteria.Criterion{Field: field, Operator: op, Value: json.RawMessage(value)}}
	}
	beh := func(typ EventType, mutate func(*Rule)) Rule {
		r := Rule{Kind: Behaviour, Name: "r", Points: 5, EventType: typ}
		if mutate != nil {
			mutate(&r)
		}
		return r
	}
	tests := []struct {
		name  string
		rule  Rule
		field string // "" when valid
		msg   string
	}{
		{"every default rule", Rule{}, "", ""},
		{"attribute ok", attr("companySize", criteria.Gt, `100`), "", ""},
		{"custom field ok", attr("custom.budget", criteria.Gte, `500000`), "", ""},
		{"behaviour with cap ok", beh(PageVisit, func(r *Rule) { r.CapPoints, r.CapDays = ptr[int32](30), ptr[int32](7) }), "", ""},
		{"no name", Rule{Kind: Attribute, Points: 5}, "name", "needs a name"},
		{"zero points", beh(Webinar, func(r *Rule) { r.Points = 0 }), "points", "between"},
		{"too many points", beh(Webinar, func(r *Rule) { r.Points = 1001 }), "points", "between"},
		{"unknown kind", Rule{Kind: "mood", Name: "r", Points: 1}, "kind", "attribute or behaviour"},
		{"unknown field", attr("shoeSize", criteria.Eq, `"9"`), "field", `Unknown field "shoeSize"`},
		{"the score itself", attr("score", criteria.Gte, `50`), "field", "depends on the score"},
		{"missing field", attr("", criteria.Eq, `"9"`), "field", "needs a field"},
		{"unknown operator", attr("industry", "like", `"x"`), "operator", `Unknown operator "like"`},
		{"operator does not fit the field", attr("industry", criteria.Gt, `5`), "operator", "compares numbers"},
		{"value of the wrong type", attr("industry", criteria.In, `"software"`), "value", "array"},
		{"bad seniority", attr("seniority", criteria.Gte, `"boss"`), "value", "Seniority is one of"},
		{"attribute with an event type", func() Rule { r := attr("industry", criteria.Eq, `"x"`); r.EventType = PageVisit; return r }(), "eventType", "behaviour rules"},
		{"unknown event type", beh("phone_call", nil), "eventType", `Unknown event type "phone_call"`},
		{"behaviour with a field", beh(PageVisit, func(r *Rule) { r.Criterion.Field = "industry" }), "field", "attribute rules"},
		{"half a cap", beh(PageVisit, func(r *Rule) { r.CapPoints = ptr[int32](10) }), "capDays", "both"},
		{"zero cap", beh(PageVisit, func(r *Rule) { r.CapPoints, r.CapDays = ptr[int32](0), ptr[int32](7) }), "capPoints", "between"},
		{"long pattern", beh(PageVisit, func(r *Rule) { r.URLPattern = strings.Repeat("x", MaxPattern+1) }), "urlPattern", "longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "every default rule" {
				for _, r := range DefaultRules() {
					require.NoError(t, Validate(r), r.Name)
				}
				return
			}
			err := Validate(tt.rule)
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			var e *crm.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, crm.EINVALID, e.Code)
			require.Equal(t, tt.field, e.Field)
			require.Contains(t, e.Message, tt.msg)
		})
	}
}

func TestGlob(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		pattern, s string
		want       bool
	}{
		{"", "", true},
		{"*", "anything/at/all", true},
		{"*/pricing*", "https://acme.cn/pricing", true},
		{"*/pricing*", "https://acme.cn/pricing?plan=pro", true},
		{"*/pricing*", "https://acme.cn/en/pricing/enterprise", true},
		{"*/pricing*", "https://acme.cn/blog/pricing-tips", true},
		{"*/pricing", "https://acme.cn/pricing/x", false},
		{"*/pricing*", "https://acme.cn/prices", false},
		{"https://acme.cn/*", "https://acme.cn/", true},
		{"https://acme.cn/*", "https://acme.com/", false},
		{"*case-stud*", "https://acme.cn/downloads/case-study-siemens.pdf", true},
		{"*/产品/*", "https://acme.cn/产品/报价", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
	} {
		require.Equal(t, tt.want, Glob(tt.pattern, tt.s), "%q ~ %q", tt.pattern, tt.s)
	}
}

func TestEvaluateDefaultRules(t *testing.T) {
	t.Parallel()
	size := int32(250)
	lead := &crm.Lead{Title: "销售总监", Industry: "Manufacturing", CompanySize: &size, UpdatedAt: t0}
	events := []Event{
		{ID: id(103), Type: Webinar, URL: "", OccurredAt: t0.Add(48 * time.Hour)},
		{ID: id(101), Type: PageVisit, URL: "https://acme.cn/Pricing", OccurredAt: t0},
		{ID: id(102), Type: PageVisit, URL: "https://acme.cn/blog", OccurredAt: t0.Add(time.Hour)},
		{ID: id(104), Type: EmailOpen, URL: "newsletter-11", OccurredAt: t0.Add(72 * time.Hour)},
		{ID: id(105), Type: Download, URL: "https://acme.cn/files/case-study-1.pdf", OccurredAt: t0.Add(96 * time.Hour)},
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	now := t0.Add(100 * time.Hour).In(shanghai)
	awards := Evaluate(defaults(), lead, events, now, settings)

	type row struct {
		rule   crm.ID
		event  crm.ID
		part   Part
		points int32
	}
	var got []row
	for _, a := range awards {
		got = append(got, row{a.RuleID, a.EventID, a.Part, a.Points})
	}
	require.Equal(t, []row{
		{id(5), crm.NilID, Fit, 10}, {id(6), crm.NilID, Fit, 5}, {id(7), crm.NilID, Fit, 10},
		{id(1), id(101), Engagement, 15}, {id(3), id(103), Engagement, 20}, {id(4), id(104), Engagement, 2},
		{id(2), id(105), Engagement, 10},
	}, got)
	require.Equal(t, "Visited https://acme.cn/Pricing on 2026-11-02: +15 (Visited the pricing page)", awards[3].Reason)
	require.Equal(t, `Matches seniority gte "director": +10 (Job title is director or above)`, awards[0].Reason)
	require.Equal(t, "Attended a webinar on 2026-11-04: +20 (Attended a webinar)", awards[4].Reason)
	require.Equal(t, t0.Add(90*24*time.Hour), awards[3].ExpiresAt)
	require.True(t, awards[0].ExpiresAt.IsZero())
	require.Equal(t, t0, awards[3].AwardedAt)
	require.Equal(t, Score{Total: 72, Fit: 25, Engagement: 47, Grade: "B"}, Tally(awards, now, settings))

	// Deterministic: the same input in another order gives the same awards, and events are untouched.
	before := fmt.Sprint(events)
	rules := defaults()
	rules[0], rules[6] = rules[6], rules[0]
	require.Equal(t, awards, Evaluate(rules, lead, events, now, settings))
	require.Equal(t, before, fmt.Sprint(events))
}

func TestEvaluateDecayAndInactiveRules(t *testing.T) {
	t.Parallel()
	rules := defaults()
	rules[2].Active = false // webinar
	deleted := t0
	rules[3].DeletedAt = &deleted // e-mail open
	events := []Event{
		{ID: id(1), Type: PageVisit, URL: "https://x/pricing", OccurredAt: t0},
		{ID: id(2), Type: PageVisit, URL: "https://x/pricing", OccurredAt: t0.Add(80 * 24 * time.Hour)},
		{ID: id(3), Type: Webinar, OccurredAt: t0},
		{ID: id(4), Type: EmailOpen, OccurredAt: t0},
	}
	now := t0.Add(95 * 24 * time.Hour)
	awards := Evaluate(rules, &crm.Lead{}, events, now, settings)
	require.Len(t, awards, 2)
	require.False(t, awards[0].Counts(now), "90 days after its event the first visit no longer counts")
	require.True(t, awards[1].Counts(now))
	require.Equal(t, int32(15), Tally(awards, now, settings).Total)
	require.Len(t, Counted(awards, now), 1)

	noDecay := settings
	noDecay.DecayDays = 0
	awards = Evaluate(rules, &crm.Lead{}, events, now, noDecay)
	require.Equal(t, int32(30), Tally(awards, now, noDecay).Total)
}

func TestEvaluateCaps(t *testing.T) {
	t.Parallel()
	rule := Rule{ID: id(1), Kind: Behaviour, Name: "Opened an e-mail", EventType: EmailOpen, Points: 4, Active: true, Version: 3,
		CapPoints: ptr[int32](10), CapDays: ptr[int32](7)}
	day := 24 * time.Hour
	var events []Event
	for i, at := range []time.Duration{0, day, 2 * day, 3 * day, 7 * day, 8 * day, 30 * day} {
		events = append(events, Event{ID: id(100 + i), Type: EmailOpen, OccurredAt: t0.Add(at)})
	}
	awards := Evaluate([]Rule{rule}, &crm.Lead{}, events, t0.Add(31*day), settings)
	var points []int32
	for _, a := range awards {
		points = append(points, a.Points)
		require.Equal(t, int32(3), a.RuleVersion)
	}
	// Days 0,1 give 4+4; day 2 reaches the cap with 2; day 3 gives nothing; day 7 (day 0 left the
	// window) gives 4; day 8 (day 1 left) 4 minus... the window (1..8] holds 4(d1)+2(d2)+4(d7)=10: none;
	// day 30 starts afresh.
	require.Equal(t, []int32{4, 4, 2, 4, 4}, points[:5])
	require.Contains(t, awards[2].Reason, "+2 of +4 (Opened an e-mail; capped at 10 per 7 days)")
	require.Len(t, awards, 6)
}

func TestCarryKeepsFitTimesAndSpotsAnUnchangedLedger(t *testing.T) {
	t.Parallel()
	size := int32(500)
	lead := &crm.Lead{Title: "CEO", CompanySize: &size}
	events := []Event{{ID: id(100), Type: Webinar, OccurredAt: t0}}
	first := Evaluate(defaults(), lead, events, t0.Add(time.Hour), settings)
	require.Equal(t, t0.Add(time.Hour), first[0].AwardedAt, "a fit award is dated when first awarded")

	again := Evaluate(defaults(), lead, events, t0.Add(48*time.Hour), settings)
	again, same := Carry(again, first)
	require.True(t, same)
	require.Equal(t, first, again)

	rules := defaults()
	rules[5].Version, rules[5].Points = 2, 7 // company size now gives 7
	changed, same := Carry(Evaluate(rules, lead, events, t0.Add(48*time.Hour), settings), first)
	require.False(t, same)
	require.Equal(t, t0.Add(time.Hour), changed[0].AwardedAt, "an unchanged rule keeps its date")
	require.Equal(t, t0.Add(48*time.Hour), changed[1].AwardedAt, "a new version is awarded anew")

	_, same = Carry(first[:1], first)
	require.False(t, same, "a ledger that lost an entry changed")
}

func TestDecide(t *testing.T) {
	t.Parallel()
	demote := settings
	demote.DemoteOnDrop = true
	tests := []struct {
		name          string
		status        crm.LeadStatus
		before, after int32
		enrolled      bool
		s             crm.LeadSettings
		want          Decision
	}{
		{"stays in marketing", crm.LeadNew, 0, 30, false, settings, Decision{Status: crm.LeadNew}},
		{"crossing into SQL qualifies", crm.LeadNew, 20, 85, false, settings, Decision{Status: crm.LeadQualified, Qualify: true}},
		{"exactly the threshold qualifies", crm.LeadWorking, 79, 80, false, settings, Decision{Status: crm.LeadQualified, Qualify: true}},
		{"qualifying leaves the nurture track", crm.LeadNurturing, 60, 90, true, settings, Decision{Status: crm.LeadQualified, Qualify: true, Leave: true}},
		{"already above: no second qualification", crm.LeadWorking, 85, 95, false, settings, Decision{Status: crm.LeadWorking}},
		{"converted leads do not move", crm.LeadConverted, 0, 90, false, settings, Decision{Status: crm.LeadConverted}},
		{"disqualified leads do not move", crm.LeadDisqualified, 0, 50, false, settings, Decision{Status: crm.LeadDisqualified}},
		{"nurture band enrols a new lead", crm.LeadNew, 10, 45, false, settings, Decision{Status: crm.LeadNurturing, Enrol: true}},
		{"nurture band enrols once", crm.LeadNurturing, 45, 55, true, settings, Decision{Status: crm.LeadNurturing}},
		{"nurture band keeps a working lead enrolled", crm.LeadWorking, 45, 50, true, settings, Decision{Status: crm.LeadNurturing}},
		{"dropping keeps the status by default", crm.LeadQualified, 85, 30, false, settings, Decision{Status: crm.LeadQualified}},
		{"dropping keeps nurturing by default", crm.LeadNurturing, 45, 10, true, settings, Decision{Status: crm.LeadNurturing}},
		{"demote qualified to nurturing", crm.LeadQualified, 85, 50, false, demote, Decision{Status: crm.LeadNurturing, Enrol: true}},
		{"demote qualified to working", crm.LeadQualified, 85, 10, false, demote, Decision{Status: crm.LeadWorking}},
		{"demote nurturing to working", crm.LeadNurturing, 45, 10, true, demote, Decision{Status: crm.LeadWorking, Leave: true}},
		{"a hand-qualified lead that never scored is not demoted", crm.LeadQualified, 10, 5, false, demote, Decision{Status: crm.LeadQualified}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, Decide(tt.status, tt.before, tt.after, tt.enrolled, tt.s))
		})
	}
}

func TestGradeAndHistogram(t *testing.T) {
	t.Parallel()
	require.Equal(t, "A", Grade(80, settings))
	require.Equal(t, "B", Grade(40, settings))
	require.Equal(t, "C", Grade(39, settings))
	h := NewHistogram(10)
	for _, total := range []int32{-5, 0, 9, 10, 45, 79, 80, 120} {
		h.Add(total, settings)
	}
	require.Equal(t, []Bucket{{-10, -1, 1}, {0, 9, 2}, {10, 19, 1}, {40, 49, 1}, {70, 79, 1}, {80, 89, 1}, {120, 129, 1}}, h.Buckets())
	require.Equal(t, map[string]int{"A": 2, "B": 2, "C": 4}, h.Grades)
	require.Equal(t, 2, h.Qualified)
	require.Equal(t, 2, h.Nurture)
	require.Equal(t, 8, h.Leads)
}

// benchLead is a lead with 10 events of mixed types, sorted by time, as the service loads them.
func benchLead() (*crm.Lead, []Event) {
	size := int32(500)
	lead := &crm.Lead{Title: "VP of Sales", Industry: "software", CompanySize: &size, UpdatedAt: t0}
	urls := []string{"https://acme.cn/pricing", "https://acme.cn/blog/a", "https://acme.cn/docs", "https://acme.cn/case-study.pdf"}
	types := []EventType{PageVisit, PageVisit, EmailOpen, Download, PageVisit, Webinar, EmailOpen, PageVisit, EmailClick, PageVisit}
	events := make([]Event, 10)
	for i := range events {
		events[i] = Event{ID: uuid.New(), Type: types[i], URL: urls[i%len(urls)], OccurredAt: t0.Add(time.Duration(i) * time.Hour)}
	}
	return lead, events
}

// BenchmarkEvaluate scores one lead with 10 events under 10 rules (the 7 defaults and 3 more, one
// of them capped) on a compiled set, as a rescoring batch does.
func BenchmarkEvaluate(b *testing.B) {
	rules := defaults()
	rules = append(rules,
		Rule{ID: id(8), Kind: Behaviour, Name: "Read the docs", EventType: PageVisit, URLPattern: "*/docs*", Points: 3, Active: true,
			CapPoints: ptr[int32](9), CapDays: ptr[int32](30)},
		Rule{ID: id(9), Kind: Behaviour, Name: "Clicked an e-mail", EventType: EmailClick, Points: 4, Active: true},
		Rule{ID: id(10), Kind: Attribute, Name: "China", Criterion: criteria.Criterion{Field: "country", Operator: criteria.Eq, Value: json.RawMessage(`"CN"`)}, Points: 5, Active: true},
	)
	set, skipped := Compile(rules)
	require.Empty(b, skipped)
	lead, events := benchLead()
	now := t0.Add(24 * time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		awards := set.Evaluate(lead, events, now, settings)
		_ = Tally(awards, now, settings)
	}
}
