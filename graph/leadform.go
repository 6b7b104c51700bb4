package graph

import (
	"context"

	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/leadform"
	"github.com/rapportcrm/rapport/internal/service"
)

// leadForm returns one form, or nil when there is none. Forms are configuration, read one at a
// time: no response cache.
func (r *Resolver) leadForm(ctx context.Context, id crm.ID) (*crm.LeadForm, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	got, err := r.svc.LeadForms(ctx, a, []crm.ID{id})
	if err != nil || got[0].ID == crm.NilID {
		return nil, err
	}
	return &got[0], nil
}

// leadFormInput converts createLeadForm's input; omitted fields take the schema's defaults.
func leadFormInput(in model.CreateLeadFormInput) (crm.LeadForm, error) {
	rate, err := int32Ptr("ratePerMinute", in.RatePerMinute.Value())
	if err != nil {
		return crm.LeadForm{}, err
	}
	f := crm.LeadForm{Name: in.Name, Fields: in.Fields, RequiredFields: in.RequiredFields.Value(),
		AllowedOrigins: in.AllowedOrigins.Value(), Source: val(in.Source), Campaign: val(in.Campaign),
		RedirectURL: val(in.RedirectURL), HoneypotField: val(in.HoneypotField), AllowPartial: true, Active: true,
		RatePerMinute: leadform.DefaultRate}
	if rate != nil {
		f.RatePerMinute = *rate
	}
	if v := in.AllowPartial.Value(); v != nil {
		f.AllowPartial = *v
	}
	if v := in.Active.Value(); v != nil {
		f.Active = *v
	}
	return f, nil
}

// leadFormUpdate converts updateLeadForm's input.
func leadFormUpdate(in model.UpdateLeadFormInput) (service.LeadFormUpdate, error) {
	id, err := parseID("id", crm.TypeLeadForm, in.ID)
	if err != nil {
		return service.LeadFormUpdate{}, err
	}
	rate, err := optCount("ratePerMinute", in.RatePerMinute)
	if err != nil {
		return service.LeadFormUpdate{}, err
	}
	return service.LeadFormUpdate{ID: id, ExpectedVersion: int32(in.ExpectedVersion), Name: opt(in.Name),
		Fields: optValue(in.Fields), RequiredFields: optValue(in.RequiredFields), AllowedOrigins: optValue(in.AllowedOrigins),
		Source: opt(in.Source), Campaign: opt(in.Campaign), RedirectURL: opt(in.RedirectURL),
		HoneypotField: opt(in.HoneypotField), AllowPartial: opt(in.AllowPartial), RatePerMinute: rate,
		Active: opt(in.Active)}, nil
}

// leadFormChange runs a change of the form with global ID gid.
func (r *mutationResolver) leadFormChange(ctx context.Context, gid string, do func(*crm.Actor, crm.ID) (crm.LeadForm, error)) (*model.LeadFormPayload, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("id", crm.TypeLeadForm, gid)
	if err != nil {
		return nil, err
	}
	f, err := do(a, id)
	if err != nil {
		return nil, err
	}
	return &model.LeadFormPayload{LeadForm: &f}, nil
}
