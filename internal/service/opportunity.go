package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
	"github.com/rapportcrm/rapport/internal/rules/pipeline"
)

// StageChange is one entry of a deal's stage history with how long the deal stayed.
type StageChange struct {
	crm.StageChange
	DurationSeconds int
}

// Transition is a stage a deal could move to, with the entry criteria it does not meet yet.
type Transition struct {
	Stage     crm.Stage
	BlockedBy []crm.Blocker
}

// OpportunityInput is a deal to create.
type OpportunityInput struct {
	Name             string
	AccountID        crm.ID
	PipelineID       crm.ID // NilID: the default pipeline
	StageID          crm.ID // NilID: the pipeline's first stage
	OwnerID          Opt[crm.ID]
	TeamID           Opt[crm.ID]
	Amount           *decimal.Decimal
	Currency         string
	CloseDate        *crm.Date
	Probability      *int32
	ForecastCategory *crm.ForecastCategory
	Source           string
	Campaign         string
	NextStep         string
	Checklist        []string
	Contacts         []crm.DealContact
	Custom           json.RawMessage
	SourceLeadID     crm.ID // the lead the deal was converted from
	IdempotencyKey   string
}

// OpportunityUpdate changes the set fields of a deal at ExpectedVersion. The stage changes only
// through MoveOpportunity.
type OpportunityUpdate struct {
	ID               crm.ID
	ExpectedVersion  int32
	Name             Opt[string]
	OwnerID          Opt[crm.ID]
	TeamID           Opt[crm.ID]
	Amount           Opt[*decimal.Decimal]
	Currency         Opt[string]
	CloseDate        Opt[*crm.Date]
	Probability      Opt[int32]
	ForecastCategory Opt[crm.ForecastCategory]
	Source           Opt[string]
	Campaign         Opt[string]
	NextStep         Opt[string]
	Checklist        Opt[[]string]
	Contacts         Opt[[]crm.DealContact]
	Custom           Opt[json.RawMessage]
}

// Move asks to move a deal to another stage of its pipeline.
type Move struct {
	ID              crm.ID
	ToStageID       crm.ID
	ExpectedVersion int32
	LossReason      string
	Competitor      string
}

// maxCloseDateAge is how far in the past a new deal's close date may be.
const maxCloseDateAge = 365 * 24 * time.Hour

// CreateOpportunity creates a deal in a stage whose entry criteria it meets. Its stage history starts
// with that stage.
func (s *Service) CreateOpportunity(ctx context.Context, a *crm.Actor, in OpportunityInput) (d crm.Opportunity, replayed bool, err error) {
	if err := authorize(a, access.DealsWrite); err != nil {
		return d, false, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		id, again, err := w.idempotent(in.IdempotencyKey, "createOpportunity", in, s.cfg.IdempotencyTTL, func(id crm.ID) error {
			d, err = w.createOpportunity(id, in)
			return err
		})
		if err != nil || !again {
			return err
		}
		replayed = true
		d, err = w.opportunity(id)
		return err
	})
	return d, replayed, err
}

