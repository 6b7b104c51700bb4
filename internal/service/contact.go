package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
)

// maxChannels bounds the e-mail addresses and the phone numbers of one contact.
const maxChannels = 10

// ContactInput is the data of a contact to create.
type ContactInput struct {
	FirstName    string
	LastName     string
	Title        string
	Emails       []string // the first is the primary
	Phones       []string // any common format; stored in E.164 using the organization's default region
	AccountID    crm.ID
	OwnerID      Opt[crm.ID] // unset: the creating user; NilID: the shared pool
	EmailConsent crm.Consent
	SMSConsent   crm.Consent
	PhoneConsent crm.Consent
	Custom       json.RawMessage
	// AllowDuplicate creates the contact even when another has the same e-mail or phone.
	AllowDuplicate bool
	IdempotencyKey string
}

// ContactUpdate changes the fields that are set, if the contact is still at ExpectedVersion.
type ContactUpdate struct {
	ID              crm.ID
	ExpectedVersion int32
	FirstName       Opt[string]
	LastName        Opt[string]
	Title           Opt[string]
	Emails          Opt[[]string]
	Phones          Opt[[]string]
	AccountID       Opt[crm.ID]
	OwnerID         Opt[crm.ID]
	EmailConsent    Opt[crm.Consent]
	SMSConsent      Opt[crm.Consent]
	PhoneConsent    Opt[crm.Consent]
	Custom          Opt[json.RawMessage]
	AllowDuplicate  bool
}

// CreateContact creates a contact. A contact with the same e-mail or phone is reported as a
// CONFLICT naming it (details: existingId), unless AllowDuplicate is set.
func (s *Service) CreateContact(ctx context.Context, a *crm.Actor, in ContactInput) (c crm.Contact, replayed bool, err error) {
	if err := authorize(a, access.ContactsWrite); err != nil {
		return c, false, err
	}
	c = crm.Contact{OrgID: a.OrgID, FirstName: in.FirstName, LastName: in.LastName, Title: in.Title,
		Emails: in.Emails, Phones: in.Phones, AccountID: in.AccountID, OwnerID: in.OwnerID.apply(defaultOwner(a)),
		EmailConsent: orUnknown(in.EmailConsent), SMSConsent: orUnknown(in.SMSConsent),
		PhoneConsent: orUnknown(in.PhoneConsent), Custom: in.Custom}
	err = s.write(ctx, a, func(w *writer) error {
		id, again, err := w.idempotent(in.IdempotencyKey, "createContact", in, s.cfg.IdempotencyTTL, func(id crm.ID) error {
			return w.createContact(id, &c, in.OwnerID.Set, in.AllowDuplicate)
		})
		if err != nil || !again {
			return err
		}
		replayed = true
		c, err = w.contact(id)
		return err
	})
	return maskContact(a, c), replayed, err
}

// createContact normalizes and stores a new contact under id, after checking its owner, its account
// and, unless allowDuplicate, that no contact has its e-mail or phone.
func (w *writer) createContact(id crm.ID, c *crm.Contact, ownerExplicit, allowDuplicate bool) error {
	if err := w.normalizeContact(c); err != nil {
		return err
	}
	if err := w.checkOwner(c.OwnerID, ownerExplicit); err != nil {
		return err
	}
	if err := w.checkAccountRef(c.AccountID); err != nil {
		return err
	}
	if !allowDuplicate {
		if err := w.checkContactDuplicates(c.Emails, c.Phones, crm.NilID); err != nil {
			return err
		}
	}
	c.ID, c.OrgID, c.CreatedAt, c.UpdatedAt, c.Version = id, w.actor.OrgID, w.now, w.now, 1
	if err := w.q.CreateContact(w.ctx, query.CreateContactParams{
		OrgID: w.actor.OrgID, ID: id, FirstName: c.FirstName, LastName: c.LastName, Name: c.Name, Title: c.Title,
		Emails: c.Emails, Phones: c.Phones, AccountID: idOrNil(c.AccountID), OwnerID: idOrNil(c.OwnerID),
		EmailConsent: string(c.EmailConsent), SmsConsent: string(c.SMSConsent),
		PhoneConsent: string(c.PhoneConsent), Custom: c.Custom, Now: w.now,
	}); err != nil {
		return err
	}
	w.emit("contact.created", crm.TypeContact, id, diff(nil, contactFields(*c)), c.OwnerID)
	return nil
}

