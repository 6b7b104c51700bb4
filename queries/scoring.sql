-- name: ListScoringRules :many
-- The organization's live scoring rules, oldest first.
SELECT * FROM scoring_rules
WHERE org_id = @org_id AND deleted_at IS NULL
ORDER BY created_at, id;

-- name: GetScoringRules :many
-- Scoring rules by ID, deleted ones included (the ledger names rules that were deleted since).
SELECT * FROM scoring_rules
WHERE org_id = @org_id AND id = ANY(@ids::uuid[]);

-- name: LockScoringRule :one
SELECT * FROM scoring_rules
WHERE org_id = @org_id AND id = @id AND deleted_at IS NULL
FOR UPDATE;

-- name: CreateScoringRule :exec
INSERT INTO scoring_rules (org_id, id, kind, name, field, operator, value, event_type, url_pattern, points,
                           cap_points, cap_days, active, created_at, updated_at)
VALUES (@org_id, @id, @kind, @name, @field, @operator, @value, @event_type, @url_pattern, @points,
        sqlc.narg('cap_points'), sqlc.narg('cap_days'), @active, @now, @now);

-- name: UpdateScoringRule :one
-- Every edit is a new version of the rule: the ledger names the version that awarded each point.
UPDATE scoring_rules
SET kind = @kind, name = @name, field = @field, operator = @operator, value = @value, event_type = @event_type,
    url_pattern = @url_pattern, points = @points, cap_points = sqlc.narg('cap_points'), cap_days = sqlc.narg('cap_days'),
    active = @active, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at;

-- name: DeleteScoringRule :one
UPDATE scoring_rules
SET deleted_at = @now, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at;

-- name: LiveLeads :many
-- The live leads among ids that the viewer (NULL: anyone) may see, each with the lead it was merged
-- into, if any: behaviour of a merged lead belongs to the survivor.
SELECT id, coalesce(merged_into_id, id)::uuid AS target_id, owner_id
FROM leads
WHERE leads.org_id = @org_id AND leads.id = ANY(@ids::uuid[]) AND (leads.deleted_at IS NULL OR leads.merged_into_id IS NOT NULL)
  AND (sqlc.narg('viewer_id')::uuid IS NULL OR leads.owner_id IS NULL
       OR leads.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = leads.org_id AND v.viewer_id = sqlc.narg('viewer_id')));

-- name: LeadsByEmail :many
-- The live, non-spam leads with these (lower-case) e-mails that the viewer (NULL: anyone) may see.
SELECT email::text AS email, id
FROM leads
WHERE leads.org_id = @org_id AND leads.email = ANY(@emails::text[]) AND leads.deleted_at IS NULL AND NOT leads.spam
  AND leads.merged_into_id IS NULL
  AND (sqlc.narg('viewer_id')::uuid IS NULL OR leads.owner_id IS NULL
       OR leads.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = leads.org_id AND v.viewer_id = sqlc.narg('viewer_id')));

-- name: VisitorLeads :many
-- The leads these anonymous visitor ids were identified as.
SELECT visitor_id, lead_id FROM lead_visitors
WHERE org_id = @org_id AND visitor_id = ANY(@visitor_ids::text[]);

-- name: LinkVisitors :exec
-- Links visitor ids to a lead; a visitor already identified as a lead keeps its first lead.
INSERT INTO lead_visitors (org_id, visitor_id, lead_id, created_at)
SELECT @org_id, unnest(@visitor_ids::text[]), @lead_id, @now
ON CONFLICT (org_id, visitor_id) DO NOTHING;

-- name: AttachVisitorEvents :execrows
-- Gives a lead the anonymous events of the visitor ids linked to it.
UPDATE lead_events e
SET lead_id = @lead_id::uuid
WHERE e.org_id = @org_id AND e.lead_id IS NULL AND e.visitor_id = ANY(@visitor_ids::text[])
  AND e.visitor_id IN (SELECT v.visitor_id FROM lead_visitors v WHERE v.org_id = @org_id AND v.lead_id = @lead_id);

