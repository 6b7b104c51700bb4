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
// import or by hand, deduplicated on e-mail and phone, scored, routed and finally converted.
type Lead struct {
	ID               ID
	OrgID            ID
	Status           LeadStatus
	StatusReason     string // why it was disqualified
	Name             string // display name, CJK kept as written
	Title            string
	Company          string
	Email            string // lower case
	Phone            string // E.164
	Website          string // web domain of the company
	RegistrationCode string // the company's registration code (e.g. USCC)
	Industry         string
	CompanySize      *int32 // employees
	Country          string // ISO 3166-1 alpha-2
	Region           string // province or state
	City             string
	Source           LeadSource // of the first touch
	Campaign         string     // of the first touch
	UTM              UTM        // of the first touch
	OwnerID          ID
	TeamID           ID
	AssignedAt       *time.Time
	ScoreTotal       int32
	ScoreFit         int32
	ScoreEngagement  int32
	Grade            string // A, B or C
	QualifiedAt      *time.Time
	NurturedAt       *time.Time // enrolled in the nurture track
	SLAState         SLAState
	SLADueAt         *time.Time
	ContactedAt      *time.Time // the first call, e-mail or meeting logged on it
	Spam             bool
	TouchCount       int32
	FirstTouchAt     time.Time
	LastTouchAt      time.Time
	ConvertedAt      *time.Time
	ContactID        ID // set when converted (or when it was already a contact)
	AccountID        ID // set when converted
	OpportunityID    ID // set when converted with a deal
	MergedIntoID     ID
	Custom           json.RawMessage
	CreatedAt        time.Time
	UpdatedAt        time.Time
	DeletedAt        *time.Time
	Version          int32
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