func (w *writer) createOpportunity(id crm.ID, in OpportunityInput) (crm.Opportunity, error) {
	st, err := w.settings()
	if err != nil {
		return crm.Opportunity{}, err
	}
	d := crm.Opportunity{ID: id, OrgID: w.actor.OrgID, Name: in.Name, AccountID: in.AccountID, PipelineID: in.PipelineID,
		OwnerID: in.OwnerID.apply(defaultOwner(w.actor)), Amount: in.Amount, Currency: in.Currency, CloseDate: in.CloseDate,
		Source: in.Source, SourceLeadID: in.SourceLeadID, Campaign: in.Campaign, NextStep: in.NextStep, Checklist: in.Checklist, Custom: in.Custom,
		StageEnteredAt: w.now, CreatedAt: w.now, UpdatedAt: w.now, Version: 1}
	if d.Currency == "" {
		d.Currency = st.DefaultCurrency
	}
	if err := normalizeOpportunity(&d); err != nil {
		return d, err
	}
	if d.CloseDate != nil && d.CloseDate.Time().Before(w.now.Add(-maxCloseDateAge)) {
		return d, crm.Invalid("closeDate", "The close date %s is more than a year in the past; a new deal closes today or later.", d.CloseDate)
	}
	if d.PipelineID == crm.NilID {
		if d.PipelineID, err = w.q.DefaultPipelineID(w.ctx, d.OrgID); errors.Is(err, pgx.ErrNoRows) {
			return d, crm.Invalid("pipelineId", "The organization has no pipeline yet; create one first.")
		} else if err != nil {
			return d, err
		}
	}
	stages, err := w.liveStages(d.PipelineID)
	if err != nil {
		return d, err
	}
	stage := stages[0]
	if in.StageID != crm.NilID {
		i := slices.IndexFunc(stages, func(s crm.Stage) bool { return s.ID == in.StageID })
		if i < 0 {
			return d, crm.Invalid("stageId", "The stage is not a stage of this pipeline.")
		}
		stage = stages[i]
	}
	if stage.Closed {
		return d, crm.Invalid("stageId", "Create the deal in an open stage, then close it with moveOpportunity.")
	}
	d.StageID, d.Probability, d.ForecastCategory = stage.ID, stage.Probability, stage.ForecastCategory
	if err := overrideForecast(&d, stage, in.Probability, in.ForecastCategory); err != nil {
		return d, err
	}
	if _, err := w.recordRef("accountId", crm.TypeAccount, d.AccountID); err != nil {
		return d, err
	}
	if err := w.checkOwner(d.OwnerID, in.OwnerID.Set); err != nil {
		return d, err
	}
	if d.TeamID, err = w.dealTeam(d.OwnerID, in.TeamID); err != nil {
		return d, err
	}
	contacts, err := w.checkDealContacts(d.AccountID, in.Contacts)
	if err != nil {
		return d, err
	}
	if blockers := pipeline.Unmet(stage.EntryCriteria, evidence(d, contacts, nil)); len(blockers) > 0 {
		return d, blocked(stage, blockers)
	}
	if err := w.q.CreateOpportunity(w.ctx, query.CreateOpportunityParams{
		OrgID: d.OrgID, ID: d.ID, Name: d.Name, AccountID: d.AccountID, OwnerID: idOrNil(d.OwnerID), TeamID: idOrNil(d.TeamID),
		PipelineID: d.PipelineID, StageID: d.StageID, Amount: d.Amount, Currency: d.Currency, CloseDate: dateOrNil(d.CloseDate),
		Probability: d.Probability, ForecastCategory: string(d.ForecastCategory), Source: d.Source, SourceLeadID: idOrNil(d.SourceLeadID), Campaign: d.Campaign,
		NextStep: d.NextStep, Checklist: d.Checklist, Custom: d.Custom, Now: w.now,
	}); err != nil {
		return d, err
	}
	if err := w.saveDealContacts(d.ID, contacts, false); err != nil {
		return d, err
	}
	if err := w.recordStageChange(d, crm.NilID); err != nil {
		return d, err
	}
	w.emitDeal("opportunity.created", d, diff(nil, opportunityFields(d, contacts)), d.OwnerID)
	if d.OwnerID != w.actor.UserID {
		if err := w.firstContactTask(d); err != nil {
			return d, err
		}
	}
	return d, nil
}

// firstContactTask gives the owner a deal was just assigned to the automatic "first contact" task,
// due after the organization's firstContactHours. Nobody is tasked for an unassigned deal.
func (w *writer) firstContactTask(d crm.Opportunity) error {
	if d.OwnerID == crm.NilID {
		return nil
	}
	st, err := w.settings()
	if err != nil {
		return err
	}
	due := w.now.Add(time.Duration(st.FirstContactHours) * time.Hour)
	_, err = w.createTask(crm.Task{Title: "First contact: " + d.Name, Kind: crm.TaskFirstContact, OwnerID: d.OwnerID,
		DueAt: &due, Priority: "high", RecordType: crm.TypeOpportunity, RecordID: d.ID})
	return err
}