-- name: InsertLeadEvents :many
-- Behaviour events in one statement (nil lead IDs and empty visitor ids are stored as NULL). Events
-- whose idempotency key exists already are neither inserted nor returned.
INSERT INTO lead_events (org_id, id, lead_id, visitor_id, type, url, occurred_at, idempotency_key, properties, created_at)
SELECT @org_id::uuid, unnest(@ids::uuid[]), nullif(unnest(@lead_ids::uuid[]), '00000000-0000-0000-0000-000000000000'),
       nullif(unnest(@visitor_ids::text[]), ''), unnest(@types::text[]), unnest(@urls::text[]),
       unnest(@occurred_ats::timestamptz[]), unnest(@keys::text[]), unnest(@properties::jsonb[]), @now::timestamptz
ON CONFLICT (org_id, idempotency_key) DO NOTHING
RETURNING idempotency_key;

-- name: LeadEventsByKey :many
SELECT idempotency_key, id, lead_id FROM lead_events
WHERE org_id = @org_id AND idempotency_key = ANY(@keys::text[]);

-- name: LockLeadsForScoring :many
-- The scorable leads among ids (live, not merged, not converted), locked in ID order so that two
-- scoring jobs of the same leads take turns instead of deadlocking.
SELECT * FROM leads
WHERE org_id = @org_id AND id = ANY(@ids::uuid[]) AND deleted_at IS NULL AND merged_into_id IS NULL AND status <> 'converted'
ORDER BY id
FOR UPDATE;

-- name: NextScorableLeadIDs :many
-- The next scorable leads after the cursor in ID order: the walk of an organization-wide rescore.
SELECT id FROM leads
WHERE org_id = @org_id AND id > @after_id AND deleted_at IS NULL AND merged_into_id IS NULL AND status <> 'converted'
ORDER BY id
LIMIT @batch_size;

-- name: CountScorableLeads :one
SELECT count(*)::int FROM leads
WHERE org_id = @org_id AND deleted_at IS NULL AND merged_into_id IS NULL AND status <> 'converted';

-- name: SimulationLeads :many
-- A page of the leads a simulation scores: live, not merged, created at or after since, in ID order.
SELECT * FROM leads
WHERE org_id = @org_id AND id > @after_id AND created_at >= @since AND deleted_at IS NULL AND merged_into_id IS NULL
ORDER BY id
LIMIT @batch_size;

-- name: LeadEventsForScoring :many
SELECT lead_id::uuid AS lead_id, id, type, url, occurred_at FROM lead_events
WHERE org_id = @org_id AND lead_id = ANY(@lead_ids::uuid[])
ORDER BY lead_id, occurred_at, id;

-- name: ScoreLedgersOfLeads :many
-- The ledgers of the leads (those with any), in lead ID order.
SELECT lead_id, entries FROM lead_score_ledgers
WHERE org_id = @org_id AND lead_id = ANY(@lead_ids::uuid[])
ORDER BY lead_id;

-- name: SaveScoreLedgers :exec
-- New ledgers of several leads in one statement: each a JSON array of entries, with the earliest
-- expiry among them (zero: none).
INSERT INTO lead_score_ledgers AS l (org_id, lead_id, entries, expires_at)
SELECT @org_id::uuid, u.lead_id, u.entries::json, nullif(u.expires_at, '0001-01-01 00:00:00+00')
FROM (SELECT unnest(@lead_ids::uuid[]) AS lead_id, unnest(@entries::text[]) AS entries,
             unnest(@expires_ats::timestamptz[]) AS expires_at) u
ON CONFLICT (org_id, lead_id) DO UPDATE SET entries = excluded.entries, expires_at = excluded.expires_at;

-- name: DeleteScoreLedgers :exec
-- The ledgers of leads that no rule gives points any more.
DELETE FROM lead_score_ledgers
WHERE org_id = @org_id AND lead_id = ANY(@lead_ids::uuid[]);

