// Package access decides who may do what in Rapport and which records they see. Services ask it
// before every read and write; nothing else decides access, so that the rules are written, reviewed
// and tested in one place. It is pure: it reads the actor, users and teams it is given and nothing
// else.
package access

import (
	"slices"
	"strings"

	"github.com/rapportcrm/rapport/internal/crm"
)

// Permission is the right to do one kind of thing. Users get permissions from their role; API keys
// are granted some of them as scopes, spelled the same way.
type Permission string

// The permissions. "x:read" lets the holder list and read records of kind x, "x:write" create, change
// and delete them.
const (
	AccountsRead    Permission = "accounts:read"
	AccountsWrite   Permission = "accounts:write"
	ContactsRead    Permission = "contacts:read"
	ContactsWrite   Permission = "contacts:write"
	LeadsRead       Permission = "leads:read"
	LeadsWrite      Permission = "leads:write"
	DealsRead       Permission = "opportunities:read"
	DealsWrite      Permission = "opportunities:write"
	ActivitiesRead  Permission = "activities:read"  // activities and tasks
	ActivitiesWrite Permission = "activities:write" // log activities, create and change tasks
	PII             Permission = "pii"              // see contacts' phones and e-mails unmasked
	ChangesRead     Permission = "changes:read"     // read the incremental change feed
	AuditRead       Permission = "audit:read"       // read a record's history in the audit trail
	AggregatesRead  Permission = "aggregates:read"  // read aggregate figures (counts, sums), not records
	SettingsWrite   Permission = "settings:write"   // change the organization's settings
	UsersWrite      Permission = "users:write"      // invite, change and deactivate users; manage teams
	APIKeysManage   Permission = "apikeys:manage"   // create, list and revoke API keys
)

// Scopes are the permissions an API key may be granted, in the order a UI should offer them. Keys
// never administer the organization (settings, users, other keys), so that a leaked key cannot
// escalate to an administrator.
var Scopes = []Permission{
	AccountsRead, AccountsWrite, ContactsRead, ContactsWrite, LeadsRead, LeadsWrite,
	DealsRead, DealsWrite, ActivitiesRead, ActivitiesWrite, PII, ChangesRead, AuditRead, AggregatesRead,
}

// ParseScope parses the name of an API-key scope, as sent when a key is created. Surrounding space
// and upper case are forgiven; anything but one of Scopes is an EINVALID error on "scopes" that
// lists the valid ones.
func ParseScope(s string) (Permission, error) {
	p := Permission(strings.ToLower(strings.TrimSpace(s)))
	if slices.Contains(Scopes, p) {
		return p, nil
	}
	valid := make([]string, len(Scopes))
	for i, sc := range Scopes {
		valid[i] = string(sc)
	}
	switch p {
	case SettingsWrite, UsersWrite, APIKeysManage:
		return "", crm.Invalid("scopes", "The %q permission cannot be granted to an API key: send scopes among %s.", p, strings.Join(valid, ", "))
	}
	return "", crm.Invalid("scopes", "%q is not a scope: send scopes among %s.", s, strings.Join(valid, ", "))
}

// Allows reports whether the actor holds permission p. A nil actor holds none; the system actor
// holds all. An API key holds the scopes it was granted (only those in Scopes count, whatever is
// stored), where "x:write" implies "x:read". A user holds the permissions of their role:
//
//   - admin: all of them.
//   - sales_manager: accounts, contacts, leads, opportunities and activities (read and write), pii,
//     audit:read, changes:read and aggregates:read.
//   - sales_rep: as sales_manager, without aggregates:read.
//   - support_agent: accounts:read, contacts:read, audit:read and activities (they log calls and
//     follow up with tasks); no pii, so phones and e-mails are masked.
//   - analyst: aggregates:read only; analysts read figures, never individual records.
func Allows(a *crm.Actor, p Permission) bool {
	if a == nil {
		return false
	}
	switch a.Kind {
	case crm.ActorSystem:
		return true
	case crm.ActorAPIKey:
		return keyAllows(a.Scopes, p)
	case crm.ActorUser:
		return roleAllows(a.Role, p)
	}
	return false
}

func keyAllows(scopes []string, p Permission) bool {
	if !slices.Contains(Scopes, p) {
		return false
	}
	write, isRead := strings.CutSuffix(string(p), ":read")
	if isRead {
		write += ":write"
	}
	for _, s := range scopes {
		if Permission(s) == p || isRead && s == write {
			return true
		}
	}
	return false
}

func roleAllows(r crm.Role, p Permission) bool {
	switch r {
	case crm.RoleAdmin:
		return true
	case crm.RoleSalesManager:
		return p == AggregatesRead || salesAllows(p)
	case crm.RoleSalesRep:
		return salesAllows(p)
	case crm.RoleSupportAgent:
		return p == AccountsRead || p == ContactsRead || p == AuditRead || p == ActivitiesRead || p == ActivitiesWrite
	case crm.RoleAnalyst:
		return p == AggregatesRead
	}
	return false
}

func salesAllows(p Permission) bool {
	switch p {
	case AccountsRead, AccountsWrite, ContactsRead, ContactsWrite, LeadsRead, LeadsWrite,
		DealsRead, DealsWrite, ActivitiesRead, ActivitiesWrite, PII, AuditRead, ChangesRead:
		return true
	}
	return false
}

// ConfiguresLeadForms reports whether the actor may create, change, delete and rotate public lead
// forms: holders of leads:write except sales reps. A form publishes an endpoint that writes leads on
// the organization's behalf without a login, so who may open one is an administrator's or a
// manager's call (and an integration's, through an API key with leads:write), not every rep's.
func ConfiguresLeadForms(a *crm.Actor) bool {
	if !Allows(a, LeadsWrite) {
		return false
	}
	return a.Kind != crm.ActorUser || a.Role != crm.RoleSalesRep
}
