package access

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
)

var allPermissions = []Permission{
	AccountsRead, AccountsWrite, ContactsRead, ContactsWrite, LeadsRead, LeadsWrite, DealsRead, DealsWrite,
	ActivitiesRead, ActivitiesWrite, PII, ChangesRead, AuditRead, AggregatesRead, SettingsWrite, UsersWrite,
	APIKeysManage,
}

func user(r crm.Role) *crm.Actor { return &crm.Actor{Kind: crm.ActorUser, UserID: id(1), Role: r} }

func key(scopes ...string) *crm.Actor {
	return &crm.Actor{Kind: crm.ActorAPIKey, APIKeyID: id(2), Scopes: scopes}
}

func TestAllowsByRole(t *testing.T) {
	t.Parallel()
	sales := []Permission{AccountsRead, AccountsWrite, ContactsRead, ContactsWrite, LeadsRead, LeadsWrite,
		DealsRead, DealsWrite, ActivitiesRead, ActivitiesWrite, PII, ChangesRead, AuditRead}
	tests := []struct {
		name  string
		actor *crm.Actor
		want  []Permission
	}{
		{name: "nil actor holds nothing", actor: nil, want: nil},
		{name: "system holds everything", actor: crm.SystemActor(id(9)), want: allPermissions},
		{name: "admin holds everything", actor: user(crm.RoleAdmin), want: allPermissions},
		{name: "sales manager", actor: user(crm.RoleSalesManager), want: append(sales[:len(sales):len(sales)], AggregatesRead)},
		{name: "sales rep", actor: user(crm.RoleSalesRep), want: sales},
		{name: "support agent reads without pii", actor: user(crm.RoleSupportAgent), want: []Permission{AccountsRead, ContactsRead, AuditRead, ActivitiesRead, ActivitiesWrite}},
		{name: "analyst reads aggregates only", actor: user(crm.RoleAnalyst), want: []Permission{AggregatesRead}},
		{name: "unknown role holds nothing", actor: user("owner"), want: nil},
		{name: "unknown actor kind holds nothing", actor: &crm.Actor{Kind: "robot", Role: crm.RoleAdmin}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []Permission
			for _, p := range allPermissions {
				if Allows(tt.actor, p) {
					got = append(got, p)
				}
			}
			require.ElementsMatch(t, tt.want, got)
		})
	}
}

func TestAllowsAPIKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		scopes []string
		p      Permission
		want   bool
	}{
		{name: "granted scope", scopes: []string{"contacts:read"}, p: ContactsRead, want: true},
		{name: "other scope", scopes: []string{"contacts:read"}, p: AccountsRead, want: false},
		{name: "read does not imply write", scopes: []string{"contacts:read"}, p: ContactsWrite, want: false},
		{name: "write implies read", scopes: []string{"contacts:write"}, p: ContactsRead, want: true},
		{name: "write implies read of its own kind only", scopes: []string{"contacts:write"}, p: AccountsRead, want: false},
		{name: "leads write implies leads read", scopes: []string{"leads:write"}, p: LeadsRead, want: true},
		{name: "pii is granted explicitly", scopes: []string{"pii"}, p: PII, want: true},
		{name: "writes do not imply pii", scopes: []string{"contacts:write"}, p: PII, want: false},
		{name: "change feed", scopes: []string{"changes:read", "aggregates:read"}, p: ChangesRead, want: true},
		{name: "no scopes", scopes: nil, p: AccountsRead, want: false},
		{name: "admin permission stored on a key is ignored", scopes: []string{"settings:write"}, p: SettingsWrite, want: false},
		{name: "users:write stored on a key is ignored", scopes: []string{"users:write"}, p: UsersWrite, want: false},
		{name: "apikeys:manage stored on a key is ignored", scopes: []string{"apikeys:manage"}, p: APIKeysManage, want: false},
		{name: "scopes are matched exactly", scopes: []string{"Contacts:Read"}, p: ContactsRead, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, Allows(key(tt.scopes...), tt.p))
		})
	}
}

func TestParseScope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Permission
		err  string
	}{
		{in: "contacts:read", want: ContactsRead},
		{in: " Accounts:Write ", want: AccountsWrite},
		{in: "pii", want: PII},
		{in: "aggregates:read", want: AggregatesRead},
		{in: "settings:write", err: `"settings:write" permission cannot be granted to an API key`},
		{in: "apikeys:manage", err: "cannot be granted"},
		{in: "contacts", err: `"contacts" is not a scope: send scopes among accounts:read, accounts:write, contacts:read`},
		{in: "", err: "is not a scope"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseScope(tt.in)
			if tt.err != "" {
				var e *crm.Error
				require.True(t, errors.As(err, &e))
				require.Equal(t, crm.EINVALID, e.Code)
				require.Equal(t, "scopes", e.Field)
				require.Contains(t, e.Message, tt.err)
				require.Contains(t, e.Message, "aggregates:read")
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestScopesExcludeAdministration(t *testing.T) {
	t.Parallel()
	require.NotContains(t, Scopes, SettingsWrite)
	require.NotContains(t, Scopes, UsersWrite)
	require.NotContains(t, Scopes, APIKeysManage)
	require.Len(t, Scopes, len(allPermissions)-3)
	for _, p := range Scopes {
		got, err := ParseScope(string(p))
		require.NoError(t, err)
		require.Equal(t, p, got)
		require.True(t, Allows(key(string(p)), p))
	}
}

func TestConfiguresLeadForms(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		actor *crm.Actor
		want  bool
	}{
		{name: "nil actor", actor: nil, want: false},
		{name: "system", actor: crm.SystemActor(id(9)), want: true},
		{name: "admin", actor: user(crm.RoleAdmin), want: true},
		{name: "sales manager", actor: user(crm.RoleSalesManager), want: true},
		{name: "sales rep writes leads but opens no forms", actor: user(crm.RoleSalesRep), want: false},
		{name: "support agent", actor: user(crm.RoleSupportAgent), want: false},
		{name: "analyst", actor: user(crm.RoleAnalyst), want: false},
		{name: "key with leads:write", actor: key("leads:write"), want: true},
		{name: "key with leads:read", actor: key("leads:read"), want: false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, ConfiguresLeadForms(tt.actor), tt.name)
	}
}
