package service_test

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/service"
)

func TestCreateAccountNormalizesAndRecordsEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct, replayed, err := e.svc.CreateAccount(e.ctx, e.rep1, service.AccountInput{
		Name: "  杭州云栖科技有限公司  ", RegistrationCode: "91330100ma2b3c4d5n", Domain: "https://WWW.Yunqi-Tech.cn/about",
		Country: "cn", Custom: json.RawMessage(`{"tier": "gold"}`),
	})
	require.NoError(t, err)
	require.False(t, replayed)
	require.Equal(t, "杭州云栖科技有限公司", acct.Name)
	require.Equal(t, "91330100MA2B3C4D5N", acct.RegistrationCode)
	require.Equal(t, "yunqi-tech.cn", acct.Domain)
	require.Equal(t, "CN", acct.Country)
	require.Equal(t, e.rep1.UserID, acct.OwnerID, "the creator owns the account by default")
	require.JSONEq(t, `{"tier":"gold"}`, string(acct.Custom))

	trail, _, err := e.svc.AuditTrail(e.ctx, e.rep1, crm.TypeAccount, acct.ID, "", 10)
	require.NoError(t, err)
	require.Len(t, trail, 1)
	require.Equal(t, "account.created", trail[0].Type)
	require.Equal(t, crm.ActorUser, trail[0].ActorKind)
	require.Equal(t, e.rep1.UserID, trail[0].ActorID)
	changed := map[string]string{}
	for _, c := range trail[0].Changes {
		changed[c.Field] = string(c.After)
	}
	require.Equal(t, `"杭州云栖科技有限公司"`, changed["name"])
	require.Equal(t, `"yunqi-tech.cn"`, changed["domain"])
}

func TestCreateAccountRejectsBadInputAndWritesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	cases := []struct {
		name  string
		in    service.AccountInput
		field string
	}{
		{"empty name", service.AccountInput{Name: "   "}, "name"},
		{"bad check character", service.AccountInput{Name: "x", RegistrationCode: "91330100MA2B3C4D5X"}, "registrationCode"},
		{"bad domain", service.AccountInput{Name: "x", Domain: "not a domain"}, "domain"},
		{"unknown country", service.AccountInput{Name: "x", Country: "XX"}, "country"},
		{"custom not an object", service.AccountInput{Name: "x", Custom: json.RawMessage(`[1,2]`)}, "custom"},
		{"owner of another org", service.AccountInput{Name: "x", OwnerID: service.Some(crm.NewID())}, "ownerId"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := e.svc.CreateAccount(e.ctx, e.admin, c.in)
			requireCode(t, err, crm.EINVALID, c.field)
		})
	}
	require.Equal(t, 0, e.count("SELECT count(*) FROM accounts"))
	require.Equal(t, 0, e.count("SELECT count(*) FROM events WHERE record_type = 'Account'"))
}

func TestDuplicateAccountsAreConflictsNamingTheExistingOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	first := e.account(e.rep1, "云栖科技", func(in *service.AccountInput) {
		in.RegistrationCode, in.Domain = "91330100MA2B3C4D5N", "yunqi-tech.cn"
	})

	_, _, err := e.svc.CreateAccount(e.ctx, e.rep1, service.AccountInput{Name: "Yunqi", RegistrationCode: "91330100MA2B3C4D5N"})
	requireCode(t, err, crm.ECONFLICT, "registrationCode")
	var appErr *crm.Error
	require.ErrorAs(t, err, &appErr)
	require.Equal(t, first.ID, appErr.Details["existingId"])
	require.Contains(t, appErr.Message, "云栖科技")

	_, _, err = e.svc.CreateAccount(e.ctx, e.rep1, service.AccountInput{Name: "Yunqi HK", Domain: "www.yunqi-tech.cn"})
	requireCode(t, err, crm.ECONFLICT, "domain")

	// A rep who cannot see the existing account learns that it exists, not its name.
	_, _, err = e.svc.CreateAccount(e.ctx, e.rep2, service.AccountInput{Name: "Yunqi", Domain: "yunqi-tech.cn"})
	requireCode(t, err, crm.ECONFLICT, "domain")
	require.NotContains(t, err.Error(), "云栖科技")

	_, _, err = e.svc.CreateAccount(e.ctx, e.rep1, service.AccountInput{Name: "Yunqi HK", Domain: "yunqi-tech.cn", AllowDuplicate: true})
	require.NoError(t, err, "allowDuplicate creates despite a shared domain")
	_, _, err = e.svc.CreateAccount(e.ctx, e.rep1, service.AccountInput{Name: "Yunqi 2", RegistrationCode: "91330100MA2B3C4D5N", AllowDuplicate: true})
	requireCode(t, err, crm.ECONFLICT, "registrationCode")
}

