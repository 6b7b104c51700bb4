package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/criteria"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
	"github.com/rapportcrm/rapport/internal/rules/scoring"
	"github.com/rapportcrm/rapport/worker/jobargs"
)

// ScoringRuleInput is a scoring rule as an administrator writes it: an attribute rule (Field,
// Operator, Value) or a behaviour rule (EventType, URLPattern, optional cap), with its points.
type ScoringRuleInput struct {
	Kind       scoring.Kind
	Name       string
	Field      string
	Operator   string
	Value      json.RawMessage
	EventType  scoring.EventType
	URLPattern string
	Points     int32
	CapPoints  *int32
	CapDays    *int32
	Active     *bool // nil: active
}

// ScoringRuleUpdate replaces a rule's definition; the rule gets a new version.
type ScoringRuleUpdate struct {
	ID              crm.ID
	ExpectedVersion int32
	Rule            ScoringRuleInput
}

// ScoreEntry is one entry of a lead's score ledger with the rule that awarded it.
type ScoreEntry struct {
	LeadID      crm.ID
	Rule        scoring.Rule // the rule as it is now (possibly deleted or edited since)
	RuleVersion int32        // the version that awarded the points
	EventID     crm.ID       // NilID for fit points
	Part        scoring.Part
	Points      int32
	Reason      string
	At          time.Time
	ExpiresAt   *time.Time
}

// ScoringRun is one organization-wide rescoring and how far it got.
type ScoringRun struct {
	ID         crm.ID
	Status     string // running, done, superseded, failed
	Reason     string
	Total      int32 // leads to score when it started
	Done       int32 // leads scored so far
	Changed    int32 // leads whose score changed
	StartedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

// GlobalID returns the run's global ID.
func (r ScoringRun) GlobalID() string { return crm.GlobalID(TypeScoringRun, r.ID) }

// TypeScoringRun is the record type of scoring runs in global IDs.
const TypeScoringRun = "ScoringRun"

// authorizeScoringRead lets administrators and lead workers (users and keys with leads:read) read the
// rules that score the leads they work.
func authorizeScoringRead(a *crm.Actor) error {
	if access.Allows(a, access.SettingsWrite) {
		return nil
	}
	return authorize(a, access.LeadsRead)
}

// ListScoringRules returns the organization's live scoring rules, oldest first.
func (s *Service) ListScoringRules(ctx context.Context, a *crm.Actor) ([]scoring.Rule, error) {
	if err := authorizeScoringRead(a); err != nil {
		return nil, err
	}
	var out []scoring.Rule
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.ListScoringRules(ctx, a.OrgID)
		out = scoringRulesFromRows(rows)
		return err
	})
	return out, err
}

// ScoringRules returns rules by ID (deleted ones included) in the order of ids; zero Rules for
// missing ones.
func (s *Service) ScoringRules(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]scoring.Rule, error) {
	if err := authorizeScoringRead(a); err != nil {
		return nil, err
	}
	var out []scoring.Rule
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.GetScoringRules(ctx, query.GetScoringRulesParams{OrgID: a.OrgID, Ids: ids})
		out = scoringRulesFromRows(rows)
		return err
	})
	return inOrder(out, ids, func(r scoring.Rule) crm.ID { return r.ID }), err
}

// CreateScoringRule adds a rule (administrators) and starts a rescore of every lead in the same
// transaction; the returned run shows its progress.
func (s *Service) CreateScoringRule(ctx context.Context, a *crm.Actor, in ScoringRuleInput) (r scoring.Rule, run ScoringRun, err error) {
	if err := authorize(a, access.SettingsWrite); err != nil {
		return r, run, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		if r, err = w.createScoringRule(in); err != nil {
			return err
		}
		run, err = w.startRescore("rule " + r.Name + " created")
		return err
	})
	return r, run, err
}

