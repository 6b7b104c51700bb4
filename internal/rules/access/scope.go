package access

import "github.com/rapportcrm/rapport/internal/crm"

// RecordScope says which records of the organization an actor sees.
type RecordScope int

// The record scopes. The zero value sees nothing, so a forgotten case fails closed.
const (
	ScopeNone    RecordScope = iota // no individual records (analysts read aggregates only)
	ScopeVisible                    // the records whose owner is in the actor's visibility closure, and unowned ones
	ScopeAll                        // every record of the organization
)

// Scope returns the records the actor sees: the system actor, API keys, admins and support agents
// see all; sales managers and reps see those their visibility closure (Closure) reaches plus the
// shared pool; analysts, unknown roles and a nil actor see none.
func Scope(a *crm.Actor) RecordScope {
	if a == nil {
		return ScopeNone
	}
	switch a.Kind {
	case crm.ActorSystem, crm.ActorAPIKey:
		return ScopeAll
	case crm.ActorUser:
		switch a.Role {
		case crm.RoleAdmin, crm.RoleSupportAgent:
			return ScopeAll
		case crm.RoleSalesManager, crm.RoleSalesRep:
			return ScopeVisible
		}
	}
	return ScopeNone
}

// Visible reports whether the actor sees a record with the given owner, for checks made in memory
// (the database filters lists through the stored closure instead). visibleOwners is the set of
// owners the actor's closure reaches. Unowned records (owner crm.NilID) are in the shared pool,
// which every sales user sees; a user always sees their own records.
func Visible(a *crm.Actor, owner crm.ID, visibleOwners map[crm.ID]struct{}) bool {
	switch Scope(a) {
	case ScopeAll:
		return true
	case ScopeVisible:
		if owner == crm.NilID || owner == a.UserID {
			return true
		}
		_, ok := visibleOwners[owner]
		return ok
	}
	return false
}
