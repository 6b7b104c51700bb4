package service_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

func TestContactNormalizationAndCJKNames(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.rep1, "云栖科技")
	c, _, err := e.svc.CreateContact(e.ctx, e.rep1, service.ContactInput{
		LastName: " 王 ", FirstName: "小明", Title: "CTO 首席技术官", AccountID: acct.ID,
		Emails: []string{" Wang.XiaoMing@Yunqi-Tech.CN ", "wang.xiaoming@yunqi-tech.cn"},
		Phones: []string{"138 0013 8000", "+1 (415) 555-2671"},
	})
	require.NoError(t, err)
	require.Equal(t, "王小明", c.Name, "CJK names read family name first, without a space")
	require.Equal(t, []string{"wang.xiaoming@yunqi-tech.cn"}, c.Emails, "lower-cased and deduplicated")
	require.Equal(t, []string{"+8613800138000", "+14155552671"}, c.Phones, "E.164 with the org's default region CN")
	require.Equal(t, crm.ConsentUnknown, c.EmailConsent)

	en := e.contact(e.rep1, "Zhang", "Wei")
	require.Equal(t, "Wei Zhang", en.Name)

	_, _, err = e.svc.CreateContact(e.ctx, e.rep1, service.ContactInput{LastName: "x", Emails: []string{"not-an-email"}})
	requireCode(t, err, crm.EINVALID, "emails[0]")
	_, _, err = e.svc.CreateContact(e.ctx, e.rep1, service.ContactInput{LastName: "x", Phones: []string{"12"}})
	requireCode(t, err, crm.EINVALID, "phones[0]")
	_, _, err = e.svc.CreateContact(e.ctx, e.rep1, service.ContactInput{})
	requireCode(t, err, crm.EINVALID, "lastName")
	_, _, err = e.svc.CreateContact(e.ctx, e.rep1, service.ContactInput{LastName: "x", EmailConsent: "maybe"})
	requireCode(t, err, crm.EINVALID, "emailConsent")
}

func TestDuplicateContactsByEmailOrPhone(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.contact(e.rep1, "陈", "晓明", func(in *service.ContactInput) {
		in.Emails, in.Phones = []string{"chen@example.cn"}, []string{"13800138000"}
	})
	_, _, err := e.svc.CreateContact(e.ctx, e.rep1, service.ContactInput{LastName: "Chen", Emails: []string{"CHEN@example.cn"}})
	requireCode(t, err, crm.ECONFLICT, "emails")
	var appErr *crm.Error
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, first.ID, appErr.Details["existingId"])

	_, _, err = e.svc.CreateContact(e.ctx, e.rep1, service.ContactInput{LastName: "Chen", Phones: []string{"+86 138-0013-8000"}})
	requireCode(t, err, crm.ECONFLICT, "phones")

	_, _, err = e.svc.CreateContact(e.ctx, e.rep1, service.ContactInput{LastName: "Chen", Phones: []string{"13800138000"}, AllowDuplicate: true})
	require.NoError(t, err)
}

func TestSupportSeesContactsMasked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.contact(e.rep1, "Li", "Na", func(in *service.ContactInput) {
		in.Emails, in.Phones = []string{"li.na@example.cn"}, []string{"+8613800138000"}
	})
	got, err := e.svc.Contact(e.ctx, e.support, c.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"l***@example.cn"}, got.Emails)
	require.Equal(t, []string{"+86*******8000"}, got.Phones)
	owner, err := e.svc.Contact(e.ctx, e.rep1, c.ID)
	require.NoError(t, err)
	require.Equal(t, []string{"+8613800138000"}, owner.Phones)

	trail, _, err := e.svc.AuditTrail(e.ctx, e.support, crm.TypeContact, c.ID, "", 10)
	require.NoError(t, err)
	for _, ch := range trail[0].Changes {
		if ch.Field == "phones" {
			require.JSONEq(t, `["+86*******8000"]`, string(ch.After), "the audit trail masks too")
		}
	}
}

func TestMergeContactsUnitesChannels(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.contact(e.rep1, "Müller", "Lukas", func(in *service.ContactInput) { in.Emails = []string{"lukas@initech.example"} })
	b := e.contact(e.rep1, "Müller", "L.", func(in *service.ContactInput) {
		in.Emails, in.Phones, in.Title = []string{"l.mueller@initech.example"}, []string{"+49 89 123456"}, "IT-Leiter"
	})
	merged, err := e.svc.MergeContacts(e.ctx, e.rep1, a.ID, []crm.ID{b.ID}, a.Version)
	require.NoError(t, err)
	require.Equal(t, []string{"lukas@initech.example", "l.mueller@initech.example"}, merged.Emails)
	require.Equal(t, []string{"+4989123456"}, merged.Phones)
	require.Equal(t, "IT-Leiter", merged.Title)
	gone, err := e.svc.Contacts(e.ctx, e.rep1, []crm.ID{b.ID})
	require.NoError(t, err)
	require.Equal(t, a.ID, gone[0].MergedIntoID)
}

func TestKeysetPaginationNeverSkipsOrRepeats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const n = 23
	for i := range n {
		// Many equal names: ties must be broken by ID.
		e.contact(e.admin, []string{"Li", "Wang", "Zhang"}[i%3], "X")
	}
	for _, o := range []service.Order{{Field: service.OrderName}, {Field: service.OrderName, Desc: true}, {Field: service.OrderCreatedAt, Desc: true}} {
		var seen []crm.ID
		p := service.Page{First: ptr(5)}
		for {
			page, info, err := e.svc.ListContacts(e.ctx, e.admin, service.ContactFilter{}, o, p)
			require.NoError(t, err)
			for _, c := range page {
				seen = append(seen, c.ID)
			}
			if !info.HasNextPage {
				break
			}
			p.After = info.EndCursor
		}
		require.Len(t, seen, n, "order %+v", o)
		unique := map[crm.ID]bool{}
		for _, id := range seen {
			unique[id] = true
		}
		require.Len(t, unique, n)

		// Backwards from the end gives the same rows in the same order.
		var back []crm.ID
		p = service.Page{Last: ptr(4)}
		for {
			page, info, err := e.svc.ListContacts(e.ctx, e.admin, service.ContactFilter{}, o, p)
			require.NoError(t, err)
			ids := make([]crm.ID, len(page))
			for i, c := range page {
				ids[i] = c.ID
			}
			back = append(ids, back...)
			if !info.HasPreviousPage {
				break
			}
			p.Before = info.StartCursor
		}
		require.Equal(t, seen, back)
	}
	total, err := e.svc.CountContacts(e.ctx, e.admin, service.ContactFilter{})
	require.NoError(t, err)
	require.Equal(t, n, total)

	_, _, err = e.svc.ListContacts(e.ctx, e.admin, service.ContactFilter{}, service.Order{}, service.Page{First: ptr(101)})
	requireCode(t, err, crm.EINVALID, "first")
	_, _, err = e.svc.ListContacts(e.ctx, e.admin, service.ContactFilter{}, service.Order{}, service.Page{After: "garbage"})
	requireCode(t, err, crm.EINVALID, "after")
}

func ptr[T any](v T) *T { return &v }