// UpdateOpportunity applies the set fields. A stale ExpectedVersion is a CONFLICT with the current
// version; nothing is written.
func (s *Service) UpdateOpportunity(ctx context.Context, a *crm.Actor, in OpportunityUpdate) (d crm.Opportunity, err error) {
	if err := authorize(a, access.DealsWrite); err != nil {
		return d, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		before, err := w.lockLiveOpportunity(in.ID, in.ExpectedVersion)
		if err != nil {
			return err
		}
		stage, err := w.stage(before.StageID)
		if err != nil {
			return err
		}
		contactsBefore, err := w.dealContacts(before.ID)
		if err != nil {
			return err
		}
		d = before
		d.Name = in.Name.apply(d.Name)
		d.OwnerID = in.OwnerID.apply(d.OwnerID)
		d.Amount = in.Amount.apply(d.Amount)
		d.Currency = in.Currency.apply(d.Currency)
		d.CloseDate = in.CloseDate.apply(d.CloseDate)
		d.Source = in.Source.apply(d.Source)
		d.Campaign = in.Campaign.apply(d.Campaign)
		d.NextStep = in.NextStep.apply(d.NextStep)
		d.Checklist = in.Checklist.apply(d.Checklist)
		d.Custom = in.Custom.apply(d.Custom)
		if err := normalizeOpportunity(&d); err != nil {
			return err
		}
		var prob *int32
		var cat *crm.ForecastCategory
		if in.Probability.Set {
			prob = &in.Probability.Value
		}
		if in.ForecastCategory.Set {
			cat = &in.ForecastCategory.Value
		}
		if err := overrideForecast(&d, stage, prob, cat); err != nil {
			return err
		}
		if d.OwnerID != before.OwnerID {
			if err := w.checkOwner(d.OwnerID, true); err != nil {
				return err
			}
		}
		if in.TeamID.Set || d.OwnerID != before.OwnerID {
			team := in.TeamID
			if !team.Set && before.TeamID == crm.NilID {
				team = Opt[crm.ID]{}
			}
			if d.TeamID, err = w.dealTeam(d.OwnerID, team); err != nil {
				return err
			}
		}
		contacts := contactsBefore
		if in.Contacts.Set {
			if contacts, err = w.checkDealContacts(d.AccountID, in.Contacts.Value); err != nil {
				return err
			}
		}
		changes := diff(opportunityFields(before, contactsBefore), opportunityFields(d, contacts))
		if len(changes) == 0 {
			return nil
		}
		if in.Contacts.Set {
			if err := w.saveDealContacts(d.ID, contacts, true); err != nil {
				return err
			}
		}
		if err := w.saveOpportunity(&d); err != nil {
			return err
		}
		w.emitDeal("opportunity.updated", d, changes, before.OwnerID, d.OwnerID)
		if d.OwnerID != before.OwnerID && d.OwnerID != w.actor.UserID {
			return w.firstContactTask(d)
		}
		return nil
	})
	return d, err
}

// MoveOpportunity moves a deal to another stage of its pipeline. Unmet entry criteria are a
// BAD_USER_INPUT on toStageId listing every one (details: blockers). Closing sets the close date to
// today in the organization's time zone; reopening a closed deal clears its loss reason and is
// recorded as opportunity.reopened.
func (s *Service) MoveOpportunity(ctx context.Context, a *crm.Actor, in Move) (d crm.Opportunity, err error) {
	if err := authorize(a, access.DealsWrite); err != nil {
		return d, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		before, err := w.lockLiveOpportunity(in.ID, in.ExpectedVersion)
		if err != nil {
			return err
		}
		stages, err := w.stagesByID(before.StageID, in.ToStageID)
		if err != nil {
			return err
		}
		from, to := stages[0], stages[1]
		if to.ID == crm.NilID {
			return crm.Invalid("toStageId", "No such stage.")
		}
		lossReason, err := normalize.Text("lossReason", in.LossReason, 500)
		if err != nil {
			return err
		}
		competitor, err := normalize.Text("competitor", in.Competitor, 200)
		if err != nil {
			return err
		}
		if err := pipeline.CheckMove(from, to, lossReason); err != nil {
			return err
		}
		ev, err := w.dealEvidence(before)
		if err != nil {
			return err
		}
		if blockers := pipeline.Unmet(to.EntryCriteria, ev); len(blockers) > 0 {
			return blocked(to, blockers)
		}
		d = before
		d.StageID, d.Probability, d.ForecastCategory = to.ID, to.Probability, to.ForecastCategory
		d.StageEnteredAt, d.StaleSince = w.now, nil
		typ := "opportunity.stage_changed"
		switch {
		case to.Closed:
			st, err := w.settings()
			if err != nil {
				return err
			}
			today := crm.DateOf(w.now.In(st.Location()))
			d.ClosedAt, d.CloseDate = &w.now, &today
			typ = "opportunity.closed_won"
			if to.Lost() {
				d.LossReason, d.Competitor, typ = lossReason, competitor, "opportunity.closed_lost"
			}
		case from.Closed:
			d.ClosedAt, d.LossReason, d.Competitor, typ = nil, "", "", "opportunity.reopened"
		}
		if err := w.saveOpportunity(&d); err != nil {
			return err
		}
		if err := w.recordStageChange(d, from.ID); err != nil {
			return err
		}
		w.emitDeal(typ, d, diff(opportunityFields(before, nil), opportunityFields(d, nil)), d.OwnerID)
		return nil
	})
	return d, err
}

// DeleteOpportunity soft-deletes a deal; RestoreOpportunity brings it back.
func (s *Service) DeleteOpportunity(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32) (crm.Opportunity, error) {
	return s.setOpportunityDeleted(ctx, a, id, expectedVersion, true)
}

// RestoreOpportunity undoes DeleteOpportunity.
func (s *Service) RestoreOpportunity(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32) (crm.Opportunity, error) {
	return s.setOpportunityDeleted(ctx, a, id, expectedVersion, false)
}

