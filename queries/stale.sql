-- name: ListStageStaleSettings :many
-- Every stage of the organization with what decides whether its deals can go stale. Deleted stages
-- are included: a deal left in one can still be forgotten.
SELECT id, stale_after_days, closed
FROM pipeline_stages
WHERE org_id = @org_id
ORDER BY id;

-- name: FlagStaleOpportunities :many
-- One batch of the stale sweep: open, unflagged deals whose last touch lies before their stage's
-- cutoff, in the order of their last touch after the keyset cursor (after_touch, after_id). Rows
-- another transaction holds are skipped, never waited on; the next sweep takes them. The flag is
-- derived, so neither version nor updated_at changes.
WITH cutoff AS (
    SELECT unnest(@stage_ids::uuid[]) AS stage_id, unnest(@cutoffs::timestamptz[]) AS cutoff
), picked AS (
    SELECT o.id, o.owner_id, o.pipeline_id, greatest(o.last_activity_at, o.stage_entered_at) AS touch
    FROM opportunities o
    JOIN cutoff c ON c.stage_id = o.stage_id
    WHERE o.org_id = @org_id AND o.deleted_at IS NULL AND o.closed_at IS NULL AND o.stale_since IS NULL
      AND greatest(o.last_activity_at, o.stage_entered_at) < @latest_cutoff::timestamptz
      AND greatest(o.last_activity_at, o.stage_entered_at) >= @after_touch::timestamptz
      AND (greatest(o.last_activity_at, o.stage_entered_at), o.id) > (@after_touch::timestamptz, @after_id::uuid)
      AND greatest(o.last_activity_at, o.stage_entered_at) < c.cutoff
    ORDER BY greatest(o.last_activity_at, o.stage_entered_at), o.id
    LIMIT @batch_size
    FOR UPDATE OF o SKIP LOCKED
)
UPDATE opportunities o
SET stale_since = @now::timestamptz
FROM picked
WHERE o.org_id = @org_id AND o.id = picked.id
RETURNING o.id, o.name, picked.owner_id, picked.pipeline_id, picked.touch::timestamptz AS touch;

-- name: CreateNotifications :many
-- Several notifications in one statement (empty record types, nil record IDs and empty dedup keys
-- are stored as NULL); those whose (user, dedup key) already exists are neither inserted nor
-- returned.
INSERT INTO notifications (org_id, id, user_id, kind, title, body, record_type, record_id, dedup_key, created_at)
SELECT @org_id::uuid, unnest(@ids::uuid[]), unnest(@user_ids::uuid[]), unnest(@kinds::text[]),
       unnest(@titles::text[]), unnest(@bodies::text[]), nullif(unnest(@record_types::text[]), ''),
       nullif(unnest(@record_ids::uuid[]), '00000000-0000-0000-0000-000000000000'),
       nullif(unnest(@dedup_keys::text[]), ''), @now::timestamptz
ON CONFLICT (org_id, user_id, dedup_key) DO NOTHING
RETURNING id;