// UpdateContact applies the set fields. A stale ExpectedVersion is a CONFLICT carrying the current
// version; nothing is written.
func (s *Service) UpdateContact(ctx context.Context, a *crm.Actor, in ContactUpdate) (c crm.Contact, err error) {
	if err := authorize(a, access.ContactsWrite); err != nil {
		return c, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		before, err := w.lockContact(in.ID, in.ExpectedVersion)
		if err != nil {
			return err
		}
		c = before
		c.FirstName = in.FirstName.apply(c.FirstName)
		c.LastName = in.LastName.apply(c.LastName)
		c.Title = in.Title.apply(c.Title)
		c.Emails = in.Emails.apply(c.Emails)
		c.Phones = in.Phones.apply(c.Phones)
		c.AccountID = in.AccountID.apply(c.AccountID)
		c.OwnerID = in.OwnerID.apply(c.OwnerID)
		c.EmailConsent = in.EmailConsent.apply(c.EmailConsent)
		c.SMSConsent = in.SMSConsent.apply(c.SMSConsent)
		c.PhoneConsent = in.PhoneConsent.apply(c.PhoneConsent)
		c.Custom = in.Custom.apply(c.Custom)
		if err := w.normalizeContact(&c); err != nil {
			return err
		}
		if c.OwnerID != before.OwnerID {
			if err := w.checkOwner(c.OwnerID, true); err != nil {
				return err
			}
		}
		if c.AccountID != before.AccountID {
			if err := w.checkAccountRef(c.AccountID); err != nil {
				return err
			}
		}
		if !in.AllowDuplicate {
			if err := w.checkContactDuplicates(added(before.Emails, c.Emails), added(before.Phones, c.Phones), c.ID); err != nil {
				return err
			}
		}
		changes := diff(contactFields(before), contactFields(c))
		if len(changes) == 0 {
			return nil
		}
		if err := w.saveContact(&c); err != nil {
			return err
		}
		w.emit("contact.updated", crm.TypeContact, c.ID, changes, before.OwnerID, c.OwnerID)
		return nil
	})
	return maskContact(a, c), err
}

// DeleteContact soft-deletes a contact.
func (s *Service) DeleteContact(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32) (crm.Contact, error) {
	return s.setContactDeleted(ctx, a, id, expectedVersion, true)
}

// RestoreContact undoes DeleteContact.
func (s *Service) RestoreContact(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32) (crm.Contact, error) {
	return s.setContactDeleted(ctx, a, id, expectedVersion, false)
}

func (s *Service) setContactDeleted(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32, deleted bool) (c crm.Contact, err error) {
	if err := authorize(a, access.ContactsWrite); err != nil {
		return c, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		c, err = w.lockContact(id, expectedVersion)
		if err != nil || (c.DeletedAt != nil) == deleted {
			return err
		}
		if !deleted && c.MergedIntoID != crm.NilID {
			return crm.Errorf(crm.ECONFLICT, "This contact was merged into contact %s and cannot be restored.", c.MergedIntoID).
				With("mergedIntoId", c.MergedIntoID)
		}
		typ := "contact.restored"
		if deleted {
			c.DeletedAt, typ = &w.now, "contact.deleted"
		} else {
			c.DeletedAt = nil
		}
		if err := w.saveContact(&c); err != nil {
			return err
		}
		w.emit(typ, crm.TypeContact, id, []crm.FieldChange{deletedChange(c.DeletedAt)}, c.OwnerID)
		return nil
	})
	return maskContact(a, c), err
}