// UpdateScoringRule replaces a rule's definition (administrators), bumping its version, and starts a
// rescore. A stale expectedVersion is a CONFLICT.
func (s *Service) UpdateScoringRule(ctx context.Context, a *crm.Actor, in ScoringRuleUpdate) (r scoring.Rule, run ScoringRun, err error) {
	if err := authorize(a, access.SettingsWrite); err != nil {
		return r, run, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		row, err := w.q.LockScoringRule(w.ctx, query.LockScoringRuleParams{OrgID: a.OrgID, ID: in.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("scoring rule", in.ID)
		} else if err != nil {
			return err
		}
		if err := checkVersion("scoring rule", row.Version, in.ExpectedVersion); err != nil {
			return err
		}
		before := scoringRuleFromRow(row)
		r, err = scoringRuleOf(in.Rule)
		if err != nil {
			return err
		}
		r.ID, r.OrgID, r.CreatedAt = before.ID, before.OrgID, before.CreatedAt
		res, err := w.q.UpdateScoringRule(w.ctx, query.UpdateScoringRuleParams{OrgID: a.OrgID, ID: r.ID, Kind: string(r.Kind),
			Name: r.Name, Field: r.Criterion.Field, Operator: string(r.Criterion.Operator), Value: ruleValue(r),
			EventType: string(r.EventType), UrlPattern: r.URLPattern, Points: r.Points, CapPoints: r.CapPoints,
			CapDays: r.CapDays, Active: r.Active, Now: w.now})
		if err != nil {
			return err
		}
		r.Version, r.UpdatedAt = res.Version, res.UpdatedAt
		w.emit("scoring_rule.updated", crm.TypeScoringRule, r.ID, diff(scoringRuleFields(before), scoringRuleFields(r)))
		run, err = w.startRescore("rule " + r.Name + " changed")
		return err
	})
	return r, run, err
}

// DeleteScoringRule deletes a rule (administrators; soft, so that the ledger can still name it) and
// starts a rescore. A stale expectedVersion is a CONFLICT.
func (s *Service) DeleteScoringRule(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32) (run ScoringRun, err error) {
	if err := authorize(a, access.SettingsWrite); err != nil {
		return run, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		row, err := w.q.LockScoringRule(w.ctx, query.LockScoringRuleParams{OrgID: a.OrgID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("scoring rule", id)
		} else if err != nil {
			return err
		}
		if err := checkVersion("scoring rule", row.Version, expectedVersion); err != nil {
			return err
		}
		if _, err := w.q.DeleteScoringRule(w.ctx, query.DeleteScoringRuleParams{OrgID: a.OrgID, ID: id, Now: &w.now}); err != nil {
			return err
		}
		w.emit("scoring_rule.deleted", crm.TypeScoringRule, id, diff(scoringRuleFields(scoringRuleFromRow(row)), fields{}))
		run, err = w.startRescore("rule " + row.Name + " deleted")
		return err
	})
	return run, err
}

func (w *writer) createScoringRule(in ScoringRuleInput) (scoring.Rule, error) {
	r, err := scoringRuleOf(in)
	if err != nil {
		return r, err
	}
	r.ID, r.OrgID, r.CreatedAt, r.UpdatedAt, r.Version = crm.NewID(), w.actor.OrgID, w.now, w.now, 1
	if err := w.q.CreateScoringRule(w.ctx, query.CreateScoringRuleParams{OrgID: r.OrgID, ID: r.ID, Kind: string(r.Kind),
		Name: r.Name, Field: r.Criterion.Field, Operator: string(r.Criterion.Operator), Value: ruleValue(r),
		EventType: string(r.EventType), UrlPattern: r.URLPattern, Points: r.Points, CapPoints: r.CapPoints,
		CapDays: r.CapDays, Active: r.Active, Now: w.now}); err != nil {
		return r, err
	}
	w.emit("scoring_rule.created", crm.TypeScoringRule, r.ID, diff(nil, scoringRuleFields(r)))
	return r, nil
}