-- name: UpdateScoredLeads :exec
-- New scores of several leads and what the thresholds made of them: a new status, qualification,
-- entering or leaving the nurture track. A score is derived: it alone moves neither version nor
-- updated_at; a status change is an edit and moves both.
UPDATE leads l
SET score_total = u.total, score_fit = u.fit, score_engagement = u.engagement, grade = u.grade,
    status = u.status,
    qualified_at = CASE WHEN u.qualify THEN @now::timestamptz ELSE l.qualified_at END,
    nurtured_at = CASE WHEN u.enrol THEN @now::timestamptz WHEN u.leave THEN NULL ELSE l.nurtured_at END,
    updated_at = CASE WHEN u.status <> l.status THEN @now::timestamptz ELSE l.updated_at END,
    version = CASE WHEN u.status <> l.status THEN l.version + 1 ELSE l.version END
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@totals::int[]) AS total, unnest(@fits::int[]) AS fit,
             unnest(@engagements::int[]) AS engagement, unnest(@grades::text[]) AS grade,
             unnest(@statuses::text[]) AS status, unnest(@qualify::bool[]) AS qualify,
             unnest(@enrol::bool[]) AS enrol, unnest(@leave::bool[]) AS leave) u
WHERE l.org_id = @org_id AND l.id = u.id;

-- name: EnrolInNurture :exec
INSERT INTO nurture_enrolments (org_id, lead_id, track, enrolled_at)
SELECT @org_id, unnest(@lead_ids::uuid[]), 'nurture', @now
ON CONFLICT DO NOTHING;

-- name: LeaveNurture :exec
UPDATE nurture_enrolments
SET left_at = @now
WHERE org_id = @org_id AND lead_id = ANY(@lead_ids::uuid[]) AND left_at IS NULL;

-- name: ExpiredScoreLeads :many
-- Leads with ledger entries that stopped counting, after the cursor in ID order.
SELECT lead_id FROM lead_score_ledgers
WHERE org_id = @org_id AND expires_at <= @now::timestamptz AND lead_id > @after_id
ORDER BY lead_id
LIMIT @batch_size;

-- name: DropExpiredScoreEntries :exec
-- Entries of leads that cannot be rescored (deleted, merged, converted) stop counting all the same:
-- they leave the ledger, which keeps the rest in order.
UPDATE lead_score_ledgers l
SET entries = coalesce((SELECT json_agg(x.e ORDER BY x.n) FROM json_array_elements(l.entries) WITH ORDINALITY AS x (e, n)
                        WHERE x.e ->> 'expires' IS NULL OR (x.e ->> 'expires')::timestamptz > @now::timestamptz), '[]'),
    expires_at = (SELECT min((x.e ->> 'expires')::timestamptz) FROM json_array_elements(l.entries) AS x (e)
                  WHERE (x.e ->> 'expires')::timestamptz > @now::timestamptz)
WHERE l.org_id = @org_id AND l.lead_id = ANY(@lead_ids::uuid[]) AND l.expires_at <= @now::timestamptz;

-- name: CreateScoringRun :exec
INSERT INTO scoring_runs (org_id, id, status, reason, total, started_at, updated_at)
VALUES (@org_id, @id, 'running', @reason, @total, @now, @now);

-- name: SupersedeScoringRuns :exec
-- A newer rule change makes the running rescores pointless: the new run scores every lead anyway.
UPDATE scoring_runs
SET status = 'superseded', updated_at = @now, finished_at = @now
WHERE org_id = @org_id AND status = 'running' AND id <> @keep_id;

-- name: GetScoringRun :one
SELECT * FROM scoring_runs WHERE org_id = @org_id AND id = @id;

-- name: ListScoringRuns :many
SELECT * FROM scoring_runs
WHERE org_id = @org_id
ORDER BY started_at DESC, id DESC
LIMIT @max_rows;

-- name: AdvanceScoringRun :execrows
-- Moves a running run's cursor and counts past batches that committed; no row when the run is no
-- longer running (a newer one superseded it).
UPDATE scoring_runs
SET done = done + @scored::int, changed = changed + @changed::int, last_lead_id = @last_lead_id, updated_at = @now,
    status = CASE WHEN @finished::bool THEN 'done' ELSE status END,
    finished_at = CASE WHEN @finished::bool THEN @now ELSE finished_at END
WHERE org_id = @org_id AND id = @id AND status = 'running';
