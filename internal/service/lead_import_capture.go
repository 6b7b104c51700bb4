package service

import (
	"errors"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/leadcsv"
)

// captureImportRows captures a batch of an import's rows with captureLeads, as partial captures
// (an invalid value is dropped, the lead kept) attributed to the import, and counts the outcomes:
// new leads, touches on known leads or contacts, and rows capture refused, with their reasons and
// the values capture dropped as problems of the row's line.
func (w *writer) captureImportRows(imp crm.LeadImport, rows []importRow) (imported, merged int32, problems []leadcsv.Problem, failed int32, err error) {
	if len(rows) == 0 {
		return 0, 0, nil, 0, nil
	}
	ins := make([]LeadInput, len(rows))
	for i, r := range rows {
		l := r.lead
		in := LeadInput{Name: l.Name, Title: l.Title, Company: l.Company, Email: l.Email, Phone: l.Phone,
			Website: l.Website, RegistrationCode: l.RegistrationCode, Industry: l.Industry, CompanySize: l.CompanySize,
			Country: l.Country, Region: l.Region, City: l.City, Source: l.Source, Campaign: l.Campaign, UTM: l.UTM,
			Payload: r.payload, ImportID: imp.ID, AllowPartial: true}
		if in.Source == "" {
			in.Source = imp.Source
		}
		if in.Campaign == "" {
			in.Campaign = imp.Campaign
		}
		if len(l.Custom) > 0 {
			in.Custom = mustJSON(l.Custom)
		}
		ins[i] = in
	}
	items, err := w.captureLeads(ins)
	if err != nil {
		return 0, 0, nil, 0, err
	}
	for i, it := range items {
		line := rows[i].line
		if it.Err != nil {
			failed++
			p := leadcsv.Problem{Line: line, Reason: crm.ErrorMessage(it.Err)}
			var e *crm.Error
			if errors.As(it.Err, &e) {
				p.Field = e.Field
			}
			problems = append(problems, p)
			continue
		}
		for _, wn := range it.Result.Warnings {
			problems = append(problems, leadcsv.Problem{Line: line, Field: wn.Field, Reason: wn.Message})
		}
		switch it.Result.Outcome {
		case CaptureTouched, CaptureContact:
			merged++
		default:
			imported++
		}
	}
	return imported, merged, problems, failed, nil
}
