package service

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/leads"
	"github.com/rapportcrm/rapport/worker/jobargs"
)

// ConvertInput asks to convert a lead.
type ConvertInput struct {
	ID                crm.ID
	ExpectedVersion   int32
	AccountID         crm.ID // link this account; NilID: match one (registration code, domain, name) or create one
	ContactID         crm.ID // link this contact; NilID: match one (e-mail, phone) or create one
	CreateOpportunity bool
	PipelineID        crm.ID
	OpportunityName   string
	Amount            *decimal.Decimal
	Currency          string
	CloseDate         *crm.Date
	OwnerID           crm.ID // NilID: the lead's owner, else the converting user
}

// Conversion is what convertLead did.
type Conversion struct {
	Lead           crm.Lead
	Account        crm.Account
	AccountCreated bool
	Contact        crm.Contact
	ContactCreated bool
	Opportunity    *crm.Opportunity
}

// ConvertLead turns a lead into an account, a contact and optionally a deal in one transaction
// (leads:write plus the rights to write what it creates). The lead's activities and tasks move to
// the contact, its touches name the contact, and the lead keeps links to all of them. Converting
// twice is a CONFLICT.
func (s *Service) ConvertLead(ctx context.Context, a *crm.Actor, in ConvertInput) (c Conversion, err error) {
	for _, p := range []access.Permission{access.LeadsWrite, access.AccountsWrite, access.ContactsWrite} {
		if err := authorize(a, p); err != nil {
			return c, err
		}
	}
	if in.CreateOpportunity {
		if err := authorize(a, access.DealsWrite); err != nil {
			return c, err
		}
	}
	err = s.write(ctx, a, func(w *writer) error {
		l, err := w.visibleLead(in.ID)
		if err != nil {
			return err
		}
		if l.Status == crm.LeadConverted {
			return crm.Errorf(crm.ECONFLICT, "This lead was already converted.").
				With("contactId", crm.GlobalID(crm.TypeContact, l.ContactID))
		}
		if l.Spam {
			return crm.Invalid("id", "A spam lead cannot be converted.")
		}
		before, err := w.editableLead(in.ID, in.ExpectedVersion)
		if err != nil {
			return err
		}
		owner := in.OwnerID
		if owner == crm.NilID {
			owner = before.OwnerID
		}
		if owner == crm.NilID {
			owner = defaultOwner(a)
		}
		if c.Account, c.AccountCreated, err = w.conversionAccount(before, in.AccountID, owner); err != nil {
			return err
		}
		if c.Contact, c.ContactCreated, err = w.conversionContact(before, in.ContactID, c.Account.ID, owner); err != nil {
			return err
		}
		l = before
		if in.CreateOpportunity {
			name := in.OpportunityName
			if strings.TrimSpace(name) == "" {
				name = c.Account.Name
			}
			d, err := w.createOpportunity(crm.NewID(), OpportunityInput{Name: name, AccountID: c.Account.ID,
				PipelineID: in.PipelineID, OwnerID: Some(owner), Amount: in.Amount, Currency: in.Currency,
				CloseDate: in.CloseDate, Source: string(before.Source), Campaign: before.Campaign, SourceLeadID: before.ID,
				Contacts: []crm.DealContact{{ContactID: c.Contact.ID, Primary: true}}})
			if err != nil {
				return err
			}
			c.Opportunity, l.OpportunityID = &d, d.ID
		}
		if err := w.moveRecordHistory(crm.TypeLead, []crm.ID{before.ID}, crm.TypeContact, c.Contact.ID); err != nil {
			return err
		}
		if err := w.q.LinkTouchesToContact(w.ctx, query.LinkTouchesToContactParams{OrgID: a.OrgID, LeadID: &before.ID, ContactID: &c.Contact.ID}); err != nil {
			return err
		}
		now := w.now
		l.Status, l.ConvertedAt, l.ContactID, l.AccountID = crm.LeadConverted, &now, c.Contact.ID, c.Account.ID
		if err := w.saveLead(before, &l, "lead.converted"); err != nil {
			return err
		}
		c.Lead = l
		return nil
	})
	c.Lead, c.Contact = maskLead(a, c.Lead), maskContact(a, c.Contact)
	return c, err
}