func (s *Service) setOpportunityDeleted(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32, deleted bool) (d crm.Opportunity, err error) {
	if err := authorize(a, access.DealsWrite); err != nil {
		return d, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		if d, err = w.lockOpportunity(id, expectedVersion); err != nil {
			return err
		}
		if (d.DeletedAt != nil) == deleted {
			return nil
		}
		typ := "opportunity.restored"
		if deleted {
			d.DeletedAt, typ = &w.now, "opportunity.deleted"
		} else {
			d.DeletedAt = nil
		}
		if err := w.saveOpportunity(&d); err != nil {
			return err
		}
		w.emitDeal(typ, d, []crm.FieldChange{deletedChange(d.DeletedAt)}, d.OwnerID)
		return nil
	})
	return d, err
}

// Opportunities returns the deals with the given IDs that the actor may see, in the order of ids;
// missing or invisible ones are zero Opportunities.
func (s *Service) Opportunities(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.Opportunity, error) {
	if err := authorize(a, access.DealsRead); err != nil {
		return nil, err
	}
	var rows []query.Opportunity
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.GetOpportunities(ctx, query.GetOpportunitiesParams{OrgID: a.OrgID, Ids: ids, ViewerID: viewer(a)})
		return err
	})
	out := make([]crm.Opportunity, len(rows))
	for i, r := range rows {
		out[i] = opportunityFromRow(r)
	}
	return inOrder(out, ids, func(d crm.Opportunity) crm.ID { return d.ID }), err
}

// Opportunity returns one deal the actor may see, or ENOTFOUND.
func (s *Service) Opportunity(ctx context.Context, a *crm.Actor, id crm.ID) (crm.Opportunity, error) {
	ds, err := s.Opportunities(ctx, a, []crm.ID{id})
	if err != nil {
		return crm.Opportunity{}, err
	}
	if ds[0].ID == crm.NilID {
		return crm.Opportunity{}, crm.NotFound("opportunity", id)
	}
	return ds[0], nil
}

// DealContacts returns the contacts of each deal (primary first), in the order of ids. The caller
// has already read the deals, so visibility was checked.
func (s *Service) DealContacts(ctx context.Context, a *crm.Actor, ids []crm.ID) ([][]crm.DealContact, error) {
	if err := authorize(a, access.DealsRead); err != nil {
		return nil, err
	}
	out := make([][]crm.DealContact, len(ids))
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.DealContacts(ctx, query.DealContactsParams{OrgID: a.OrgID, Ids: ids})
		if err != nil {
			return err
		}
		byDeal := groupDealContacts(rows)
		for i, id := range ids {
			out[i] = byDeal[id]
		}
		return nil
	})
	return out, err
}

// PrimaryContacts returns the primary contact of each deal, in the order of ids: a zero Contact
// for a deal without one, or whose primary contact the actor may not see. One statement, where the
// deals' contacts and then their contacts would be two.
func (s *Service) PrimaryContacts(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.Contact, error) {
	if err := authorize(a, access.DealsRead); err != nil {
		return nil, err
	}
	if err := authorize(a, access.ContactsRead); err != nil {
		return nil, err
	}
	var rows []query.PrimaryContactsOfDealsRow
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.PrimaryContactsOfDeals(ctx, query.PrimaryContactsOfDealsParams{OrgID: a.OrgID, Ids: ids, ViewerID: viewer(a)})
		return err
	})
	byDeal := make(map[crm.ID]crm.Contact, len(rows))
	for _, r := range rows {
		byDeal[r.OpportunityID] = maskContact(a, contactFromRow(r.Contact))
	}
	out := make([]crm.Contact, len(ids))
	for i, id := range ids {
		out[i] = byDeal[id]
	}
	return out, err
}

// StageHistory returns each deal's stage changes, oldest first, with the time spent in each stage.
func (s *Service) StageHistory(ctx context.Context, a *crm.Actor, ids []crm.ID) ([][]StageChange, error) {
	if err := authorize(a, access.DealsRead); err != nil {
		return nil, err
	}
	out := make([][]StageChange, len(ids))
	now := s.now()
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.StageHistory(ctx, query.StageHistoryParams{OrgID: a.OrgID, Ids: ids})
		if err != nil {
			return err
		}
		byDeal := map[crm.ID][]StageChange{}
		for _, r := range rows {
			byDeal[r.OpportunityID] = append(byDeal[r.OpportunityID], StageChange{StageChange: crm.StageChange{
				ID: r.ID, OpportunityID: r.OpportunityID, FromStageID: idOf(r.FromStageID), ToStageID: r.ToStageID,
				ActorKind: crm.ActorKind(r.ActorKind), ActorID: idOf(r.ActorID), ChangedAt: r.ChangedAt, Amount: r.Amount,
				Currency: r.Currency, Probability: r.Probability, ForecastCategory: crm.ForecastCategory(r.ForecastCategory),
			}})
		}
		for i, id := range ids {
			h := byDeal[id]
			for j := range h {
				end := now
				if j+1 < len(h) {
					end = h[j+1].ChangedAt
				}
				h[j].DurationSeconds = int(end.Sub(h[j].ChangedAt).Seconds())
			}
			out[i] = h
		}
		return nil
	})
	return out, err
}