// MergeContacts merges duplicates into survivor: e-mails and phones are united (survivor's first),
// blank fields filled from the duplicates in order, and the duplicates deleted with a pointer to the
// survivor so their history stays reachable from its audit trail.
func (s *Service) MergeContacts(ctx context.Context, a *crm.Actor, survivorID crm.ID, duplicateIDs []crm.ID, expectedVersion int32) (c crm.Contact, err error) {
	if err := authorize(a, access.ContactsWrite); err != nil {
		return c, err
	}
	if err := checkMergeIDs(survivorID, duplicateIDs); err != nil {
		return c, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		before, err := w.lockContact(survivorID, expectedVersion)
		if err != nil {
			return err
		}
		if before.DeletedAt != nil {
			return crm.Invalid("survivorId", "The surviving contact is deleted; restore it first.")
		}
		c = before
		for _, dupID := range duplicateIDs {
			dup, err := w.lockContact(dupID, 0)
			if err != nil {
				return err
			}
			if dup.DeletedAt != nil {
				return crm.Invalid("duplicateIds", "Contact %s is deleted and cannot be merged.", dupID)
			}
			fillBlank(&c.FirstName, dup.FirstName)
			fillBlank(&c.LastName, dup.LastName)
			fillBlank(&c.Title, dup.Title)
			c.Emails = union(c.Emails, dup.Emails)
			c.Phones = union(c.Phones, dup.Phones)
			if c.AccountID == crm.NilID {
				c.AccountID = dup.AccountID
			}
			if c.OwnerID == crm.NilID {
				c.OwnerID = dup.OwnerID
			}
			c.Custom = mergeCustom(c.Custom, dup.Custom)
			dupBefore := contactFields(dup)
			dup.DeletedAt, dup.MergedIntoID = &w.now, survivorID
			if err := w.saveContact(&dup); err != nil {
				return err
			}
			w.emit("contact.merged_away", crm.TypeContact, dup.ID, diff(dupBefore, contactFields(dup)), dup.OwnerID)
		}
		if len(c.Emails) > maxChannels || len(c.Phones) > maxChannels {
			return crm.Invalid("duplicateIds", "The merged contact would have more than %d e-mails or phones; remove some first.", maxChannels)
		}
		if err := w.saveContact(&c); err != nil {
			return err
		}
		changes := append(diff(contactFields(before), contactFields(c)), crm.FieldChange{Field: "mergedIds", After: mustJSON(duplicateIDs)})
		w.emit("contact.merged", crm.TypeContact, c.ID, changes, before.OwnerID, c.OwnerID)
		return nil
	})
	return maskContact(a, c), err
}

// Contacts returns the contacts with the given IDs that the actor may see, in the order of ids;
// missing or invisible ones are zero Contacts.
func (s *Service) Contacts(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.Contact, error) {
	if err := authorize(a, access.ContactsRead); err != nil {
		return nil, err
	}
	var rows []query.Contact
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.GetContacts(ctx, query.GetContactsParams{OrgID: a.OrgID, Ids: ids, ViewerID: viewer(a)})
		return err
	})
	cs := make([]crm.Contact, len(rows))
	for i, r := range rows {
		cs[i] = maskContact(a, contactFromRow(r))
	}
	return inOrder(cs, ids, func(c crm.Contact) crm.ID { return c.ID }), err
}

// Contact returns one contact the actor may see, or ENOTFOUND.
func (s *Service) Contact(ctx context.Context, a *crm.Actor, id crm.ID) (crm.Contact, error) {
	cs, err := s.Contacts(ctx, a, []crm.ID{id})
	if err != nil {
		return crm.Contact{}, err
	}
	if cs[0].ID == crm.NilID {
		return crm.Contact{}, crm.NotFound("contact", id)
	}
	return cs[0], nil
}

// ContactsOfAccounts returns, for each account ID, its first perAccount live contacts (by name)
// that the actor may see: one query for a whole page of accounts.
func (s *Service) ContactsOfAccounts(ctx context.Context, a *crm.Actor, accountIDs []crm.ID, perAccount int) ([][]crm.Contact, error) {
	if err := authorize(a, access.ContactsRead); err != nil {
		return nil, err
	}
	if perAccount < 0 || perAccount > MaxPageSize {
		return nil, crm.Invalid("first", "Page size must be between 0 and %d.", MaxPageSize)
	}
	var rows []query.Contact
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.ContactsOfAccounts(ctx, query.ContactsOfAccountsParams{
			OrgID: a.OrgID, AccountIds: accountIDs, ViewerID: viewer(a), PerAccount: int32(perAccount)})
		return err
	})
	byAccount := make(map[crm.ID][]crm.Contact, len(accountIDs))
	for _, r := range rows {
		byAccount[idOf(r.AccountID)] = append(byAccount[idOf(r.AccountID)], maskContact(a, contactFromRow(r)))
	}
	out := make([][]crm.Contact, len(accountIDs))
	for i, id := range accountIDs {
		out[i] = byAccount[id]
	}
	return out, err
}

