package service

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgerrcode"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/leads"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
	"github.com/rapportcrm/rapport/internal/rules/workhours"
)

// LeadUpdate changes the set fields of a lead at ExpectedVersion. Status, owner, score and
// conversion change only through their own operations.
type LeadUpdate struct {
	ID               crm.ID
	ExpectedVersion  int32
	Name             Opt[string]
	Title            Opt[string]
	Company          Opt[string]
	Email            Opt[string]
	Phone            Opt[string]
	Website          Opt[string]
	RegistrationCode Opt[string]
	Industry         Opt[string]
	CompanySize      Opt[*int32]
	Country          Opt[string]
	Region           Opt[string]
	City             Opt[string]
	Campaign         Opt[string]
	Custom           Opt[json.RawMessage]
}

// Leads returns the leads with the given IDs that the actor may see, in the order of ids; missing
// or invisible ones are zero Leads.
func (s *Service) Leads(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.Lead, error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return nil, err
	}
	var rows []query.Lead
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.LeadsByID(ctx, query.LeadsByIDParams{OrgID: a.OrgID, Ids: ids, ViewerID: viewer(a)})
		return err
	})
	ls := make([]crm.Lead, len(rows))
	for i, r := range rows {
		ls[i] = maskLead(a, leadFromRow(r))
	}
	return inOrder(ls, ids, func(l crm.Lead) crm.ID { return l.ID }), err
}

// Lead returns one lead the actor may see, or ENOTFOUND.
func (s *Service) Lead(ctx context.Context, a *crm.Actor, id crm.ID) (crm.Lead, error) {
	ls, err := s.Leads(ctx, a, []crm.ID{id})
	if err != nil {
		return crm.Lead{}, err
	}
	if ls[0].ID == crm.NilID {
		return crm.Lead{}, crm.NotFound("lead", id)
	}
	return ls[0], nil
}

// UpdateLead changes a lead's descriptive fields (leads:write). A new e-mail or phone that another
// live lead has is a CONFLICT naming it. Converted leads are read-only.
func (s *Service) UpdateLead(ctx context.Context, a *crm.Actor, in LeadUpdate) (l crm.Lead, err error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return l, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		before, err := w.editableLead(in.ID, in.ExpectedVersion)
		if err != nil {
			return err
		}
		st, err := w.settings()
		if err != nil {
			return err
		}
		l = before
		for _, f := range []struct {
			dst *string
			opt Opt[string]
		}{{&l.Name, in.Name}, {&l.Title, in.Title}, {&l.Company, in.Company}, {&l.Email, in.Email}, {&l.Phone, in.Phone},
			{&l.Website, in.Website}, {&l.RegistrationCode, in.RegistrationCode}, {&l.Industry, in.Industry},
			{&l.Country, in.Country}, {&l.Region, in.Region}, {&l.City, in.City}, {&l.Campaign, in.Campaign}} {
			*f.dst = f.opt.apply(*f.dst)
		}
		l.CompanySize = in.CompanySize.apply(l.CompanySize)
		if in.Name.Set && l.Name == "" {
			return crm.Invalid("name", "A lead's name cannot be emptied.")
		}
		if _, err := leads.Normalize(&l, st.DefaultPhoneRegion, false); err != nil {
			return err
		}
		if in.Custom.Set {
			if l.Custom, err = normalizeCustom(in.Custom.Value); err != nil {
				return err
			}
		}
		if err := w.checkLeadChannels(l); err != nil {
			return err
		}
		return w.saveLead(before, &l, "lead.updated")
	})
	return maskLead(a, l), err
}

// checkLeadChannels refuses an e-mail or phone that another live lead of the organization has.
func (w *writer) checkLeadChannels(l crm.Lead) error {
	if l.Email == "" && l.Phone == "" {
		return nil
	}
	rows, err := w.q.LeadsByChannel(w.ctx, query.LeadsByChannelParams{OrgID: w.actor.OrgID,
		Emails: appendNonEmpty(nil, l.Email), Phones: appendNonEmpty(nil, l.Phone)})
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.ID != l.ID {
			field := "email"
			if l.Email == "" || strOf(r.Email) != l.Email {
				field = "phone"
			}
			return crm.Errorf(crm.ECONFLICT, "Lead %q already has this %s; merge the two leads instead.", r.Name, field).
				With("existingId", crm.GlobalID(crm.TypeLead, r.ID)).With("field", field)
		}
	}
	return nil
}

// SetLeadStatus moves a lead to another status (leads:write). Invalid transitions are
// BAD_USER_INPUT naming the allowed ones; disqualifying needs a reason.
func (s *Service) SetLeadStatus(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32, to crm.LeadStatus, reason string) (l crm.Lead, err error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return l, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		before, err := w.editableLead(id, expectedVersion)
		if err != nil {
			return err
		}
		l = before
		if err := w.setLeadStatus(&l, to, reason); err != nil {
			return err
		}
		return w.saveLead(before, &l, "lead.status_changed")
	})
	return maskLead(a, l), err
}

