package service

import (
	"context"
	"encoding/json"
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
)

// LeadChange is one change to a lead, as the lead inbox shows it.
type LeadChange struct {
	Seq        int64
	Type       string // e.g. lead.created, lead.assigned, lead.qualified
	Lead       crm.Lead
	ActorKind  crm.ActorKind
	ActorID    crm.ID
	OccurredAt time.Time
}

// SubscribeLeads streams the changes of the leads the actor may see (leads:read), or only of those
// the actor owns or owned until this change (so a lead that leaves an inbox says so): after the cursor when given (no gap, no duplicate), then live. Each change carries
// the lead as the event left it, so delivering it reads nothing. Spam never reaches the inbox.
func (s *Service) SubscribeLeads(ctx context.Context, a *crm.Actor, after *string, onlyMine bool) (<-chan LeadChange, error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return nil, err
	}
	in, err := s.subscribe(ctx, a, after, func(e crm.Event) bool {
		if e.RecordType != crm.TypeLead || len(e.Snapshot) == 0 || e.Type == "lead.spam_captured" {
			return false
		}
		return !onlyMine || (a.Kind == crm.ActorUser && containsID(e.OwnerIDs, a.UserID))
	})
	if err != nil {
		return nil, err
	}
	out := make(chan LeadChange)
	go func() {
		defer close(out)
		for e := range in {
			c := LeadChange{Seq: e.Seq, Type: e.Type, ActorKind: e.ActorKind, ActorID: e.ActorID, OccurredAt: e.OccurredAt}
			if json.Unmarshal(e.Snapshot, &c.Lead) != nil {
				continue
			}
			c.Lead = maskLead(a, c.Lead)
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
