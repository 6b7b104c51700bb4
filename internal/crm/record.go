package crm

import (
	"encoding/json"
	"time"
)

// Record types, as named in events, global IDs and the change feed.
const (
	TypeOrganization = "Organization"
	TypeUser         = "User"
	TypeTeam         = "Team"
	TypeAPIKey       = "ApiKey"
	TypeAccount      = "Account"
	TypeContact      = "Contact"
)

// Account is a company the organization sells to or serves.
type Account struct {
	ID               ID
	OrgID            ID
	Name             string
	RegistrationCode string // e.g. the 18-character unified social credit code; unique per organization
	Domain           string // web domain, lower case, without scheme or www.
	Industry         string
	Employees        *int32
	Region           string // province or state
	Country          string // ISO 3166-1 alpha-2
	OwnerID          ID     // NilID when the account is in the shared pool
	Custom           json.RawMessage
	MergedIntoID     ID // set when the account was merged into another
	CreatedAt        time.Time
	UpdatedAt        time.Time
	DeletedAt        *time.Time
	Version          int32
}

// Consent is a contact's answer to being reached on one channel.
type Consent string

// Consent states. Outbound messages honour only ConsentGranted.
const (
	ConsentUnknown   Consent = "unknown"
	ConsentGranted   Consent = "granted"
	ConsentWithdrawn Consent = "withdrawn"
)

// Contact is a person, usually working at an account.
type Contact struct {
	ID           ID
	OrgID        ID
	FirstName    string
	LastName     string
	Name         string // display name: 王小明 for CJK names, Wei Zhang otherwise
	Title        string
	Emails       []string // lower case; the first is the primary
	Phones       []string // E.164; the first is the primary
	AccountID    ID
	OwnerID      ID
	EmailConsent Consent
	SMSConsent   Consent
	PhoneConsent Consent
	Custom       json.RawMessage
	MergedIntoID ID
	CreatedAt    time.Time
	UpdatedAt    time.Time
	DeletedAt    *time.Time
	Version      int32
}

// Event is one entry of the organization's event log: a state change, who made it, and the fields
// it changed. Seq is the per-organization sequence, assigned once the event is published; it is 0
// until then.
type Event struct {
	ID         ID
	OrgID      ID
	Seq        int64
	Type       string // e.g. "account.created"
	RecordType string
	RecordID   ID
	ActorKind  ActorKind
	ActorID    ID
	OwnerIDs   []ID // owners of the record before and after the change, for visibility filtering
	Changes    []FieldChange
	OccurredAt time.Time
	// ContainerID is the record the event's record belongs to in live views (an opportunity's
	// pipeline); NilID when none.
	ContainerID ID
	// Snapshot is the record's state after the change, for live views that update without reading
	// the record again; nil for record types that do not carry one.
	Snapshot json.RawMessage
}

// FieldChange is one changed field with its value before and after, as JSON. A created record has
// only After values; a deleted one only Before values.
type FieldChange struct {
	Field  string          `json:"field"`
	Before json.RawMessage `json:"before,omitempty"`
	After  json.RawMessage `json:"after,omitempty"`
}
