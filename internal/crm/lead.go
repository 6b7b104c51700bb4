package crm

import (
	"encoding/json"
	"time"
)

// Record types of the lead lifecycle.
const (
	TypeLeadForm       = "LeadForm"
	TypeScoringRule    = "ScoringRule"
	TypeAssignmentRule = "AssignmentRule"
	TypeLeadImport     = "LeadImport"
)

// LeadStatus is where a lead stands in its lifecycle.
type LeadStatus string

// Lead statuses. The allowed transitions between them are rules/leads.Transitions.
const (
	LeadNew          LeadStatus = "new"
	LeadWorking      LeadStatus = "working"
	LeadNurturing    LeadStatus = "nurturing"
	LeadQualified    LeadStatus = "qualified"
	LeadDisqualified LeadStatus = "disqualified"
	LeadConverted    LeadStatus = "converted"
)

// LeadSource is the channel a lead (or one touch of it) came through.
type LeadSource string

// Lead sources.
const (
	SourceWebForm     LeadSource = "web_form"
	SourceAPI         LeadSource = "api"
	SourceImport      LeadSource = "import"
	SourceReferral    LeadSource = "referral"
	SourcePartner     LeadSource = "partner"
	SourceEvent       LeadSource = "event"
	SourceWebinar     LeadSource = "webinar"
	SourceTrial       LeadSource = "trial"
	SourceSocial      LeadSource = "social"
	SourceEmail       LeadSource = "email"
	SourceAdvertising LeadSource = "advertising"
	SourceOther       LeadSource = "other"
)

// LeadSources lists every lead source.
var LeadSources = []LeadSource{SourceWebForm, SourceAPI, SourceImport, SourceReferral, SourcePartner, SourceEvent,
	SourceWebinar, SourceTrial, SourceSocial, SourceEmail, SourceAdvertising, SourceOther}

// SLAState is where a lead's first-touch timer stands.
type SLAState string

// First-touch SLA states.
const (
	SLANone     SLAState = "none"     // not assigned yet
	SLARunning  SLAState = "running"  // assigned, nobody has called, e-mailed or met the lead yet
	SLAMet      SLAState = "met"      // contacted before the deadline
	SLABreached SLAState = "breached" // the deadline passed; owner and manager were notified
	SLALate     SLAState = "late"     // contacted, but after the deadline
)

// UTM holds the campaign-tracking parameters of a touch.
type UTM struct {
	Source   string `json:"source,omitempty"`
	Medium   string `json:"medium,omitempty"`
	Campaign string `json:"campaign,omitempty"`
	Term     string `json:"term,omitempty"`
	Content  string `json:"content,omitempty"`
}

// Lead is a person who showed interest and is not (yet) a contact: captured from a form, the API, an
// import or by hand, deduplicated on e-mail and phone, scored, routed and finally converted. Its
// JSON (the snapshot every lead event carries, decoded by leadChanged) leaves zero fields out: a new
// lead's snapshot is half the size, and decoding it gives the same Lead.
type Lead struct {
	ID               ID              `json:",omitzero"`
	OrgID            ID              `json:",omitzero"`
	Status           LeadStatus      `json:",omitzero"`
	StatusReason     string          `json:",omitzero"` // why it was disqualified
	Name             string          `json:",omitzero"` // display name, CJK kept as written
	Title            string          `json:",omitzero"`
	Company          string          `json:",omitzero"`
	Email            string          `json:",omitzero"` // lower case
	Phone            string          `json:",omitzero"` // E.164
	Website          string          `json:",omitzero"` // web domain of the company
	RegistrationCode string          `json:",omitzero"` // the company's registration code (e.g. USCC)
	Industry         string          `json:",omitzero"`
	CompanySize      *int32          `json:",omitzero"` // employees
	Country          string          `json:",omitzero"` // ISO 3166-1 alpha-2
	Region           string          `json:",omitzero"` // province or state
	City             string          `json:",omitzero"`
	Source           LeadSource      `json:",omitzero"` // of the first touch
	Campaign         string          `json:",omitzero"` // of the first touch
	UTM              UTM             `json:",omitzero"` // of the first touch
	OwnerID          ID              `json:",omitzero"`
	TeamID           ID              `json:",omitzero"`
	AssignedAt       *time.Time      `json:",omitzero"`
	ScoreTotal       int32           `json:",omitzero"`
	ScoreFit         int32           `json:",omitzero"`
	ScoreEngagement  int32           `json:",omitzero"`
	Grade            string          `json:",omitzero"` // A, B or C
	QualifiedAt      *time.Time      `json:",omitzero"`
	NurturedAt       *time.Time      `json:",omitzero"` // enrolled in the nurture track
	SLAState         SLAState        `json:",omitzero"`
	SLADueAt         *time.Time      `json:",omitzero"`
	ContactedAt      *time.Time      `json:",omitzero"` // the first call, e-mail or meeting logged on it
	Spam             bool            `json:",omitzero"`
	TouchCount       int32           `json:",omitzero"`
	FirstTouchAt     time.Time       `json:",omitzero"`
	LastTouchAt      time.Time       `json:",omitzero"`
	ConvertedAt      *time.Time      `json:",omitzero"`
	ContactID        ID              `json:",omitzero"` // set when converted (or when it was already a contact)
	AccountID        ID              `json:",omitzero"` // set when converted
	OpportunityID    ID              `json:",omitzero"` // set when converted with a deal
	MergedIntoID     ID              `json:",omitzero"`
	Custom           json.RawMessage `json:",omitzero"`
	CreatedAt        time.Time       `json:",omitzero"`
	UpdatedAt        time.Time       `json:",omitzero"`
	DeletedAt        *time.Time      `json:",omitzero"`
	Version          int32           `json:",omitzero"`
}

// Touch is one arrival of a person: the first capture of a lead, or a later submission recognised
// as the same person. The raw payload is kept for audit.
type Touch struct {
	ID         ID
	OrgID      ID
	LeadID     ID
	ContactID  ID // set when the person had already been converted
	Source     LeadSource
	Campaign   string
	UTM        UTM
	FormID     ID
	ImportID   ID
	Payload    json.RawMessage
	ReceivedAt time.Time
}

// LeadSettings are the organization's lead rules: scoring thresholds and grade bands, the engagement
// decay window and the first-touch SLA.
type LeadSettings struct {
	QualifyAt         int32 `json:"qualifyAt"`         // score at which a lead becomes sales-qualified
	NurtureAt         int32 `json:"nurtureAt"`         // score at which a lead enters the nurture track
	GradeA            int32 `json:"gradeA"`            // lowest score graded A
	GradeB            int32 `json:"gradeB"`            // lowest score graded B; below is C
	DecayDays         int32 `json:"decayDays"`         // behaviour points older than this stop counting
	DemoteOnDrop      bool  `json:"demoteOnDrop"`      // lower the status when the score falls below a threshold
	FirstTouchMinutes int32 `json:"firstTouchMinutes"` // working minutes from assignment to the first contact
	ReassignMinutes   int32 `json:"reassignMinutes"`   // further working minutes until a breached lead is reassigned
}

// DefaultLeadSettings are the lead rules of a new organization (DOMAIN.md sections 2 and 3).
func DefaultLeadSettings() LeadSettings {
	return LeadSettings{QualifyAt: 80, NurtureAt: 40, GradeA: 80, GradeB: 40, DecayDays: 90,
		FirstTouchMinutes: 300, ReassignMinutes: 300}
}
