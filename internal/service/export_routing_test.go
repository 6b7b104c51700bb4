package service

import (
	"context"
	"time"

	"github.com/rapportcrm/rapport/internal/crm"
)

// LeadContacted runs leadContacted in its own transaction, for tests until activity logging on
// leads calls it.
func (s *Service) LeadContacted(ctx context.Context, a *crm.Actor, leadID crm.ID, at time.Time) error {
	return s.write(ctx, a, func(w *writer) error { return w.leadContacted(leadID, at) })
}
