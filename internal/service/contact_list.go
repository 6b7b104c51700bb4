package service

import (
	"context"
	"strings"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
)

// ContactFilter narrows a contact list. Set conditions combine with AND.
type ContactFilter struct {
	Search     *string // the name contains it, or an e-mail address contains it
	Name       *StringFilter
	Title      *StringFilter
	Email      *string // has this e-mail address (exact, case-insensitive)
	Phone      *string // has this phone number (E.164)
	AccountIDs []crm.ID
	OwnerIDs   []crm.ID
	TeamID     *crm.ID
	Unowned    *bool
	CreatedAt  *TimeRange
	UpdatedAt  *TimeRange
	Deleted    bool
}

const contactColumns = `org_id, id, first_name, last_name, name, title, emails, phones, account_id, owner_id,
email_consent, sms_consent, phone_consent, custom, merged_into_id, created_at, updated_at, deleted_at, version`

func (s *Service) contactQuery(a *crm.Actor, f ContactFilter) *listQuery {
	q := &listQuery{table: "contacts", columns: contactColumns}
	q.cond("org_id = %s", a.OrgID)
	q.deleted(f.Deleted)
	q.visibleTo(a.OrgID, viewer(a))
	if f.Search != nil && strings.TrimSpace(*f.Search) != "" {
		like := "%" + escapeLike(strings.TrimSpace(*f.Search)) + "%"
		q.cond("(name ILIKE %s OR array_to_string(emails, ' ') ILIKE %s)", like, like)
	}
	q.text("name", f.Name)
	q.text("title", f.Title)
	if f.Email != nil {
		q.cond("emails @> ARRAY[%s]::text[]", strings.ToLower(strings.TrimSpace(*f.Email)))
	}
	if f.Phone != nil {
		q.cond("phones @> ARRAY[%s]::text[]", strings.TrimSpace(*f.Phone))
	}
	if f.AccountIDs != nil {
		q.cond("account_id = ANY(%s)", f.AccountIDs)
	}
	ownerFilters(q, a.OrgID, f.OwnerIDs, f.TeamID, f.Unowned)
	q.timeRange("created_at", f.CreatedAt)
	q.timeRange("updated_at", f.UpdatedAt)
	return q
}

// ListContacts returns one page of the contacts the actor may see.
func (s *Service) ListContacts(ctx context.Context, a *crm.Actor, f ContactFilter, o Order, p Page) ([]crm.Contact, PageInfo, error) {
	if err := authorize(a, access.ContactsRead); err != nil {
		return nil, PageInfo{}, err
	}
	fromRow := func(r query.Contact) crm.Contact { return maskContact(a, contactFromRow(r)) }
	return runPage(ctx, s, a, s.contactQuery(a, f), o, p, fromRow, func(c crm.Contact) string {
		return RecordCursor(o, c.Name, c.CreatedAt, c.UpdatedAt, c.ID)
	})
}

// CountContacts counts the contacts matching f that the actor may see.
func (s *Service) CountContacts(ctx context.Context, a *crm.Actor, f ContactFilter) (int, error) {
	if err := authorize(a, access.ContactsRead); err != nil {
		return 0, err
	}
	return s.count(ctx, a, s.contactQuery(a, f))
}
