// Package scoring decides a lead's score: the rule model (attribute rules on the lead's fields and
// behaviour rules on its events), their validation, the awards they give with a reason a person can
// read, the totals, grades and thresholds, and the histogram a simulation reports. It does no I/O:
// the service loads leads, events and rules, calls Evaluate and stores the awards as the ledger.
package scoring

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
)

// Kind says what a rule looks at.
type Kind string

// Rule kinds.
const (
	Attribute Kind = "attribute" // a condition on the lead's fields: fit points
	Behaviour Kind = "behaviour" // an event type, optionally a URL pattern: engagement points
)

// EventType is the kind of a behaviour event.
type EventType string

// Behaviour event types.
const (
	PageVisit  EventType = "page_visit"
	Download   EventType = "download"
	Webinar    EventType = "webinar"
	EmailOpen  EventType = "email_open"
	EmailClick EventType = "email_click"
	FormSubmit EventType = "form_submit"
)

// EventTypes lists every behaviour event type.
var EventTypes = []EventType{PageVisit, Download, Webinar, EmailOpen, EmailClick, FormSubmit}

// Valid reports whether t is one of EventTypes.
func (t EventType) Valid() bool { return slices.Contains(EventTypes, t) }

// Part is the half of the score an award counts in.
type Part string

// Score parts.
const (
	Fit        Part = "fit"
	Engagement Part = "engagement"
)

// Limits of a rule.
const (
	MaxPoints  = 1000 // |points| of one rule
	MaxName    = 200  // characters of a rule's name
	MaxPattern = 1000 // characters of a URL pattern
)

// Rule is one scoring rule of an organization. Attribute rules use Criterion; behaviour rules use
// EventType and URLPattern (a glob where * matches any run of characters, empty for any URL) and
// may cap what they award: at most CapPoints within any CapDays days.
type Rule struct {
	ID         crm.ID
	OrgID      crm.ID
	Kind       Kind
	Name       string
	Criterion  criteria.Criterion
	EventType  EventType
	URLPattern string
	Points     int32
	CapPoints  *int32
	CapDays    *int32
	Active     bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
	DeletedAt  *time.Time
	Version    int32
}

// GlobalID returns the rule's global ID.
func (r Rule) GlobalID() string { return crm.GlobalID(crm.TypeScoringRule, r.ID) }

// Validate checks a rule before it is saved. The error is an EINVALID crm.Error naming the field at
// fault (name, kind, field, operator, value, eventType, urlPattern, points, capPoints, capDays).
func Validate(r Rule) error {
	if strings.TrimSpace(r.Name) == "" {
		return crm.Invalid("name", "The rule needs a name.")
	}
	if len([]rune(r.Name)) > MaxName {
		return crm.Invalid("name", "The name is longer than %d characters.", MaxName)
	}
	if r.Points == 0 || r.Points > MaxPoints || r.Points < -MaxPoints {
		return crm.Invalid("points", "Points are between -%d and %d, and not 0.", MaxPoints, MaxPoints)
	}
	switch r.Kind {
	case Attribute:
		if r.Criterion.Field == "" {
			return crm.Invalid("field", "An attribute rule needs a field; use one of %s or custom.<key>.", strings.Join(criteria.Fields(), ", "))
		}
		if slices.Contains(circular, r.Criterion.Field) {
			return crm.Invalid("field", "A scoring rule cannot use %s: it depends on the score it would change.", r.Criterion.Field)
		}
		if !slices.Contains(criteria.Operators, r.Criterion.Operator) {
			return crm.Invalid("operator", "Unknown operator %q; use one of %s.", r.Criterion.Operator, operatorNames())
		}
		if _, err := r.Criterion.Compile(); err != nil {
			field := "value"
			if strings.HasPrefix(err.Error(), "unknown field") {
				field = "field"
			} else if strings.Contains(err.Error(), "compares numbers") {
				field = "operator"
			}
			return crm.Invalid(field, "%s.", capitalize(err.Error()))
		}
		if r.EventType != "" || r.URLPattern != "" || r.CapPoints != nil || r.CapDays != nil {
			return crm.Invalid("eventType", "Event type, URL pattern and caps belong to behaviour rules, not attribute rules.")
		}
	case Behaviour:
		if !r.EventType.Valid() {
			return crm.Invalid("eventType", "Unknown event type %q; use one of %s.", r.EventType, eventTypeNames())
		}
		if len(r.URLPattern) > MaxPattern {
			return crm.Invalid("urlPattern", "The URL pattern is longer than %d characters.", MaxPattern)
		}
		if r.Criterion.Field != "" || r.Criterion.Operator != "" || len(r.Criterion.Value) > 0 && string(r.Criterion.Value) != "null" {
			return crm.Invalid("field", "Field, operator and value belong to attribute rules, not behaviour rules.")
		}
		if (r.CapPoints == nil) != (r.CapDays == nil) {
			if r.CapPoints == nil {
				return crm.Invalid("capPoints", "A cap needs both capPoints and capDays.")
			}
			return crm.Invalid("capDays", "A cap needs both capPoints and capDays.")
		}
		if r.CapPoints != nil && (*r.CapPoints <= 0 || *r.CapPoints > 100*MaxPoints) {
			return crm.Invalid("capPoints", "capPoints is between 1 and %d.", 100*MaxPoints)
		}
		if r.CapDays != nil && (*r.CapDays <= 0 || *r.CapDays > 3660) {
			return crm.Invalid("capDays", "capDays is between 1 and 3660.")
		}
	default:
		return crm.Invalid("kind", "Unknown rule kind %q; use attribute or behaviour.", r.Kind)
	}
	return nil
}

