// Package pipeline holds the rules of sales pipelines: what a valid list of stages is, the default
// B2B pipeline, and which entry criteria of a stage a deal does not meet yet. It is pure: the
// service gathers the evidence and applies the verdict.
package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Limits of a pipeline definition.
const (
	MaxStages   = 30
	MaxCriteria = 20
)

// Fields a FIELD criterion may require.
var requirableFields = []string{"amount", "closeDate", "nextStep", "primaryContact"}

// DefaultStages are the stages of the default B2B pipeline of a new organization (DOMAIN.md):
// Initial contact 10% -> Needs analysis 20% -> Proposal/quote 60% -> Negotiation 80% -> Closed won
// 100% / Closed lost 0%. Proposal needs the pain point confirmed and the economic buyer identified;
// Negotiation needs an amount and a close date.
func DefaultStages() []crm.Stage {
	return []crm.Stage{
		{Name: "Initial contact", Probability: 10, ForecastCategory: crm.CategoryPipeline},
		{Name: "Needs analysis", Probability: 20, ForecastCategory: crm.CategoryPipeline},
		{Name: "Proposal/quote", Probability: 60, ForecastCategory: crm.CategoryBestCase, EntryCriteria: []crm.EntryCriterion{
			{Kind: crm.CriterionChecklist, Value: "Pain point confirmed"},
			{Kind: crm.CriterionContactRole, Value: string(crm.RoleEconomicBuyer), Label: "Economic buyer identified"},
		}},
		{Name: "Negotiation", Probability: 80, ForecastCategory: crm.CategoryCommit, EntryCriteria: []crm.EntryCriterion{
			{Kind: crm.CriterionField, Value: "amount"},
			{Kind: crm.CriterionField, Value: "closeDate"},
		}},
		{Name: "Closed won", Probability: 100, ForecastCategory: crm.CategoryClosedWon, Closed: true, Won: true},
		{Name: "Closed lost", Probability: 0, ForecastCategory: crm.CategoryOmitted, Closed: true},
	}
}

// ValidateStages checks a complete, ordered list of stages: 1 to MaxStages stages with distinct
// names, probabilities 0-100, categories that fit open or closed stages, won only on closed stages,
// at least one open, one won and one lost stage, and well-formed entry criteria. Errors name the
// offending input as stages[i].field.
func ValidateStages(stages []crm.Stage) error {
	if len(stages) == 0 || len(stages) > MaxStages {
		return crm.Invalid("stages", "A pipeline has between 1 and %d stages.", MaxStages)
	}
	names := map[string]bool{}
	var open, won, lost bool
	for i, s := range stages {
		field := func(f string) string { return fmt.Sprintf("stages[%d].%s", i, f) }
		key := strings.ToLower(strings.TrimSpace(s.Name))
		if key == "" {
			return crm.Invalid(field("name"), "Every stage needs a name.")
		}
		if names[key] {
			return crm.Invalid(field("name"), "Stage names must differ: %q appears twice.", s.Name)
		}
		names[key] = true
		if s.Probability < 0 || s.Probability > 100 {
			return crm.Invalid(field("probability"), "Probability is a percentage from 0 to 100.")
		}
		if s.Won && !s.Closed {
			return crm.Invalid(field("won"), "Only a closed stage can be won.")
		}
		if s.StaleAfterDays != nil && (*s.StaleAfterDays < 0 || *s.StaleAfterDays > 365) {
			return crm.Invalid(field("staleAfterDays"), "staleAfterDays is 0 (never stale) to 365, or null for the organization's setting.")
		}
		switch {
		case s.Won:
			won = true
			if s.ForecastCategory != crm.CategoryClosedWon || s.Probability != 100 {
				return crm.Invalid(field("forecastCategory"), "A won stage has forecast category CLOSED_WON and probability 100.")
			}
		case s.Closed:
			lost = true
			if s.ForecastCategory != crm.CategoryOmitted || s.Probability != 0 {
				return crm.Invalid(field("forecastCategory"), "A lost stage has forecast category OMITTED and probability 0.")
			}
		default:
			open = true
			if !OpenCategory(s.ForecastCategory) {
				return crm.Invalid(field("forecastCategory"), "An open stage's forecast category is PIPELINE, BEST_CASE, COMMIT or OMITTED.")
			}
		}
		if err := validateCriteria(field("entryCriteria"), s.EntryCriteria); err != nil {
			return err
		}
	}
	if !open || !won || !lost {
		return crm.Invalid("stages", "A pipeline needs at least one open stage, one won stage and one lost stage.")
	}
	return nil
}

