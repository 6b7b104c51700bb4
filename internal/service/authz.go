package service

import (
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
)

// authorize checks that the actor holds permission p.
func authorize(a *crm.Actor, p access.Permission) error {
	if a == nil {
		return crm.Errorf(crm.EUNAUTHENTICATED, "Sign in first: send an Authorization: Bearer token.")
	}
	if !access.Allows(a, p) {
		who := string(a.Role)
		if a.Kind == crm.ActorAPIKey {
			who = "API key"
		}
		return crm.Errorf(crm.EFORBIDDEN, "Not allowed: this %s lacks the %q permission.", who, p)
	}
	return nil
}

// viewer returns the user whose visibility closure confines the actor's record access, or nil when
// the actor sees every record of the organization. Queries take it as their viewer_id argument.
func viewer(a *crm.Actor) *crm.ID {
	if access.Scope(a) == access.ScopeAll {
		return nil
	}
	id := a.UserID
	return &id
}
