package service

import "github.com/rapportcrm/rapport/internal/crm"

// SetAfterImportBatch makes s run f after each committed batch of an import but the last.
func SetAfterImportBatch(s *Service, f func(crm.LeadImport) error) { s.afterImportBatch = f }

// SetBeforeCaptureBatch makes s run f in each coalesced capture batch's transaction before it
// captures (f gets the batch's size; an error fails the batch).
func SetBeforeCaptureBatch(s *Service, f func(n int) error) { s.beforeCaptureBatch = f }

// WaitingCaptures returns the number of a's single captures queued for the next batch.
func WaitingCaptures(s *Service, a *crm.Actor) int { return s.waitingCaptures(a) }