// Transitions returns the stages of the deal's pipeline it could move to, each with the entry
// criteria it does not meet yet (empty: the move is possible).
func (s *Service) Transitions(ctx context.Context, a *crm.Actor, d crm.Opportunity) ([]Transition, error) {
	if err := authorize(a, access.DealsRead); err != nil {
		return nil, err
	}
	var out []Transition
	err := s.read(ctx, a, func(q *query.Queries) error {
		stages, err := q.StagesOfPipelines(ctx, query.StagesOfPipelinesParams{OrgID: a.OrgID, PipelineIds: []crm.ID{d.PipelineID}})
		if err != nil {
			return err
		}
		ev, err := readEvidence(ctx, q, d)
		if err != nil {
			return err
		}
		for _, r := range stages {
			st := stageFromRow(r)
			if st.ID == d.StageID {
				continue
			}
			out = append(out, Transition{Stage: st, BlockedBy: pipeline.Blockers(st, ev)})
		}
		return nil
	})
	return out, err
}

// lockOpportunity reads a deal the actor may see FOR UPDATE and checks its version (0 skips).
func (w *writer) lockOpportunity(id crm.ID, expectedVersion int32) (crm.Opportunity, error) {
	row, err := w.q.LockOpportunity(w.ctx, query.LockOpportunityParams{OrgID: w.actor.OrgID, ID: id, ViewerID: viewer(w.actor)})
	if errors.Is(err, pgx.ErrNoRows) {
		return crm.Opportunity{}, crm.NotFound("opportunity", id)
	} else if err != nil {
		return crm.Opportunity{}, err
	}
	d := opportunityFromRow(row)
	return d, checkVersion("opportunity", d.Version, expectedVersion)
}

// lockLiveOpportunity is lockOpportunity for changes that a deleted deal cannot take.
func (w *writer) lockLiveOpportunity(id crm.ID, expectedVersion int32) (crm.Opportunity, error) {
	d, err := w.lockOpportunity(id, expectedVersion)
	if err == nil && d.DeletedAt != nil {
		return d, crm.Invalid("id", "The deal is deleted; restore it first.")
	}
	return d, err
}

// opportunity reads one deal in the writer's transaction (no visibility check: internal use).
func (w *writer) opportunity(id crm.ID) (crm.Opportunity, error) {
	ds, err := w.opportunities([]crm.ID{id})
	if err != nil {
		return crm.Opportunity{}, err
	}
	if len(ds) == 0 {
		return crm.Opportunity{}, crm.NotFound("opportunity", id)
	}
	return ds[0], nil
}

func (w *writer) opportunities(ids []crm.ID) ([]crm.Opportunity, error) {
	rows, err := w.q.GetOpportunities(w.ctx, query.GetOpportunitiesParams{OrgID: w.actor.OrgID, Ids: ids})
	out := make([]crm.Opportunity, len(rows))
	for i, r := range rows {
		out[i] = opportunityFromRow(r)
	}
	return out, err
}

func (w *writer) saveOpportunity(d *crm.Opportunity) error {
	res, err := w.q.SaveOpportunity(w.ctx, query.SaveOpportunityParams{
		OrgID: d.OrgID, ID: d.ID, Name: d.Name, OwnerID: idOrNil(d.OwnerID), TeamID: idOrNil(d.TeamID), StageID: d.StageID,
		Amount: d.Amount, Currency: d.Currency, CloseDate: dateOrNil(d.CloseDate), Probability: d.Probability,
		ForecastCategory: string(d.ForecastCategory), Source: d.Source, Campaign: d.Campaign, NextStep: d.NextStep,
		LossReason: d.LossReason, Competitor: d.Competitor, Checklist: d.Checklist, Custom: d.Custom,
		StageEnteredAt: d.StageEnteredAt, StaleSince: d.StaleSince, ClosedAt: d.ClosedAt, DeletedAt: d.DeletedAt, Now: w.now,
	})
	if err != nil {
		return err
	}
	d.Version, d.UpdatedAt = res.Version, res.UpdatedAt
	return nil
}

