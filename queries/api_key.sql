-- name: CreateAPIKey :exec
INSERT INTO api_keys (org_id, id, name, prefix, secret_hash, scopes, created_by, created_at, expires_at)
VALUES (@org_id, @id, @name, @prefix, @secret_hash, @scopes, @created_by, @now, @expires_at);

-- name: ListAPIKeys :many
SELECT org_id, id, name, prefix, scopes, created_by, created_at, expires_at, last_used_at, revoked_at
FROM api_keys
WHERE org_id = @org_id
ORDER BY created_at DESC, id DESC;

-- name: RevokeAPIKey :one
UPDATE api_keys SET revoked_at = coalesce(revoked_at, @now)
WHERE org_id = @org_id AND id = @id
RETURNING org_id, id, name, prefix, scopes, created_by, created_at, expires_at, last_used_at, revoked_at;

-- name: FindAPIKey :one
-- Runs as the system role: the prefix routes a presented key to its organization.
SELECT org_id, id, secret_hash, scopes, expires_at, revoked_at, last_used_at
FROM api_keys
WHERE prefix = @prefix;

-- name: TouchAPIKey :exec
UPDATE api_keys SET last_used_at = @now WHERE org_id = @org_id AND id = @id;
