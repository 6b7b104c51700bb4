package criteria

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/rapportcrm/rapport/internal/crm"
)

func TestCriteria(t *testing.T) {
	size := int32(250)
	lead := &crm.Lead{Title: "销售总监", Industry: "Manufacturing", Region: "浙江", Country: "CN", CompanySize: &size,
		Email: "wang@acme.cn", Source: crm.SourceWebForm, ScoreTotal: 85, Custom: json.RawMessage(`{"budget": 600000, "tier": "gold"}`)}
	for _, tc := range []struct {
		field string
		op    Operator
		value string
		want  bool
	}{
		{"seniority", Gte, `"director"`, true},
		{"seniority", Gte, `"vp"`, false},
		{"companySize", Gt, `100`, true},
		{"companySize", Lte, `100`, false},
		{"industry", In, `["manufacturing", "software"]`, true},
		{"industry", NotIn, `["manufacturing"]`, false},
		{"region", Eq, `"浙江"`, true},
		{"country", Neq, `"US"`, true},
		{"emailDomain", Eq, `"ACME.cn"`, true},
		{"title", Contains, `"总监"`, true},
		{"source", Eq, `"web_form"`, true},
		{"score", Gte, `80`, true},
		{"custom.budget", Gt, `500000`, true},
		{"custom.tier", Eq, `"gold"`, true},
		{"custom.missing", Exists, ``, false},
		{"custom.missing", Missing, ``, true},
		{"city", Exists, ``, false},
		{"city", Neq, `"Shanghai"`, true},
	} {
		p, err := Criterion{Field: tc.field, Operator: tc.op, Value: json.RawMessage(tc.value)}.Compile()
		if err != nil {
			t.Fatalf("%s %s %s: %v", tc.field, tc.op, tc.value, err)
		}
		if got := p(lead); got != tc.want {
			t.Errorf("%s %s %s = %v, want %v", tc.field, tc.op, tc.value, got, tc.want)
		}
	}
}

func TestCriteriaRejectWhatCannotWork(t *testing.T) {
	for _, tc := range []struct {
		c    Criterion
		want string
	}{
		{Criterion{Field: "shoeSize", Operator: Eq, Value: json.RawMessage(`"9"`)}, "unknown field"},
		{Criterion{Field: "industry", Operator: "like", Value: json.RawMessage(`"x"`)}, "unknown operator"},
		{Criterion{Field: "industry", Operator: Gt, Value: json.RawMessage(`5`)}, "compares numbers"},
		{Criterion{Field: "industry", Operator: In, Value: json.RawMessage(`"x"`)}, "array"},
		{Criterion{Field: "companySize", Operator: Gt, Value: json.RawMessage(`"many"`)}, "not a number"},
		{Criterion{Field: "seniority", Operator: Gte, Value: json.RawMessage(`"boss"`)}, "seniority is one of"},
		{Criterion{Field: "title", Operator: Eq}, "string or number"},
	} {
		_, err := tc.c.Compile()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to mention %q", tc.c, err, tc.want)
		}
	}
	if _, err := All([]Criterion{{Field: "country", Operator: Eq, Value: json.RawMessage(`"CN"`)}, {Field: "x", Operator: Eq}}); err == nil || !strings.Contains(err.Error(), "criterion 2") {
		t.Errorf("All names the bad criterion: %v", err)
	}
}

func TestSeniorityOf(t *testing.T) {
	for title, want := range map[string]Seniority{
		"": "", "Engineer": Staff, "Sales Manager": Manager, "Director of IT": Director, "销售总监": Director,
		"VP of Sales": VP, "副总裁": VP, "总裁": CLevel, "CEO": CLevel, "Chief Revenue Officer": CLevel,
		"Head of Marketing": Director, "区域经理": Manager, "Actor": Staff, "Productor": Staff,
	} {
		if got := SeniorityOf(title); got != want {
			t.Errorf("SeniorityOf(%q) = %q, want %q", title, got, want)
		}
	}
}
