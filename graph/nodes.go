package graph

import (
	"context"

	"github.com/rapportcrm/rapport/graph/model"
	"github.com/rapportcrm/rapport/internal/crm"
)

// user loads an optional user reference through the request's loader.
func (r *Resolver) user(ctx context.Context, id crm.ID) (*crm.User, error) {
	if id == crm.NilID {
		return nil, nil
	}
	u, err := r.loadersFor(ctx).users.Load(ctx, id)
	return found(u, u.ID, err)
}

// account loads an optional account reference; an account the actor may not see is null.
func (r *Resolver) account(ctx context.Context, id crm.ID) (*crm.Account, error) {
	if id == crm.NilID {
		return nil, nil
	}
	a, err := r.loadersFor(ctx).accounts.Load(ctx, id)
	return found(a, a.ID, err)
}

// team loads an optional team reference.
func (r *Resolver) team(ctx context.Context, id crm.ID) (*crm.Team, error) {
	if id == crm.NilID {
		return nil, nil
	}
	t, err := r.loadersFor(ctx).teams.Load(ctx, id)
	return found(t, t.ID, err)
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
		c, lerr := r.loadersFor(ctx).contacts.Load(ctx, id)
		n, err = found(c, c.ID, lerr)
	case crm.TypeUser:
		n, err = r.user(ctx, id)
	case crm.TypeTeam:
		n, err = r.team(ctx, id)
	case crm.TypeAPIKey:
		n, err = r.svc.APIKey(ctx, a, id)
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
