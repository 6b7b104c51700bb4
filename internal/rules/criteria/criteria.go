// Package criteria evaluates "field operator value" conditions on a lead. Scoring attribute rules and
// assignment rules are both made of them, so both read a lead's fields the same way.
package criteria

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Operator compares a lead's field with a criterion's value.
type Operator string

// Operators. Text comparisons ignore case; gt/gte/lt/lte compare numbers, or seniority ranks for
// the seniority field.
const (
	Eq         Operator = "eq"
	Neq        Operator = "neq"
	In         Operator = "in"
	NotIn      Operator = "not_in"
	Contains   Operator = "contains"
	StartsWith Operator = "starts_with"
	Gt         Operator = "gt"
	Gte        Operator = "gte"
	Lt         Operator = "lt"
	Lte        Operator = "lte"
	Exists     Operator = "exists"
	Missing    Operator = "missing"
)

// Operators lists every operator.
var Operators = []Operator{Eq, Neq, In, NotIn, Contains, StartsWith, Gt, Gte, Lt, Lte, Exists, Missing}

// Criterion is one condition on a lead. Value is JSON: a string or number, or an array of strings for
// in and not_in, absent for exists and missing.
type Criterion struct {
	Field    string          `json:"field"`
	Operator Operator        `json:"operator"`
	Value    json.RawMessage `json:"value,omitempty"`
}

// Predicate is a compiled criterion.
type Predicate func(l *crm.Lead) bool

type kind int

const (
	text kind = iota
	number
	rank
)

// fields are the lead fields a criterion may name; custom.<key> reads the lead's custom fields.
var fields = map[string]struct {
	kind kind
	get  func(l *crm.Lead) (string, bool)
}{
	"name":             {text, func(l *crm.Lead) (string, bool) { return l.Name, l.Name != "" }},
	"title":            {text, func(l *crm.Lead) (string, bool) { return l.Title, l.Title != "" }},
	"company":          {text, func(l *crm.Lead) (string, bool) { return l.Company, l.Company != "" }},
	"email":            {text, func(l *crm.Lead) (string, bool) { return l.Email, l.Email != "" }},
	"emailDomain":      {text, func(l *crm.Lead) (string, bool) { d := emailDomain(l.Email); return d, d != "" }},
	"phone":            {text, func(l *crm.Lead) (string, bool) { return l.Phone, l.Phone != "" }},
	"website":          {text, func(l *crm.Lead) (string, bool) { return l.Website, l.Website != "" }},
	"industry":         {text, func(l *crm.Lead) (string, bool) { return l.Industry, l.Industry != "" }},
	"country":          {text, func(l *crm.Lead) (string, bool) { return l.Country, l.Country != "" }},
	"region":           {text, func(l *crm.Lead) (string, bool) { return l.Region, l.Region != "" }},
	"city":             {text, func(l *crm.Lead) (string, bool) { return l.City, l.City != "" }},
	"source":           {text, func(l *crm.Lead) (string, bool) { return string(l.Source), l.Source != "" }},
	"campaign":         {text, func(l *crm.Lead) (string, bool) { return l.Campaign, l.Campaign != "" }},
	"utmSource":        {text, func(l *crm.Lead) (string, bool) { return l.UTM.Source, l.UTM.Source != "" }},
	"utmMedium":        {text, func(l *crm.Lead) (string, bool) { return l.UTM.Medium, l.UTM.Medium != "" }},
	"utmCampaign":      {text, func(l *crm.Lead) (string, bool) { return l.UTM.Campaign, l.UTM.Campaign != "" }},
	"grade":            {text, func(l *crm.Lead) (string, bool) { return l.Grade, l.Grade != "" }},
	"status":           {text, func(l *crm.Lead) (string, bool) { return string(l.Status), l.Status != "" }},
	"registrationCode": {text, func(l *crm.Lead) (string, bool) { return l.RegistrationCode, l.RegistrationCode != "" }},
	"companySize": {number, func(l *crm.Lead) (string, bool) {
		if l.CompanySize == nil {
			return "", false
		}
		return strconv.Itoa(int(*l.CompanySize)), true
	}},
	"score":      {number, func(l *crm.Lead) (string, bool) { return strconv.Itoa(int(l.ScoreTotal)), true }},
	"fit":        {number, func(l *crm.Lead) (string, bool) { return strconv.Itoa(int(l.ScoreFit)), true }},
	"engagement": {number, func(l *crm.Lead) (string, bool) { return strconv.Itoa(int(l.ScoreEngagement)), true }},
	"seniority": {rank, func(l *crm.Lead) (string, bool) {
		s := SeniorityOf(l.Title)
		return string(s), s != ""
	}},
}

// Fields lists the field names a criterion may use besides custom.<key>, sorted.
func Fields() []string {
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func emailDomain(email string) string {
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		return email[i+1:]
	}
	return ""
}

