package service

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/normalize"
)

// AccountInput is the data of an account to create. Empty strings mean "not known".
type AccountInput struct {
	Name             string
	RegistrationCode string
	Domain           string
	Industry         string
	Employees        *int32
	Region           string
	Country          string
	OwnerID          Opt[crm.ID] // unset: the creating user; NilID: the shared pool
	Custom           json.RawMessage
	// AllowDuplicate creates the account even when one with the same web domain exists. A
	// registration code is never shared: it identifies one company.
	AllowDuplicate bool
	IdempotencyKey string
}

// AccountUpdate changes the fields that are set, if the account is still at ExpectedVersion.
type AccountUpdate struct {
	ID               crm.ID
	ExpectedVersion  int32
	Name             Opt[string]
	RegistrationCode Opt[string]
	Domain           Opt[string]
	Industry         Opt[string]
	Employees        Opt[*int32]
	Region           Opt[string]
	Country          Opt[string]
	OwnerID          Opt[crm.ID]
	Custom           Opt[json.RawMessage]
}

// CreateAccount creates an account. An account with the same registration code or web domain is
// reported as a CONFLICT that names it (details: existingId), unless AllowDuplicate is set.
func (s *Service) CreateAccount(ctx context.Context, a *crm.Actor, in AccountInput) (acct crm.Account, replayed bool, err error) {
	if err := authorize(a, access.AccountsWrite); err != nil {
		return acct, false, err
	}
	owner := in.OwnerID.apply(defaultOwner(a))
	acct = crm.Account{OrgID: a.OrgID, Name: in.Name, RegistrationCode: in.RegistrationCode, Domain: in.Domain,
		Industry: in.Industry, Employees: in.Employees, Region: in.Region, Country: in.Country, OwnerID: owner,
		Custom: in.Custom}
	if err := normalizeAccount(&acct); err != nil {
		return acct, false, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		id, again, err := w.idempotent(in.IdempotencyKey, "createAccount", in, s.cfg.IdempotencyTTL, func(id crm.ID) error {
			return w.createAccount(id, &acct, in.OwnerID.Set, in.AllowDuplicate)
		})
		if err != nil || !again {
			return err
		}
		replayed = true
		acct, err = w.account(id)
		return err
	})
	return acct, replayed, err
}

// createAccount stores a normalized new account under id, after checking its owner and, unless
// allowDuplicate, that no account has its registration code or domain.
func (w *writer) createAccount(id crm.ID, acct *crm.Account, ownerExplicit, allowDuplicate bool) error {
	if err := w.checkOwner(acct.OwnerID, ownerExplicit); err != nil {
		return err
	}
	if err := w.checkAccountDuplicates(*acct, crm.NilID, allowDuplicate); err != nil {
		return err
	}
	acct.ID, acct.OrgID, acct.CreatedAt, acct.UpdatedAt, acct.Version = id, w.actor.OrgID, w.now, w.now, 1
	if err := w.q.CreateAccount(w.ctx, query.CreateAccountParams{
		OrgID: w.actor.OrgID, ID: id, Name: acct.Name, RegistrationCode: strOrNil(acct.RegistrationCode),
		Domain: strOrNil(acct.Domain), Industry: acct.Industry, Employees: acct.Employees, Region: acct.Region,
		Country: acct.Country, OwnerID: idOrNil(acct.OwnerID), Custom: acct.Custom, Now: w.now,
	}); err != nil {
		return err
	}
	w.emit("account.created", crm.TypeAccount, id, diff(nil, accountFields(*acct)), acct.OwnerID)
	return nil
}

// UpdateAccount applies the set fields. A stale ExpectedVersion is a CONFLICT carrying the current
// version; nothing is written.
func (s *Service) UpdateAccount(ctx context.Context, a *crm.Actor, in AccountUpdate) (acct crm.Account, err error) {
	if err := authorize(a, access.AccountsWrite); err != nil {
		return acct, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		before, err := w.lockAccount(in.ID, in.ExpectedVersion)
		if err != nil {
			return err
		}
		acct = before
		acct.Name = in.Name.apply(acct.Name)
		acct.RegistrationCode = in.RegistrationCode.apply(acct.RegistrationCode)
		acct.Domain = in.Domain.apply(acct.Domain)
		acct.Industry = in.Industry.apply(acct.Industry)
		acct.Employees = in.Employees.apply(acct.Employees)
		acct.Region = in.Region.apply(acct.Region)
		acct.Country = in.Country.apply(acct.Country)
		acct.OwnerID = in.OwnerID.apply(acct.OwnerID)
		acct.Custom = in.Custom.apply(acct.Custom)
		if err := normalizeAccount(&acct); err != nil {
			return err
		}
		if acct.OwnerID != before.OwnerID {
			if err := w.checkOwner(acct.OwnerID, true); err != nil {
				return err
			}
		}
		if acct.RegistrationCode != before.RegistrationCode || acct.Domain != before.Domain {
			changed := acct
			if acct.Domain == before.Domain {
				changed.Domain = "" // only newly set identifiers are checked
			}
			if err := w.checkAccountDuplicates(changed, acct.ID, acct.Domain == before.Domain); err != nil {
				return err
			}
		}
		changes := diff(accountFields(before), accountFields(acct))
		if len(changes) == 0 {
			return nil
		}
		if err := w.saveAccount(&acct); err != nil {
			return err
		}
		w.emit("account.updated", crm.TypeAccount, acct.ID, changes, before.OwnerID, acct.OwnerID)
		return nil
	})
	return acct, err
}

