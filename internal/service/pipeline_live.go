package service

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
)

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

// SubscribePipeline streams the changes of the deals of a pipeline that the actor may see (opportunities:read): after
// the cursor when given (no gap, no duplicate), then live. Each change carries the deal as the
// event left it (its snapshot), so delivering it to many subscribers reads nothing.
func (s *Service) SubscribePipeline(ctx context.Context, a *crm.Actor, pipelineID crm.ID, after *string) (<-chan PipelineChange, error) {
	ps, err := s.Pipelines(ctx, a, []crm.ID{pipelineID})
	if err != nil {
		return nil, err
	}
	if ps[0].ID == crm.NilID {
		return nil, crm.NotFound("pipeline", pipelineID)
	}
	list, err := s.ListUsers(ctx, a)
	if err != nil {
		return nil, err
	}
	users := make(map[crm.ID]crm.User, len(list))
	for _, u := range list {
		users[u.ID] = u
	}
	in, err := s.subscribe(ctx, a, after, func(e crm.Event) bool {
		return e.RecordType == crm.TypeOpportunity && e.ContainerID == pipelineID && len(e.Snapshot) > 0
	})
	if err != nil {
		return nil, err
	}
	out := make(chan PipelineChange)
	go func() {
		defer close(out)
		for e := range in {
			c, ok := pipelineChange(e)
			if !ok {
				continue
			}
			c.Pipeline, c.Users = ps[0], users
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// pipelineChange turns a deal event into a board change.
func pipelineChange(e crm.Event) (PipelineChange, bool) {
	c := PipelineChange{Seq: e.Seq, ActorKind: e.ActorKind, ActorID: e.ActorID, OccurredAt: e.OccurredAt}
	if err := json.Unmarshal(e.Snapshot, &c.Opportunity); err != nil {
		return c, false
	}
	switch strings.TrimPrefix(e.Type, "opportunity.") {
	case "created":
		c.Kind = ChangeCreated
	case "stage_changed":
		c.Kind = ChangeMoved
	case "closed_won", "closed_lost":
		c.Kind = ChangeClosed
	case "reopened":
		c.Kind = ChangeReopened
	case "deleted":
		c.Kind = ChangeDeleted
	case "restored":
		c.Kind = ChangeRestored
	default:
		c.Kind = ChangeUpdated
	}
	for _, ch := range e.Changes {
		if ch.Field == "stageId" {
			var from crm.ID
			if json.Unmarshal(ch.Before, &from) == nil {
				c.FromStageID = from
			}
		}
	}
	return c, true
}
