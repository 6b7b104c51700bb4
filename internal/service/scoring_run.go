package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/scoring"
)

// scoreBatch is how many leads one scoring transaction takes: one statement reads them (locked),
// one their events, one their ledgers; the new ledgers and scores are written with one statement
// each.
const scoreBatch = 2000

// Lead events of scoring.
const (
	EventLeadScored         = "lead.scored"
	EventLeadNurtureEnroled = "lead.nurture_enrolled"
)

// ScoreLeads recomputes the score ledgers of leads of one organization, as its system actor, in
// transactions of scoreBatch leads. The ScoreLeads job runs it; running it again changes nothing.
func (s *Service) ScoreLeads(ctx context.Context, orgID crm.ID, leadIDs []crm.ID) error {
	ids := slices.Clone(leadIDs)
	slices.SortFunc(ids, func(a, b crm.ID) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	a := crm.SystemActor(orgID)
	for chunk := range slices.Chunk(ids, scoreBatch) {
		if err := s.write(ctx, a, func(w *writer) error {
			_, _, err := w.scoreLeads(chunk)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// rescoreWorkers is how many batches of an organization-wide rescore run side by side, each in its
// own transaction on its own connection. Most of a rescore is the database's work, one statement at
// a time per connection, and each batch alternates between the database and Go: three batches in
// flight keep the two cores of a small server busy where two left gaps.
const rescoreWorkers = 3

// RescoreLeads continues an organization-wide rescoring run: it walks the leads in ID order in
// batches of scoreBatch, rescoreWorkers of them in flight at once, each scored in its own
// transaction. As batches commit, the run's cursor and counts move past the ones that committed
// without a gap, so a retry resumes after them (a batch that committed beyond a gap is scored again,
// which changes nothing). It stops when every lead is scored or the run was superseded by a newer
// rule change; the batches in flight still commit, which is harmless: scoring reads the rules after
// locking its leads, so whichever run scores a lead last scores it by the rules as they are.
func (s *Service) RescoreLeads(ctx context.Context, orgID, runID crm.ID) error {
	a := crm.SystemActor(orgID)
	var run query.ScoringRun
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		run, err = q.GetScoringRun(ctx, query.GetScoringRunParams{OrgID: orgID, ID: runID})
		return err
	})
	if err != nil || run.Status != "running" {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		seq, scored, changed int
		err                  error
	}
	var (
		cursor    = run.LastLeadID
		after     = idOf(cursor)
		results   = make(chan result)
		lasts     []crm.ID           // the last lead of each batch sent, by sequence number
		committed = map[int]result{} // batches that committed after a gap
		counted   int                // batches counted in the run: a prefix of lasts
		inflight  int
		exhausted bool // no leads after the last batch sent
		stopped   bool // finished or superseded
	)
	advance := func(p query.AdvanceScoringRunParams) error {
		return s.write(ctx, a, func(w *writer) error {
			p.OrgID, p.ID, p.Now = orgID, runID, w.now
			n, err := w.q.AdvanceScoringRun(w.ctx, p)
			stopped = stopped || p.Finished || n == 0
			return err
		})
	}
	for {
		for err == nil && !exhausted && !stopped && inflight < rescoreWorkers {
			var ids []crm.ID
			err = s.read(ctx, a, func(q *query.Queries) (err error) {
				ids, err = q.NextScorableLeadIDs(ctx, query.NextScorableLeadIDsParams{OrgID: orgID, AfterID: after, BatchSize: scoreBatch})
				return err
			})
			exhausted = err == nil && len(ids) < scoreBatch
			if len(ids) == 0 {
				break
			}
			after = ids[len(ids)-1]
			lasts = append(lasts, after)
			inflight++
			go func(r result) {
				r.err = s.write(ctx, a, func(w *writer) (err error) {
					r.scored, r.changed, err = w.scoreLeads(ids)
					return err
				})
				results <- r
			}(result{seq: len(lasts) - 1})
		}
		if inflight == 0 {
			break
		}
		r := <-results
		inflight--
		if err == nil {
			err = r.err
		}
		if err != nil {
			cancel() // and collect the batches in flight
			continue
		}
		committed[r.seq] = r
		var p query.AdvanceScoringRunParams
		for ; counted < len(lasts); counted++ {
			c, ok := committed[counted]
			if !ok {
				break
			}
			delete(committed, counted)
			p.Scored, p.Changed, p.LastLeadID = p.Scored+int32(c.scored), p.Changed+int32(c.changed), &lasts[counted]
		}
		if p.LastLeadID != nil {
			cursor = p.LastLeadID
			p.Finished = exhausted && counted == len(lasts)
			err = advance(p)
		}
	}
	if err != nil || stopped {
		return err
	}
	// The last batch was full: the read after it found no more leads.
	return advance(query.AdvanceScoringRunParams{LastLeadID: cursor, Finished: true})
}

// DecayScores rescores, in every organization, the leads with ledger entries whose behaviour points
// stopped counting, and returns how many leads it rescored. A periodic job runs it.
func (s *Service) DecayScores(ctx context.Context) (int, error) {
	return s.forEachOrganization(ctx, "score decay", s.decayScores)
}

func (s *Service) decayScores(ctx context.Context, a *crm.Actor) (int, error) {
	after, total := crm.NilID, 0
	for {
		var ids []crm.ID
		err := s.write(ctx, a, func(w *writer) (err error) {
			ids, err = w.q.ExpiredScoreLeads(w.ctx, query.ExpiredScoreLeadsParams{OrgID: a.OrgID, Now: w.now, AfterID: after, BatchSize: scoreBatch})
			if err != nil || len(ids) == 0 {
				return err
			}
			if _, _, err := w.scoreLeads(ids); err != nil {
				return err
			}
			// Leads that are no longer scored (deleted, merged, converted) lose their expired points too.
			return w.q.DropExpiredScoreEntries(w.ctx, query.DropExpiredScoreEntriesParams{OrgID: a.OrgID, LeadIds: ids, Now: w.now})
		})
		if err != nil || len(ids) == 0 {
			return total, err
		}
		total += len(ids)
		after = ids[len(ids)-1]
	}
}

// scorer is what scoring needs of the organization, read once per transaction.
type scorer struct {
	set      *scoring.Set
	settings crm.LeadSettings
	loc      *time.Location
}

func (w *writer) scorer() (*scorer, error) {
	st, err := w.settings()
	if err != nil {
		return nil, err
	}
	rows, err := w.q.ListScoringRules(w.ctx, w.actor.OrgID)
	if err != nil {
		return nil, err
	}
	set, _ := scoring.Compile(scoringRulesFromRows(rows))
	return &scorer{set: set, settings: st.Leads, loc: st.Location()}, nil
}

// scoreLeads recomputes the ledgers and scores of the given leads (at most a few thousand) under the
// organization's active rules, set-based: the leads are read and locked with one statement, their
// events and current ledgers with one each; only ledgers and leads that changed are written, one
// statement each (a ledger is one JSON row per lead). It applies the thresholds (qualification,
// nurture enrolment, demotion) and emits lead.scored (the total or grade changed), lead.qualified and
// lead.nurture_enrolled. It returns how many leads it scored and how many of their scores changed.
func (w *writer) scoreLeads(ids []crm.ID) (scored, changed int, err error) {
	if len(ids) == 0 {
		return 0, 0, nil
	}
	org := w.actor.OrgID
	rows, err := w.q.LockLeadsForScoring(w.ctx, query.LockLeadsForScoringParams{OrgID: org, Ids: ids})
	if err != nil || len(rows) == 0 {
		return 0, 0, err
	}
	// The rules are read after the leads are locked: a rule change committed before this point is
	// seen, and one committed later starts a rescore that waits for these leads.
	sc, err := w.scorer()
	if err != nil {
		return 0, 0, err
	}
	leadIDs := make([]crm.ID, len(rows))
	for i, r := range rows {
		leadIDs[i] = r.ID
	}
	events, err := w.q.LeadEventsForScoring(w.ctx, query.LeadEventsForScoringParams{OrgID: org, LeadIds: leadIDs})
	if err != nil {
		return 0, 0, err
	}
	ledgers, err := w.q.ScoreLedgersOfLeads(w.ctx, query.ScoreLedgersOfLeadsParams{OrgID: org, LeadIds: leadIDs})
	if err != nil {
		return 0, 0, err
	}

	var (
		save    query.SaveScoreLedgersParams
		drop    []crm.ID
		upd     query.UpdateScoredLeadsParams
		enrol   []crm.ID
		leave   []crm.ID
		quals   []crm.Lead
		evs     []scoring.Event
		prev    []scoring.Award
		entries []byte
	)
	now, local := w.now, w.now.In(sc.loc)
	ei, li := 0, 0
	for _, row := range rows {
		lead := leadFromRow(row)
		// Events and ledgers come sorted by lead ID, like the leads: walk them alongside.
		evs = evs[:0]
		for ; ei < len(events) && bytes.Compare(events[ei].LeadID[:], lead.ID[:]) < 0; ei++ {
		}
		for ; ei < len(events) && events[ei].LeadID == lead.ID; ei++ {
			e := events[ei]
			evs = append(evs, scoring.Event{ID: e.ID, Type: scoring.EventType(e.Type), URL: e.Url, OccurredAt: e.OccurredAt})
		}
		prev = prev[:0]
		for ; li < len(ledgers) && bytes.Compare(ledgers[li].LeadID[:], lead.ID[:]) < 0; li++ {
		}
		if li < len(ledgers) && ledgers[li].LeadID == lead.ID {
			if prev, err = parseLedger(ledgers[li].Entries); err != nil {
				return 0, 0, fmt.Errorf("score ledger of lead %s: %w", lead.ID, err)
			}
		}

		awards := scoring.Counted(sc.set.Evaluate(&lead, evs, local, sc.settings), now)
		awards, same := scoring.Carry(awards, prev)
		switch {
		case same:
		case len(awards) == 0:
			drop = append(drop, lead.ID)
		default:
			var expires time.Time
			entries, expires = appendLedger(entries[:0], awards)
			save.LeadIds = append(save.LeadIds, lead.ID)
			save.Entries = append(save.Entries, string(entries))
			save.ExpiresAts = append(save.ExpiresAts, expires)
		}
		score := scoring.Tally(awards, now, sc.settings)
		scored++
		d := scoring.Decide(lead.Status, lead.ScoreTotal, score.Total, lead.NurturedAt != nil, sc.settings)
		rescored := score.Total != lead.ScoreTotal || score.Fit != lead.ScoreFit || score.Engagement != lead.ScoreEngagement || score.Grade != lead.Grade
		staged := d.Status != lead.Status || d.Qualify || d.Enrol || d.Leave
		if !rescored && !staged {
			continue
		}
		upd.Ids = append(upd.Ids, lead.ID)
		upd.Totals = append(upd.Totals, score.Total)
		upd.Fits = append(upd.Fits, score.Fit)
		upd.Engagements = append(upd.Engagements, score.Engagement)
		upd.Grades = append(upd.Grades, score.Grade)
		upd.Statuses = append(upd.Statuses, string(d.Status))
		upd.Qualify = append(upd.Qualify, d.Qualify)
		upd.Enrol = append(upd.Enrol, d.Enrol)
		upd.Leave = append(upd.Leave, d.Leave)
		if rescored {
			changed++
			if score.Total != lead.ScoreTotal || score.Grade != lead.Grade {
				w.emit(EventLeadScored, crm.TypeLead, lead.ID, []crm.FieldChange{
					intChange("score", lead.ScoreTotal, score.Total), stringChange("grade", lead.Grade, score.Grade)}, lead.OwnerID)
			}
		}
		if !staged {
			continue
		}
		before := lead.Status
		lead.Status = d.Status
		lead.ScoreTotal, lead.ScoreFit, lead.ScoreEngagement, lead.Grade = score.Total, score.Fit, score.Engagement, score.Grade
		if d.Status != before {
			lead.Version++
			lead.UpdatedAt = now
		}
		if d.Leave {
			leave = append(leave, lead.ID)
			lead.NurturedAt = nil
		}
		if d.Enrol {
			enrol = append(enrol, lead.ID)
			lead.NurturedAt = &now
			w.emitLead(EventLeadNurtureEnroled, lead, []crm.FieldChange{
				stringChange("status", string(before), string(d.Status)), intChange("score", score.Total, score.Total)})
		}
		if d.Qualify {
			lead.QualifiedAt = &now
			quals = append(quals, lead) // onQualified emits lead.qualified
		} else if d.Status != before && !d.Enrol {
			w.emitLead("lead.status_changed", lead, []crm.FieldChange{stringChange("status", string(before), string(d.Status))})
		}
	}

	if len(drop) > 0 {
		if err := w.q.DeleteScoreLedgers(w.ctx, query.DeleteScoreLedgersParams{OrgID: org, LeadIds: drop}); err != nil {
			return 0, 0, err
		}
	}
	if len(save.LeadIds) > 0 {
		save.OrgID = org
		if err := w.q.SaveScoreLedgers(w.ctx, save); err != nil {
			return 0, 0, err
		}
	}
	if len(upd.Ids) > 0 {
		upd.OrgID, upd.Now = org, now
		if err := w.q.UpdateScoredLeads(w.ctx, upd); err != nil {
			return 0, 0, err
		}
	}
	if len(leave) > 0 {
		if err := w.q.LeaveNurture(w.ctx, query.LeaveNurtureParams{OrgID: org, LeadIds: leave, Now: &now}); err != nil {
			return 0, 0, err
		}
	}
	if len(enrol) > 0 {
		if err := w.q.EnrolInNurture(w.ctx, query.EnrolInNurtureParams{OrgID: org, LeadIds: enrol, Now: now}); err != nil {
			return 0, 0, err
		}
	}
	if len(quals) > 0 {
		if err := w.onQualified(quals); err != nil {
			return 0, 0, err
		}
	}
	return scored, changed, nil
}

func intChange(field string, before, after int32) crm.FieldChange {
	b, _ := json.Marshal(before)
	a, _ := json.Marshal(after)
	return crm.FieldChange{Field: field, Before: b, After: a}
}

func stringChange(field, before, after string) crm.FieldChange {
	b, _ := json.Marshal(before)
	a, _ := json.Marshal(after)
	return crm.FieldChange{Field: field, Before: b, After: a}
}
