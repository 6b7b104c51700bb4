package service

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
	"github.com/rapportcrm/rapport/internal/rules/pipeline"
)

// PipelineInput is a pipeline to create.
type PipelineInput struct {
	Name      string
	Stages    []crm.Stage // ID set on stages to keep (updates only)
	IsDefault bool
}

// PipelineUpdate changes a pipeline. Stages, when set, is the complete new list; stages left out are
// removed, and their deals must be mapped to remaining stages in Mappings.
type PipelineUpdate struct {
	ID              crm.ID
	ExpectedVersion int32
	Name            Opt[string]
	IsDefault       Opt[bool]
	Stages          Opt[[]crm.Stage]
	Mappings        map[crm.ID]crm.ID // removed stage -> remaining stage
}

// ListPipelines returns the organization's live pipelines with their stages, default first.
func (s *Service) ListPipelines(ctx context.Context, a *crm.Actor) ([]crm.Pipeline, error) {
	if err := authorizePipelines(a); err != nil {
		return nil, err
	}
	var out []crm.Pipeline
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.ListPipelines(ctx, a.OrgID)
		if err != nil {
			return err
		}
		out, err = withStages(ctx, q, a.OrgID, rows)
		return err
	})
	return out, err
}

// Pipelines returns the live pipelines with the given IDs in the order of ids (zero Pipelines for
// missing ones), with their stages.
func (s *Service) Pipelines(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.Pipeline, error) {
	if err := authorizePipelines(a); err != nil {
		return nil, err
	}
	// The stages are read by the pipelines' IDs, so both reads go out together.
	var rows []query.Pipeline
	var stages []query.PipelineStage
	err := s.ReadTogether(ctx, a, func(ctx context.Context) error {
		return s.read(ctx, a, func(q *query.Queries) (err error) {
			rows, err = q.GetPipelines(ctx, query.GetPipelinesParams{OrgID: a.OrgID, Ids: ids})
			return err
		})
	}, func(ctx context.Context) error {
		return s.read(ctx, a, func(q *query.Queries) (err error) {
			stages, err = q.StagesOfPipelines(ctx, query.StagesOfPipelinesParams{OrgID: a.OrgID, PipelineIds: ids})
			return err
		})
	})
	return inOrder(pipelinesOf(rows, stages), ids, func(p crm.Pipeline) crm.ID { return p.ID }), err
}

// Stages returns stages by ID (removed ones included, for history), in the order of ids.
func (s *Service) Stages(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.Stage, error) {
	if err := authorizePipelines(a); err != nil {
		return nil, err
	}
	var out []crm.Stage
	err := s.read(ctx, a, func(q *query.Queries) error {
		rows, err := q.GetStages(ctx, query.GetStagesParams{OrgID: a.OrgID, Ids: ids})
		for _, r := range rows {
			out = append(out, stageFromRow(r))
		}
		return err
	})
	return inOrder(out, ids, func(st crm.Stage) crm.ID { return st.ID }), err
}

// authorizePipelines lets deal readers and aggregate readers (analysts' forecasts name pipelines)
// read pipeline definitions, which are configuration rather than records.
func authorizePipelines(a *crm.Actor) error {
	if access.Allows(a, access.AggregatesRead) {
		return nil
	}
	return authorize(a, access.DealsRead)
}

