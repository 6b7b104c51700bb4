-- name: CreateContact :exec
INSERT INTO contacts (org_id, id, first_name, last_name, name, title, emails, phones, account_id, owner_id,
                      email_consent, sms_consent, phone_consent, custom, created_at, updated_at)
VALUES (@org_id, @id, @first_name, @last_name, @name, @title, @emails, @phones, @account_id, @owner_id,
        @email_consent, @sms_consent, @phone_consent, @custom, @now, @now);

-- name: GetContacts :many
SELECT org_id, id, first_name, last_name, name, title, emails, phones, account_id, owner_id,
       email_consent, sms_consent, phone_consent, custom, merged_into_id, created_at, updated_at,
       deleted_at, version
FROM contacts
WHERE contacts.org_id = @org_id AND contacts.id = ANY(@ids::uuid[])
  AND (sqlc.narg('viewer_id')::uuid IS NULL OR contacts.owner_id IS NULL
       OR contacts.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = contacts.org_id AND v.viewer_id = sqlc.narg('viewer_id')));

-- name: GetContactForUpdate :one
SELECT org_id, id, first_name, last_name, name, title, emails, phones, account_id, owner_id,
       email_consent, sms_consent, phone_consent, custom, merged_into_id, created_at, updated_at,
       deleted_at, version
FROM contacts
WHERE contacts.org_id = @org_id AND contacts.id = @id
  AND (sqlc.narg('viewer_id')::uuid IS NULL OR contacts.owner_id IS NULL
       OR contacts.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = contacts.org_id AND v.viewer_id = sqlc.narg('viewer_id')))
FOR UPDATE;

-- name: UpdateContact :one
UPDATE contacts
SET first_name = @first_name, last_name = @last_name, name = @name, title = @title, emails = @emails,
    phones = @phones, account_id = @account_id, owner_id = @owner_id, email_consent = @email_consent,
    sms_consent = @sms_consent, phone_consent = @phone_consent, custom = @custom,
    merged_into_id = @merged_into_id, deleted_at = @deleted_at, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at;

-- name: FindContactDuplicates :many
-- Live contacts sharing an e-mail address or a phone number.
SELECT c.id, c.name, c.emails, c.phones, c.owner_id
FROM contacts c
WHERE c.org_id = @org_id AND c.deleted_at IS NULL AND c.id <> @exclude_id
  AND c.id IN (SELECT ch.contact_id FROM contact_channels ch
             WHERE ch.org_id = @org_id AND ch.value = ANY(@emails::text[] || @phones::text[]))
ORDER BY c.created_at, c.id
LIMIT 5;

-- name: MergedContactIDs :many
WITH RECURSIVE merged AS (
    SELECT c.id FROM contacts c WHERE c.org_id = @org_id AND c.merged_into_id = @id
    UNION
    SELECT c.id FROM contacts c JOIN merged m ON c.merged_into_id = m.id WHERE c.org_id = @org_id
)
SELECT id FROM merged;

-- name: ContactsOfAccounts :many
-- The first contacts of each account, for the account.contacts field (one query per page).
SELECT c.org_id, c.id, c.first_name, c.last_name, c.name, c.title, c.emails, c.phones, c.account_id, c.owner_id,
       c.email_consent, c.sms_consent, c.phone_consent, c.custom, c.merged_into_id, c.created_at, c.updated_at,
       c.deleted_at, c.version
FROM unnest(@account_ids::uuid[]) AS a(id)
CROSS JOIN LATERAL (
    SELECT * FROM contacts
    WHERE contacts.org_id = @org_id AND contacts.account_id = a.id AND contacts.deleted_at IS NULL
      AND (sqlc.narg('viewer_id')::uuid IS NULL OR contacts.owner_id IS NULL
           OR contacts.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = contacts.org_id AND v.viewer_id = sqlc.narg('viewer_id')))
    ORDER BY contacts.name, contacts.id
    LIMIT @per_account
) c;
