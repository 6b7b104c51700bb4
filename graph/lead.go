package graph

import (
	"context"
	"errors"

	"github.com/vektah/gqlparser/v2/ast"

	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

func leadID(l crm.Lead) crm.ID { return l.ID }

func (r *Resolver) lead(ctx context.Context, id crm.ID) (*crm.Lead, error) {
	return ref(ctx, id, func(c *cache) *table[crm.Lead] { return &c.leads }, r.svc.Leads, leadID)
}

// leadInput converts one capture input; field names in errors carry the item's position.
func leadInput(prefix string, in model.CaptureLeadInput) (service.LeadInput, error) {
	size, err := int32Ptr(prefix+"companySize", in.CompanySize.Value())
	if err != nil {
		return service.LeadInput{}, err
	}
	out := service.LeadInput{Name: val(in.Name), Title: val(in.Title), Company: val(in.Company), Email: val(in.Email),
		Phone: val(in.Phone), Website: val(in.Website), RegistrationCode: val(in.RegistrationCode), Industry: val(in.Industry),
		CompanySize: size, Country: val(in.Country), Region: val(in.Region), City: val(in.City), Source: val(in.Source),
		Campaign: val(in.Campaign), Custom: in.Custom.Value(), VisitorID: val(in.VisitorID),
		AllowPartial: val(in.AllowPartial), IdempotencyKey: val(in.IdempotencyKey)}
	if u := in.Utm.Value(); u != nil {
		out.UTM = crm.UTM{Source: val(u.Source), Medium: val(u.Medium), Campaign: val(u.Campaign), Term: val(u.Term), Content: val(u.Content)}
	}
	return out, nil
}

// warnings converts the fields a capture dropped.
func warnings(ws []*crm.Error) []model.FieldWarning {
	out := make([]model.FieldWarning, len(ws))
	for i, w := range ws {
		out[i] = model.FieldWarning{Field: w.Field, Message: w.Message}
	}
	return out
}

// captureError describes why one item of a batch was refused.
func captureError(err error) *model.CaptureError {
	e := &model.CaptureError{Code: ErrorCode(err), Message: crm.ErrorMessage(err)}
	var ce *crm.Error
	if errors.As(err, &ce) && ce.Field != "" {
		e.Field = &ce.Field
	}
	return e
}

func leadOrder(o *model.LeadOrder) service.Order {
	if o == nil {
		return service.Order{}
	}
	return service.Order{Field: string(o.Field), Desc: o.Direction == model.OrderDirectionDesc}
}

func leadFilter(f *model.LeadFilter) (service.LeadFilter, error) {
	if f == nil {
		return service.LeadFilter{}, nil
	}
	out := service.LeadFilter{Search: f.Search.Value(), Statuses: f.Statuses.Value(), Unassigned: f.Unassigned.Value(),
		Grades: f.Grades.Value(), Sources: f.Sources.Value(), Campaign: f.Campaign.Value(), SLAStates: f.SLAStates.Value(),
		CreatedAt: timeRange(f.CreatedAt), Spam: val(f.Spam), Deleted: val(f.Deleted)}
	var err error
	if out.OwnerIDs, err = parseIDs("filter.ownerIds", crm.TypeUser, f.OwnerIds.Value()); err != nil {
		return out, err
	}
	out.Score, err = intRange(f.Score)
	return out, err
}

func leadConnection(ls []crm.Lead, info service.PageInfo, o service.Order, count func(context.Context) (int, error)) *model.LeadConnection {
	c := &model.LeadConnection{Nodes: ls, PageInfo: model.NewPageInfo(info), Edges: make([]model.LeadEdge, len(ls)), Count: count}
	for i := range ls {
		c.Edges[i] = model.LeadEdge{Node: &ls[i], Cursor: service.LeadCursor(o, ls[i])}
	}
	return c
}

// leadChange runs a mutation on one lead named by a global ID.
func (r *mutationResolver) leadChange(ctx context.Context, gid string, do func(*crm.Actor, crm.ID) (crm.Lead, error)) (*model.LeadPayload, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("id", crm.TypeLead, gid)
	if err != nil {
		return nil, err
	}
	l, err := do(a, id)
	if err != nil {
		return nil, err
	}
	return &model.LeadPayload{Lead: &l}, nil
}

func convertInput(in model.ConvertLeadInput) (service.ConvertInput, error) {
	out := service.ConvertInput{ExpectedVersion: int32(in.ExpectedVersion), CreateOpportunity: val(in.CreateOpportunity),
		OpportunityName: val(in.OpportunityName), Amount: in.Amount.Value(), Currency: val(in.Currency), CloseDate: in.CloseDate.Value()}
	var err error
	for _, f := range []struct {
		field, typ string
		s          *string
		dst        *crm.ID
	}{{"id", crm.TypeLead, &in.ID, &out.ID}, {"accountId", crm.TypeAccount, in.AccountID.Value(), &out.AccountID},
		{"contactId", crm.TypeContact, in.ContactID.Value(), &out.ContactID},
		{"pipelineId", crm.TypePipeline, in.PipelineID.Value(), &out.PipelineID},
		{"ownerId", crm.TypeUser, in.OwnerID.Value(), &out.OwnerID}} {
		if *f.dst, err = parseOptionalID(f.field, f.typ, f.s); err != nil {
			return out, err
		}
	}
	return out, nil
}

func (r *Resolver) prefetchLeadPage(ctx context.Context, a *crm.Actor, ls []crm.Lead) error {
	p := r.prefetcher(ctx, a)
	p.c.leads.put(ls, leadID)
	return p.leads(ctx, ls, p.connectionNodes(ctx, "LeadConnection", "LeadEdge"))
}

// leads prefetches what a page of leads selects: owner, contact, account, deal (and what is
// selected below them) and touches, one query per selected field.
func (p *prefetch) leads(ctx context.Context, ls []crm.Lead, sets []ast.SelectionSet) error {
	if len(ls) == 0 || len(sets) == 0 {
		return nil
	}
	fields := p.selected(sets, "Lead")
	var fns siblings
	addRefFields(&fns, p, ls, sets, "Lead",
		refField[crm.Lead]{"owner", crm.TypeUser, func(l crm.Lead) crm.ID { return l.OwnerID }},
		refField[crm.Lead]{"contact", crm.TypeContact, func(l crm.Lead) crm.ID { return l.ContactID }},
		refField[crm.Lead]{"account", crm.TypeAccount, func(l crm.Lead) crm.ID { return l.AccountID }},
		refField[crm.Lead]{"opportunity", crm.TypeOpportunity, func(l crm.Lead) crm.ID { return l.OpportunityID }})
	if fields["touches"] != nil {
		fns.add(func(ctx context.Context) error {
			_, err := p.c.touches.get(ctx, p.a, crm.RefIDs(ls, leadID), p.r.svc.LeadTouches)
			return err
		})
	}
	if f := fields["score"]; f != nil {
		fns.add(func(ctx context.Context) error { return p.scores(ctx, ls, subSelections(f)) })
	}
	return fns.run(ctx, p)
}

// touches returns a lead's latest touches through the response cache.
func (r *Resolver) touches(ctx context.Context, id crm.ID, first int) ([]crm.Touch, error) {
	if first < 0 || first > service.MaxLeadTouches {
		return nil, crm.Invalid("first", "first is between 0 and %d.", service.MaxLeadTouches)
	}
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	got, err := cacheOf(ctx).touches.get(ctx, a, []crm.ID{id}, r.svc.LeadTouches)
	list := got[id]
	if len(list) > first {
		list = list[:first]
	}
	return list, err
}

func nonEmptyString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