func withStages(ctx context.Context, q *query.Queries, orgID crm.ID, rows []query.Pipeline) ([]crm.Pipeline, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	ids := make([]crm.ID, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	stages, err := q.StagesOfPipelines(ctx, query.StagesOfPipelinesParams{OrgID: orgID, PipelineIds: ids})
	if err != nil {
		return nil, err
	}
	return pipelinesOf(rows, stages), nil
}

// pipelinesOf builds pipelines from their rows and the rows of their stages, in order.
func pipelinesOf(rows []query.Pipeline, stages []query.PipelineStage) []crm.Pipeline {
	byPipeline := map[crm.ID][]crm.Stage{}
	for _, st := range stages {
		byPipeline[st.PipelineID] = append(byPipeline[st.PipelineID], stageFromRow(st))
	}
	out := make([]crm.Pipeline, len(rows))
	for i, r := range rows {
		out[i] = crm.Pipeline{ID: r.ID, OrgID: r.OrgID, Name: r.Name, Position: r.Position, IsDefault: r.IsDefault,
			Stages: byPipeline[r.ID], CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Version: r.Version}
	}
	return out
}

// CreatePipeline creates a pipeline (admins). The first pipeline of an organization is its default.
func (s *Service) CreatePipeline(ctx context.Context, a *crm.Actor, in PipelineInput) (p crm.Pipeline, err error) {
	if err := authorize(a, access.SettingsWrite); err != nil {
		return p, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		p, err = w.createPipeline(in)
		return err
	})
	return p, err
}

func (w *writer) createPipeline(in PipelineInput) (crm.Pipeline, error) {
	name, err := normalize.Text("name", in.Name, 100)
	if err != nil {
		return crm.Pipeline{}, err
	}
	if name == "" {
		return crm.Pipeline{}, crm.Invalid("name", "The pipeline needs a name.")
	}
	stages, err := normalizeStages(in.Stages)
	if err != nil {
		return crm.Pipeline{}, err
	}
	if _, err := w.q.DefaultPipelineID(w.ctx, w.actor.OrgID); errors.Is(err, pgx.ErrNoRows) {
		in.IsDefault = true
	} else if err != nil {
		return crm.Pipeline{}, err
	}
	p := crm.Pipeline{ID: crm.NewID(), OrgID: w.actor.OrgID, Name: name, IsDefault: in.IsDefault,
		CreatedAt: w.now, UpdatedAt: w.now, Version: 1}
	if p.IsDefault {
		if err := w.q.ClearDefaultPipeline(w.ctx, query.ClearDefaultPipelineParams{OrgID: p.OrgID, KeepID: p.ID, Now: w.now}); err != nil {
			return p, err
		}
	}
	if err := w.q.CreatePipeline(w.ctx, query.CreatePipelineParams{OrgID: p.OrgID, ID: p.ID, Name: name,
		IsDefault: p.IsDefault, Now: w.now}); err != nil {
		return p, err
	}
	for i := range stages {
		stages[i].ID, stages[i].PipelineID = crm.NewID(), p.ID
		if err := w.saveStage(stages[i], int32(i)); err != nil {
			return p, err
		}
		stages[i].Position = int32(i)
	}
	p.Stages = stages
	w.emit("pipeline.created", crm.TypePipeline, p.ID, diff(nil, pipelineFields(p)))
	return p, nil
}