// OpenCategory reports a forecast category an open deal may have.
func OpenCategory(c crm.ForecastCategory) bool {
	switch c {
	case crm.CategoryPipeline, crm.CategoryBestCase, crm.CategoryCommit, crm.CategoryOmitted:
		return true
	}
	return false
}

func validateCriteria(field string, cs []crm.EntryCriterion) error {
	if len(cs) > MaxCriteria {
		return crm.Invalid(field, "A stage has at most %d entry criteria.", MaxCriteria)
	}
	for _, c := range cs {
		v := strings.TrimSpace(c.Value)
		switch c.Kind {
		case crm.CriterionField:
			if !slices.Contains(requirableFields, v) && !(strings.HasPrefix(v, "custom.") && len(v) > len("custom.")) {
				return crm.Invalid(field, "%q is not a field a stage can require: use %s or custom.<key>.", v, strings.Join(requirableFields, ", "))
			}
		case crm.CriterionContactRole:
			if !slices.Contains(crm.ContactRoles, crm.ContactRole(v)) {
				return crm.Invalid(field, "%q is not a contact role: use decision_maker, economic_buyer, champion, influencer or user.", v)
			}
		case crm.CriterionActivity:
			switch crm.ActivityType(v) {
			case crm.ActivityCall, crm.ActivityMeeting, crm.ActivityEmail, crm.ActivityNote:
			default:
				return crm.Invalid(field, "%q is not an activity type: use call, meeting, email or note.", v)
			}
		case crm.CriterionChecklist:
			if v == "" || len(v) > 200 {
				return crm.Invalid(field, "A checklist item is 1 to 200 characters.")
			}
		default:
			return crm.Invalid(field, "Unknown criterion kind %q.", c.Kind)
		}
	}
	return nil
}

// Evidence is what a deal has to show against entry criteria.
type Evidence struct {
	Fields     map[string]bool           // requirable fields (and custom.<key>) that have a value
	Roles      map[crm.ContactRole]bool  // roles held by the deal's contacts
	Activities map[crm.ActivityType]bool // types of activities logged on the deal
	Checklist  map[string]bool           // ticked checklist items
}

// Unmet returns the criteria of a stage that the evidence does not satisfy, in order, each with
// a sentence saying what is missing.
func Unmet(criteria []crm.EntryCriterion, ev Evidence) []crm.Blocker {
	var out []crm.Blocker
	for _, c := range criteria {
		label := c.Label
		if label == "" {
			label = c.Value
		}
		var met bool
		var detail string
		switch c.Kind {
		case crm.CriterionField:
			met, detail = ev.Fields[c.Value], fmt.Sprintf("Set %s.", label)
		case crm.CriterionContactRole:
			met = ev.Roles[crm.ContactRole(c.Value)]
			detail = fmt.Sprintf("Add a contact with the role %s (%s).", c.Value, label)
		case crm.CriterionActivity:
			met = ev.Activities[crm.ActivityType(c.Value)]
			detail = fmt.Sprintf("Log a %s on the deal (%s).", c.Value, label)
		case crm.CriterionChecklist:
			met, detail = ev.Checklist[c.Value], fmt.Sprintf("Tick the checklist item %q.", label)
		}
		if !met {
			out = append(out, crm.Blocker{Kind: c.Kind, Value: c.Value, Detail: detail})
		}
	}
	return out
}

// Blockers is what stands between a deal and a stage before it tries to move there: the unmet
// entry criteria and, for a lost stage, the loss reason the move will need. Never nil, so that a
// possible move reads as an empty list.
func Blockers(to crm.Stage, ev Evidence) []crm.Blocker {
	out := Unmet(to.EntryCriteria, ev)
	if to.Lost() {
		out = append(out, crm.Blocker{Kind: crm.CriterionField, Value: "lossReason",
			Detail: "Give a loss reason when moving the deal here."})
	}
	if out == nil {
		out = []crm.Blocker{}
	}
	return out
}

// CheckMove reports what forbids moving a deal from one stage to another regardless of evidence:
// another pipeline, the same stage, or a lost stage without a loss reason.
func CheckMove(from, to crm.Stage, lossReason string) error {
	if to.PipelineID != from.PipelineID {
		return crm.Invalid("toStageId", "The stage belongs to another pipeline; a deal moves only within its pipeline.")
	}
	if to.DeletedAt != nil {
		return crm.Invalid("toStageId", "The stage %q was removed from the pipeline.", to.Name)
	}
	if to.ID == from.ID {
		return crm.Invalid("toStageId", "The deal is already in stage %q.", to.Name)
	}
	if to.Lost() && strings.TrimSpace(lossReason) == "" {
		return crm.Invalid("lossReason", "Closing a deal as lost needs a loss reason.")
	}
	return nil
}