// DeleteAccount soft-deletes an account; RestoreAccount brings it back.
func (s *Service) DeleteAccount(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32) (crm.Account, error) {
	return s.setAccountDeleted(ctx, a, id, expectedVersion, true)
}

// RestoreAccount undoes DeleteAccount. Restoring an account whose registration code has since been
// given to another account is a CONFLICT.
func (s *Service) RestoreAccount(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32) (crm.Account, error) {
	return s.setAccountDeleted(ctx, a, id, expectedVersion, false)
}

func (s *Service) setAccountDeleted(ctx context.Context, a *crm.Actor, id crm.ID, expectedVersion int32, deleted bool) (acct crm.Account, err error) {
	if err := authorize(a, access.AccountsWrite); err != nil {
		return acct, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		acct, err = w.lockAccount(id, expectedVersion)
		if err != nil {
			return err
		}
		if (acct.DeletedAt != nil) == deleted {
			return nil // already in the requested state
		}
		if !deleted && acct.MergedIntoID != crm.NilID {
			return crm.Errorf(crm.ECONFLICT, "This account was merged into account %s and cannot be restored.", acct.MergedIntoID).
				With("mergedIntoId", acct.MergedIntoID)
		}
		typ := "account.restored"
		if deleted {
			acct.DeletedAt, typ = &w.now, "account.deleted"
		} else {
			acct.DeletedAt = nil
		}
		if err := w.saveAccount(&acct); err != nil {
			return err
		}
		w.emit(typ, crm.TypeAccount, id, []crm.FieldChange{deletedChange(acct.DeletedAt)}, acct.OwnerID)
		return nil
	})
	return acct, err
}

// MergeAccounts merges duplicates into survivor: blank fields of the survivor are filled from the
// duplicates (in the order given), their contacts move to the survivor, and the duplicates are
// deleted with a pointer to the survivor, so their history stays reachable from its audit trail.
func (s *Service) MergeAccounts(ctx context.Context, a *crm.Actor, survivorID crm.ID, duplicateIDs []crm.ID, expectedVersion int32) (acct crm.Account, err error) {
	if err := authorize(a, access.AccountsWrite); err != nil {
		return acct, err
	}
	if err := checkMergeIDs(survivorID, duplicateIDs); err != nil {
		return acct, err
	}
	err = s.write(ctx, a, func(w *writer) error {
		before, err := w.lockAccount(survivorID, expectedVersion)
		if err != nil {
			return err
		}
		if before.DeletedAt != nil {
			return crm.Invalid("survivorId", "The surviving account is deleted; restore it first.")
		}
		acct = before
		for _, dupID := range duplicateIDs {
			dup, err := w.lockAccount(dupID, 0)
			if err != nil {
				return err
			}
			if dup.DeletedAt != nil {
				return crm.Invalid("duplicateIds", "Account %s is deleted and cannot be merged.", dupID)
			}
			fillBlank(&acct.RegistrationCode, dup.RegistrationCode)
			fillBlank(&acct.Domain, dup.Domain)
			fillBlank(&acct.Industry, dup.Industry)
			fillBlank(&acct.Region, dup.Region)
			fillBlank(&acct.Country, dup.Country)
			if acct.Employees == nil {
				acct.Employees = dup.Employees
			}
			if acct.OwnerID == crm.NilID {
				acct.OwnerID = dup.OwnerID
			}
			acct.Custom = mergeCustom(acct.Custom, dup.Custom)

			dupBefore := accountFields(dup)
			dup.DeletedAt, dup.MergedIntoID = &w.now, survivorID
			if err := w.saveAccount(&dup); err != nil { // frees its registration code for the survivor
				return err
			}
			w.emit("account.merged_away", crm.TypeAccount, dup.ID, diff(dupBefore, accountFields(dup)), dup.OwnerID)
			moved, err := w.q.MoveContactsToAccount(w.ctx, query.MoveContactsToAccountParams{
				OrgID: a.OrgID, FromID: &dup.ID, ToID: &survivorID, Now: w.now})
			if err != nil {
				return err
			}
			for _, c := range moved {
				w.emit("contact.updated", crm.TypeContact, c.ID, []crm.FieldChange{idChange("accountId", dup.ID, survivorID)}, idOf(c.OwnerID))
			}
		}
		if err := w.saveAccount(&acct); err != nil {
			return err
		}
		changes := append(diff(accountFields(before), accountFields(acct)), crm.FieldChange{Field: "mergedIds", After: mustJSON(duplicateIDs)})
		w.emit("account.merged", crm.TypeAccount, acct.ID, changes, before.OwnerID, acct.OwnerID)
		return nil
	})
	return acct, err
}