// UpdatePipeline changes a pipeline (admins). Removing a stage that still holds deals requires a
// mapping to a remaining stage of the same kind (open, won or lost); the deals move in the same
// transaction, with stage history and events, so no deal is ever left in a removed stage.
func (s *Service) UpdatePipeline(ctx context.Context, a *crm.Actor, in PipelineUpdate) (p crm.Pipeline, moved int, err error) {
	if err := authorize(a, access.SettingsWrite); err != nil {
		return p, 0, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		row, err := w.q.LockPipeline(w.ctx, query.LockPipelineParams{OrgID: a.OrgID, ID: in.ID})
		if errors.Is(err, pgx.ErrNoRows) {
			return crm.NotFound("pipeline", in.ID)
		} else if err != nil {
			return err
		}
		if err := checkVersion("pipeline", row.Version, in.ExpectedVersion); err != nil {
			return err
		}
		list, err := withStages(w.ctx, w.q, a.OrgID, []query.Pipeline{row})
		if err != nil {
			return err
		}
		before := list[0]
		p = before
		if p.Name, err = normalize.Text("name", in.Name.apply(p.Name), 100); err != nil {
			return err
		}
		if p.Name == "" {
			return crm.Invalid("name", "The pipeline needs a name.")
		}
		if in.IsDefault.Set && !in.IsDefault.Value && before.IsDefault {
			return crm.Invalid("isDefault", "Make another pipeline the default instead; an organization always has one.")
		}
		p.IsDefault = in.IsDefault.apply(p.IsDefault)
		if in.Stages.Set {
			if moved, err = w.replaceStages(&p, before.Stages, in.Stages.Value, in.Mappings); err != nil {
				return err
			}
		} else if len(in.Mappings) > 0 {
			return crm.Invalid("stageMappings", "Mappings apply only when stages are replaced.")
		}
		if p.IsDefault && !before.IsDefault {
			if err := w.q.ClearDefaultPipeline(w.ctx, query.ClearDefaultPipelineParams{OrgID: a.OrgID, KeepID: p.ID, Now: w.now}); err != nil {
				return err
			}
		}
		res, err := w.q.UpdatePipeline(w.ctx, query.UpdatePipelineParams{OrgID: a.OrgID, ID: p.ID, Name: p.Name,
			IsDefault: p.IsDefault, Now: w.now})
		if err != nil {
			return err
		}
		p.Version, p.UpdatedAt = res.Version, res.UpdatedAt
		w.emit("pipeline.updated", crm.TypePipeline, p.ID, diff(pipelineFields(before), pipelineFields(p)))
		return nil
	})
	return p, moved, err
}

// replaceStages saves the new stage list of p and maps the deals of removed stages.
func (w *writer) replaceStages(p *crm.Pipeline, current, next []crm.Stage, mappings map[crm.ID]crm.ID) (int, error) {
	stages, err := normalizeStages(next)
	if err != nil {
		return 0, err
	}
	old := map[crm.ID]crm.Stage{}
	for _, st := range current {
		old[st.ID] = st
	}
	kept := map[crm.ID]crm.Stage{}
	for i := range stages {
		st := &stages[i]
		if st.ID == crm.NilID {
			st.ID = crm.NewID()
		} else if _, ok := old[st.ID]; !ok {
			return 0, crm.Invalid("stages", "Stage %s is not a stage of this pipeline; omit id for a new stage.", crm.GlobalID(crm.TypeStage, st.ID))
		} else if _, dup := kept[st.ID]; dup {
			return 0, crm.Invalid("stages", "Stage %s is listed twice.", crm.GlobalID(crm.TypeStage, st.ID))
		}
		st.PipelineID, st.Position = p.ID, int32(i)
		kept[st.ID] = *st
	}
	var removed []crm.ID
	for _, st := range current {
		if _, ok := kept[st.ID]; !ok {
			removed = append(removed, st.ID)
		}
	}
	for from := range mappings {
		if _, ok := old[from]; !ok || containsKey(kept, from) {
			return 0, crm.Invalid("stageMappings", "Map only stages that are being removed from this pipeline.")
		}
	}
	counts, err := w.q.CountDealsInStages(w.ctx, query.CountDealsInStagesParams{OrgID: p.OrgID, StageIds: nonNilIDs(removed)})
	if err != nil {
		return 0, err
	}
	var unmapped []string
	for _, c := range counts {
		to, ok := mappings[c.StageID]
		if !ok {
			unmapped = append(unmapped, old[c.StageID].Name)
			continue
		}
		target, ok := kept[to]
		if !ok {
			return 0, crm.Invalid("stageMappings", "Deals of %q must go to a stage that remains in this pipeline.", old[c.StageID].Name)
		}
		if target.Closed != old[c.StageID].Closed || target.Won != old[c.StageID].Won {
			return 0, crm.Invalid("stageMappings", "Deals of %q must go to a stage of the same kind (open, won or lost).", old[c.StageID].Name)
		}
	}
	if len(unmapped) > 0 {
		return 0, crm.Invalid("stageMappings", "These stages still hold deals; map them to remaining stages: %s.", strings.Join(unmapped, ", ")).
			With("stagesInUse", unmapped)
	}
	for i, st := range stages {
		if err := w.saveStage(st, int32(i)); err != nil {
			return 0, err
		}
	}
	moved := 0
	for _, c := range counts {
		target := kept[mappings[c.StageID]]
		rows, err := w.q.MoveDealsToStage(w.ctx, query.MoveDealsToStageParams{OrgID: p.OrgID, FromStageID: c.StageID,
			ToStageID: target.ID, Probability: target.Probability, ForecastCategory: string(target.ForecastCategory), Now: w.now})
		if err != nil {
			return 0, err
		}
		ids := make([]crm.ID, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		deals, err := w.opportunities(ids)
		if err != nil {
			return 0, err
		}
		for _, d := range deals {
			if err := w.recordStageChange(d, c.StageID); err != nil {
				return 0, err
			}
			w.emitDeal("opportunity.stage_changed", d, []crm.FieldChange{idChange("stageId", c.StageID, d.StageID)}, d.OwnerID)
		}
		moved += len(rows)
	}
	for _, id := range removed {
		if err := w.q.RemoveStage(w.ctx, query.RemoveStageParams{OrgID: p.OrgID, ID: id, Now: &w.now}); err != nil {
			return 0, err
		}
	}
	p.Stages = stages
	return moved, nil
}

func containsKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}