// setLeadStatus applies a status change to l in memory, after checking it is allowed.
func (w *writer) setLeadStatus(l *crm.Lead, to crm.LeadStatus, reason string) error {
	if err := leads.CheckTransition(l.Status, to, reason); err != nil {
		return err
	}
	l.Status, l.StatusReason = to, ""
	if to == crm.LeadDisqualified {
		r, err := normalizeReason(reason)
		if err != nil {
			return err
		}
		l.StatusReason = r
	}
	if to == crm.LeadQualified && l.QualifiedAt == nil {
		now := w.now
		l.QualifiedAt = &now
	}
	return nil
}

func normalizeReason(reason string) (string, error) {
	r, err := normalize.Text("reason", reason, 500)
	if err == nil && r == "" {
		err = crm.Invalid("reason", "Disqualifying a lead needs a reason.")
	}
	return r, err
}

// DeleteLead moves a lead to the recycle bin (leads:write); RestoreLead brings it back.
func (s *Service) DeleteLead(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32) (l crm.Lead, err error) {
	return s.setLeadDeleted(ctx, a, id, expectedVersion, true)
}

// RestoreLead brings a deleted lead back, unless another live lead took its e-mail or phone since.
func (s *Service) RestoreLead(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32) (l crm.Lead, err error) {
	return s.setLeadDeleted(ctx, a, id, expectedVersion, false)
}

func (s *Service) setLeadDeleted(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32, del bool) (l crm.Lead, err error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return l, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		before, err := w.visibleLead(id)
		if err != nil {
			return err
		}
		if err := checkVersion("lead", before.Version, expectedVersion); err != nil {
			return err
		}
		if (before.DeletedAt != nil) == del {
			l = before
			return nil
		}
		l = before
		typ := "lead.restored"
		if del {
			now := w.now
			l.DeletedAt, typ = &now, "lead.deleted"
		} else {
			l.DeletedAt = nil
			if err := w.checkLeadChannels(l); err != nil {
				return err
			}
		}
		return w.saveLead(before, &l, typ)
	})
	return maskLead(a, l), err
}

// lead reads a lead for update (locked), whoever owns it: for the system's own work.
func (w *writer) lead(id crm.ID) (crm.Lead, error) {
	return w.lockLead(id, nil)
}

// visibleLead reads a lead for update if the actor may see it.
func (w *writer) visibleLead(id crm.ID) (crm.Lead, error) {
	return w.lockLead(id, viewer(w.actor))
}

func (w *writer) lockLead(id crm.ID, viewer *crm.ID) (crm.Lead, error) {
	r, err := w.q.LockLead(w.ctx, query.LockLeadParams{OrgID: w.actor.OrgID, ID: id, ViewerID: viewer})
	if errors.Is(err, pgx.ErrNoRows) {
		return crm.Lead{}, crm.NotFound("lead", id)
	}
	return leadFromRow(r), err
}

// isUniqueViolation says whether err is PostgreSQL refusing a duplicate key.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgerrcode.UniqueViolation
}

// editableLead reads a live, unconverted lead the actor may see, at the expected version.
func (w *writer) editableLead(id crm.ID, expectedVersion int32) (crm.Lead, error) {
	l, err := w.visibleLead(id)
	if err != nil {
		return l, err
	}
	if l.DeletedAt != nil {
		return l, crm.NotFound("lead", id)
	}
	if l.MergedIntoID != crm.NilID {
		return l, crm.Errorf(crm.ECONFLICT, "This lead was merged into another; edit that one.").
			With("mergedIntoId", crm.GlobalID(crm.TypeLead, l.MergedIntoID))
	}
	if l.Status == crm.LeadConverted {
		return l, crm.Errorf(crm.ECONFLICT, "This lead was converted; edit the contact it became.").
			With("contactId", crm.GlobalID(crm.TypeContact, l.ContactID))
	}
	return l, checkVersion("lead", l.Version, expectedVersion)
}

// saveLead writes l (changed from before) and emits typ with the changed fields and the lead's
// new state.
func (w *writer) saveLead(before crm.Lead, l *crm.Lead, typ string) error {
	changes := diff(leadFields(before), leadFields(*l))
	if len(changes) == 0 {
		*l = before
		return nil
	}
	r, err := w.q.UpdateLead(w.ctx, query.UpdateLeadParams{OrgID: w.actor.OrgID, ID: l.ID, Now: w.now,
		Status: string(l.Status), StatusReason: l.StatusReason, Name: l.Name, Title: l.Title, Company: l.Company,
		Email: strOrNil(l.Email), Phone: strOrNil(l.Phone), Website: l.Website, RegistrationCode: l.RegistrationCode,
		Industry: l.Industry, CompanySize: l.CompanySize, Country: l.Country, Region: l.Region, City: l.City,
		Source: string(l.Source), Campaign: l.Campaign, OwnerID: idOrNil(l.OwnerID), TeamID: idOrNil(l.TeamID),
		AssignedAt: l.AssignedAt, Custom: l.Custom, ConvertedAt: l.ConvertedAt,
		ContactID: idOrNil(l.ContactID), AccountID: idOrNil(l.AccountID), OpportunityID: idOrNil(l.OpportunityID),
		MergedIntoID: idOrNil(l.MergedIntoID), QualifiedAt: l.QualifiedAt, DeletedAt: l.DeletedAt})
	if isUniqueViolation(err) {
		return crm.Errorf(crm.ECONFLICT, "Another live lead has this e-mail or phone; merge the two leads instead.")
	}
	if err != nil {
		return err
	}
	*l = leadFromRow(r)
	w.emitLead(typ, *l, changes, before.OwnerID)
	return nil
}

