package crm

import (
	"encoding/json"
	"math"
	"time"

	"github.com/shopspring/decimal"
)

// Record types of selling.
const (
	TypePipeline     = "Pipeline"
	TypeStage        = "Stage"
	TypeOpportunity  = "Opportunity"
	TypeActivity     = "Activity"
	TypeTask         = "Task"
	TypeNotification = "Notification"
	TypeLead         = "Lead"
)

// ForecastCategory is how a deal counts in the forecast.
type ForecastCategory string

// Forecast categories, from least to most certain; omitted deals count nowhere.
const (
	CategoryPipeline  ForecastCategory = "pipeline"
	CategoryBestCase  ForecastCategory = "best_case"
	CategoryCommit    ForecastCategory = "commit"
	CategoryClosedWon ForecastCategory = "closed_won"
	CategoryOmitted   ForecastCategory = "omitted"
)

// Pipeline is an ordered set of stages deals move through.
type Pipeline struct {
	ID        ID
	OrgID     ID
	Name      string
	Position  int32
	IsDefault bool
	Stages    []Stage // in order
	CreatedAt time.Time
	UpdatedAt time.Time
	Version   int32
}

// Stage is one step of a pipeline.
type Stage struct {
	ID               ID
	PipelineID       ID
	Name             string
	Position         int32
	Probability      int32 // percent, the default of deals entering the stage
	ForecastCategory ForecastCategory
	Closed           bool
	Won              bool
	StaleAfterDays   *int32 // nil: the organization's setting; 0: never stale
	EntryCriteria    []EntryCriterion
	DeletedAt        *time.Time
}

// Lost reports a closed stage that is not won.
func (s Stage) Lost() bool { return s.Closed && !s.Won }

// CriterionKind is the kind of evidence an entry criterion asks for.
type CriterionKind string

// Entry criterion kinds.
const (
	CriterionField       CriterionKind = "field"        // a field has a value: amount, closeDate, nextStep, custom.<key>
	CriterionContactRole CriterionKind = "contact_role" // a contact with a role (e.g. economic_buyer)
	CriterionActivity    CriterionKind = "activity"     // an activity of a type logged on the deal
	CriterionChecklist   CriterionKind = "checklist"    // a checklist item ticked on the deal
)

// EntryCriterion is one piece of evidence a stage requires before a deal may enter it.
type EntryCriterion struct {
	Kind  CriterionKind `json:"kind"`
	Value string        `json:"value"` // the field, role, activity type or checklist item
	Label string        `json:"label,omitempty"`
}

// Blocker is an unmet entry criterion, as reported to clients.
type Blocker struct {
	Kind   CriterionKind `json:"kind"`
	Value  string        `json:"value"`
	Detail string        `json:"detail"`
}

// ContactRole is the part a contact plays in a deal.
type ContactRole string

// Contact roles on opportunities.
const (
	RoleDecisionMaker ContactRole = "decision_maker"
	RoleEconomicBuyer ContactRole = "economic_buyer"
	RoleChampion      ContactRole = "champion"
	RoleInfluencer    ContactRole = "influencer"
	RoleUser          ContactRole = "user"
)

// ContactRoles lists every contact role.
var ContactRoles = []ContactRole{RoleDecisionMaker, RoleEconomicBuyer, RoleChampion, RoleInfluencer, RoleUser}

// DealContact is a contact of an opportunity with their roles.
type DealContact struct {
	ContactID ID
	Roles     []ContactRole
	Primary   bool
}

// Opportunity is a deal in a pipeline.
type Opportunity struct {
	ID               ID               `json:"id"`
	OrgID            ID               `json:"orgId"`
	Name             string           `json:"name"`
	AccountID        ID               `json:"accountId"`
	OwnerID          ID               `json:"ownerId"`
	TeamID           ID               `json:"teamId"`
	PipelineID       ID               `json:"pipelineId"`
	StageID          ID               `json:"stageId"`
	Amount           *decimal.Decimal `json:"amount"`
	Currency         string           `json:"currency"`
	CloseDate        *Date            `json:"closeDate"`
	Probability      int32            `json:"probability"`
	ForecastCategory ForecastCategory `json:"forecastCategory"`
	Source           string           `json:"source"`
	SourceLeadID     ID               `json:"sourceLeadId"`
	Campaign         string           `json:"campaign"`
	NextStep         string           `json:"nextStep"`
	LossReason       string           `json:"lossReason"`
	Competitor       string           `json:"competitor"`
	Checklist        []string         `json:"checklist"`
	Custom           json.RawMessage  `json:"custom"`
	StageEnteredAt   time.Time        `json:"stageEnteredAt"`
	LastActivityAt   *time.Time       `json:"lastActivityAt"`
	StaleSince       *time.Time       `json:"staleSince"`
	ClosedAt         *time.Time       `json:"closedAt"`
	CreatedAt        time.Time        `json:"createdAt"`
	UpdatedAt        time.Time        `json:"updatedAt"`
	DeletedAt        *time.Time       `json:"deletedAt"`
	Version          int32            `json:"version"`
}