func TestConcurrentCreatesOfTheSameCompanyMakeOneAccount(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, _, errs[i] = e.svc.CreateAccount(e.ctx, e.admin, service.AccountInput{Name: "Globex", Domain: "globex.example"})
		})
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		if err == nil {
			created++
		} else {
			requireCode(t, err, crm.ECONFLICT, "domain")
		}
	}
	require.Equal(t, 1, created)
	require.Equal(t, 1, e.count("SELECT count(*) FROM accounts"))
}

func TestIdempotencyKeyReplaysTheFirstResult(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	in := service.AccountInput{Name: "Initech", IdempotencyKey: "req-42"}
	first, replayed, err := e.svc.CreateAccount(e.ctx, e.rep1, in)
	require.NoError(t, err)
	require.False(t, replayed)
	again, replayed, err := e.svc.CreateAccount(e.ctx, e.rep1, in)
	require.NoError(t, err)
	require.True(t, replayed)
	require.Equal(t, first.ID, again.ID)
	require.Equal(t, 1, e.count("SELECT count(*) FROM accounts"))

	in.Name = "Initech GmbH"
	_, _, err = e.svc.CreateAccount(e.ctx, e.rep1, in)
	requireCode(t, err, crm.ECONFLICT)

	// Keys belong to their principal: another user may use the same key for their own request.
	_, replayed, err = e.svc.CreateAccount(e.ctx, e.rep2, in)
	require.NoError(t, err)
	require.False(t, replayed)
}

func TestConcurrentRetriesWithOneIdempotencyKeyCreateOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := make([]crm.ID, 6)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			acct, _, err := e.svc.CreateAccount(e.ctx, e.rep1, service.AccountInput{Name: "Umbrella", IdempotencyKey: "same"})
			require.NoError(t, err)
			ids[i] = acct.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id)
	}
	require.Equal(t, 1, e.count("SELECT count(*) FROM accounts"))
}

func TestStaleVersionIsAConflictAndChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.rep1, "Hooli")
	updated, err := e.svc.UpdateAccount(e.ctx, e.rep1, service.AccountUpdate{ID: acct.ID, ExpectedVersion: 1, Industry: service.Some("Software")})
	require.NoError(t, err)
	require.EqualValues(t, 2, updated.Version)

	_, err = e.svc.UpdateAccount(e.ctx, e.rep1, service.AccountUpdate{ID: acct.ID, ExpectedVersion: 1, Industry: service.Some("Hardware")})
	requireCode(t, err, crm.ECONFLICT)
	var appErr *crm.Error
	require.ErrorAs(t, err, &appErr)
	require.EqualValues(t, 2, appErr.Details["currentVersion"])
	got, err := e.svc.Account(e.ctx, e.rep1, acct.ID)
	require.NoError(t, err)
	require.Equal(t, "Software", got.Industry)
}

func TestConcurrentUpdatesNeverLoseOne(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.admin, "Massive Dynamic")
	const writers = 10
	errs := make([]error, writers)
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			_, errs[i] = e.svc.UpdateAccount(e.ctx, e.admin, service.AccountUpdate{ID: acct.ID, ExpectedVersion: 1,
				Region: service.Some(string(rune('A' + i)))})
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		if err == nil {
			wins++
		} else {
			requireCode(t, err, crm.ECONFLICT)
		}
	}
	require.Equal(t, 1, wins, "exactly one writer of version 1 wins")
	got, err := e.svc.Account(e.ctx, e.admin, acct.ID)
	require.NoError(t, err)
	require.EqualValues(t, 2, got.Version)
}

