package graph

import (
	"context"

	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/scoring"
	"github.com/rapportcrm/rapport/internal/service"
)

func userID(u crm.User) crm.ID       { return u.ID }
func teamID(t crm.Team) crm.ID       { return t.ID }
func accountID(a crm.Account) crm.ID { return a.ID }
func contactID(c crm.Contact) crm.ID { return c.ID }
func apiKeyID(k crm.APIKey) crm.ID   { return k.ID }

// ref resolves one reference through the response's cache (filled ahead by list resolvers); an
// uncached one is fetched. Missing or invisible records are nil.
func ref[T any](ctx context.Context, id crm.ID, t func(*cache) *table[T],
	fetch func(context.Context, *crm.Actor, []crm.ID) ([]T, error), idOf func(T) crm.ID,
) (*T, error) {
	if id == crm.NilID {
		return nil, nil
	}
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	table := t(cacheOf(ctx))
	if rec, ok := table.cached(id); ok {
		return rec, nil
	}
	got, err := table.get(ctx, a, []crm.ID{id}, fetch, idOf)
	if err != nil {
		return nil, err
	}
	return got[id], nil
}

func (r *Resolver) user(ctx context.Context, id crm.ID) (*crm.User, error) {
	return ref(ctx, id, func(c *cache) *table[crm.User] { return &c.users }, r.svc.Users, userID)
}

func (r *Resolver) team(ctx context.Context, id crm.ID) (*crm.Team, error) {
	return ref(ctx, id, func(c *cache) *table[crm.Team] { return &c.teams }, r.svc.Teams, teamID)
}

func (r *Resolver) account(ctx context.Context, id crm.ID) (*crm.Account, error) {
	return ref(ctx, id, func(c *cache) *table[crm.Account] { return &c.accounts }, r.svc.Accounts, accountID)
}

func (r *Resolver) contact(ctx context.Context, id crm.ID) (*crm.Contact, error) {
	return ref(ctx, id, func(c *cache) *table[crm.Contact] { return &c.contacts }, r.svc.Contacts, contactID)
}

func (r *Resolver) apiKey(ctx context.Context, id crm.ID) (*crm.APIKey, error) {
	return ref(ctx, id, func(c *cache) *table[crm.APIKey] { return &c.apiKeys }, r.svc.APIKeys, apiKeyID)
}

// one fetches a record without a response cache table through a batch lookup; nil when missing or
// invisible.
func one[T any](ctx context.Context, id crm.ID, fetch func(context.Context, *crm.Actor, []crm.ID) ([]T, error), idOf func(T) crm.ID) (*T, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	got, err := fetch(ctx, a, []crm.ID{id})
	if err != nil || len(got) == 0 || idOf(got[0]) == crm.NilID {
		return nil, err
	}
	return &got[0], nil
}

// prefetchNodes fetches the records of several global IDs with one call per record type.
func (r *Resolver) prefetchNodes(ctx context.Context, a *crm.Actor, ids map[string][]crm.ID) error {
	c := cacheOf(ctx)
	var err error
	for typ, list := range ids {
		switch typ {
		case crm.TypeAccount:
			_, err = c.accounts.get(ctx, a, list, r.svc.Accounts, accountID)
		case crm.TypeContact:
			_, err = c.contacts.get(ctx, a, list, r.svc.Contacts, contactID)
		case crm.TypeUser:
			_, err = c.users.get(ctx, a, list, r.svc.Users, userID)
		case crm.TypeTeam:
			_, err = c.teams.get(ctx, a, list, r.svc.Teams, teamID)
		case crm.TypeOpportunity:
			_, err = c.opportunities.get(ctx, a, list, r.svc.Opportunities, opportunityID)
		case crm.TypePipeline:
			_, err = c.pipelines.get(ctx, a, list, r.svc.Pipelines, pipelineID)
		case crm.TypeActivity:
			_, err = c.followups.activities.get(ctx, a, list, r.svc.Activities, activityID)
		case crm.TypeTask:
			_, err = c.followups.tasks.get(ctx, a, list, r.svc.Tasks, taskID)
		case crm.TypeNotification:
			_, err = c.followups.notifications.get(ctx, a, list, r.svc.Notifications, notificationID)
		case crm.TypeLead:
			_, err = c.leads.get(ctx, a, list, r.svc.Leads, leadID)
		}
		if err != nil && crm.ErrorCode(err) != crm.EFORBIDDEN {
			return err
		}
	}
	return nil
}