// Closed reports a deal in a closed stage (won or lost).
func (o Opportunity) Closed() bool { return o.ClosedAt != nil }

// Won reports a deal closed in a won stage: won stages, and only they, have category closed_won.
func (o Opportunity) Won() bool { return o.Closed() && o.ForecastCategory == CategoryClosedWon }

// Weighted returns amount x probability / 100 in the deal's currency, to 4 decimal places (the
// precision amounts are stored with), nil without an amount.
func (o Opportunity) Weighted() *decimal.Decimal {
	if o.Amount == nil {
		return nil
	}
	w := o.Amount.Mul(decimal.NewFromInt32(o.Probability)).Shift(-2).Round(4)
	return &w
}

// DaysInStage is how long, in days, the deal has been in its stage at now.
func (o Opportunity) DaysInStage(now time.Time) float64 { return days(o.StageEnteredAt, now) }

// DaysOpen is how long, in days, the deal was open: until it closed, or until now.
func (o Opportunity) DaysOpen(now time.Time) float64 {
	if o.ClosedAt != nil {
		now = *o.ClosedAt
	}
	return days(o.CreatedAt, now)
}

// days is the time from from to to in days, to two decimals.
func days(from, to time.Time) float64 { return math.Round(to.Sub(from).Hours()/24*100) / 100 }

// StageChange is one entry of an opportunity's stage history, with the deal's figures at that time.
type StageChange struct {
	ID               ID
	OpportunityID    ID
	FromStageID      ID // NilID for the stage the deal was created in
	ToStageID        ID
	ActorKind        ActorKind
	ActorID          ID
	ChangedAt        time.Time
	Amount           *decimal.Decimal
	Currency         string
	Probability      int32
	ForecastCategory ForecastCategory
}

// Date is a calendar date without a time zone, such as a close date.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, err
	}
	return DateOf(t), nil
}

// Time returns midnight UTC of the date.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return d.Time().Format(time.DateOnly) }

// MarshalJSON writes the date as "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := ParseDate(s)
	*d = v
	return err
}

// ActivityType is the kind of an activity.
type ActivityType string

// Activity types.
const (
	ActivityCall    ActivityType = "call"
	ActivityMeeting ActivityType = "meeting"
	ActivityEmail   ActivityType = "email"
	ActivityNote    ActivityType = "note"
)

// Activity is a call, meeting, e-mail or note logged against one record.
type Activity struct {
	ID                    ID
	OrgID                 ID
	Type                  ActivityType
	Subject               string
	Body                  string
	Direction             string // "inbound", "outbound" or ""
	DurationSeconds       *int32
	Outcome               string
	OccurredAt            time.Time
	RecordType            string // Lead, Contact, Account or Opportunity
	RecordID              ID
	OwnerID               ID // who logged it, or whom it is attributed to
	ParticipantUserIDs    []ID
	ParticipantContactIDs []ID
	CreatedAt             time.Time
	UpdatedAt             time.Time
	DeletedAt             *time.Time
	Version               int32
}

// TaskStatus is where a task stands.
type TaskStatus string

// Task statuses.
const (
	TaskOpen      TaskStatus = "open"
	TaskDone      TaskStatus = "done"
	TaskCancelled TaskStatus = "cancelled"
)

// Task kinds: created by a person, or automatically by a rule.
const (
	TaskManual       = "manual"
	TaskFirstContact = "first_contact" // a deal was assigned to its owner
	TaskFollowUp     = "follow_up"     // a quote was sent
)

// Task is something a user must do, optionally about one record, with a due time and a reminder.
type Task struct {
	ID          ID
	OrgID       ID
	Title       string
	Notes       string
	Kind        string
	OwnerID     ID
	DueAt       *time.Time
	RemindAt    *time.Time
	Priority    string // low, normal, high, urgent
	Status      TaskStatus
	RecordType  string
	RecordID    ID
	CompletedAt *time.Time
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Version     int32
}

// Notification is an entry of a user's inbox.
type Notification struct {
	ID         ID
	OrgID      ID
	UserID     ID
	Kind       string // e.g. task_reminder, deal_stale, account_pooled
	Title      string
	Body       string
	RecordType string
	RecordID   ID
	CreatedAt  time.Time
	ReadAt     *time.Time
}