// Compile validates the criterion and returns its predicate. Errors name what to fix.
func (c Criterion) Compile() (Predicate, error) {
	get, k, err := field(c.Field)
	if err != nil {
		return nil, err
	}
	switch c.Operator {
	case Exists:
		return func(l *crm.Lead) bool { _, ok := get(l); return ok }, nil
	case Missing:
		return func(l *crm.Lead) bool { _, ok := get(l); return !ok }, nil
	case In, NotIn:
		var list []string
		if err := json.Unmarshal(c.Value, &list); err != nil || len(list) == 0 {
			return nil, fmt.Errorf("%s needs a non-empty array of strings as its value", c.Operator)
		}
		for i := range list {
			list[i] = strings.ToLower(strings.TrimSpace(list[i]))
		}
		want := c.Operator == In
		return func(l *crm.Lead) bool {
			v, ok := get(l)
			return ok && slices.Contains(list, strings.ToLower(v)) == want
		}, nil
	case Eq, Neq, Contains, StartsWith:
		s, err := scalar(c.Value)
		if err != nil {
			return nil, fmt.Errorf("%s needs a string or number value", c.Operator)
		}
		s = strings.ToLower(s)
		switch c.Operator {
		case Eq:
			return func(l *crm.Lead) bool { v, ok := get(l); return ok && strings.ToLower(v) == s }, nil
		case Neq:
			return func(l *crm.Lead) bool { v, ok := get(l); return !ok || strings.ToLower(v) != s }, nil
		case Contains:
			return func(l *crm.Lead) bool { v, ok := get(l); return ok && strings.Contains(strings.ToLower(v), s) }, nil
		default:
			return func(l *crm.Lead) bool { v, ok := get(l); return ok && strings.HasPrefix(strings.ToLower(v), s) }, nil
		}
	case Gt, Gte, Lt, Lte:
		s, err := scalar(c.Value)
		if err != nil {
			return nil, fmt.Errorf("%s needs a number value", c.Operator)
		}
		toNum := func(v string) (float64, bool) { f, err := strconv.ParseFloat(v, 64); return f, err == nil }
		switch k {
		case text:
			return nil, fmt.Errorf("%s compares numbers; %s is text", c.Operator, c.Field)
		case rank:
			toNum = func(v string) (float64, bool) { r := rankOf(Seniority(strings.ToLower(v))); return float64(r), r > 0 }
		}
		want, ok := toNum(s)
		if !ok {
			if k == rank {
				return nil, fmt.Errorf("seniority is one of %s", strings.Join(seniorityNames(), ", "))
			}
			return nil, fmt.Errorf("%q is not a number", s)
		}
		cmp := map[Operator]func(a, b float64) bool{
			Gt: func(a, b float64) bool { return a > b }, Gte: func(a, b float64) bool { return a >= b },
			Lt: func(a, b float64) bool { return a < b }, Lte: func(a, b float64) bool { return a <= b },
		}[c.Operator]
		return func(l *crm.Lead) bool {
			v, ok := get(l)
			if !ok {
				return false
			}
			n, ok := toNum(v)
			return ok && cmp(n, want)
		}, nil
	}
	ops := make([]string, len(Operators))
	for i, o := range Operators {
		ops[i] = string(o)
	}
	return nil, fmt.Errorf("unknown operator %q; use one of %s", c.Operator, strings.Join(ops, ", "))
}

func field(name string) (func(*crm.Lead) (string, bool), kind, error) {
	if key, ok := strings.CutPrefix(name, "custom."); ok && key != "" {
		return func(l *crm.Lead) (string, bool) { return customValue(l.Custom, key) }, number, nil
	}
	f, ok := fields[name]
	if !ok {
		return nil, 0, fmt.Errorf("unknown field %q; use one of %s or custom.<key>", name, strings.Join(Fields(), ", "))
	}
	return f.get, f.kind, nil
}

// customValue reads a custom field as text; numbers keep their JSON spelling, so custom fields work
// with both text and number operators.
func customValue(custom json.RawMessage, key string) (string, bool) {
	if len(custom) == 0 {
		return "", false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(custom, &m) != nil {
		return "", false
	}
	raw, ok := m[key]
	if !ok || string(raw) == "null" {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, s != ""
	}
	return string(raw), true
}

func scalar(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strings.TrimSpace(s), nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", err
	}
	return n.String(), nil
}

// All compiles every criterion; the predicate holds when all of them hold (an empty list always
// holds). The error names the position of the first bad criterion.
func All(cs []Criterion) (Predicate, error) {
	ps := make([]Predicate, len(cs))
	for i, c := range cs {
		p, err := c.Compile()
		if err != nil {
			return nil, fmt.Errorf("criterion %d (%s): %w", i+1, c.Field, err)
		}
		ps[i] = p
	}
	return func(l *crm.Lead) bool {
		for _, p := range ps {
			if !p(l) {
				return false
			}
		}
		return true
	}, nil
}
