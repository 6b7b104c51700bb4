package routing

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
)

// uid returns a fixed ID that sorts by n, so the stable order of the tests is readable.
func uid(n int) crm.ID {
	var id crm.ID
	id[15] = byte(n)
	id[14] = byte(n >> 8)
	return id
}

func member(n int, open int32) Candidate {
	return Candidate{UserID: uid(n), TeamID: uid(1000), Name: fmt.Sprintf("u%d", n), Active: true, OpenLeads: open}
}

func crit(field string, op criteria.Operator, value string) criteria.Criterion {
	return criteria.Criterion{Field: field, Operator: op, Value: json.RawMessage(value)}
}

func compiled(t testing.TB, rules ...Rule) []Rule {
	t.Helper()
	for i := range rules {
		if err := rules[i].Compile(); err != nil {
			t.Fatalf("rule %d: %v", i, err)
		}
	}
	return rules
}

func TestDecide(t *testing.T) {
	east := Rule{ID: uid(501), Name: "East", Criteria: []criteria.Criterion{crit("region", criteria.In, `["浙江","上海"]`)},
		Strategy: StrategyRoundRobin, TargetTeamID: uid(1000)}
	big := Rule{ID: uid(502), Name: "Big", Criteria: []criteria.Criterion{crit("companySize", criteria.Gte, `500`)},
		Strategy: StrategyLeastLoaded, TargetTeamID: uid(1000), Capacity: 3}
	vip := Rule{ID: uid(503), Name: "VIP", Criteria: []criteria.Criterion{crit("custom.tier", criteria.Eq, `"gold"`)},
		Strategy: StrategyUser, TargetUserID: uid(9)}
	size := int32(800)
	zhejiang := &crm.Lead{Region: "浙江"}
	large := &crm.Lead{Region: "广东", CompanySize: &size}
	gold := &crm.Lead{Custom: json.RawMessage(`{"tier":"gold"}`)}
	away := member(2, 0)
	away.Away = true
	inactive := member(3, 0)
	inactive.Active = false

	for _, tc := range []struct {
		name       string
		rules      []Rule
		lead       *crm.Lead
		candidates map[crm.ID][]Candidate
		turns      map[crm.ID]crm.ID
		opts       Options
		chosen     crm.ID
		rule       crm.ID
		sticky     StickyKind
		reason     string
	}{
		{name: "round robin starts at the first member", rules: []Rule{east}, lead: zhejiang,
			candidates: map[crm.ID][]Candidate{east.ID: {member(1, 0), member(2, 0), member(3, 0)}},
			chosen:     uid(1), rule: east.ID, reason: "next in the round robin"},
		{name: "round robin follows the turn", rules: []Rule{east}, lead: zhejiang,
			candidates: map[crm.ID][]Candidate{east.ID: {member(1, 0), member(2, 0), member(3, 0)}},
			turns:      map[crm.ID]crm.ID{east.ID: uid(1)}, chosen: uid(2), rule: east.ID, reason: "after u1"},
		{name: "round robin wraps around", rules: []Rule{east}, lead: zhejiang,
			candidates: map[crm.ID][]Candidate{east.ID: {member(1, 0), member(2, 0), member(3, 0)}},
			turns:      map[crm.ID]crm.ID{east.ID: uid(3)}, chosen: uid(1), rule: east.ID},
		{name: "round robin skips away and inactive members", rules: []Rule{east}, lead: zhejiang,
			candidates: map[crm.ID][]Candidate{east.ID: {member(1, 0), away, inactive, member(4, 0)}},
			turns:      map[crm.ID]crm.ID{east.ID: uid(1)}, chosen: uid(4), rule: east.ID},
		{name: "round robin resumes where a departed member would sort", rules: []Rule{east}, lead: zhejiang,
			candidates: map[crm.ID][]Candidate{east.ID: {member(1, 0), member(3, 0), member(5, 0)}},
			turns:      map[crm.ID]crm.ID{east.ID: uid(4)}, chosen: uid(5), rule: east.ID},
		{name: "round robin in unsorted input uses the stable order", rules: []Rule{east}, lead: zhejiang,
			candidates: map[crm.ID][]Candidate{east.ID: {member(3, 0), member(1, 0), member(2, 0)}},
			turns:      map[crm.ID]crm.ID{east.ID: uid(1)}, chosen: uid(2), rule: east.ID},
		{name: "least loaded takes the fewest open leads", rules: []Rule{big}, lead: large,
			candidates: map[crm.ID][]Candidate{big.ID: {member(1, 2), member(2, 1), member(3, 2)}},
			chosen:     uid(2), rule: big.ID, reason: "fewest open leads (1) under the cap of 3"},
		{name: "least loaded breaks ties by the round robin order", rules: []Rule{big}, lead: large,
			candidates: map[crm.ID][]Candidate{big.ID: {member(1, 1), member(2, 1), member(3, 1)}},
			turns:      map[crm.ID]crm.ID{big.ID: uid(2)}, chosen: uid(3), rule: big.ID},
		{name: "least loaded skips members at capacity and away", rules: []Rule{big}, lead: large,
			candidates: map[crm.ID][]Candidate{big.ID: {member(1, 3), away, member(3, 2)}},
			chosen:     uid(3), rule: big.ID},
		{name: "a rule without an eligible member falls through", rules: []Rule{big, east}, lead: &crm.Lead{Region: "上海", CompanySize: &size},
			candidates: map[crm.ID][]Candidate{big.ID: {member(1, 3), away}, east.ID: {member(7, 0)}},
			chosen:     uid(7), rule: east.ID, reason: "none of its 2 candidates is eligible"},
		{name: "user rule", rules: []Rule{vip, east}, lead: gold,
			candidates: map[crm.ID][]Candidate{vip.ID: {member(9, 0)}}, chosen: uid(9), rule: vip.ID, reason: "the rule's user"},
		{name: "first matching rule wins", rules: []Rule{east, big}, lead: &crm.Lead{Region: "上海", CompanySize: &size},
			candidates: map[crm.ID][]Candidate{east.ID: {member(1, 0)}, big.ID: {member(2, 0)}}, chosen: uid(1), rule: east.ID},
		{name: "no rule matches", rules: []Rule{east, big}, lead: &crm.Lead{Region: "广东"},
			reason: "Unassigned: no assignment rule matches the lead"},
		{name: "every matching rule is out of members", rules: []Rule{east}, lead: zhejiang,
			candidates: map[crm.ID][]Candidate{east.ID: {away}}, reason: "Unassigned: rule “East” matched but none"},
		{name: "empty team", rules: []Rule{east}, lead: zhejiang, reason: "target has no members"},
		{name: "sticky lead owner wins over the rules", rules: []Rule{east}, lead: zhejiang,
			candidates: map[crm.ID][]Candidate{east.ID: {member(1, 0)}},
			opts:       Options{Sticky: []Sticky{{StickyLead, member(42, 9)}}}, chosen: uid(42), sticky: StickyLead, reason: "Sticky"},
		{name: "sticky contact owner", rules: []Rule{east}, lead: zhejiang,
			opts:   Options{Sticky: []Sticky{{StickyContact, member(43, 0)}, {StickyAccount, member(44, 0)}}},
			chosen: uid(43), sticky: StickyContact},
		{name: "an away sticky owner gives way to the next one", rules: []Rule{east}, lead: zhejiang,
			opts:   Options{Sticky: []Sticky{{StickyContact, away}, {StickyAccount, member(44, 0)}}},
			chosen: uid(44), sticky: StickyAccount},
		{name: "an excluded sticky owner gives way to the rules", rules: []Rule{east}, lead: zhejiang,
			candidates: map[crm.ID][]Candidate{east.ID: {member(1, 0), member(42, 0)}},
			turns:      map[crm.ID]crm.ID{east.ID: uid(1)},
			opts:       Options{Sticky: []Sticky{{StickyLead, member(42, 0)}}, Exclude: []crm.ID{uid(42)}},
			chosen:     uid(1), rule: east.ID, reason: "sticky lead owner u42 is excluded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rules := compiled(t, tc.rules...)
			d := Decide(rules, tc.lead, tc.candidates, tc.turns, tc.opts)
			if d.ChosenID != tc.chosen || d.RuleID != tc.rule || d.Sticky != tc.sticky {
				t.Fatalf("chose %v by rule %v sticky %q, want %v by %v sticky %q; %s", d.ChosenID, d.RuleID, d.Sticky, tc.chosen, tc.rule, tc.sticky, d.Reason)
			}
			if !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("reason %q does not say %q", d.Reason, tc.reason)
			}
			chosen := 0
			for _, c := range d.Candidates {
				if c.Reason == "chosen" || (c.Sticky != "" && c.Eligible && c.UserID == d.ChosenID) {
					chosen++
				}
			}
			if d.ChosenID != crm.NilID && chosen != 1 {
				t.Errorf("the candidates should show the one chosen: %+v", d.Candidates)
			}
		})
	}
}

