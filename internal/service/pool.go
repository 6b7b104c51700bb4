package service

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rapportcrm/rapport/db/query"
	"github.com/rapportcrm/rapport/internal/crm"
	"github.com/rapportcrm/rapport/internal/rules/access"
	"github.com/rapportcrm/rapport/internal/rules/pool"
)

// KindAccountPooled is the notification a former owner gets when their account returns to the pool.
const KindAccountPooled = "account_pooled"

// SweepAccountPool returns to the shared pool, in every organization with a pool
// (Settings.PoolAfterDays), the owned accounts nobody followed up for that long: the later of their
// last activity and when their owner got them. Each pooled account loses its owner (a real change:
// its version moves on), with an account.pooled event and a notice to the former owner. It returns
// how many accounts it pooled. A periodic job runs it; it never waits on an account another
// transaction is changing (that account is left for the next run).
func (s *Service) SweepAccountPool(ctx context.Context) (int, error) {
	return s.forEachOrganization(ctx, "account-pool sweep", s.sweepAccountPool)
}

func (s *Service) sweepAccountPool(ctx context.Context, a *crm.Actor) (int, error) {
	var org query.Organization
	if err := s.read(ctx, a, func(q *query.Queries) (err error) {
		org, err = q.GetOrganization(ctx, a.OrgID)
		return err
	}); err != nil {
		return 0, err
	}
	cutoff, ok := pool.IdleCutoff(s.now(), org.PoolAfterDays)
	if !ok {
		return 0, nil
	}
	total := 0
	for {
		var n int
		err := s.write(ctx, a, func(w *writer) error {
			rows, err := w.q.PoolIdleAccounts(w.ctx, query.PoolIdleAccountsParams{
				Now: w.now, OrgID: a.OrgID, Cutoff: cutoff, BatchSize: sweepBatch})
			if err != nil {
				return err
			}
			n = len(rows)
			notes := make([]crm.Notification, n)
			keys := make([]string, n)
			for i, r := range rows {
				w.emit("account.pooled", crm.TypeAccount, r.ID,
					[]crm.FieldChange{idChange("ownerId", r.FormerOwnerID, crm.NilID)}, r.FormerOwnerID)
				notes[i] = crm.Notification{UserID: r.FormerOwnerID, Kind: KindAccountPooled,
					Title: "Account returned to the pool: " + r.Name,
					Body: "Nobody followed this account up for " + countNoun(*org.PoolAfterDays, "day") +
						", so it went back to the shared pool where anyone may claim it. Claim it again to keep it.",
					RecordType: crm.TypeAccount, RecordID: r.ID}
				keys[i] = "pooled:" + r.ID.String() + ":" + w.now.Format(time.RFC3339Nano)
			}
			_, err = w.notifyAll(notes, keys)
			return err
		})
		total += n
		if err != nil || n < sweepBatch {
			return total, err
		}
	}
}

// ClaimAccount gives an account of the shared pool to the signed-in user. The first claim wins:
// a claim of an account someone else claimed meanwhile is a CONFLICT. A user may claim
// Settings.PoolClaimLimit accounts per rolling 24 hours; reaching the limit is a CONFLICT that
// names the limit and when the next claim becomes possible (details: claimLimit, nextClaimAt).
func (s *Service) ClaimAccount(ctx context.Context, a *crm.Actor, id crm.ID) (acct crm.Account, err error) {
	if err := authorize(a, access.AccountsWrite); err != nil {
		return acct, err
	}
	if a.Kind != crm.ActorUser {
		return acct, crm.Errorf(crm.EFORBIDDEN, "Only a signed-in user can claim an account from the pool; assign an owner with updateAccount instead.")
	}
	err = s.write(ctx, a, func(w *writer) error {
		// The account as the user sees it: visible (pool accounts are visible to every sales user),
		// live and unowned.
		rows, err := w.q.GetAccounts(w.ctx, query.GetAccountsParams{OrgID: a.OrgID, Ids: []crm.ID{id}, ViewerID: viewer(a)})
		if err != nil {
			return err
		}
		if len(rows) == 0 || rows[0].OwnerID != nil || rows[0].DeletedAt != nil {
			return w.unclaimable(id, len(rows) == 1)
		}
		// One user's claims run one at a time, so two concurrent claims cannot both pass the limit.
		if err := w.lockKeys("claim", a.UserID.String()); err != nil {
			return err
		}
		org, err := w.q.GetOrganization(w.ctx, a.OrgID)
		if err != nil {
			return err
		}
		recent, err := w.q.RecentClaims(w.ctx, query.RecentClaimsParams{OrgID: a.OrgID, UserID: a.UserID, Since: pool.ClaimsSince(w.now)})
		if err != nil {
			return err
		}
		if ok, next := pool.NextClaim(w.now, recent, org.PoolClaimLimit); !ok {
			return crm.Errorf(crm.ECONFLICT, "You reached the limit of %s from the pool per 24 hours; your next claim is possible at %s.",
				countNoun(org.PoolClaimLimit, "claim"), next.Format(time.RFC3339)).
				With("claimLimit", org.PoolClaimLimit).With("nextClaimAt", next.Format(time.RFC3339))
		}
		// The first claim wins: a concurrent claim that committed first makes this one match no row.
		row, err := w.q.ClaimPoolAccount(w.ctx, query.ClaimPoolAccountParams{UserID: a.UserID, Now: w.now, OrgID: a.OrgID, ID: id})
		if errors.Is(err, pgx.ErrNoRows) {
			return w.unclaimable(id, true)
		} else if err != nil {
			return err
		}
		if err := w.q.CreateAccountClaim(w.ctx, query.CreateAccountClaimParams{
			OrgID: a.OrgID, ID: crm.NewID(), AccountID: id, UserID: a.UserID, Now: w.now}); err != nil {
			return err
		}
		acct = accountFromRow(row)
		w.emit("account.claimed", crm.TypeAccount, id, []crm.FieldChange{idChange("ownerId", crm.NilID, a.UserID)}, a.UserID)
		return nil
	})
	return acct, err
}

// unclaimable explains why the actor cannot claim an account. An account the actor cannot see is
// NOT_FOUND, unless its owner claimed it from the pool, where everyone saw it: then the actor
// learns that someone else was first.
func (w *writer) unclaimable(id crm.ID, visible bool) error {
	st, err := w.q.GetClaimState(w.ctx, query.GetClaimStateParams{OrgID: w.actor.OrgID, ID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return crm.NotFound("account", id)
	} else if err != nil {
		return err
	}
	owner := idOf(st.OwnerID)
	switch {
	case owner == w.actor.UserID:
		return crm.Errorf(crm.ECONFLICT, "You already own this account.")
	case owner != crm.NilID && st.Claimed:
		return crm.Errorf(crm.ECONFLICT, "Someone else claimed this account first; it is no longer in the shared pool.")
	case !visible:
		return crm.NotFound("account", id)
	case st.DeletedAt != nil:
		return crm.Errorf(crm.ECONFLICT, "This account is deleted; restore it before claiming it.")
	case owner != crm.NilID:
		return crm.Errorf(crm.ECONFLICT, "This account is not in the shared pool: someone else owns it.")
	}
	return crm.Errorf(crm.ECONFLICT, "The account changed while you claimed it; try again.")
}

// countNoun writes a count with its noun, e.g. "1 day", "3 days".
func countNoun(n int32, noun string) string {
	s := noun
	if n != 1 {
		s += "s"
	}
	return strconv.Itoa(int(n)) + " " + s
}
