package service

// TEMPORARY until core's lead.go lands on main (delete this file at the merge).

import (
	"context"
	"encoding/json"

	"github.com/rapportcrm/rapport/internal/crm"
)

type LeadInput struct {
	Name, Title, Company, Email, Phone, Website, RegistrationCode, Industry string
	CompanySize                                                             *int32
	Country, Region, City                                                   string
	Source                                                                  crm.LeadSource
	Campaign                                                                string
	UTM                                                                     crm.UTM
	Custom                                                                  json.RawMessage
	VisitorID                                                               string
	Payload                                                                 json.RawMessage
	FormID, ImportID                                                        crm.ID
	Spam                                                                    bool
	AllowPartial                                                            bool
	IdempotencyKey                                                          string
	Line                                                                    int
}

type CaptureResult struct {
	Lead     crm.Lead
	Outcome  string
	Warnings []*crm.Error
}

func (s *Service) CaptureLead(ctx context.Context, a *crm.Actor, in LeadInput) (CaptureResult, error) {
	return CaptureResult{}, crm.Errorf(crm.EINTERNAL, "lead capture is not built yet")
}