func TestDecideExplainsEveryCandidate(t *testing.T) {
	r := compiled(t, Rule{ID: uid(500), Name: "All", Strategy: StrategyLeastLoaded, TargetTeamID: uid(1000), Capacity: 2})
	away := member(2, 0)
	away.Away = true
	off := member(3, 0)
	off.Active = false
	d := Decide(r, &crm.Lead{}, map[crm.ID][]Candidate{uid(500): {member(1, 2), away, off, member(4, 1), member(5, 0)}}, nil,
		Options{Exclude: []crm.ID{uid(5)}})
	want := map[crm.ID]string{uid(1): "at capacity (2 of 2 open leads)", uid(2): "away", uid(3): "inactive", uid(4): "chosen",
		uid(5): "excluded (the previous owner)"}
	if len(d.Candidates) != len(want) {
		t.Fatalf("candidates %+v", d.Candidates)
	}
	for _, c := range d.Candidates {
		if c.Reason != want[c.UserID] || c.Eligible != (c.UserID == uid(4)) {
			t.Errorf("%v: %q eligible=%v, want %q", c.UserID, c.Reason, c.Eligible, want[c.UserID])
		}
	}
}

func TestRoundRobinIsFair(t *testing.T) {
	r := compiled(t, Rule{ID: uid(500), Name: "All", Strategy: StrategyRoundRobin, TargetTeamID: uid(1000)})
	cs := []Candidate{member(1, 0), member(2, 0), member(3, 0), member(4, 0)}
	counts := map[crm.ID]int{}
	turn := crm.NilID
	for range 10 {
		d := Decide(r, &crm.Lead{}, map[crm.ID][]Candidate{uid(500): cs}, map[crm.ID]crm.ID{uid(500): turn}, Options{})
		if d.TurnAfter != turn {
			t.Fatalf("decision followed %v, want %v", d.TurnAfter, turn)
		}
		counts[d.ChosenID]++
		turn = d.ChosenID
	}
	for _, c := range cs {
		if n := counts[c.UserID]; n < 2 || n > 3 {
			t.Errorf("%s got %d of 10 leads", c.Name, n)
		}
	}
}

