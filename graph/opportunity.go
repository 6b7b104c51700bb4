package graph

import (
	"context"
	"fmt"

	"github.com/99designs/gqlgen/graphql"
	"github.com/shopspring/decimal"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

func pipelineID(p crm.Pipeline) crm.ID       { return p.ID }
func stageID(s crm.Stage) crm.ID             { return s.ID }
func opportunityID(d crm.Opportunity) crm.ID { return d.ID }

func (r *Resolver) pipeline(ctx context.Context, id crm.ID) (*crm.Pipeline, error) {
	return ref(ctx, id, func(c *cache) *table[crm.Pipeline] { return &c.pipelines }, r.svc.Pipelines, pipelineID)
}

func (r *Resolver) stage(ctx context.Context, id crm.ID) (*crm.Stage, error) {
	return ref(ctx, id, func(c *cache) *table[crm.Stage] { return &c.stages }, r.svc.Stages, stageID)
}

func (r *Resolver) opportunity(ctx context.Context, id crm.ID) (*crm.Opportunity, error) {
	return ref(ctx, id, func(c *cache) *table[crm.Opportunity] { return &c.opportunities }, r.svc.Opportunities, opportunityID)
}

// primaryContact returns the primary contact of the deal with the given ID through the response cache.
func (r *Resolver) primaryContact(ctx context.Context, dealID crm.ID) (*crm.Contact, error) {
	return ref(ctx, dealID, func(c *cache) *table[crm.Contact] { return &c.primaryContacts }, r.svc.PrimaryContacts, contactID)
}

// dealContacts returns a deal's contacts through the response cache.
func (r *Resolver) dealContacts(ctx context.Context, id crm.ID) ([]crm.DealContact, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	got, err := cacheOf(ctx).dealContacts.get(ctx, a, []crm.ID{id}, r.svc.DealContacts)
	return got[id], err
}

// money returns an amount with its currency, or nil when there is no amount.
func money(amount *decimal.Decimal, currency string) *model.Money {
	if amount == nil {
		return nil
	}
	return &model.Money{Amount: *amount, Currency: currency}
}

// stageInputs converts the stages of a pipeline definition.
func stageInputs(in []model.StageInput) ([]crm.Stage, error) {
	out := make([]crm.Stage, len(in))
	for i, s := range in {
		id, err := parseOptionalID(fmt.Sprintf("stages[%d].id", i), crm.TypeStage, s.ID.Value())
		if err != nil {
			return nil, err
		}
		stale, err := int32Ptr(fmt.Sprintf("stages[%d].staleAfterDays", i), s.StaleAfterDays.Value())
		if err != nil {
			return nil, err
		}
		crits := make([]crm.EntryCriterion, len(s.EntryCriteria.Value()))
		for j, c := range s.EntryCriteria.Value() {
			crits[j] = crm.EntryCriterion{Kind: c.Kind, Value: c.Value, Label: val(c.Label)}
		}
		prob, err := int32Ptr(fmt.Sprintf("stages[%d].probability", i), &s.Probability)
		if err != nil {
			return nil, err
		}
		out[i] = crm.Stage{ID: id, Name: s.Name, Probability: *prob, ForecastCategory: s.ForecastCategory,
			Closed: val(s.Closed), Won: val(s.Won), StaleAfterDays: stale, EntryCriteria: crits}
	}
	return out, nil
}

// dealContactInputs converts a deal's contacts.
func dealContactInputs(in []model.DealContactInput) ([]crm.DealContact, error) {
	out := make([]crm.DealContact, len(in))
	for i, c := range in {
		id, err := parseID(fmt.Sprintf("contacts[%d].contactId", i), crm.TypeContact, c.ContactID)
		if err != nil {
			return nil, err
		}
		out[i] = crm.DealContact{ContactID: id, Roles: c.Roles, Primary: val(c.Primary)}
	}
	return out, nil
}

func opportunityOrder(o *model.OpportunityOrder) service.Order {
	if o == nil {
		return service.Order{}
	}
	return service.Order{Field: string(o.Field), Desc: o.Direction == model.OrderDirectionDesc}
}

func opportunityFilter(f *model.OpportunityFilter) (service.OpportunityFilter, error) {
	if f == nil {
		return service.OpportunityFilter{}, nil
	}
	var out service.OpportunityFilter
	var err error
	if out.PipelineID, err = optionalID("filter.pipelineId", crm.TypePipeline, f.PipelineID.Value()); err != nil {
		return out, err
	}
	if out.StageIDs, err = parseIDs("filter.stageIds", crm.TypeStage, f.StageIds.Value()); err != nil {
		return out, err
	}
	if out.AccountIDs, err = parseIDs("filter.accountIds", crm.TypeAccount, f.AccountIds.Value()); err != nil {
		return out, err
	}
	if out.OwnerIDs, err = parseIDs("filter.ownerIds", crm.TypeUser, f.OwnerIds.Value()); err != nil {
		return out, err
	}
	if out.TeamID, err = optionalID("filter.teamId", crm.TypeTeam, f.TeamID.Value()); err != nil {
		return out, err
	}
	if r := f.Amount.Value(); r != nil {
		out.AmountMin, out.AmountMax = r.Min.Value(), r.Max.Value()
	}
	if r := f.CloseDate.Value(); r != nil {
		out.CloseFrom, out.CloseTo = r.From.Value(), r.To.Value()
	}
	out.Search, out.ForecastCategories = f.Search.Value(), f.ForecastCategories.Value()
	out.Stale, out.Closed, out.CreatedAt, out.Deleted = f.Stale.Value(), f.Closed.Value(), timeRange(f.CreatedAt), val(f.Deleted)
	return out, nil
}

// opportunityConnection builds a page of deals.
func opportunityConnection(ds []crm.Opportunity, info service.PageInfo, o service.Order, count func(context.Context) (int, error)) *model.OpportunityConnection {
	c := &model.OpportunityConnection{Nodes: ds, PageInfo: model.NewPageInfo(info), Edges: make([]model.OpportunityEdge, len(ds)), Count: count}
	for i := range ds {
		c.Edges[i] = model.OpportunityEdge{Node: &ds[i], Cursor: service.OpportunityCursor(o, ds[i])}
	}
	return c
}

// opportunityChange runs a mutation on one deal named by a global ID.
func (r *mutationResolver) opportunityChange(ctx context.Context, gid string, do func(*crm.Actor, crm.ID) (crm.Opportunity, error)) (*model.OpportunityPayload, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("id", crm.TypeOpportunity, gid)
	if err != nil {
		return nil, err
	}
	d, err := do(a, id)
	if err != nil {
		return nil, err
	}
	return &model.OpportunityPayload{Opportunity: &d}, nil
}

// opportunities prefetches what a page of deals selects: account, owner, team, pipeline, stage,
// contacts (and primary contact) and stage history, one query per selected field, the fields'
// queries sent together.
func (p *prefetch) opportunities(ctx context.Context, ds []crm.Opportunity, sets []ast.SelectionSet) error {
	if len(ds) == 0 || len(sets) == 0 {
		return nil
	}
	fields := p.selected(sets, "Opportunity")
	var fns siblings
	if f := fields["account"]; f != nil {
		fns.add(func(ctx context.Context) error {
			ids := crm.RefIDs(ds, func(d crm.Opportunity) crm.ID { return d.AccountID })
			return permitted(load(ctx, p, &p.c.accounts, ids, p.r.svc.Accounts, accountID, p.accounts, subSelections(f)))
		})
	}
	if f := fields["owner"]; f != nil {
		fns.add(func(ctx context.Context) error {
			return p.users(ctx, crm.RefIDs(ds, func(d crm.Opportunity) crm.ID { return d.OwnerID }), subSelections(f))
		})
	}
	if f := fields["team"]; f != nil {
		fns.add(func(ctx context.Context) error {
			return p.teams(ctx, crm.RefIDs(ds, func(d crm.Opportunity) crm.ID { return d.TeamID }), subSelections(f))
		})
	}
	if fields["pipeline"] != nil || fields["stage"] != nil || fields["stageHistory"] != nil {
		fns.add(func(ctx context.Context) error {
			return p.pipelines(ctx, crm.RefIDs(ds, func(d crm.Opportunity) crm.ID { return d.PipelineID }))
		})
	}
	ids := crm.RefIDs(ds, opportunityID)
	if f := fields["primaryContact"]; f != nil {
		fns.add(func(ctx context.Context) error {
			return permitted(load(ctx, p, &p.c.primaryContacts, ids, p.r.svc.PrimaryContacts, contactID, p.contacts, subSelections(f)))
		})
	}
	if f := fields["contacts"]; f != nil {
		fns.add(func(ctx context.Context) error { return p.dealContacts(ctx, ids, f) })
	}
	if f := fields["stageHistory"]; f != nil {
		fns.add(func(ctx context.Context) error { return p.stageHistory(ctx, ids, f) })
	}
	return fns.run(ctx, p)
}

// dealContacts prefetches the contacts of deals and, when contacts { contact } is selected, the
// contacts themselves and what is selected below them.
func (p *prefetch) dealContacts(ctx context.Context, ids []crm.ID, f []graphql.CollectedField) error {
	lists, err := p.c.dealContacts.get(ctx, p.a, ids, p.r.svc.DealContacts)
	if err != nil {
		return err
	}
	each := p.selected(subSelections(f), "DealContact")["contact"]
	var r refs
	for _, l := range lists {
		for _, c := range l {
			r.add(crm.TypeContact, c.ContactID, each)
		}
	}
	return p.records(ctx, &r)
}

// stageHistory prefetches the stage history of deals and, when selected, the users who moved them.
func (p *prefetch) stageHistory(ctx context.Context, ids []crm.ID, f []graphql.CollectedField) error {
	lists, err := p.c.stageHistory.get(ctx, p.a, ids, p.r.svc.StageHistory)
	actor := p.selected(subSelections(f), "StageChange")["actor"]
	if err != nil || actor == nil {
		return err
	}
	var actors []crm.ID
	for _, l := range lists {
		for _, h := range l {
			if h.ActorKind == crm.ActorUser {
				actors = append(actors, h.ActorID)
			}
		}
	}
	return p.users(ctx, crm.RefIDs(actors, self), subSelections(actor))
}

// pipelines caches pipelines and, through them, their live stages.
func (p *prefetch) pipelines(ctx context.Context, ids []crm.ID) error {
	got, err := p.c.pipelines.get(ctx, p.a, ids, p.r.svc.Pipelines, pipelineID)
	if err != nil {
		return err
	}
	var stages []crm.Stage
	for _, pl := range got {
		if pl != nil {
			stages = append(stages, pl.Stages...)
		}
	}
	p.c.stages.put(stages, stageID)
	return nil
}

// prefetchOpportunityPage fetches ahead what a page of deals selects below its nodes.
func (r *Resolver) prefetchOpportunityPage(ctx context.Context, a *crm.Actor, ds []crm.Opportunity) error {
	p := r.prefetcher(ctx, a)
	return p.opportunities(ctx, ds, p.connectionNodes(ctx, "OpportunityConnection", "OpportunityEdge"))
}

// prefetchBoard caches the board's pipeline and fetches ahead what the deals of every column select.
func (r *Resolver) prefetchBoard(ctx context.Context, a *crm.Actor, pl crm.Pipeline, cols []service.BoardColumn) error {
	p := r.prefetcher(ctx, a)
	p.c.pipelines.put([]crm.Pipeline{pl}, pipelineID)
	p.c.stages.put(pl.Stages, stageID)
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return nil
	}
	board := p.selected([]ast.SelectionSet{fc.Field.Selections}, "PipelineBoard")
	columns := p.selected(subSelections(board["columns"]), "BoardColumn")
	conn := p.selected(subSelections(columns["deals"]), "OpportunityConnection")
	sets := append(subSelections(conn["nodes"]), subSelections(p.selected(subSelections(conn["edges"]), "OpportunityEdge")["node"])...)
	var all []crm.Opportunity
	for _, c := range cols {
		all = append(all, c.Deals...)
	}
	return p.opportunities(ctx, all, sets)
}