// node fetches any record by type and ID for node(id:), nodes(ids:) and Event.record.
func (r *Resolver) node(ctx context.Context, typ string, id crm.ID) (model.Node, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	var n model.Node
	switch typ {
	case crm.TypeAccount:
		n, err = r.account(ctx, id)
	case crm.TypeContact:
		n, err = r.contact(ctx, id)
	case crm.TypeUser:
		n, err = r.user(ctx, id)
	case crm.TypeTeam:
		n, err = r.team(ctx, id)
	case crm.TypeAPIKey:
		n, err = r.apiKey(ctx, id)
	case crm.TypeOpportunity:
		n, err = r.opportunity(ctx, id)
	case crm.TypePipeline:
		n, err = r.pipeline(ctx, id)
	case crm.TypeStage:
		n, err = r.stage(ctx, id)
	case crm.TypeActivity:
		n, err = r.activity(ctx, id)
	case crm.TypeTask:
		n, err = r.task(ctx, id)
	case crm.TypeNotification:
		n, err = r.notification(ctx, id)
	case crm.TypeLead:
		n, err = r.lead(ctx, id)
	case crm.TypeScoringRule:
		n, err = one(ctx, id, r.svc.ScoringRules, func(x scoring.Rule) crm.ID { return x.ID })
	case service.TypeScoringRun:
		var run service.ScoringRun
		if run, err = r.svc.ScoringRun(ctx, a, id); crm.ErrorCode(err) == crm.ENOTFOUND {
			return nil, nil
		}
		n = &run
	case crm.TypeLeadForm:
		n, err = r.leadForm(ctx, id)
	case crm.TypeOrganization:
		if id != a.OrgID {
			return nil, nil
		}
		org, oerr := r.svc.Organization(ctx, a)
		n, err = &org, oerr
	default:
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if isNilRecord(n) {
		return nil, nil
	}
	return n, nil
}

// isNilRecord reports a typed nil pointer inside the Node interface.
func isNilRecord(n model.Node) bool {
	switch v := n.(type) {
	case *crm.Account:
		return v == nil
	case *crm.Contact:
		return v == nil
	case *crm.User:
		return v == nil
	case *crm.Team:
		return v == nil
	case *crm.APIKey:
		return v == nil
	case *crm.Opportunity:
		return v == nil
	case *crm.Pipeline:
		return v == nil
	case *crm.Stage:
		return v == nil
	case *crm.Activity:
		return v == nil
	case *crm.Task:
		return v == nil
	case *crm.Notification:
		return v == nil
	case *crm.Lead:
		return v == nil
	case *crm.LeadForm:
		return v == nil
	case *scoring.Rule:
		return v == nil
	}
	return n == nil
}

// accountChange runs a mutation on one account named by a global ID.
func (r *mutationResolver) accountChange(ctx context.Context, gid string, do func(*crm.Actor, crm.ID) (crm.Account, error)) (*model.AccountPayload, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("id", crm.TypeAccount, gid)
	if err != nil {
		return nil, err
	}
	acct, err := do(a, id)
	if err != nil {
		return nil, err
	}
	return &model.AccountPayload{Account: &acct}, nil
}

// contactChange runs a mutation on one contact named by a global ID.
func (r *mutationResolver) contactChange(ctx context.Context, gid string, do func(*crm.Actor, crm.ID) (crm.Contact, error)) (*model.ContactPayload, error) {
	a, err := actor(ctx)
	if err != nil {
		return nil, err
	}
	id, err := parseID("id", crm.TypeContact, gid)
	if err != nil {
		return nil, err
	}
	c, err := do(a, id)
	if err != nil {
		return nil, err
	}
	return &model.ContactPayload{Contact: &c}, nil
}

// deref returns *p, or T's zero value for nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
