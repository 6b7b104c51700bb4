-- name: ClaimIdempotencyKey :one
-- Claims key for a create. When another request holds it, the insert waits for that request's
-- transaction and then returns no row; the caller reads the winner with GetIdempotencyKey.
INSERT INTO idempotency_keys (org_id, principal_id, key, operation, request_hash, record_id, created_at, expires_at)
VALUES (@org_id, @principal_id, @key, @operation, @request_hash, @record_id, @now, @expires_at)
ON CONFLICT (org_id, principal_id, key) DO NOTHING
RETURNING record_id;

-- name: GetIdempotencyKey :one
SELECT operation, request_hash, record_id, expires_at
FROM idempotency_keys
WHERE org_id = @org_id AND principal_id = @principal_id AND key = @key;

-- name: DeleteExpiredIdempotencyKeys :execrows
DELETE FROM idempotency_keys WHERE expires_at < @now;

-- name: DeleteIdempotencyKey :exec
DELETE FROM idempotency_keys WHERE org_id = @org_id AND principal_id = @principal_id AND key = @key;