func TestCompileNamesWhatIsWrong(t *testing.T) {
	for _, tc := range []struct {
		rule  Rule
		field string
		msg   string
	}{
		{Rule{Strategy: "random", TargetTeamID: uid(1)}, "strategy", "Unknown strategy"},
		{Rule{Strategy: StrategyUser}, "targetUserId", "needs a target user"},
		{Rule{Strategy: StrategyRoundRobin}, "targetTeamId", "needs a target team"},
		{Rule{Strategy: StrategyLeastLoaded, TargetTeamID: uid(1), TargetUserID: uid(2)}, "targetUserId", "names a team"},
		{Rule{Strategy: StrategyLeastLoaded, TargetTeamID: uid(1), Capacity: -1}, "capacity", "1 or more"},
		{Rule{Strategy: StrategyRoundRobin, TargetTeamID: uid(1), Criteria: []criteria.Criterion{
			crit("country", criteria.Eq, `"CN"`), crit("shoeSize", criteria.Gt, `9`)}}, "criteria[1]", "Criterion 2 (shoeSize): unknown field"},
		{Rule{Strategy: StrategyRoundRobin, TargetTeamID: uid(1), Criteria: []criteria.Criterion{
			crit("industry", "like", `"x"`)}}, "criteria[0]", "unknown operator"},
	} {
		err := tc.rule.Compile()
		fe, ok := err.(*FieldError)
		if !ok || fe.Field != tc.field || !strings.Contains(fe.Message, tc.msg) {
			t.Errorf("%+v: %v, want %s: %s", tc.rule, err, tc.field, tc.msg)
		}
	}
}

// BenchmarkDecide50Rules200Candidates decides with 50 rules of which only the last matches, its
// team of 200 members mostly loaded, away or at capacity: the worst case of the target.
func BenchmarkDecide50Rules200Candidates(b *testing.B) {
	rules := make([]Rule, 50)
	candidates := map[crm.ID][]Candidate{}
	for i := range rules {
		rules[i] = Rule{ID: uuid.New(), Name: fmt.Sprintf("rule %d", i), Strategy: StrategyLeastLoaded, TargetTeamID: uid(1000), Capacity: 40,
			Criteria: []criteria.Criterion{crit("region", criteria.In, fmt.Sprintf(`["region %d","x"]`, i)),
				crit("companySize", criteria.Gte, `100`), crit("industry", criteria.Neq, `"retail"`)}}
		cs := make([]Candidate, 200)
		for j := range cs {
			cs[j] = member(j+1, int32((j*7)%50))
			cs[j].Away = j%11 == 0
		}
		candidates[rules[i].ID] = cs
	}
	rules = compiled(b, rules...)
	size := int32(300)
	lead := &crm.Lead{Region: "region 49", CompanySize: &size, Industry: "manufacturing"}
	turns := map[crm.ID]crm.ID{rules[49].ID: uid(77)}
	b.ReportAllocs()
	for b.Loop() {
		d := Decide(rules, lead, candidates, turns, Options{Exclude: []crm.ID{uid(5)}})
		if d.ChosenID == crm.NilID {
			b.Fatal(d.Reason)
		}
	}
}
