-- name: CreateOrganization :exec
INSERT INTO organizations (id, slug, name, time_zone, default_currency, default_phone_region,
                           record_visibility, working_hours, stale_after_days, pool_after_days,
                           pool_claim_limit, first_contact_hours, quote_follow_up_days, lead_settings, created_at, updated_at)
VALUES (@id, @slug, @name, @time_zone, @default_currency, @default_phone_region,
        @record_visibility, @working_hours, @stale_after_days, @pool_after_days,
        @pool_claim_limit, @first_contact_hours, @quote_follow_up_days, @lead_settings, @now, @now);

-- name: GetOrganization :one
SELECT id, slug, name, time_zone, default_currency, default_phone_region, record_visibility,
       working_hours, created_at, updated_at, version, stale_after_days, pool_after_days,
       pool_claim_limit, first_contact_hours, quote_follow_up_days, lead_settings
FROM organizations
WHERE id = @id;

-- name: GetOrganizationBySlug :one
SELECT id, slug, name, time_zone, default_currency, default_phone_region, record_visibility,
       working_hours, created_at, updated_at, version, stale_after_days, pool_after_days,
       pool_claim_limit, first_contact_hours, quote_follow_up_days, lead_settings
FROM organizations
WHERE slug = @slug;

-- name: UpdateOrganization :one
UPDATE organizations
SET name = @name, time_zone = @time_zone, default_currency = @default_currency,
    default_phone_region = @default_phone_region, record_visibility = @record_visibility,
    working_hours = @working_hours, stale_after_days = @stale_after_days, pool_after_days = @pool_after_days,
    pool_claim_limit = @pool_claim_limit, first_contact_hours = @first_contact_hours,
    quote_follow_up_days = @quote_follow_up_days, lead_settings = @lead_settings, updated_at = @now, version = version + 1
WHERE id = @id
RETURNING version, updated_at;

-- name: LockOrganization :one
SELECT version FROM organizations WHERE id = @id FOR UPDATE;

-- name: ListOrganizationIDs :many
SELECT id FROM organizations ORDER BY id;