// seedDefaultScoringRules gives a new organization the default rule set of DOMAIN.md section 2.
func (w *writer) seedDefaultScoringRules() error {
	for _, r := range scoring.DefaultRules() {
		active := r.Active
		if _, err := w.createScoringRule(ScoringRuleInput{Kind: r.Kind, Name: r.Name, Field: r.Criterion.Field,
			Operator: string(r.Criterion.Operator), Value: r.Criterion.Value, EventType: r.EventType,
			URLPattern: r.URLPattern, Points: r.Points, CapPoints: r.CapPoints, CapDays: r.CapDays, Active: &active}); err != nil {
			return err
		}
	}
	return nil
}

// scoringRuleOf normalizes and validates a rule input.
func scoringRuleOf(in ScoringRuleInput) (scoring.Rule, error) {
	name, err := normalize.Text("name", in.Name, scoring.MaxName)
	if err != nil {
		return scoring.Rule{}, err
	}
	r := scoring.Rule{Kind: in.Kind, Name: name, EventType: in.EventType, URLPattern: strings.TrimSpace(in.URLPattern),
		Points: in.Points, CapPoints: in.CapPoints, CapDays: in.CapDays, Active: in.Active == nil || *in.Active}
	if in.Kind == scoring.Attribute {
		value := in.Value
		if len(value) == 0 || string(value) == "null" {
			value = nil
		}
		r.Criterion = criteria.Criterion{Field: strings.TrimSpace(in.Field), Operator: criteria.Operator(strings.TrimSpace(in.Operator)), Value: value}
	} else if in.Field != "" || in.Operator != "" || len(in.Value) > 0 && string(in.Value) != "null" {
		r.Criterion = criteria.Criterion{Field: in.Field, Operator: criteria.Operator(in.Operator)}
	}
	return r, scoring.Validate(r)
}

func ruleValue(r scoring.Rule) []byte {
	if len(r.Criterion.Value) == 0 {
		return []byte("null")
	}
	return r.Criterion.Value
}

func scoringRuleFromRow(r query.ScoringRule) scoring.Rule {
	out := scoring.Rule{ID: r.ID, OrgID: r.OrgID, Kind: scoring.Kind(r.Kind), Name: r.Name, EventType: scoring.EventType(r.EventType),
		URLPattern: r.UrlPattern, Points: r.Points, CapPoints: r.CapPoints, CapDays: r.CapDays, Active: r.Active,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DeletedAt: r.DeletedAt, Version: r.Version}
	if r.Kind == string(scoring.Attribute) {
		out.Criterion = criteria.Criterion{Field: r.Field, Operator: criteria.Operator(r.Operator)}
		if string(r.Value) != "null" {
			out.Criterion.Value = json.RawMessage(r.Value)
		}
	}
	return out
}

func scoringRulesFromRows(rows []query.ScoringRule) []scoring.Rule {
	out := make([]scoring.Rule, len(rows))
	for i, r := range rows {
		out[i] = scoringRuleFromRow(r)
	}
	return out
}

func scoringRuleFields(r scoring.Rule) fields {
	f := fields{"kind": r.Kind, "name": r.Name, "points": r.Points, "active": r.Active}
	if r.Kind == scoring.Attribute {
		f["field"], f["operator"], f["value"] = r.Criterion.Field, r.Criterion.Operator, r.Criterion.Value
	} else {
		f["eventType"], f["urlPattern"], f["capPoints"], f["capDays"] = r.EventType, r.URLPattern, r.CapPoints, r.CapDays
	}
	return f
}

// startRescore records a new organization-wide rescore, supersedes the running ones and enqueues
// its job, all in the rule change's transaction: the rescore exists exactly when the change does.
func (w *writer) startRescore(reason string) (ScoringRun, error) {
	total, err := w.q.CountScorableLeads(w.ctx, w.actor.OrgID)
	if err != nil {
		return ScoringRun{}, err
	}
	run := ScoringRun{ID: crm.NewID(), Status: "running", Reason: reason, Total: total, StartedAt: w.now, UpdatedAt: w.now}
	if err := w.q.SupersedeScoringRuns(w.ctx, query.SupersedeScoringRunsParams{OrgID: w.actor.OrgID, KeepID: run.ID, Now: w.now}); err != nil {
		return run, err
	}
	if err := w.q.CreateScoringRun(w.ctx, query.CreateScoringRunParams{OrgID: w.actor.OrgID, ID: run.ID, Reason: reason,
		Total: total, Now: w.now}); err != nil {
		return run, err
	}
	_, err = w.jobs.InsertTx(w.ctx, w.tx, jobargs.RescoreLeads{OrgID: w.actor.OrgID, RunID: run.ID}, nil)
	return run, err
}