func (w *writer) saveStage(st crm.Stage, position int32) error {
	criteria := st.EntryCriteria
	if criteria == nil {
		criteria = []crm.EntryCriterion{}
	}
	return w.q.UpsertStage(w.ctx, query.UpsertStageParams{OrgID: w.actor.OrgID, ID: st.ID, PipelineID: st.PipelineID,
		Name: st.Name, Position: position, Probability: st.Probability, ForecastCategory: string(st.ForecastCategory),
		Closed: st.Closed, Won: st.Won, StaleAfterDays: st.StaleAfterDays, EntryCriteria: mustJSON(criteria)})
}

// normalizeStages trims names and criteria and validates the list.
func normalizeStages(in []crm.Stage) ([]crm.Stage, error) {
	stages := make([]crm.Stage, len(in))
	for i, st := range in {
		name, err := normalize.Text("stages.name", st.Name, 100)
		if err != nil {
			return nil, err
		}
		st.Name = name
		crits := make([]crm.EntryCriterion, len(st.EntryCriteria))
		for j, c := range st.EntryCriteria {
			c.Value, c.Label = strings.TrimSpace(c.Value), strings.TrimSpace(c.Label)
			crits[j] = c
		}
		st.EntryCriteria = crits
		stages[i] = st
	}
	return stages, pipeline.ValidateStages(stages)
}

// seedDefaultPipeline gives a new organization the default B2B pipeline.
func (w *writer) seedDefaultPipeline() error {
	_, err := w.createPipeline(PipelineInput{Name: "Sales", Stages: pipeline.DefaultStages(), IsDefault: true})
	return err
}

func stageFromRow(r query.PipelineStage) crm.Stage {
	st := crm.Stage{ID: r.ID, PipelineID: r.PipelineID, Name: r.Name, Position: r.Position, Probability: r.Probability,
		ForecastCategory: crm.ForecastCategory(r.ForecastCategory), Closed: r.Closed, Won: r.Won,
		StaleAfterDays: r.StaleAfterDays, DeletedAt: r.DeletedAt}
	_ = json.Unmarshal(r.EntryCriteria, &st.EntryCriteria) // written by saveStage, always valid
	return st
}

func pipelineFields(p crm.Pipeline) fields {
	type stageJSON struct {
		ID          crm.ID `json:"id"`
		Name        string `json:"name"`
		Probability int32  `json:"probability"`
	}
	stages := make([]stageJSON, len(p.Stages))
	for i, st := range p.Stages {
		stages[i] = stageJSON{st.ID, st.Name, st.Probability}
	}
	return fields{"name": p.Name, "isDefault": p.IsDefault, "stages": stages}
}
