package graph

import (
	"github.com/99designs/gqlgen/graphql"

	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

// val returns the value of an optional argument, or T's zero value when it is omitted or null.
func val[T any](o graphql.Omittable[*T]) T {
	if v := o.Value(); v != nil {
		return *v
	}
	var zero T
	return zero
}

// opt maps an optional update field: omitted stays unset; null sets the zero value.
func opt[T any](o graphql.Omittable[*T]) service.Opt[T] {
	if !o.IsSet() {
		return service.Opt[T]{}
	}
	return service.Some(val(o))
}

// optValue maps an optional field whose null needs no dereference (lists, JSON).
func optValue[T any](o graphql.Omittable[T]) service.Opt[T] {
	if !o.IsSet() {
		return service.Opt[T]{}
	}
	return service.Some(o.Value())
}

// optID maps an optional reference: omitted stays unset; null sets NilID.
func optID(field, typ string, o graphql.Omittable[*string]) (service.Opt[crm.ID], error) {
	if !o.IsSet() {
		return service.Opt[crm.ID]{}, nil
	}
	id, err := parseOptionalID(field, typ, o.Value())
	return service.Some(id), err
}

// optInt32 maps an optional nullable integer field.
func optInt32(field string, o graphql.Omittable[*int]) (service.Opt[*int32], error) {
	if !o.IsSet() {
		return service.Opt[*int32]{}, nil
	}
	v, err := int32Ptr(field, o.Value())
	return service.Some(v), err
}

// optCount maps an optional integer field whose value cannot be null: omitted stays unset.
func optCount(field string, o graphql.Omittable[*int]) (service.Opt[int32], error) {
	if !o.IsSet() {
		return service.Opt[int32]{}, nil
	}
	if o.Value() == nil {
		return service.Opt[int32]{}, crm.Invalid(field, "%s cannot be null; omit it to keep the current value.", field)
	}
	v, err := int32Ptr(field, o.Value())
	if err != nil {
		return service.Opt[int32]{}, err
	}
	return service.Some(*v), nil
}

func int32Ptr(field string, v *int) (*int32, error) {
	if v == nil {
		return nil, nil
	}
	if *v < -1<<31 || *v > 1<<31-1 {
		return nil, crm.Invalid(field, "%d is out of range.", *v)
	}
	n := int32(*v)
	return &n, nil
}

func page(first *int, after *string, last *int, before *string) service.Page {
	p := service.Page{First: first, Last: last}
	if after != nil {
		p.After = *after
	}
	if before != nil {
		p.Before = *before
	}
	return p
}

func order(o *model.RecordOrder) service.Order {
	if o == nil {
		return service.Order{}
	}
	return service.Order{Field: string(o.Field), Desc: o.Direction == model.OrderDirectionDesc}
}

func stringFilter(o graphql.Omittable[*model.StringFilter]) *service.StringFilter {
	f := o.Value()
	if f == nil {
		return nil
	}
	return &service.StringFilter{Eq: f.Eq.Value(), In: f.In.Value(), Contains: f.Contains.Value()}
}

func timeRange(o graphql.Omittable[*model.TimeRange]) *service.TimeRange {
	r := o.Value()
	if r == nil {
		return nil
	}
	return &service.TimeRange{From: r.From.Value(), To: r.To.Value()}
}

func intRange(o graphql.Omittable[*model.IntRange]) (*service.IntRange, error) {
	r := o.Value()
	if r == nil {
		return nil, nil
	}
	lo, err1 := int32Ptr("employees.min", r.Min.Value())
	hi, err2 := int32Ptr("employees.max", r.Max.Value())
	if err1 != nil {
		return nil, err1
	}
	return &service.IntRange{Min: lo, Max: hi}, err2
}

func accountFilter(f *model.AccountFilter) (service.AccountFilter, error) {
	if f == nil {
		return service.AccountFilter{}, nil
	}
	owners, err := parseIDs("filter.ownerIds", crm.TypeUser, f.OwnerIds.Value())
	if err != nil {
		return service.AccountFilter{}, err
	}
	team, err := optionalID("filter.teamId", crm.TypeTeam, f.TeamID.Value())
	if err != nil {
		return service.AccountFilter{}, err
	}
	employees, err := intRange(f.Employees)
	return service.AccountFilter{
		Search: f.Search.Value(), Name: stringFilter(f.Name), Domain: stringFilter(f.Domain),
		RegistrationCode: stringFilter(f.RegistrationCode), Industry: stringFilter(f.Industry),
		Region: stringFilter(f.Region), Country: stringFilter(f.Country), OwnerIDs: owners, TeamID: team,
		Unowned: f.Unowned.Value(), Employees: employees, CreatedAt: timeRange(f.CreatedAt),
		UpdatedAt: timeRange(f.UpdatedAt), Deleted: val(f.Deleted),
	}, err
}

func contactFilter(f *model.ContactFilter) (service.ContactFilter, error) {
	if f == nil {
		return service.ContactFilter{}, nil
	}
	owners, err := parseIDs("filter.ownerIds", crm.TypeUser, f.OwnerIds.Value())
	if err != nil {
		return service.ContactFilter{}, err
	}
	accounts, err := parseIDs("filter.accountIds", crm.TypeAccount, f.AccountIds.Value())
	if err != nil {
		return service.ContactFilter{}, err
	}
	team, err := optionalID("filter.teamId", crm.TypeTeam, f.TeamID.Value())
	return service.ContactFilter{
		Search: f.Search.Value(), Name: stringFilter(f.Name), Title: stringFilter(f.Title), Email: f.Email.Value(),
		Phone: f.Phone.Value(), AccountIDs: accounts, OwnerIDs: owners, TeamID: team, Unowned: f.Unowned.Value(),
		CreatedAt: timeRange(f.CreatedAt), UpdatedAt: timeRange(f.UpdatedAt), Deleted: val(f.Deleted),
	}, err
}

// optionalID decodes a nullable ID argument into a pointer (nil when absent).
func optionalID(field, typ string, s *string) (*crm.ID, error) {
	if s == nil {
		return nil, nil
	}
	id, err := parseID(field, typ, *s)
	return &id, err
}

// recordTypes maps GraphQL record types to the names events use.
var recordTypes = map[model.RecordType]string{
	model.RecordTypeAccount: crm.TypeAccount, model.RecordTypeContact: crm.TypeContact,
	model.RecordTypeUser: crm.TypeUser, model.RecordTypeTeam: crm.TypeTeam,
	model.RecordTypeOrganization: crm.TypeOrganization, model.RecordTypeAPIKey: crm.TypeAPIKey,
	model.RecordTypePipeline: crm.TypePipeline, model.RecordTypeOpportunity: crm.TypeOpportunity,
	model.RecordTypeActivity: crm.TypeActivity, model.RecordTypeTask: crm.TypeTask,
	model.RecordTypeNotification: crm.TypeNotification, model.RecordTypeLead: crm.TypeLead,
}

func typeNames(ts []model.RecordType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = recordTypes[t]
	}
	return out
}