// recordStageChange appends the deal's entry into its current stage to its history.
func (w *writer) recordStageChange(d crm.Opportunity, from crm.ID) error {
	return w.q.AddStageChange(w.ctx, query.AddStageChangeParams{
		OrgID: d.OrgID, ID: crm.NewID(), OpportunityID: d.ID, FromStageID: idOrNil(from), ToStageID: d.StageID,
		ActorKind: string(w.actor.Kind), ActorID: idOrNil(w.actor.ID()), ChangedAt: w.now, Amount: d.Amount,
		Currency: d.Currency, Probability: d.Probability, ForecastCategory: string(d.ForecastCategory),
	})
}

// emitDeal emits a deal event that carries the deal's pipeline and its state after the change, so
// that boards update without reading it again.
func (w *writer) emitDeal(typ string, d crm.Opportunity, changes []crm.FieldChange, owners ...crm.ID) {
	w.emit(typ, crm.TypeOpportunity, d.ID, changes, owners...)
	e := &w.events[len(w.events)-1]
	e.ContainerID, e.Snapshot = d.PipelineID, mustJSON(d)
}

// liveStages returns a pipeline's live stages in order, or EINVALID when it has none (no such
// pipeline).
func (w *writer) liveStages(pipelineID crm.ID) ([]crm.Stage, error) {
	rows, err := w.q.StagesOfPipelines(w.ctx, query.StagesOfPipelinesParams{OrgID: w.actor.OrgID, PipelineIds: []crm.ID{pipelineID}})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, crm.Invalid("pipelineId", "No such pipeline.")
	}
	out := make([]crm.Stage, len(rows))
	for i, r := range rows {
		out[i] = stageFromRow(r)
	}
	return out, nil
}

func (w *writer) stage(id crm.ID) (crm.Stage, error) {
	st, err := w.stagesByID(id)
	return st[0], err
}

// stagesByID reads stages by ID in order; unknown ones are zero Stages.
func (w *writer) stagesByID(ids ...crm.ID) ([]crm.Stage, error) {
	rows, err := w.q.GetStages(w.ctx, query.GetStagesParams{OrgID: w.actor.OrgID, Ids: ids})
	out := make([]crm.Stage, len(rows))
	for i, r := range rows {
		out[i] = stageFromRow(r)
	}
	return inOrder(out, ids, func(s crm.Stage) crm.ID { return s.ID }), err
}

// dealTeam decides a deal's team: the one given (which must exist), else the owner's team.
func (w *writer) dealTeam(owner crm.ID, team Opt[crm.ID]) (crm.ID, error) {
	if team.Set {
		if team.Value == crm.NilID {
			return crm.NilID, nil
		}
		teams, err := w.q.ListTeams(w.ctx, w.actor.OrgID)
		if err != nil {
			return crm.NilID, err
		}
		if !slices.ContainsFunc(teams, func(t query.Team) bool { return t.ID == team.Value }) {
			return crm.NilID, crm.Invalid("teamId", "No such team.")
		}
		return team.Value, nil
	}
	if owner == crm.NilID {
		return crm.NilID, nil
	}
	users, err := w.q.GetUsers(w.ctx, query.GetUsersParams{OrgID: w.actor.OrgID, Ids: []crm.ID{owner}})
	if err != nil || len(users) == 0 {
		return crm.NilID, err
	}
	return idOf(users[0].TeamID), nil
}

// checkDealContacts verifies each contact is a live contact of the deal's account, listed once, with
// at most one primary; when none is marked, the first is primary.
func (w *writer) checkDealContacts(accountID crm.ID, in []crm.DealContact) ([]crm.DealContact, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if len(in) > 50 {
		return nil, crm.Invalid("contacts", "A deal has at most 50 contacts.")
	}
	ids := make([]crm.ID, len(in))
	for i, c := range in {
		ids[i] = c.ContactID
	}
	rows, err := w.q.ContactAccounts(w.ctx, query.ContactAccountsParams{OrgID: w.actor.OrgID, Ids: ids})
	if err != nil {
		return nil, err
	}
	accountOf := map[crm.ID]crm.ID{}
	for _, r := range rows {
		accountOf[r.ID] = idOf(r.AccountID)
	}
	out := make([]crm.DealContact, len(in))
	primaries, seen := 0, map[crm.ID]bool{}
	for i, c := range in {
		field := fmt.Sprintf("contacts[%d].contactId", i)
		acct, ok := accountOf[c.ContactID]
		if !ok {
			return nil, crm.Invalid(field, "No such contact.")
		}
		if acct != accountID {
			return nil, crm.Invalid(field, "The contact works at another account; a deal's contacts belong to its account.")
		}
		if seen[c.ContactID] {
			return nil, crm.Invalid(field, "The contact is listed twice; give it several roles instead.")
		}
		seen[c.ContactID] = true
		roles := slices.Clone(c.Roles)
		slices.Sort(roles)
		c.Roles = slices.Compact(roles)
		if c.Roles == nil {
			c.Roles = []crm.ContactRole{}
		}
		if c.Primary {
			primaries++
		}
		out[i] = c
	}
	if primaries > 1 {
		return nil, crm.Invalid("contacts", "At most one contact is primary.")
	}
	if primaries == 0 {
		out[0].Primary = true
	}
	return out, nil
}

