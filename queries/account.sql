-- name: CreateAccount :exec
INSERT INTO accounts (org_id, id, name, registration_code, domain, industry, employees, region, country,
                      owner_id, owner_since, custom, created_at, updated_at)
VALUES (@org_id, @id, @name, @registration_code, @domain, @industry, @employees, @region, @country,
        @owner_id, CASE WHEN @owner_id::uuid IS NULL THEN NULL ELSE @now::timestamptz END, @custom, @now, @now);

-- name: GetAccounts :many
SELECT org_id, id, name, registration_code, domain, industry, employees, region, country, owner_id,
       custom, merged_into_id, created_at, updated_at, deleted_at, version, last_activity_at, owner_since
FROM accounts
WHERE accounts.org_id = @org_id AND accounts.id = ANY(@ids::uuid[])
  AND (sqlc.narg('viewer_id')::uuid IS NULL OR accounts.owner_id IS NULL
       OR accounts.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = accounts.org_id AND v.viewer_id = sqlc.narg('viewer_id')));

-- name: GetAccountForUpdate :one
SELECT org_id, id, name, registration_code, domain, industry, employees, region, country, owner_id,
       custom, merged_into_id, created_at, updated_at, deleted_at, version, last_activity_at, owner_since
FROM accounts
WHERE accounts.org_id = @org_id AND accounts.id = @id
  AND (sqlc.narg('viewer_id')::uuid IS NULL OR accounts.owner_id IS NULL
       OR accounts.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = accounts.org_id AND v.viewer_id = sqlc.narg('viewer_id')))
FOR UPDATE;

-- name: UpdateAccount :one
UPDATE accounts
SET name = @name, registration_code = @registration_code, domain = @domain, industry = @industry,
    employees = @employees, region = @region, country = @country, owner_id = @owner_id, custom = @custom,
    merged_into_id = @merged_into_id, deleted_at = @deleted_at, updated_at = @now, version = version + 1,
    owner_since = CASE WHEN owner_id IS NOT DISTINCT FROM @owner_id THEN owner_since
                       WHEN @owner_id IS NULL THEN NULL ELSE @now END
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at;

-- name: FindAccountDuplicates :many
-- Live accounts that look like the same company: same registration code or same web domain.
SELECT id, name, registration_code, domain, owner_id
FROM accounts
WHERE org_id = @org_id AND deleted_at IS NULL AND id <> @exclude_id
  AND ((@registration_code::text <> '' AND registration_code = @registration_code)
    OR (@domain::text <> '' AND domain = @domain))
ORDER BY created_at, id
LIMIT 5;

-- name: MoveContactsToAccount :many
UPDATE contacts SET account_id = @to_id, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND account_id = @from_id
RETURNING id, owner_id;

-- name: MergedAccountIDs :many
-- The accounts merged into an account, directly or through earlier merges.
WITH RECURSIVE merged AS (
    SELECT a.id FROM accounts a WHERE a.org_id = @org_id AND a.merged_into_id = @id
    UNION
    SELECT a.id FROM accounts a JOIN merged m ON a.merged_into_id = m.id WHERE a.org_id = @org_id
)
SELECT id FROM merged;
