-- name: CreateActivity :exec
INSERT INTO activities (org_id, id, type, subject, body, direction, duration_seconds, outcome, occurred_at,
                        record_type, record_id, owner_id, participant_user_ids, participant_contact_ids,
                        created_at, updated_at)
VALUES (@org_id, @id, @type, @subject, @body, @direction, @duration_seconds, @outcome, @occurred_at,
        @record_type, @record_id, @owner_id, @participant_user_ids, @participant_contact_ids, @now, @now);

-- name: GetActivities :many
-- Activities by ID that the viewer may see: those attributed to someone whose records they see,
-- and those logged on a record they see.
SELECT org_id, id, type, subject, body, direction, duration_seconds, outcome, occurred_at, record_type,
       record_id, owner_id, participant_user_ids, participant_contact_ids, created_at, updated_at, deleted_at, version
FROM activities a
WHERE a.org_id = @org_id AND a.id = ANY(@ids::uuid[]) AND a.deleted_at IS NULL
  AND (sqlc.narg('viewer_id')::uuid IS NULL
    OR a.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = a.org_id AND v.viewer_id = sqlc.narg('viewer_id'))
    OR EXISTS (SELECT 1 FROM accounts r WHERE a.record_type = 'Account' AND r.org_id = a.org_id AND r.id = a.record_id
               AND (r.owner_id IS NULL OR r.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = a.org_id AND v.viewer_id = sqlc.narg('viewer_id'))))
    OR EXISTS (SELECT 1 FROM contacts r WHERE a.record_type = 'Contact' AND r.org_id = a.org_id AND r.id = a.record_id
               AND (r.owner_id IS NULL OR r.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = a.org_id AND v.viewer_id = sqlc.narg('viewer_id'))))
    OR EXISTS (SELECT 1 FROM opportunities r WHERE a.record_type = 'Opportunity' AND r.org_id = a.org_id AND r.id = a.record_id
               AND (r.owner_id IS NULL OR r.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = a.org_id AND v.viewer_id = sqlc.narg('viewer_id')))));

-- name: Timeline :many
-- The activities of a record, newest first, keyset-paged on (occurred_at, id): an account's include
-- those of its live contacts and deals, a contact's those of the deals it takes part in, each only
-- when the viewer sees that related record (deals only with_deals). The caller has checked that the
-- viewer sees the record.
WITH records AS (
    SELECT @record_type::text AS type, @record_id::uuid AS id
    UNION ALL
    SELECT 'Contact', c.id FROM contacts c
    WHERE @record_type::text = 'Account' AND c.org_id = @org_id AND c.account_id = @record_id::uuid AND c.deleted_at IS NULL
      AND (sqlc.narg('viewer_id')::uuid IS NULL OR c.owner_id IS NULL
           OR c.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = c.org_id AND v.viewer_id = sqlc.narg('viewer_id')))
    UNION ALL
    SELECT 'Opportunity', o.id FROM opportunities o
    WHERE @with_deals::boolean AND @record_type::text = 'Account' AND o.org_id = @org_id AND o.account_id = @record_id::uuid AND o.deleted_at IS NULL
      AND (sqlc.narg('viewer_id')::uuid IS NULL OR o.owner_id IS NULL
           OR o.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = o.org_id AND v.viewer_id = sqlc.narg('viewer_id')))
    UNION ALL
    SELECT 'Opportunity', o.id FROM opportunity_contacts oc
    JOIN opportunities o ON o.org_id = oc.org_id AND o.id = oc.opportunity_id
    WHERE @with_deals::boolean AND @record_type::text = 'Contact' AND oc.org_id = @org_id AND oc.contact_id = @record_id::uuid AND o.deleted_at IS NULL
      AND (sqlc.narg('viewer_id')::uuid IS NULL OR o.owner_id IS NULL
           OR o.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = o.org_id AND v.viewer_id = sqlc.narg('viewer_id')))
)
SELECT a.org_id, a.id, a.type, a.subject, a.body, a.direction, a.duration_seconds, a.outcome, a.occurred_at, a.record_type,
       a.record_id, a.owner_id, a.participant_user_ids, a.participant_contact_ids, a.created_at, a.updated_at,
       a.deleted_at, a.version
FROM activities a
WHERE a.org_id = @org_id AND a.record_id IN (SELECT r.id FROM records r WHERE r.type = a.record_type) AND a.deleted_at IS NULL
  AND (cardinality(@types::text[]) = 0 OR a.type = ANY(@types::text[]))
  AND (sqlc.narg('after_at')::timestamptz IS NULL
       OR (a.occurred_at, a.id) < (sqlc.narg('after_at')::timestamptz, sqlc.narg('after_id')::uuid))
ORDER BY a.occurred_at DESC, a.id DESC
LIMIT @max_rows;

-- name: TouchOpportunityActivity :exec
-- An activity on a deal moves its last-activity clock forward and ends its stale period. It is not
-- an edit of the deal: version and updated_at stay.
UPDATE opportunities
SET last_activity_at = greatest(last_activity_at, @occurred_at::timestamptz), stale_since = NULL
WHERE org_id = @org_id AND id = @id;

-- name: TouchAccountActivity :exec
-- An activity on an account, its contacts or its deals moves the account's follow-up clock (the
-- shared pool's) forward. It is not an edit of the account: version and updated_at stay.
UPDATE accounts
SET last_activity_at = greatest(last_activity_at, @occurred_at::timestamptz)
WHERE org_id = @org_id AND id = @id;