// seedBoardCache puts what a live board change already carries (its pipeline's stages and the
// organization's users, read once per subscription) into the response's cache, so that stage,
// fromStage, owner and actor cost no read per change and per subscriber.
func seedBoardCache(ctx context.Context, c *service.PipelineChange) {
	cache := cacheOf(ctx)
	cache.pipelines.put([]crm.Pipeline{c.Pipeline}, pipelineID)
	cache.stages.put(c.Pipeline.Stages, stageID)
	ids := []crm.ID{c.Opportunity.OwnerID, c.ActorID}
	users := make([]crm.User, 0, len(ids))
	for _, id := range ids {
		if u, ok := c.Users[id]; ok {
			users = append(users, u)
		}
	}
	cache.users.put(users, userID)
}

// opportunityInput converts createOpportunity's input.
func opportunityInput(ctx context.Context, input model.CreateOpportunityInput) (service.OpportunityInput, error) {
	var err error
	in := service.OpportunityInput{Name: input.Name, Amount: input.Amount.Value(), Currency: val(input.Currency),
		CloseDate: input.CloseDate.Value(), ForecastCategory: input.ForecastCategory.Value(), Source: val(input.Source),
		Campaign: val(input.Campaign), NextStep: val(input.NextStep), Checklist: input.Checklist.Value(),
		Custom: input.Custom.Value(), IdempotencyKey: idempotencyKeyOf(ctx, input.IdempotencyKey.Value())}
	if in.AccountID, err = parseID("accountId", crm.TypeAccount, input.AccountID); err != nil {
		return in, err
	}
	if in.PipelineID, err = parseOptionalID("pipelineId", crm.TypePipeline, input.PipelineID.Value()); err != nil {
		return in, err
	}
	if in.StageID, err = parseOptionalID("stageId", crm.TypeStage, input.StageID.Value()); err != nil {
		return in, err
	}
	if in.OwnerID, err = optID("ownerId", crm.TypeUser, input.OwnerID); err != nil {
		return in, err
	}
	if in.TeamID, err = optID("teamId", crm.TypeTeam, input.TeamID); err != nil {
		return in, err
	}
	if in.Probability, err = int32Ptr("probability", input.Probability.Value()); err != nil {
		return in, err
	}
	in.Contacts, err = dealContactInputs(input.Contacts.Value())
	return in, err
}

