package service

import "github.com/rapportcrm/rapport/internal/crm"

// SetAfterImportBatch makes s run f after each committed batch of an import but the last.
func SetAfterImportBatch(s *Service, f func(crm.LeadImport) error) { s.afterImportBatch = f }
