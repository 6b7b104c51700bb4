package access

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

func TestScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		actor *crm.Actor
		want  RecordScope
	}{
		{name: "nil", actor: nil, want: ScopeNone},
		{name: "system", actor: crm.SystemActor(id(9)), want: ScopeAll},
		{name: "API key", actor: key("contacts:read"), want: ScopeAll},
		{name: "admin", actor: user(crm.RoleAdmin), want: ScopeAll},
		{name: "support agent", actor: user(crm.RoleSupportAgent), want: ScopeAll},
		{name: "sales manager", actor: user(crm.RoleSalesManager), want: ScopeVisible},
		{name: "sales rep", actor: user(crm.RoleSalesRep), want: ScopeVisible},
		{name: "analyst", actor: user(crm.RoleAnalyst), want: ScopeNone},
		{name: "unknown role", actor: user("intern"), want: ScopeNone},
		{name: "unknown kind", actor: &crm.Actor{Kind: "robot"}, want: ScopeNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Scope(tt.actor))
		})
	}
}

func TestVisible(t *testing.T) {
	t.Parallel()
	rep := user(crm.RoleSalesRep) // UserID id(1)
	mates := map[crm.ID]struct{}{id(1): {}, id(3): {}}
	tests := []struct {
		name    string
		actor   *crm.Actor
		owner   crm.ID
		visible map[crm.ID]struct{}
		want    bool
	}{
		{name: "admin sees any owner", actor: user(crm.RoleAdmin), owner: id(7), want: true},
		{name: "API key sees any owner", actor: key("accounts:read"), owner: id(7), want: true},
		{name: "rep sees a closure owner", actor: rep, owner: id(3), visible: mates, want: true},
		{name: "rep does not see others", actor: rep, owner: id(7), visible: mates, want: false},
		{name: "rep sees the shared pool", actor: rep, owner: crm.NilID, visible: mates, want: true},
		{name: "rep sees own records with an empty closure", actor: rep, owner: id(1), visible: nil, want: true},
		{name: "analyst sees nothing", actor: user(crm.RoleAnalyst), owner: crm.NilID, want: false},
		{name: "nil actor sees nothing", actor: nil, owner: crm.NilID, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Visible(tt.actor, tt.owner, tt.visible))
		})
	}
}