func (w *writer) saveDealContacts(dealID crm.ID, contacts []crm.DealContact, replace bool) error {
	if replace {
		if err := w.q.DeleteDealContacts(w.ctx, query.DeleteDealContactsParams{OrgID: w.actor.OrgID, OpportunityID: dealID}); err != nil {
			return err
		}
	}
	if len(contacts) == 0 {
		return nil
	}
	rows := make([]query.AddDealContactsParams, len(contacts))
	for i, c := range contacts {
		roles := make([]string, len(c.Roles))
		for j, r := range c.Roles {
			roles[j] = string(r)
		}
		rows[i] = query.AddDealContactsParams{OrgID: w.actor.OrgID, OpportunityID: dealID, ContactID: c.ContactID,
			Roles: roles, IsPrimary: c.Primary}
	}
	var err error
	w.q.AddDealContacts(w.ctx, rows).Exec(func(_ int, e error) {
		if err == nil {
			err = e
		}
	})
	return err
}

func (w *writer) dealContacts(id crm.ID) ([]crm.DealContact, error) {
	rows, err := w.q.DealContacts(w.ctx, query.DealContactsParams{OrgID: w.actor.OrgID, Ids: []crm.ID{id}})
	return groupDealContacts(rows)[id], err
}

// dealEvidence gathers what the deal shows against entry criteria, in the writer's transaction.
func (w *writer) dealEvidence(d crm.Opportunity) (pipeline.Evidence, error) {
	return readEvidence(w.ctx, w.q, d)
}

func readEvidence(ctx context.Context, q *query.Queries, d crm.Opportunity) (pipeline.Evidence, error) {
	rows, err := q.DealContacts(ctx, query.DealContactsParams{OrgID: d.OrgID, Ids: []crm.ID{d.ID}})
	if err != nil {
		return pipeline.Evidence{}, err
	}
	types, err := q.DealActivityTypes(ctx, query.DealActivityTypesParams{OrgID: d.OrgID, Ids: []crm.ID{d.ID}})
	if err != nil {
		return pipeline.Evidence{}, err
	}
	acts := map[crm.ActivityType]bool{}
	for _, t := range types {
		acts[crm.ActivityType(t.Type)] = true
	}
	return evidence(d, groupDealContacts(rows)[d.ID], acts), nil
}

// evidence describes a deal against entry criteria.
func evidence(d crm.Opportunity, contacts []crm.DealContact, activities map[crm.ActivityType]bool) pipeline.Evidence {
	ev := pipeline.Evidence{
		Fields: map[string]bool{"amount": d.Amount != nil && d.Amount.IsPositive(), "closeDate": d.CloseDate != nil,
			"nextStep": d.NextStep != "", "primaryContact": len(contacts) > 0},
		Roles: map[crm.ContactRole]bool{}, Activities: activities, Checklist: map[string]bool{},
	}
	for _, c := range contacts {
		for _, r := range c.Roles {
			ev.Roles[r] = true
		}
	}
	for _, item := range d.Checklist {
		ev.Checklist[item] = true
	}
	var custom map[string]json.RawMessage
	_ = json.Unmarshal(d.Custom, &custom)
	for k, v := range custom {
		if s := string(v); s != "null" && s != `""` {
			ev.Fields["custom."+k] = true
		}
	}
	return ev
}

// blocked is the error of a move (or creation) that does not meet the stage's entry criteria.
func blocked(to crm.Stage, blockers []crm.Blocker) error {
	msg := fmt.Sprintf("The deal cannot enter %q yet:", to.Name)
	for _, b := range blockers {
		msg += " " + b.Detail
	}
	return crm.Invalid("toStageId", "%s", msg).With("blockers", blockers)
}

// overrideForecast applies a probability or category override, allowed on open stages only.
func overrideForecast(d *crm.Opportunity, st crm.Stage, prob *int32, cat *crm.ForecastCategory) error {
	if prob != nil {
		if st.Closed {
			return crm.Invalid("probability", "A closed deal's probability follows its stage.")
		}
		if *prob < 0 || *prob > 100 {
			return crm.Invalid("probability", "Probability is a percentage from 0 to 100.")
		}
		d.Probability = *prob
	}
	if cat != nil {
		if st.Closed {
			return crm.Invalid("forecastCategory", "A closed deal's forecast category follows its stage.")
		}
		if !pipeline.OpenCategory(*cat) {
			return crm.Invalid("forecastCategory", "An open deal's forecast category is PIPELINE, BEST_CASE, COMMIT or OMITTED.")
		}
		d.ForecastCategory = *cat
	}
	return nil
}