// circular are the fields that scoring itself computes.
var circular = []string{"score", "fit", "engagement", "grade"}

func operatorNames() string {
	names := make([]string, len(criteria.Operators))
	for i, o := range criteria.Operators {
		names[i] = string(o)
	}
	return strings.Join(names, ", ")
}

func eventTypeNames() string {
	names := make([]string, len(EventTypes))
	for i, t := range EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// TargetIndustries is the target-industry list of the default "in a target industry" rule; an
// organization edits the rule to name its own.
var TargetIndustries = []string{"software", "manufacturing", "finance", "healthcare", "retail"}

// DefaultRules is the default rule set of DOMAIN.md section 2, seeded for new organizations. IDs,
// organization and timestamps are left for the caller to fill.
func DefaultRules() []Rule {
	industries, _ := json.Marshal(TargetIndustries)
	b := func(name string, t EventType, pattern string, points int32) Rule {
		return Rule{Kind: Behaviour, Name: name, EventType: t, URLPattern: pattern, Points: points, Active: true, Version: 1}
	}
	a := func(name, field string, op criteria.Operator, value string, points int32) Rule {
		return Rule{Kind: Attribute, Name: name, Criterion: criteria.Criterion{Field: field, Operator: op, Value: json.RawMessage(value)},
			Points: points, Active: true, Version: 1}
	}
	return []Rule{
		b("Visited the pricing page", PageVisit, "*/pricing*", 15),
		b("Downloaded a case study", Download, "*case-stud*", 10),
		b("Attended a webinar", Webinar, "", 20),
		b("Opened a marketing e-mail", EmailOpen, "", 2),
		a("Job title is director or above", "seniority", criteria.Gte, `"director"`, 10),
		a("Company size over 100 people", "companySize", criteria.Gt, `100`, 5),
		a("In a target industry", "industry", criteria.In, string(industries), 10),
	}
}

// String describes the rule's condition for people, e.g. `page_visit matching "*/pricing*"` or
// `companySize gt 100`.
func (r Rule) String() string {
	if r.Kind == Attribute {
		if len(r.Criterion.Value) == 0 {
			return fmt.Sprintf("%s %s", r.Criterion.Field, r.Criterion.Operator)
		}
		return fmt.Sprintf("%s %s %s", r.Criterion.Field, r.Criterion.Operator, r.Criterion.Value)
	}
	if r.URLPattern == "" {
		return string(r.EventType)
	}
	return fmt.Sprintf("%s matching %q", r.EventType, r.URLPattern)
}