func TestDeleteRestoreAndRecycleBin(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acct := e.account(e.rep1, "Soylent", func(in *service.AccountInput) { in.RegistrationCode = "91310115MA1K4X7Y2G" })
	deleted, err := e.svc.DeleteAccount(e.ctx, e.rep1, acct.ID, 1)
	require.NoError(t, err)
	require.NotNil(t, deleted.DeletedAt)

	live, _, err := e.svc.ListAccounts(e.ctx, e.rep1, service.AccountFilter{}, service.Order{}, service.Page{})
	require.NoError(t, err)
	require.Empty(t, live)
	bin, _, err := e.svc.ListAccounts(e.ctx, e.rep1, service.AccountFilter{Deleted: true}, service.Order{}, service.Page{})
	require.NoError(t, err)
	require.Len(t, bin, 1)

	// Its registration code is free while it is deleted...
	other := e.account(e.rep1, "Soylent 2", func(in *service.AccountInput) { in.RegistrationCode = "91310115MA1K4X7Y2G" })
	// ...so restoring it now would duplicate the code.
	_, err = e.svc.RestoreAccount(e.ctx, e.rep1, acct.ID, deleted.Version)
	requireCode(t, err, crm.ECONFLICT)
	_, err = e.svc.DeleteAccount(e.ctx, e.rep1, other.ID, other.Version)
	require.NoError(t, err)
	restored, err := e.svc.RestoreAccount(e.ctx, e.rep1, acct.ID, deleted.Version)
	require.NoError(t, err)
	require.Nil(t, restored.DeletedAt)
}

func TestMergeAccountsMovesContactsAndKeepsHistory(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	survivor := e.account(e.rep1, "Wayne Enterprises")
	dup := e.account(e.rep1, "Wayne Ent.", func(in *service.AccountInput) {
		in.Domain, in.Industry, in.RegistrationCode = "wayne.example", "Conglomerate", "91110108MA01N2P3QM"
	})
	c := e.contact(e.rep1, "Fox", "Lucius", func(in *service.ContactInput) { in.AccountID = dup.ID })

	merged, err := e.svc.MergeAccounts(e.ctx, e.rep1, survivor.ID, []crm.ID{dup.ID}, survivor.Version)
	require.NoError(t, err)
	require.Equal(t, "wayne.example", merged.Domain, "blank fields are filled from the duplicate")
	require.Equal(t, "91110108MA01N2P3QM", merged.RegistrationCode)
	require.Equal(t, "Conglomerate", merged.Industry)

	moved, err := e.svc.Contact(e.ctx, e.rep1, c.ID)
	require.NoError(t, err)
	require.Equal(t, survivor.ID, moved.AccountID)
	gone, err := e.svc.Accounts(e.ctx, e.rep1, []crm.ID{dup.ID})
	require.NoError(t, err)
	require.NotNil(t, gone[0].DeletedAt)
	require.Equal(t, survivor.ID, gone[0].MergedIntoID)

	trail, _, err := e.svc.AuditTrail(e.ctx, e.rep1, crm.TypeAccount, survivor.ID, "", 50)
	require.NoError(t, err)
	var types []string
	for _, ev := range trail {
		types = append(types, ev.Type)
	}
	require.Contains(t, types, "account.merged")
	require.Contains(t, types, "account.merged_away", "the duplicate's history is part of the survivor's trail")

	_, err = e.svc.RestoreAccount(e.ctx, e.rep1, dup.ID, 0)
	requireCode(t, err, crm.ECONFLICT)
	_, err = e.svc.MergeAccounts(e.ctx, e.rep1, survivor.ID, []crm.ID{survivor.ID}, 0)
	requireCode(t, err, crm.EINVALID, "duplicateIds")
}
