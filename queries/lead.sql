-- name: LeadsByID :many
SELECT * FROM leads
WHERE leads.org_id = @org_id AND leads.id = ANY(@ids::uuid[])
  AND (sqlc.narg('viewer_id')::uuid IS NULL OR leads.owner_id IS NULL
       OR leads.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = leads.org_id AND v.viewer_id = sqlc.narg('viewer_id')));

-- name: LockLead :one
-- A lead for update; with a viewer, only if the viewer may see it.
SELECT * FROM leads
WHERE leads.org_id = @org_id AND leads.id = @id
  AND (sqlc.narg('viewer_id')::uuid IS NULL OR leads.owner_id IS NULL
       OR leads.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = leads.org_id AND v.viewer_id = sqlc.narg('viewer_id')))
FOR UPDATE OF leads;

-- name: LeadsByChannel :many
-- The live leads that share an e-mail or a phone with a capture, locked so that concurrent captures
-- of one person queue behind each other.
SELECT * FROM leads
WHERE org_id = @org_id AND deleted_at IS NULL AND NOT spam AND merged_into_id IS NULL
  AND (email = ANY(@emails::text[]) OR phone = ANY(@phones::text[]))
ORDER BY created_at, id
FOR UPDATE;

-- name: ContactsByChannel :many
-- Live contacts that share an e-mail or a phone with a capture.
-- (contact_channels: see migration 00008 for why not the contacts' arrays).
SELECT c.id, c.emails, c.phones, c.owner_id, c.account_id FROM contacts c
WHERE c.org_id = @org_id AND c.deleted_at IS NULL AND c.merged_into_id IS NULL
  AND c.id IN (SELECT ch.contact_id FROM contact_channels ch
             WHERE ch.org_id = @org_id AND ch.value = ANY(@emails::text[] || @phones::text[]))
ORDER BY c.created_at, c.id;

-- name: InsertLeads :many
-- New leads of one capture batch. A lead whose e-mail or phone was taken by a concurrent capture
-- since the lookup is skipped (ON CONFLICT DO NOTHING); the caller turns it into a touch.
INSERT INTO leads (org_id, id, name, title, company, email, phone, website, registration_code, industry,
                   company_size, country, region, city, source, campaign, utm, spam, custom,
                   first_touch_at, last_touch_at, created_at, updated_at)
SELECT @org_id, u.id, u.name, u.title, u.company, NULLIF(u.email, ''), NULLIF(u.phone, ''), u.website, u.reg,
       u.industry, NULLIF(u.size, -1), u.country, u.region, u.city, u.source, u.campaign, u.utm::jsonb,
       u.spam, u.custom::jsonb, u.at, u.at, @now, @now
FROM (SELECT unnest(@ids::uuid[]) AS id,
             unnest(@names::text[]) AS name,
             unnest(@titles::text[]) AS title,
             unnest(@companies::text[]) AS company,
             unnest(@emails::text[]) AS email,
             unnest(@phones::text[]) AS phone,
             unnest(@websites::text[]) AS website,
             unnest(@regs::text[]) AS reg,
             unnest(@industries::text[]) AS industry,
             unnest(@sizes::int[]) AS size,
             unnest(@countries::text[]) AS country,
             unnest(@regions::text[]) AS region,
             unnest(@cities::text[]) AS city,
             unnest(@sources::text[]) AS source,
             unnest(@campaigns::text[]) AS campaign,
             unnest(@utms::text[]) AS utm,
             unnest(@spams::boolean[]) AS spam,
             unnest(@customs::text[]) AS custom,
             unnest(@ats::timestamptz[]) AS at) AS u
ON CONFLICT DO NOTHING
RETURNING *;

-- name: InsertNewLeads :many
-- InsertLeads without ON CONFLICT, which costs a probe of every unique index and a speculative
-- insertion per row (15 % of the statement): large batches try it first, in a savepoint, and fall
-- back to InsertLeads when a concurrent capture took one of their people.
INSERT INTO leads (org_id, id, name, title, company, email, phone, website, registration_code, industry,
                   company_size, country, region, city, source, campaign, utm, spam, custom,
                   first_touch_at, last_touch_at, created_at, updated_at)
SELECT @org_id, u.id, u.name, u.title, u.company, NULLIF(u.email, ''), NULLIF(u.phone, ''), u.website, u.reg,
       u.industry, NULLIF(u.size, -1), u.country, u.region, u.city, u.source, u.campaign, u.utm::jsonb,
       u.spam, u.custom::jsonb, u.at, u.at, @now, @now
FROM (SELECT unnest(@ids::uuid[]) AS id,
             unnest(@names::text[]) AS name,
             unnest(@titles::text[]) AS title,
             unnest(@companies::text[]) AS company,
             unnest(@emails::text[]) AS email,
             unnest(@phones::text[]) AS phone,
             unnest(@websites::text[]) AS website,
             unnest(@regs::text[]) AS reg,
             unnest(@industries::text[]) AS industry,
             unnest(@sizes::int[]) AS size,
             unnest(@countries::text[]) AS country,
             unnest(@regions::text[]) AS region,
             unnest(@cities::text[]) AS city,
             unnest(@sources::text[]) AS source,
             unnest(@campaigns::text[]) AS campaign,
             unnest(@utms::text[]) AS utm,
             unnest(@spams::boolean[]) AS spam,
             unnest(@customs::text[]) AS custom,
             unnest(@ats::timestamptz[]) AS at) AS u
RETURNING *;

-- name: TouchLeads :many
-- Later arrivals of known people: count the touches, move the latest touch forward and fill the
-- fields the lead still lacks (never its e-mail or phone, which identify it).
UPDATE leads l
SET touch_count = l.touch_count + u.n,
    last_touch_at = greatest(l.last_touch_at, u.at),
    title = CASE WHEN l.title = '' THEN u.title ELSE l.title END,
    company = CASE WHEN l.company = '' THEN u.company ELSE l.company END,
    website = CASE WHEN l.website = '' THEN u.website ELSE l.website END,
    registration_code = CASE WHEN l.registration_code = '' THEN u.reg ELSE l.registration_code END,
    industry = CASE WHEN l.industry = '' THEN u.industry ELSE l.industry END,
    company_size = coalesce(l.company_size, NULLIF(u.size, -1)),
    country = CASE WHEN l.country = '' THEN u.country ELSE l.country END,
    region = CASE WHEN l.region = '' THEN u.region ELSE l.region END,
    city = CASE WHEN l.city = '' THEN u.city ELSE l.city END,
    updated_at = @now, version = l.version + 1
FROM (SELECT unnest(@ids::uuid[]) AS id,
             unnest(@ns::int[]) AS n,
             unnest(@ats::timestamptz[]) AS at,
             unnest(@titles::text[]) AS title,
             unnest(@companies::text[]) AS company,
             unnest(@websites::text[]) AS website,
             unnest(@regs::text[]) AS reg,
             unnest(@industries::text[]) AS industry,
             unnest(@sizes::int[]) AS size,
             unnest(@countries::text[]) AS country,
             unnest(@regions::text[]) AS region,
             unnest(@cities::text[]) AS city) AS u
WHERE l.org_id = @org_id AND l.id = u.id
RETURNING l.*;

-- name: InsertTouches :exec
INSERT INTO lead_touches (org_id, id, lead_id, contact_id, source, campaign, utm, form_id, import_id, payload, received_at)
SELECT @org_id, u.id, NULLIF(u.lead_id, '00000000-0000-0000-0000-000000000000'::uuid),
       NULLIF(u.contact_id, '00000000-0000-0000-0000-000000000000'::uuid), u.source, u.campaign, u.utm::jsonb,
       NULLIF(u.form_id, '00000000-0000-0000-0000-000000000000'::uuid),
       NULLIF(u.import_id, '00000000-0000-0000-0000-000000000000'::uuid), u.payload::json, u.at
FROM (SELECT unnest(@ids::uuid[]) AS id,
             unnest(@lead_ids::uuid[]) AS lead_id,
             unnest(@contact_ids::uuid[]) AS contact_id,
             unnest(@sources::text[]) AS source,
             unnest(@campaigns::text[]) AS campaign,
             unnest(@utms::text[]) AS utm,
             unnest(@form_ids::uuid[]) AS form_id,
             unnest(@import_ids::uuid[]) AS import_id,
             unnest(@payloads::text[]) AS payload,
             unnest(@ats::timestamptz[]) AS at) AS u;

-- name: GetTouch :one
SELECT * FROM lead_touches WHERE org_id = @org_id AND id = @id;

-- name: LeadTouches :many
SELECT * FROM lead_touches
WHERE org_id = @org_id AND lead_id = ANY(@lead_ids::uuid[])
ORDER BY lead_id, received_at DESC, id DESC;

-- name: UpdateLead :one
UPDATE leads
SET status = @status, status_reason = @status_reason, name = @name, title = @title, company = @company,
    email = sqlc.narg(email), phone = sqlc.narg(phone), website = @website, registration_code = @registration_code,
    industry = @industry, company_size = sqlc.narg(company_size), country = @country, region = @region,
    city = @city, source = @source, campaign = @campaign, owner_id = sqlc.narg(owner_id), team_id = sqlc.narg(team_id),
    assigned_at = sqlc.narg(assigned_at), custom = @custom, converted_at = sqlc.narg(converted_at),
    contact_id = sqlc.narg(contact_id), account_id = sqlc.narg(account_id), opportunity_id = sqlc.narg(opportunity_id),
    merged_into_id = sqlc.narg(merged_into_id), qualified_at = sqlc.narg(qualified_at),
    deleted_at = sqlc.narg(deleted_at), updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING *;

-- name: MoveLeadTouches :exec
-- Merging carries a lead's history along: touches, behaviour, visitor ids, activities and tasks.
UPDATE lead_touches SET lead_id = @to_lead WHERE org_id = @org_id AND lead_id = ANY(@from_leads::uuid[]);

-- name: MoveLeadEvents :exec
UPDATE lead_events SET lead_id = @to_lead WHERE org_id = @org_id AND lead_id = ANY(@from_leads::uuid[]);

-- name: MoveLeadVisitors :exec
UPDATE lead_visitors SET lead_id = @to_lead WHERE org_id = @org_id AND lead_id = ANY(@from_leads::uuid[]);

-- name: MoveRecordActivities :exec
-- Moves the activities of records of one type to another record (merge and conversion).
UPDATE activities SET record_type = @to_type, record_id = @to_id, updated_at = @now
WHERE org_id = @org_id AND record_type = @from_type AND record_id = ANY(@from_ids::uuid[]);

-- name: MoveRecordTasks :exec
UPDATE tasks SET record_type = @to_type, record_id = @to_id, updated_at = @now
WHERE org_id = @org_id AND record_type = @from_type AND record_id = ANY(@from_ids::uuid[]);

-- name: LinkTouchesToContact :exec
-- Conversion: the lead's touches also name the contact it became.
UPDATE lead_touches SET contact_id = @contact_id WHERE org_id = @org_id AND lead_id = @lead_id;

-- name: AccountsForLead :many
-- Conversion's account match: registration code, then web domain, then exact name.
SELECT id, name, registration_code, domain, owner_id FROM accounts
WHERE org_id = @org_id AND deleted_at IS NULL AND merged_into_id IS NULL
  AND ((@registration_code::text <> '' AND registration_code = @registration_code)
    OR (@domain::text <> '' AND domain = @domain)
    OR (@name::text <> '' AND lower(name) = lower(@name)))
ORDER BY (registration_code = @registration_code AND @registration_code <> '') DESC,
         (domain = @domain AND @domain <> '') DESC, created_at
LIMIT 1;

-- name: LeadDuplicates :many
-- Candidates for findDuplicates: live leads that share an e-mail, a phone, a company registration
-- code or web domain, or the same name at the same company.
SELECT * FROM leads
WHERE org_id = @org_id AND deleted_at IS NULL AND merged_into_id IS NULL AND id <> @id
  AND status <> 'converted'
  AND ((@email::text <> '' AND email = @email)
    OR (@phone::text <> '' AND phone = @phone)
    OR (@registration_code::text <> '' AND registration_code = @registration_code)
    OR (@website::text <> '' AND website = @website)
    OR (@name::text <> '' AND @company::text <> '' AND lower(name) = lower(@name) AND lower(company) = lower(@company)))
ORDER BY created_at, id
LIMIT 50;
