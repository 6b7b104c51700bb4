-- name: PoolIdleAccounts :many
-- One batch of the pool sweep: owned, live accounts whose last follow-up lies before the cutoff
-- lose their owner. Rows another transaction holds are skipped, never waited on. Pooled rows leave
-- the sweep's partial index, so each batch starts where the last one ended.
WITH picked AS (
    SELECT id, owner_id
    FROM accounts
    WHERE org_id = @org_id AND owner_id IS NOT NULL AND deleted_at IS NULL
      AND greatest(last_activity_at, owner_since) < @cutoff::timestamptz
    ORDER BY greatest(last_activity_at, owner_since), id
    LIMIT @batch_size
    FOR UPDATE SKIP LOCKED
)
UPDATE accounts a
SET owner_id = NULL, owner_since = NULL, updated_at = @now, version = a.version + 1
FROM picked
WHERE a.org_id = @org_id AND a.id = picked.id
RETURNING a.id, a.name, picked.owner_id::uuid AS former_owner_id;

-- name: ClaimPoolAccount :one
-- Gives a live pool account to the user; no row when it is gone, deleted or owned (a concurrent
-- claim that committed first owns it by the time this statement re-reads the row).
UPDATE accounts
SET owner_id = @user_id::uuid, owner_since = @now::timestamptz, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id AND owner_id IS NULL AND deleted_at IS NULL
RETURNING org_id, id, name, registration_code, domain, industry, employees, region, country, owner_id,
          custom, merged_into_id, created_at, updated_at, deleted_at, version, last_activity_at, owner_since;

-- name: RecentClaims :many
-- A user's claims since a time, oldest first.
SELECT claimed_at
FROM account_claims
WHERE org_id = @org_id AND user_id = @user_id AND claimed_at > @since
ORDER BY claimed_at;

-- name: CreateAccountClaim :exec
INSERT INTO account_claims (org_id, id, account_id, user_id, claimed_at)
VALUES (@org_id, @id, @account_id, @user_id, @now);

-- name: GetClaimState :one
-- An account's owner and deletion, with no visibility filter, to explain a failed claim; claimed
-- says its current owner took it from the pool (so it was visible to every sales user before).
SELECT a.owner_id, a.deleted_at,
       EXISTS (SELECT 1 FROM account_claims c
               WHERE c.org_id = a.org_id AND c.user_id = a.owner_id AND c.claimed_at = a.owner_since
                 AND c.account_id = a.id) AS claimed
FROM accounts a
WHERE a.org_id = @org_id AND a.id = @id;
