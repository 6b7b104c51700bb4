package crm

import "context"

// Role is what a user does in the organization; it decides permissions and record visibility.
type Role string

// The roles of an organization's users.
const (
	RoleAdmin        Role = "admin"
	RoleSalesManager Role = "sales_manager"
	RoleSalesRep     Role = "sales_rep"
	RoleSupportAgent Role = "support_agent"
	RoleAnalyst      Role = "analyst"
)

// Roles lists every role, in the order a UI should offer them.
var Roles = []Role{RoleAdmin, RoleSalesManager, RoleSalesRep, RoleSupportAgent, RoleAnalyst}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool {
	for _, v := range Roles {
		if r == v {
			return true
		}
	}
	return false
}

// ActorKind says what kind of principal acts.
type ActorKind string

// The kinds of principal.
const (
	ActorUser   ActorKind = "user"    // a person signed in with a token
	ActorAPIKey ActorKind = "api_key" // a partner or tool using an API key
	ActorSystem ActorKind = "system"  // Rapport itself: jobs, migrations, operator commands
)

// Actor is the principal on whose behalf a call runs. Authentication builds it at the edge; services
// decide everything else (permissions, visibility, masking) from it.
type Actor struct {
	Kind     ActorKind
	OrgID    ID
	UserID   ID       // set for ActorUser
	APIKeyID ID       // set for ActorAPIKey
	Role     Role     // set for ActorUser
	Scopes   []string // set for ActorAPIKey
}

// ID returns the identifier recorded as "who" in events: the user or the API key.
func (a *Actor) ID() ID {
	if a.Kind == ActorAPIKey {
		return a.APIKeyID
	}
	return a.UserID
}

// SystemActor returns the actor that jobs and operator commands use inside one organization.
func SystemActor(orgID ID) *Actor { return &Actor{Kind: ActorSystem, OrgID: orgID} }

type actorKey struct{}

// NewContext returns a context carrying the actor.
func NewContext(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// ActorFrom returns the actor of the context, or nil when the caller is anonymous.
func ActorFrom(ctx context.Context) *Actor {
	a, _ := ctx.Value(actorKey{}).(*Actor)
	return a
}