func (w *writer) lockContact(id crm.ID, expectedVersion int32) (crm.Contact, error) {
	row, err := w.q.GetContactForUpdate(w.ctx, query.GetContactForUpdateParams{OrgID: w.actor.OrgID, ID: id, ViewerID: viewer(w.actor)})
	if errors.Is(err, pgx.ErrNoRows) {
		return crm.Contact{}, crm.NotFound("contact", id)
	} else if err != nil {
		return crm.Contact{}, err
	}
	c := contactFromRow(row)
	return c, checkVersion("contact", c.Version, expectedVersion)
}

func (w *writer) contact(id crm.ID) (crm.Contact, error) {
	rows, err := w.q.GetContacts(w.ctx, query.GetContactsParams{OrgID: w.actor.OrgID, Ids: []crm.ID{id}, ViewerID: viewer(w.actor)})
	if err != nil || len(rows) == 0 {
		return crm.Contact{}, errors.Join(err, crm.NotFound("contact", id))
	}
	return contactFromRow(rows[0]), nil
}

func (w *writer) account(id crm.ID) (crm.Account, error) {
	rows, err := w.q.GetAccounts(w.ctx, query.GetAccountsParams{OrgID: w.actor.OrgID, Ids: []crm.ID{id}, ViewerID: viewer(w.actor)})
	if err != nil || len(rows) == 0 {
		return crm.Account{}, errors.Join(err, crm.NotFound("account", id))
	}
	return accountFromRow(rows[0]), nil
}

func (w *writer) saveContact(c *crm.Contact) error {
	res, err := w.q.UpdateContact(w.ctx, query.UpdateContactParams{
		OrgID: c.OrgID, ID: c.ID, FirstName: c.FirstName, LastName: c.LastName, Name: c.Name, Title: c.Title,
		Emails: c.Emails, Phones: c.Phones, AccountID: idOrNil(c.AccountID), OwnerID: idOrNil(c.OwnerID),
		EmailConsent: string(c.EmailConsent), SmsConsent: string(c.SMSConsent), PhoneConsent: string(c.PhoneConsent),
		Custom: c.Custom, MergedIntoID: idOrNil(c.MergedIntoID), DeletedAt: c.DeletedAt, Now: w.now,
	})
	if err != nil {
		return err
	}
	c.Version, c.UpdatedAt = res.Version, res.UpdatedAt
	return nil
}

// checkAccountRef verifies that a contact's account is a live account the actor may see.
func (w *writer) checkAccountRef(id crm.ID) error {
	if id == crm.NilID {
		return nil
	}
	acct, err := w.account(id)
	if crm.ErrorCode(err) == crm.ENOTFOUND || (err == nil && acct.DeletedAt != nil) {
		return crm.Invalid("accountId", "Account %s does not exist or you cannot see it.", id)
	}
	return err
}

// checkContactDuplicates reports an existing live contact with one of the e-mails or phones.
func (w *writer) checkContactDuplicates(emails, phones []string, self crm.ID) error {
	if len(emails) == 0 && len(phones) == 0 {
		return nil
	}
	if err := w.lockKeys("contact-email", emails...); err != nil {
		return err
	}
	if err := w.lockKeys("contact-phone", phones...); err != nil {
		return err
	}
	dups, err := w.q.FindContactDuplicates(w.ctx, query.FindContactDuplicatesParams{
		OrgID: w.actor.OrgID, ExcludeID: self, Emails: emails, Phones: phones})
	if err != nil || len(dups) == 0 {
		return err
	}
	d := dups[0]
	field, what := "phones", "phone number"
	for _, e := range emails {
		if contains(d.Emails, e) {
			field, what = "emails", "e-mail address "+e
		}
	}
	name, err := w.visibleName(d.Name, idOf(d.OwnerID))
	if err != nil {
		return err
	}
	return (&crm.Error{Code: crm.ECONFLICT, Field: field,
		Message: fmt.Sprintf("A contact with the same %s already exists: %s. Update or merge that contact, or set allowDuplicate.", what, name)}).
		With("existingId", d.ID).With("existingType", crm.TypeContact)
}