// opportunityUpdate converts updateOpportunity's input (the ID is parsed by opportunityChange).
func opportunityUpdate(input model.UpdateOpportunityInput) (service.OpportunityUpdate, error) {
	in := service.OpportunityUpdate{ExpectedVersion: int32(input.ExpectedVersion), Name: opt(input.Name),
		Amount: optValue(input.Amount), Currency: opt(input.Currency), CloseDate: optValue(input.CloseDate),
		Source: opt(input.Source), Campaign: opt(input.Campaign), NextStep: opt(input.NextStep),
		Checklist: optValue(input.Checklist), Custom: optValue(input.Custom)}
	var err error
	if in.OwnerID, err = optID("ownerId", crm.TypeUser, input.OwnerID); err != nil {
		return in, err
	}
	if in.TeamID, err = optID("teamId", crm.TypeTeam, input.TeamID); err != nil {
		return in, err
	}
	if input.Probability.IsSet() {
		p, err := int32Ptr("probability", input.Probability.Value())
		if err != nil || p == nil {
			return in, crm.Invalid("probability", "Probability is a percentage from 0 to 100.")
		}
		in.Probability = service.Some(*p)
	}
	if c := input.ForecastCategory.Value(); c != nil {
		in.ForecastCategory = service.Some(*c)
	}
	if input.Contacts.IsSet() {
		contacts, err := dealContactInputs(input.Contacts.Value())
		if err != nil {
			return in, err
		}
		in.Contacts = service.Some(contacts)
	}
	return in, nil
}

