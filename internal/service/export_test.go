package service

import "github.com/rapportcrm/rapport/internal/crm"

// SetAfterImportBatch makes s run f after each committed batch of an import but the last.
func SetAfterImportBatch(s *Service, f func(crm.LeadImport) error) { s.afterImportBatch = f }

// SetBeforeCaptureBatch makes s run f before each coalesced capture batch (f gets the batch's
// size; an error fails the batch as a whole).
func SetBeforeCaptureBatch(s *Service, f func(n int) error) { s.beforeCaptureBatch = f }

// WaitingCaptures returns the number of a's single captures queued for the next batch.
func WaitingCaptures(s *Service, a *crm.Actor) int {
	s.captures.mu.Lock()
	defer s.captures.mu.Unlock()
	if q := s.captures.queues[captureKey(a)]; q != nil {
		return len(q.waiting)
	}
	return 0
}
