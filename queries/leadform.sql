-- name: CreateLeadForm :exec
INSERT INTO lead_forms (org_id, id, public_key, name, fields, required_fields, allowed_origins, source, campaign,
                        redirect_url, honeypot_field, allow_partial, rate_per_minute, active, created_at, updated_at)
VALUES (@org_id, @id, @public_key, @name, @fields, @required_fields, @allowed_origins, @source, @campaign,
        @redirect_url, @honeypot_field, @allow_partial, @rate_per_minute, @active, @now, @now);

-- name: ListLeadForms :many
SELECT org_id, id, public_key, name, fields, required_fields, allowed_origins, source, campaign, redirect_url,
       honeypot_field, allow_partial, rate_per_minute, active, created_at, updated_at, deleted_at, version
FROM lead_forms
WHERE org_id = @org_id AND deleted_at IS NULL
ORDER BY name, id;

-- name: GetLeadForms :many
SELECT org_id, id, public_key, name, fields, required_fields, allowed_origins, source, campaign, redirect_url,
       honeypot_field, allow_partial, rate_per_minute, active, created_at, updated_at, deleted_at, version
FROM lead_forms
WHERE org_id = @org_id AND id = ANY(@ids::uuid[]) AND deleted_at IS NULL;

-- name: LockLeadForm :one
SELECT org_id, id, public_key, name, fields, required_fields, allowed_origins, source, campaign, redirect_url,
       honeypot_field, allow_partial, rate_per_minute, active, created_at, updated_at, deleted_at, version
FROM lead_forms
WHERE org_id = @org_id AND id = @id AND deleted_at IS NULL
FOR UPDATE;

-- name: SaveLeadForm :one
UPDATE lead_forms
SET public_key = @public_key, name = @name, fields = @fields, required_fields = @required_fields,
    allowed_origins = @allowed_origins, source = @source, campaign = @campaign, redirect_url = @redirect_url,
    honeypot_field = @honeypot_field, allow_partial = @allow_partial, rate_per_minute = @rate_per_minute,
    active = @active, deleted_at = @deleted_at, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at;

-- name: FindLeadForm :one
-- The public endpoint's lookup, as the system role: the organization is not known before the key
-- is (the key's unique index serves it, like the login and API-key lookups).
SELECT org_id, id, public_key, name, fields, required_fields, allowed_origins, source, campaign, redirect_url,
       honeypot_field, allow_partial, rate_per_minute, active, created_at, updated_at, deleted_at, version
FROM lead_forms
WHERE public_key = @public_key AND deleted_at IS NULL;
