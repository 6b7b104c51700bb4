package crm

import "time"

// Organization is a tenant. Nothing of one organization is ever visible to another.
type Organization struct {
	ID        ID
	Slug      string
	Name      string
	Settings  Settings
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int32
}

// Visibility says which records a sales rep sees besides their own.
type Visibility string

// Record-visibility defaults an organization can choose.
const (
	VisibilityOwn  Visibility = "own"  // reps see the records they own
	VisibilityTeam Visibility = "team" // reps also see their team mates' records
)

// Settings are the per-organization defaults that rules read. Every number DOMAIN.md gives is a
// default of such a setting, never a constant in code.
type Settings struct {
	TimeZone           string // IANA name, e.g. Asia/Shanghai
	DefaultCurrency    string // ISO 4217, e.g. CNY
	DefaultPhoneRegion string // ISO 3166-1 alpha-2, e.g. CN, used to read national phone numbers
	RecordVisibility   Visibility
	WorkingHours       WorkingHours
	StaleAfterDays     int32  // an open deal without activity this long is stale (stages may override)
	PoolAfterDays      *int32 // an owned account without follow-up this long returns to the pool; nil: never
	PoolClaimLimit     int32  // accounts one user may claim from the pool per 24 hours
	FirstContactHours  int32  // until the automatic first-contact task of an assigned deal is due
	QuoteFollowUpDays  int32  // after a quote is sent, until its follow-up task is due
	Leads              LeadSettings
}

// Location returns the organization's time zone (validated when the settings were saved), or UTC
// should the zone database no longer know it.
func (s Settings) Location() *time.Location {
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// WorkingHours is the organization's working calendar, in its time zone.
type WorkingHours struct {
	Days     []time.Weekday `json:"days"`     // working week days
	Start    string         `json:"start"`    // "09:00"
	End      string         `json:"end"`      // "18:00"
	Holidays []string       `json:"holidays"` // dates "2026-10-01" that are not worked
}

// DefaultSettings are the settings of a new organization.
func DefaultSettings() Settings {
	return Settings{
		TimeZone:           "Asia/Shanghai",
		DefaultCurrency:    "CNY",
		DefaultPhoneRegion: "CN",
		RecordVisibility:   VisibilityOwn,
		WorkingHours: WorkingHours{
			Days:  []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
			Start: "09:00",
			End:   "18:00",
		},
		StaleAfterDays:    3,
		PoolClaimLimit:    20,
		FirstContactHours: 24,
		QuoteFollowUpDays: 3,
		Leads:             DefaultLeadSettings(),
	}
}

// User is a person who signs in to an organization.
type User struct {
	ID        ID
	OrgID     ID
	Email     string
	Name      string
	Role      Role
	TeamID    ID // NilID when in no team
	Active    bool
	Away      bool // receives no new leads from the assignment rules
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int32
}

// Team groups users. Teams form a tree through ParentID; a team's manager sees the records of every
// user in the team and in the teams below it.
type Team struct {
	ID        ID
	OrgID     ID
	Name      string
	ParentID  ID // NilID for a top-level team
	ManagerID ID // NilID when nobody manages it
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int32
}

// APIKey is a credential for partners and tools: a public prefix plus a secret that is shown once
// and stored only as a hash.
type APIKey struct {
	ID         ID
	OrgID      ID
	Name       string
	Prefix     string
	Scopes     []string
	CreatedBy  ID
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}