// Accounts returns the accounts with the given IDs that the actor may see, in the order of ids;
// missing or invisible ones are zero Accounts with a NilID (for batched lookups and node(id:)).
func (s *Service) Accounts(ctx context.Context, a *crm.Actor, ids []crm.ID) ([]crm.Account, error) {
	if err := authorize(a, access.AccountsRead); err != nil {
		return nil, err
	}
	var rows []query.Account
	err := s.read(ctx, a, func(q *query.Queries) (err error) {
		rows, err = q.GetAccounts(ctx, query.GetAccountsParams{OrgID: a.OrgID, Ids: ids, ViewerID: viewer(a)})
		return err
	})
	accts := make([]crm.Account, len(rows))
	for i, r := range rows {
		accts[i] = accountFromRow(r)
	}
	return inOrder(accts, ids, func(a crm.Account) crm.ID { return a.ID }), err
}

// Account returns one account the actor may see, or ENOTFOUND.
func (s *Service) Account(ctx context.Context, a *crm.Actor, id crm.ID) (crm.Account, error) {
	accts, err := s.Accounts(ctx, a, []crm.ID{id})
	if err != nil {
		return crm.Account{}, err
	}
	if accts[0].ID == crm.NilID {
		return crm.Account{}, crm.NotFound("account", id)
	}
	return accts[0], nil
}

// lockAccount reads an account the actor may see FOR UPDATE and checks its version (0 skips the
// check).
func (w *writer) lockAccount(id crm.ID, expectedVersion int32) (crm.Account, error) {
	row, err := w.q.GetAccountForUpdate(w.ctx, query.GetAccountForUpdateParams{OrgID: w.actor.OrgID, ID: id, ViewerID: viewer(w.actor)})
	if errors.Is(err, pgx.ErrNoRows) {
		return crm.Account{}, crm.NotFound("account", id)
	} else if err != nil {
		return crm.Account{}, err
	}
	acct := accountFromRow(row)
	return acct, checkVersion("account", acct.Version, expectedVersion)
}

func (w *writer) saveAccount(acct *crm.Account) error {
	res, err := w.q.UpdateAccount(w.ctx, query.UpdateAccountParams{
		OrgID: acct.OrgID, ID: acct.ID, Name: acct.Name, RegistrationCode: strOrNil(acct.RegistrationCode),
		Domain: strOrNil(acct.Domain), Industry: acct.Industry, Employees: acct.Employees, Region: acct.Region,
		Country: acct.Country, OwnerID: idOrNil(acct.OwnerID), Custom: acct.Custom,
		MergedIntoID: idOrNil(acct.MergedIntoID), DeletedAt: acct.DeletedAt, Now: w.now,
	})
	if err != nil {
		return err
	}
	acct.Version, acct.UpdatedAt = res.Version, res.UpdatedAt
	return nil
}

// checkAccountDuplicates reports an existing live account with the same registration code (always)
// or the same domain (unless allowed). An advisory lock per identifier makes two concurrent creates
// of the same company meet here instead of both passing the check.
func (w *writer) checkAccountDuplicates(acct crm.Account, self crm.ID, allowDomain bool) error {
	domain := acct.Domain
	if allowDomain {
		domain = ""
	}
	if acct.RegistrationCode == "" && domain == "" {
		return nil
	}
	if err := w.lockKeys("account", acct.RegistrationCode, domain); err != nil {
		return err
	}
	dups, err := w.q.FindAccountDuplicates(w.ctx, query.FindAccountDuplicatesParams{
		OrgID: w.actor.OrgID, ExcludeID: self, RegistrationCode: acct.RegistrationCode, Domain: domain})
	if err != nil || len(dups) == 0 {
		return err
	}
	d := dups[0]
	field, what := "domain", "web domain "+strOf(d.Domain)
	if acct.RegistrationCode != "" && strOf(d.RegistrationCode) == acct.RegistrationCode {
		field, what = "registrationCode", "registration code "+acct.RegistrationCode
	}
	name, err := w.visibleName(d.Name, idOf(d.OwnerID))
	if err != nil {
		return err
	}
	hint := " Update that account, merge with it, or set allowDuplicate."
	if field == "registrationCode" {
		hint = " A registration code identifies one company: update or merge that account instead."
	}
	return (&crm.Error{Code: crm.ECONFLICT, Field: field,
		Message: "An account with the " + what + " already exists: " + name + "." + hint}).
		With("existingId", d.ID).With("existingType", crm.TypeAccount)
}

