package service

import (
	"time"

	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/internal/crm"
)

// StageChange is one entry of a deal's stage history with how long the deal stayed.
type StageChange struct {
	crm.StageChange
	DurationSeconds int
}

// Transition is a stage a deal could move to, with the entry criteria it does not meet yet.
type Transition struct {
	Stage     crm.Stage
	BlockedBy []crm.Blocker
}

// StageTotal sums the amounts of a stage's deals in one currency.
type StageTotal struct {
	Currency string
	Amount   decimal.Decimal
	Weighted decimal.Decimal
}

// PipelineChangeKind says what happened to a deal on a board.
type PipelineChangeKind string

// Pipeline change kinds, as GraphQL names them.
const (
	ChangeCreated  PipelineChangeKind = "CREATED"
	ChangeMoved    PipelineChangeKind = "MOVED"
	ChangeUpdated  PipelineChangeKind = "UPDATED"
	ChangeClosed   PipelineChangeKind = "CLOSED"
	ChangeReopened PipelineChangeKind = "REOPENED"
	ChangeDeleted  PipelineChangeKind = "DELETED"
	ChangeRestored PipelineChangeKind = "RESTORED"
)

// PipelineChange is one board change: the deal as the event left it, built from the event's
// snapshot without reading the database. Pipeline (with its stages) and Users (the organization's
// users by ID) are read once per subscription, so that a board's stage and owner names cost no
// read per change and per subscriber; they are as of the subscription's start.
type PipelineChange struct {
	Seq         int64
	Kind        PipelineChangeKind
	Opportunity crm.Opportunity
	FromStageID crm.ID
	ActorKind   crm.ActorKind
	ActorID     crm.ID
	OccurredAt  time.Time
	Pipeline    crm.Pipeline
	Users       map[crm.ID]crm.User
}

// NotificationDelivery is a notification delivered live, with its position in the event log.
type NotificationDelivery struct {
	Seq          int64
	Notification crm.Notification
}