// conversionAccount links the given account, or the one matching the lead's registration code,
// domain or company name, or creates one from the lead.
func (w *writer) conversionAccount(l crm.Lead, id, owner crm.ID) (crm.Account, bool, error) {
	if id != crm.NilID {
		if err := w.checkAccountRef(id); err != nil {
			return crm.Account{}, false, err
		}
		acct, err := w.account(id)
		return acct, false, err
	}
	rows, err := w.q.AccountsForLead(w.ctx, query.AccountsForLeadParams{OrgID: w.actor.OrgID,
		RegistrationCode: l.RegistrationCode, Domain: l.Website, Name: l.Company})
	if err != nil {
		return crm.Account{}, false, err
	}
	if len(rows) > 0 {
		acct, err := w.account(rows[0].ID)
		return acct, false, err
	}
	if l.Company == "" {
		return crm.Account{}, false, crm.Invalid("accountId", "The lead has no company: set its company or pass the accountId to link.")
	}
	acct := crm.Account{Name: l.Company, RegistrationCode: l.RegistrationCode, Domain: l.Website, Industry: l.Industry,
		Employees: l.CompanySize, Region: l.Region, Country: l.Country, OwnerID: owner}
	if err := normalizeAccount(&acct); err != nil {
		return acct, false, err
	}
	return acct, true, w.createAccount(crm.NewID(), &acct, true, false)
}

// conversionContact links the given contact, or the one with the lead's e-mail or phone, or creates
// one at the account.
func (w *writer) conversionContact(l crm.Lead, id, accountID, owner crm.ID) (crm.Contact, bool, error) {
	if id == crm.NilID && (l.Email != "" || l.Phone != "") {
		rows, err := w.q.ContactsByChannel(w.ctx, query.ContactsByChannelParams{OrgID: w.actor.OrgID,
			Emails: appendNonEmpty(nil, l.Email), Phones: appendNonEmpty(nil, l.Phone)})
		if err != nil {
			return crm.Contact{}, false, err
		}
		if len(rows) > 0 {
			id = rows[0].ID
		}
	}
	if id != crm.NilID {
		c, err := w.contact(id)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && c.ID == crm.NilID) {
			return c, false, crm.Invalid("contactId", "No such contact, or one you cannot see.")
		}
		return c, false, err
	}
	first, last := leads.SplitName(l.Name)
	c := crm.Contact{FirstName: first, LastName: last, Title: l.Title, Emails: appendNonEmpty(nil, l.Email),
		Phones: appendNonEmpty(nil, l.Phone), AccountID: accountID, OwnerID: owner, EmailConsent: crm.ConsentUnknown,
		SMSConsent: crm.ConsentUnknown, PhoneConsent: crm.ConsentUnknown, Custom: l.Custom}
	return c, true, w.createContact(crm.NewID(), &c, true, true)
}

// moveRecordHistory moves the activities and tasks of some records to another record.
func (w *writer) moveRecordHistory(fromType string, from []crm.ID, toType string, to crm.ID) error {
	if err := w.q.MoveRecordActivities(w.ctx, query.MoveRecordActivitiesParams{OrgID: w.actor.OrgID, FromType: fromType,
		FromIds: from, ToType: toType, ToID: to, Now: w.now}); err != nil {
		return err
	}
	return w.q.MoveRecordTasks(w.ctx, query.MoveRecordTasksParams{OrgID: w.actor.OrgID, FromType: &fromType,
		FromIds: from, ToType: &toType, ToID: &to, Now: w.now})
}

// MergeLeads merges duplicates into a surviving lead (leads:write): their touches, behaviour,
// visitor ids, activities and tasks move to the survivor, which takes the fields it lacks and
// counts their touches; the duplicates are marked merged (and leave the lists). The survivor is
// rescored.
func (s *Service) MergeLeads(ctx context.Context, a *crm.Actor, survivorID crm.ID, duplicateIDs []crm.ID) (l crm.Lead, err error) {
	if err := authorize(a, access.LeadsWrite); err != nil {
		return l, err
	}
	if err := checkMergeIDs(survivorID, duplicateIDs); err != nil {
		return l, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		before, err := w.visibleLead(survivorID)
		if err != nil {
			return err
		}
		if err := mergeable(before, "survivorId"); err != nil {
			return err
		}
		l = before
		for _, id := range duplicateIDs {
			d, err := w.visibleLead(id)
			if err != nil {
				return err
			}
			if err := mergeable(d, "duplicateIds"); err != nil {
				return err
			}
			dup := d
			d.MergedIntoID = survivorID
			if err := w.saveLead(dup, &d, "lead.merged"); err != nil {
				return err
			}
			fillBlanks(&l, &dup)
			if l.Email == "" && dup.Email != "" {
				l.Email = dup.Email
			}
			if l.Phone == "" && dup.Phone != "" {
				l.Phone = dup.Phone
			}
			l.Custom = mergeCustom(l.Custom, dup.Custom)
			if l.OwnerID == crm.NilID {
				l.OwnerID, l.TeamID, l.AssignedAt = dup.OwnerID, dup.TeamID, dup.AssignedAt
			}
		}
		moved := query.MoveLeadTouchesParams{OrgID: a.OrgID, ToLead: &survivorID, FromLeads: duplicateIDs}
		if err := w.q.MoveLeadTouches(w.ctx, moved); err != nil {
			return err
		}
		if err := w.q.MoveLeadEvents(w.ctx, query.MoveLeadEventsParams(moved)); err != nil {
			return err
		}
		if err := w.q.MoveLeadVisitors(w.ctx, query.MoveLeadVisitorsParams{OrgID: a.OrgID, ToLead: survivorID, FromLeads: duplicateIDs}); err != nil {
			return err
		}
		if err := w.moveRecordHistory(crm.TypeLead, duplicateIDs, crm.TypeLead, survivorID); err != nil {
			return err
		}
		if err := w.saveLead(before, &l, "lead.merged_into"); err != nil {
			return err
		}
		return w.scoreLater(l.ID)
	})
	return maskLead(a, l), err
}