// visibleName names an existing record in an error only if the actor may see it.
func (w *writer) visibleName(name string, owner crm.ID) (string, error) {
	switch access.Scope(w.actor) {
	case access.ScopeAll:
		return name, nil
	case access.ScopeVisible:
		if owner == crm.NilID || owner == w.actor.UserID {
			return name, nil
		}
		ok, err := w.q.CanSee(w.ctx, query.CanSeeParams{OrgID: w.actor.OrgID, ViewerID: w.actor.UserID, OwnerID: owner})
		if err != nil || ok {
			return name, err
		}
	}
	return "a record you cannot see (ask its owner or an admin)", nil
}

// checkOwner verifies a new owner: an active user of the organization whom the actor may assign
// records to (anyone for admins and API keys; themselves and the people they see for others).
func (w *writer) checkOwner(owner crm.ID, explicit bool) error {
	if owner == crm.NilID || (!explicit && owner == w.actor.UserID) {
		return nil
	}
	users, err := w.q.GetUsers(w.ctx, query.GetUsersParams{OrgID: w.actor.OrgID, Ids: []crm.ID{owner}})
	if err != nil {
		return err
	}
	if len(users) == 0 || !users[0].Active {
		return crm.Invalid("ownerId", "The owner must be an active user of this organization.")
	}
	if access.Scope(w.actor) == access.ScopeAll || owner == w.actor.UserID {
		return nil
	}
	ok, err := w.q.CanSee(w.ctx, query.CanSeeParams{OrgID: w.actor.OrgID, ViewerID: w.actor.UserID, OwnerID: owner})
	if err != nil {
		return err
	}
	if !ok {
		return crm.Invalid("ownerId", "You can only assign records to yourself or to people whose records you see.")
	}
	return nil
}

// lockKeys takes transaction-scoped advisory locks on identifiers (empty ones are skipped).
func (w *writer) lockKeys(kind string, keys ...string) error {
	for _, k := range keys {
		if k == "" {
			continue
		}
		if _, err := w.tx.Exec(w.ctx, "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
			w.actor.OrgID.String()+"/"+kind+"/"+k); err != nil {
			return err
		}
	}
	return nil
}

// defaultOwner is the owner of a record the actor creates without naming one.
func defaultOwner(a *crm.Actor) crm.ID {
	if a.Kind == crm.ActorUser {
		return a.UserID
	}
	return crm.NilID
}

func accountFromRow(r query.Account) crm.Account {
	return crm.Account{
		ID: r.ID, OrgID: r.OrgID, Name: r.Name, RegistrationCode: strOf(r.RegistrationCode), Domain: strOf(r.Domain),
		Industry: r.Industry, Employees: r.Employees, Region: r.Region, Country: r.Country, OwnerID: idOf(r.OwnerID),
		Custom: r.Custom, MergedIntoID: idOf(r.MergedIntoID), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		DeletedAt: r.DeletedAt, Version: r.Version,
	}
}

// accountFields are the account's fields as events show them.
func accountFields(a crm.Account) fields {
	return fields{
		"name": a.Name, "registrationCode": a.RegistrationCode, "domain": a.Domain, "industry": a.Industry,
		"employees": a.Employees, "region": a.Region, "country": a.Country, "ownerId": idOrNil(a.OwnerID),
		"custom": json.RawMessage(a.Custom), "mergedIntoId": idOrNil(a.MergedIntoID),
	}
}

// normalizeAccount validates and normalizes an account's fields in place.
func normalizeAccount(a *crm.Account) (err error) {
	if a.Name, err = normalize.Text("name", a.Name, 200); err != nil {
		return err
	}
	if a.Name == "" {
		return crm.Invalid("name", "The account needs a name.")
	}
	if a.RegistrationCode != "" {
		if a.RegistrationCode, err = normalize.RegistrationCode("registrationCode", a.RegistrationCode); err != nil {
			return err
		}
	}
	if a.Domain != "" {
		if a.Domain, err = normalize.Domain("domain", a.Domain); err != nil {
			return err
		}
	}
	if a.Industry, err = normalize.Text("industry", a.Industry, 100); err != nil {
		return err
	}
	if a.Region, err = normalize.Text("region", a.Region, 100); err != nil {
		return err
	}
	if a.Country != "" {
		if a.Country, err = normalize.Country("country", a.Country); err != nil {
			return err
		}
	}
	if a.Employees != nil && *a.Employees < 0 {
		return crm.Invalid("employees", "The number of employees cannot be negative.")
	}
	a.Custom, err = normalizeCustom(a.Custom)
	return err
}