// ScoringRun returns one rescoring run (administrators and lead readers).
func (s *Service) ScoringRun(ctx context.Context, a *crm.Actor, id crm.ID) (run ScoringRun, err error) {
	if err := authorizeScoringRead(a); err != nil {
		return run, err
	}
	err = s.read(ctx, a, func(q *query.Queries) error {
		row, err := q.GetScoringRun(ctx, query.GetScoringRunParams{OrgID: a.OrgID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("scoring run", id)
		}
		run = scoringRunFromRow(row)
		return err
	})
	return run, err
}

// ScoringRuns returns the latest rescoring runs, newest first (at most 50).
func (s *Service) ScoringRuns(ctx context.Context, a *crm.Actor) ([]ScoringRun, error) {
	if err := authorizeScoringRead(a); err != nil {
		return nil, err
	}
	var out []ScoringRun
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.ListScoringRuns(ctx, query.ListScoringRunsParams{OrgID: a.OrgID, MaxRows: 50})
		for _, r := range rows {
			out = append(out, scoringRunFromRow(r))
		}
		return err
	})
	return out, err
}

func scoringRunFromRow(r query.ScoringRun) ScoringRun {
	return ScoringRun{ID: r.ID, Status: r.Status, Reason: r.Reason, Total: r.Total, Done: r.Done, Changed: r.Changed,
		StartedAt: r.StartedAt, UpdatedAt: r.UpdatedAt, FinishedAt: r.FinishedAt}
}

// ScoreBreakdowns returns the score ledgers of leads, in the order of leadIDs: every entry that
// counts in their score, fit first, then engagement by time. The caller has already resolved the
// leads (and so checked that the actor sees them).
func (s *Service) ScoreBreakdowns(ctx context.Context, a *crm.Actor, leadIDs []crm.ID) ([][]ScoreEntry, error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return nil, err
	}
	out := make([][]ScoreEntry, len(leadIDs))
	if len(leadIDs) == 0 {
		return out, nil
	}
	ledgers := make([][]scoring.Award, len(leadIDs))
	var rules map[crm.ID]scoring.Rule
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.ScoreLedgersOfLeads(ctx, query.ScoreLedgersOfLeadsParams{OrgID: a.OrgID, LeadIds: leadIDs})
		if err != nil {
			return err
		}
		pos := make(map[crm.ID]int, len(leadIDs))
		for i, id := range leadIDs {
			pos[id] = i
		}
		var ids []crm.ID
		seen := map[crm.ID]bool{}
		for _, r := range rows {
			awards, err := parseLedger(r.Entries)
			if err != nil {
				return fmt.Errorf("score ledger of lead %s: %w", r.LeadID, err)
			}
			ledgers[pos[r.LeadID]] = awards
			for _, aw := range awards {
				if !seen[aw.RuleID] {
					seen[aw.RuleID] = true
					ids = append(ids, aw.RuleID)
				}
			}
		}
		list, err := q.GetScoringRules(ctx, query.GetScoringRulesParams{OrgID: a.OrgID, Ids: ids})
		rules = make(map[crm.ID]scoring.Rule, len(list))
		for _, r := range list {
			rules[r.ID] = scoringRuleFromRow(r)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	for i, awards := range ledgers {
		for _, aw := range awards {
			e := ScoreEntry{LeadID: leadIDs[i], Rule: rules[aw.RuleID], RuleVersion: aw.RuleVersion, EventID: aw.EventID,
				Part: aw.Part, Points: aw.Points, Reason: aw.Reason, At: aw.AwardedAt}
			if !aw.ExpiresAt.IsZero() {
				e.ExpiresAt = &aw.ExpiresAt
			}
			out[i] = append(out[i], e)
		}
	}
	return out, nil
}