func mergeable(l crm.Lead, field string) error {
	switch {
	case l.DeletedAt != nil:
		return crm.Invalid(field, "Lead %q is deleted; restore it first.", l.Name)
	case l.MergedIntoID != crm.NilID:
		return crm.Invalid(field, "Lead %q was already merged into another.", l.Name)
	case l.Status == crm.LeadConverted:
		return crm.Invalid(field, "Lead %q was converted; merge the contacts instead.", l.Name)
	}
	return nil
}

// FindDuplicates lists the live leads that look like the same person (e-mail, phone) or company
// (registration code, web domain, name at the same company) as the given one, with the reasons.
// Only leads the actor may see are compared and listed; channels are compared unmasked and shown
// masked. One pipelined read.
func (s *Service) FindDuplicates(ctx context.Context, a *crm.Actor, id crm.ID) ([]LeadDuplicate, error) {
	if err := authorize(a, access.LeadsRead); err != nil {
		return nil, err
	}
	var l crm.Lead
	var rows []query.Lead
	err := s.read(ctx, a, func(q *query.Queries) error {
		self, err := q.LeadsByID(ctx, query.LeadsByIDParams{OrgID: a.OrgID, Ids: []crm.ID{id}, ViewerID: viewer(a)})
		if err != nil {
			return err
		}
		if len(self) == 0 {
			return crm.NotFound("lead", id)
		}
		l = leadFromRow(self[0])
		cands, err := q.LeadDuplicates(ctx, query.LeadDuplicatesParams{OrgID: a.OrgID, ID: id, Email: l.Email, Phone: l.Phone,
			RegistrationCode: l.RegistrationCode, Website: l.Website, Name: l.Name, Company: l.Company})
		if err != nil || len(cands) == 0 {
			return err
		}
		ids := make([]crm.ID, len(cands))
		for i, r := range cands {
			ids[i] = r.ID
		}
		rows, err = q.LeadsByID(ctx, query.LeadsByIDParams{OrgID: a.OrgID, Ids: ids, ViewerID: viewer(a)})
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(rows, func(x, y query.Lead) int { // oldest first, like the candidates
		return cmp.Or(x.CreatedAt.Compare(y.CreatedAt), bytes.Compare(x.ID[:], y.ID[:]))
	})
	out := make([]LeadDuplicate, 0, len(rows))
	for _, r := range rows {
		d := leadFromRow(r)
		var reasons []string
		for _, m := range []struct {
			ok     bool
			reason string
		}{{l.Email != "" && d.Email == l.Email, "EMAIL"}, {l.Phone != "" && d.Phone == l.Phone, "PHONE"},
			{l.RegistrationCode != "" && d.RegistrationCode == l.RegistrationCode, "REGISTRATION_CODE"},
			{l.Website != "" && d.Website == l.Website, "WEBSITE"},
			{l.Company != "" && strings.EqualFold(d.Name, l.Name) && strings.EqualFold(d.Company, l.Company), "NAME_AND_COMPANY"}} {
			if m.ok {
				reasons = append(reasons, m.reason)
			}
		}
		out = append(out, LeadDuplicate{Lead: maskLead(a, d), Reasons: reasons})
	}
	return out, nil
}

// scoreLater enqueues the rescoring of leads in the writer's transaction.
func (w *writer) scoreLater(ids ...crm.ID) error {
	_, err := w.jobs.InsertTx(w.ctx, w.tx, jobargs.NewScoreLeads(w.actor.OrgID, ids), nil)
	return err
}