func recordTypeOf(name string) model.RecordType {
	for k, v := range recordTypes {
		if v == name {
			return k
		}
	}
	return ""
}

func eventConnection(events []crm.Event, info service.PageInfo, cursor func(crm.Event) string) *model.EventConnection {
	c := &model.EventConnection{Nodes: events, Edges: make([]model.EventEdge, len(events)), PageInfo: ptr(model.NewPageInfo(info))}
	for i := range events {
		c.Edges[i] = model.EventEdge{Cursor: cursor(events[i]), Node: &events[i]}
	}
	return c
}

// settingsNumbers maps the numeric settings of updateOrganizationSettings: omitted fields stay,
// null poolAfterDays turns the pool off, null elsewhere is rejected.
func settingsNumbers(in *service.SettingsUpdate, input model.UpdateOrganizationSettingsInput) (err error) {
	if in.StaleAfterDays, err = optCount("staleAfterDays", input.StaleAfterDays); err != nil {
		return err
	}
	if in.PoolAfterDays, err = optInt32("poolAfterDays", input.PoolAfterDays); err != nil {
		return err
	}
	if in.PoolClaimLimit, err = optCount("poolClaimLimit", input.PoolClaimLimit); err != nil {
		return err
	}
	if in.FirstContactHours, err = optCount("firstContactHours", input.FirstContactHours); err != nil {
		return err
	}
	in.QuoteFollowUpDays, err = optCount("quoteFollowUpDays", input.QuoteFollowUpDays)
	return err
}