// emitLead records a lead event carrying the lead's state after the change, for live views.
func (w *writer) emitLead(typ string, l crm.Lead, changes []crm.FieldChange, owners ...crm.ID) {
	w.emit(typ, crm.TypeLead, l.ID, changes, append(owners, l.OwnerID)...)
	w.events[len(w.events)-1].Snapshot = leadJSON(&l)
}

// onQualified runs in the transaction that made leads sales-qualified: the unassigned ones go to
// their owners by the assignment rules (routed together, which starts the first-touch SLA), and
// each owner gets a first-contact task due when the SLA is. A lead nobody is eligible for stays in
// the shared inbox.
func (w *writer) onQualified(leads []crm.Lead) error {
	var route []*crm.Lead
	for i := range leads {
		l := &leads[i]
		w.emitLead("lead.qualified", *l, []crm.FieldChange{{Field: "status", After: mustJSON(l.Status)}})
		if l.OwnerID == crm.NilID {
			route = append(route, l)
		}
	}
	if len(route) > 0 {
		if _, err := w.routeLeads(route, nil); err != nil {
			return err
		}
	}
	for i := range leads {
		l := &leads[i]
		if l.OwnerID == crm.NilID {
			continue
		}
		due := l.SLADueAt
		if due == nil { // an owner it already had: the first touch is due as the SLA would be
			st, err := w.settings()
			if err != nil {
				return err
			}
			at := workhours.Add(w.now, int(st.Leads.FirstTouchMinutes), st.WorkingHours, st.Location())
			due = &at
		}
		if _, err := w.createTask(crm.Task{Title: "First contact: " + l.Name, Kind: crm.TaskFirstContact, OwnerID: l.OwnerID,
			DueAt: due, Priority: "high", RecordType: crm.TypeLead, RecordID: l.ID}); err != nil {
			return err
		}
	}
	return nil
}

func maskLead(a *crm.Actor, l crm.Lead) crm.Lead {
	if access.Allows(a, access.PII) {
		return l
	}
	if l.Email != "" {
		l.Email = access.MaskEmail(l.Email)
	}
	if l.Phone != "" {
		l.Phone = access.MaskPhone(l.Phone)
	}
	return l
}

func leadFromRow(r query.Lead) crm.Lead {
	l := crm.Lead{ID: r.ID, OrgID: r.OrgID, Status: crm.LeadStatus(r.Status), StatusReason: r.StatusReason,
		Name: r.Name, Title: r.Title, Company: r.Company, Email: strOf(r.Email), Phone: strOf(r.Phone),
		Website: r.Website, RegistrationCode: r.RegistrationCode, Industry: r.Industry, CompanySize: r.CompanySize,
		Country: r.Country, Region: r.Region, City: r.City, Source: crm.LeadSource(r.Source), Campaign: r.Campaign,
		OwnerID: idOf(r.OwnerID), TeamID: idOf(r.TeamID), AssignedAt: r.AssignedAt, ScoreTotal: r.ScoreTotal,
		ScoreFit: r.ScoreFit, ScoreEngagement: r.ScoreEngagement, Grade: r.Grade, QualifiedAt: r.QualifiedAt,
		NurturedAt: r.NurturedAt, SLAState: crm.SLAState(r.SlaState), SLADueAt: r.SlaDueAt, ContactedAt: r.ContactedAt,
		Spam: r.Spam, TouchCount: r.TouchCount, FirstTouchAt: r.FirstTouchAt, LastTouchAt: r.LastTouchAt,
		ConvertedAt: r.ConvertedAt, ContactID: idOf(r.ContactID), AccountID: idOf(r.AccountID),
		OpportunityID: idOf(r.OpportunityID), MergedIntoID: idOf(r.MergedIntoID), Custom: r.Custom,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DeletedAt: r.DeletedAt, Version: r.Version}
	_ = json.Unmarshal(r.Utm, &l.UTM) // written by this package, always valid
	return l
}

func leadFields(l crm.Lead) fields {
	return fields{"status": l.Status, "statusReason": l.StatusReason, "name": l.Name, "title": l.Title,
		"company": l.Company, "email": l.Email, "phone": l.Phone, "website": l.Website,
		"registrationCode": l.RegistrationCode, "industry": l.Industry, "companySize": l.CompanySize,
		"country": l.Country, "region": l.Region, "city": l.City, "source": l.Source, "campaign": l.Campaign,
		"ownerId": l.OwnerID, "custom": l.Custom, "contactId": l.ContactID, "accountId": l.AccountID,
		"opportunityId": l.OpportunityID, "mergedIntoId": l.MergedIntoID, "deleted": l.DeletedAt != nil}
}