// normalizeOpportunity validates and normalizes a deal's own fields in place.
func normalizeOpportunity(d *crm.Opportunity) (err error) {
	if d.Name, err = normalize.Text("name", d.Name, 200); err != nil {
		return err
	}
	if d.Name == "" {
		return crm.Invalid("name", "The deal needs a name.")
	}
	if d.Currency, err = normalize.Currency("currency", d.Currency); err != nil {
		return err
	}
	if d.Amount != nil {
		amount, err := normalize.Amount("amount", *d.Amount, d.Currency)
		if err != nil {
			return err
		}
		d.Amount = &amount
	}
	if d.CloseDate != nil && (d.CloseDate.Year < 2000 || d.CloseDate.Year > 2200) {
		return crm.Invalid("closeDate", "The close date %s is not a plausible date.", d.CloseDate)
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{{"source", &d.Source, 100}, {"campaign", &d.Campaign, 200}, {"nextStep", &d.NextStep, 500}} {
		if *f.v, err = normalize.Text(f.name, *f.v, f.max); err != nil {
			return err
		}
	}
	if len(d.Checklist) > 50 {
		return crm.Invalid("checklist", "At most 50 checklist items.")
	}
	items := make([]string, 0, len(d.Checklist))
	for _, item := range d.Checklist {
		item, err := normalize.Text("checklist", item, 200)
		if err != nil {
			return err
		}
		if item != "" && !slices.Contains(items, item) {
			items = append(items, item)
		}
	}
	d.Checklist = items
	d.Custom, err = normalizeCustom(d.Custom)
	return err
}

func groupDealContacts(rows []query.DealContactsRow) map[crm.ID][]crm.DealContact {
	out := map[crm.ID][]crm.DealContact{}
	for _, r := range rows {
		roles := make([]crm.ContactRole, len(r.Roles))
		for i, x := range r.Roles {
			roles[i] = crm.ContactRole(x)
		}
		out[r.OpportunityID] = append(out[r.OpportunityID], crm.DealContact{ContactID: r.ContactID, Roles: roles, Primary: r.IsPrimary})
	}
	return out
}

func opportunityFromRow(r query.Opportunity) crm.Opportunity {
	d := crm.Opportunity{
		ID: r.ID, OrgID: r.OrgID, Name: r.Name, AccountID: r.AccountID, OwnerID: idOf(r.OwnerID), TeamID: idOf(r.TeamID),
		PipelineID: r.PipelineID, StageID: r.StageID, Amount: r.Amount, Currency: r.Currency, Probability: r.Probability,
		ForecastCategory: crm.ForecastCategory(r.ForecastCategory), Source: r.Source, SourceLeadID: idOf(r.SourceLeadID),
		Campaign: r.Campaign, NextStep: r.NextStep, LossReason: r.LossReason, Competitor: r.Competitor,
		Checklist: r.Checklist, Custom: r.Custom, StageEnteredAt: r.StageEnteredAt, LastActivityAt: r.LastActivityAt,
		StaleSince: r.StaleSince, ClosedAt: r.ClosedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		DeletedAt: r.DeletedAt, Version: r.Version,
	}
	if r.CloseDate != nil {
		cd := crm.DateOf(*r.CloseDate)
		d.CloseDate = &cd
	}
	return d
}

// opportunityFields are the deal's fields as events show them.
func opportunityFields(d crm.Opportunity, contacts []crm.DealContact) fields {
	f := fields{
		"name": d.Name, "accountId": d.AccountID, "ownerId": idOrNil(d.OwnerID), "teamId": idOrNil(d.TeamID),
		"pipelineId": d.PipelineID, "stageId": d.StageID, "amount": d.Amount, "currency": d.Currency,
		"closeDate": d.CloseDate, "probability": d.Probability, "forecastCategory": d.ForecastCategory,
		"source": d.Source, "campaign": d.Campaign, "nextStep": d.NextStep, "lossReason": d.LossReason,
		"competitor": d.Competitor, "checklist": d.Checklist, "custom": json.RawMessage(d.Custom),
	}
	if contacts != nil {
		f["contacts"] = contacts
	}
	return f
}

func dateOrNil(d *crm.Date) *time.Time {
	if d == nil {
		return nil
	}
	t := d.Time()
	return &t
}