// normalizeContact validates and normalizes a contact in place; phones are read with the
// organization's default region.
func (w *writer) normalizeContact(c *crm.Contact) (err error) {
	if c.FirstName, err = normalize.Text("firstName", c.FirstName, 100); err != nil {
		return err
	}
	if c.LastName, err = normalize.Text("lastName", c.LastName, 100); err != nil {
		return err
	}
	if c.FirstName == "" && c.LastName == "" {
		return crm.Invalid("lastName", "The contact needs a first or a last name.")
	}
	c.Name = normalize.DisplayName(c.FirstName, c.LastName)
	if c.Title, err = normalize.Text("title", c.Title, 200); err != nil {
		return err
	}
	if len(c.Emails) > maxChannels {
		return crm.Invalid("emails", "A contact has at most %d e-mail addresses.", maxChannels)
	}
	if len(c.Phones) > maxChannels {
		return crm.Invalid("phones", "A contact has at most %d phone numbers.", maxChannels)
	}
	emails := make([]string, 0, len(c.Emails))
	for i, e := range c.Emails {
		n, err := normalize.Email(fmt.Sprintf("emails[%d]", i), e)
		if err != nil {
			return err
		}
		emails = union(emails, []string{n})
	}
	region, err := w.phoneRegion()
	if err != nil {
		return err
	}
	phones := make([]string, 0, len(c.Phones))
	for i, p := range c.Phones {
		n, err := normalize.Phone(fmt.Sprintf("phones[%d]", i), p, region)
		if err != nil {
			return err
		}
		phones = union(phones, []string{n})
	}
	c.Emails, c.Phones = emails, phones
	for field, v := range map[string]crm.Consent{"emailConsent": c.EmailConsent, "smsConsent": c.SMSConsent, "phoneConsent": c.PhoneConsent} {
		if v != crm.ConsentUnknown && v != crm.ConsentGranted && v != crm.ConsentWithdrawn {
			return crm.Invalid(field, "Consent is one of unknown, granted or withdrawn.")
		}
	}
	c.Custom, err = normalizeCustom(c.Custom)
	return err
}

// phoneRegion is the organization's default region for reading national phone numbers.
func (w *writer) phoneRegion() (string, error) {
	st, err := w.settings()
	return st.DefaultPhoneRegion, err
}

// maskContact hides e-mails and phones from actors without the pii permission.
func maskContact(a *crm.Actor, c crm.Contact) crm.Contact {
	if access.Allows(a, access.PII) {
		return c
	}
	masked := c
	masked.Emails = make([]string, len(c.Emails))
	for i, e := range c.Emails {
		masked.Emails[i] = access.MaskEmail(e)
	}
	masked.Phones = make([]string, len(c.Phones))
	for i, p := range c.Phones {
		masked.Phones[i] = access.MaskPhone(p)
	}
	return masked
}

func contactFromRow(r query.Contact) crm.Contact {
	return crm.Contact{
		ID: r.ID, OrgID: r.OrgID, FirstName: r.FirstName, LastName: r.LastName, Name: r.Name, Title: r.Title, Emails: r.Emails,
		Phones: r.Phones, AccountID: idOf(r.AccountID), OwnerID: idOf(r.OwnerID), EmailConsent: crm.Consent(r.EmailConsent),
		SMSConsent: crm.Consent(r.SmsConsent), PhoneConsent: crm.Consent(r.PhoneConsent), Custom: r.Custom,
		MergedIntoID: idOf(r.MergedIntoID), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, DeletedAt: r.DeletedAt,
		Version: r.Version,
	}
}

// contactFields are the contact's fields as events show them.
func contactFields(c crm.Contact) fields {
	return fields{
		"firstName": c.FirstName, "lastName": c.LastName, "title": c.Title, "emails": c.Emails, "phones": c.Phones,
		"accountId": idOrNil(c.AccountID), "ownerId": idOrNil(c.OwnerID), "emailConsent": c.EmailConsent,
		"smsConsent": c.SMSConsent, "phoneConsent": c.PhoneConsent, "custom": json.RawMessage(c.Custom),
		"mergedIntoId": idOrNil(c.MergedIntoID),
	}
}

func orUnknown(c crm.Consent) crm.Consent {
	if c == "" {
		return crm.ConsentUnknown
	}
	return c
}

// union returns a followed by the elements of b it lacks, without duplicates.
func union(a, b []string) []string {
	out := append([]string{}, a...)
	for _, x := range b {
		if !contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// added returns the elements of after that before lacks.
func added(before, after []string) []string {
	var out []string
	for _, x := range after {
		if !contains(before, x) {
			out = append(out, x)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}