// pipelineUpdate converts updatePipeline's input.
func pipelineUpdate(input model.UpdatePipelineInput) (service.PipelineUpdate, error) {
	id, err := parseID("id", crm.TypePipeline, input.ID)
	if err != nil {
		return service.PipelineUpdate{}, err
	}
	in := service.PipelineUpdate{ID: id, ExpectedVersion: int32(input.ExpectedVersion), Name: opt(input.Name),
		IsDefault: opt(input.IsDefault), Mappings: map[crm.ID]crm.ID{}}
	if input.Stages.IsSet() {
		stages, err := stageInputs(input.Stages.Value())
		if err != nil {
			return service.PipelineUpdate{}, err
		}
		in.Stages = service.Some(stages)
	}
	for i, m := range input.StageMappings.Value() {
		from, err := parseID(fmt.Sprintf("stageMappings[%d].fromStageId", i), crm.TypeStage, m.FromStageID)
		if err != nil {
			return service.PipelineUpdate{}, err
		}
		if in.Mappings[from], err = parseID(fmt.Sprintf("stageMappings[%d].toStageId", i), crm.TypeStage, m.ToStageID); err != nil {
			return service.PipelineUpdate{}, err
		}
	}
	return in, nil
}

// board builds a pipeline board from its columns; each column's deals are a connection in the
// close-date order of the deal list, whose totalCount is the column's count.
func board(p crm.Pipeline, cols []service.BoardColumn) *model.PipelineBoard {
	b := &model.PipelineBoard{Pipeline: &p, Columns: make([]model.BoardColumn, len(cols))}
	order := service.Order{Field: service.OrderCloseDate}
	for i, c := range cols {
		b.Columns[i] = model.BoardColumn{Stage: c.Stage, Count: c.Count, Totals: c.Totals,
			Deals: opportunityConnection(c.Deals, c.Page, order, func(context.Context) (int, error) { return c.Count, nil })}
	}
	return b
}
