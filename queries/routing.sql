-- name: ListAssignmentRules :many
-- Live rules in the order they are tried.
SELECT org_id, id, position, name, criteria, target_user_id, target_team_id, strategy, capacity, rr_last_user_id,
       active, created_at, updated_at, version
FROM assignment_rules
WHERE org_id = @org_id AND deleted_at IS NULL
ORDER BY position, id;

-- name: GetAssignmentRules :many
SELECT org_id, id, position, name, criteria, target_user_id, target_team_id, strategy, capacity, rr_last_user_id,
       active, created_at, updated_at, version
FROM assignment_rules
WHERE org_id = @org_id AND id = ANY(@ids::uuid[]) AND deleted_at IS NULL;

-- name: LockAssignmentRules :many
-- Locks every live rule of the organization, in ID order (the one lock order of rule rows), for
-- changes of the order itself: creating, reordering, deleting.
SELECT id, position, version
FROM assignment_rules
WHERE org_id = @org_id AND deleted_at IS NULL
ORDER BY id
FOR UPDATE;

-- name: LockAssignmentTurns :many
-- Locks the given rules in ID order and returns their round-robin turns as committed: two routings
-- through the same rule take turns, and the second sees the turn the first advanced.
SELECT id, rr_last_user_id
FROM assignment_rules
WHERE org_id = @org_id AND id = ANY(@ids::uuid[]) AND deleted_at IS NULL
ORDER BY id
FOR UPDATE;

-- name: AdvanceAssignmentTurns :exec
-- The turns are state of the routing, not edits of the rules: no version bump.
UPDATE assignment_rules r SET rr_last_user_id = t.user_id
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@user_ids::uuid[]) AS user_id) t
WHERE r.org_id = @org_id AND r.id = t.id;

-- name: CreateAssignmentRule :exec
INSERT INTO assignment_rules (org_id, id, position, name, criteria, target_user_id, target_team_id, strategy,
                              capacity, active, created_at, updated_at)
VALUES (@org_id, @id, @position, @name, @criteria, @target_user_id, @target_team_id, @strategy,
        @capacity, @active, @now, @now);

-- name: UpdateAssignmentRule :one
UPDATE assignment_rules
SET name = @name, criteria = @criteria, target_user_id = @target_user_id, target_team_id = @target_team_id,
    strategy = @strategy, capacity = @capacity, active = @active, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at;

-- name: SetAssignmentRulePositions :exec
-- Positions only change the order; they do not bump versions.
UPDATE assignment_rules r SET position = p.position
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@positions::int[]) AS position) p
WHERE r.org_id = @org_id AND r.id = p.id AND r.position <> p.position;

-- name: DeleteAssignmentRule :exec
UPDATE assignment_rules SET deleted_at = @now::timestamptz, updated_at = @now::timestamptz, version = version + 1
WHERE org_id = @org_id AND id = @id;

-- name: RoutingCandidates :many
-- Members of the given teams and the given users, in the stable order of the round robin (user
-- ID), each with the number of open leads they own.
SELECT u.id, u.team_id, u.name, u.active, u.away,
       (SELECT count(*) FROM leads l
        WHERE l.org_id = u.org_id AND l.owner_id = u.id AND l.deleted_at IS NULL AND l.merged_into_id IS NULL
          AND l.status NOT IN ('converted', 'disqualified'))::int AS open_leads
FROM users u
WHERE u.org_id = @org_id AND (u.team_id = ANY(@team_ids::uuid[]) OR u.id = ANY(@user_ids::uuid[]))
ORDER BY u.id;

-- name: StickyOwners :many
-- Owners the people of several leads already have: of a contact with the lead's e-mail or phone
-- (kind 1), of an account with the lead's registration code or web domain (kind 2); per lead at
-- most four, contacts first, most recently changed first.
SELECT p.lead_id::uuid AS lead_id, o.kind::int AS kind, o.owner_id::uuid AS owner_id
FROM (SELECT unnest(@lead_ids::uuid[]) AS lead_id, unnest(@emails::text[]) AS email, unnest(@phones::text[]) AS phone,
             unnest(@registration_codes::text[]) AS registration_code, unnest(@domains::text[]) AS domain) p
CROSS JOIN LATERAL (
    SELECT x.kind, x.owner_id, x.updated_at
    FROM (
        SELECT 1 AS kind, c.owner_id, c.updated_at
        FROM contacts c
        WHERE c.org_id = @org_id AND c.deleted_at IS NULL AND c.owner_id IS NOT NULL
          AND c.id IN (SELECT ch.contact_id FROM contact_channels ch -- see migration 00008
                       WHERE ch.org_id = @org_id AND ch.value IN (NULLIF(p.email, ''), NULLIF(p.phone, '')))
        UNION ALL
        SELECT 2, a.owner_id, a.updated_at
        FROM accounts a
        WHERE a.org_id = @org_id AND a.deleted_at IS NULL AND a.owner_id IS NOT NULL
          AND ((p.registration_code <> '' AND a.registration_code = p.registration_code)
               OR (p.domain <> '' AND a.domain = p.domain))
    ) x
    ORDER BY x.kind, x.updated_at DESC
    LIMIT 4
) o
ORDER BY p.lead_id, o.kind, o.updated_at DESC;

-- name: InsertAssignmentDecisions :exec
-- Decisions of one actor at one moment in one statement; nil rule, chosen and previous IDs are
-- stored as NULL.
INSERT INTO assignment_decisions (org_id, id, lead_id, rule_id, reason, candidates, chosen_id, previous_id, manual,
                                  actor_kind, actor_id, decided_at)
SELECT @org_id::uuid, u.id, u.lead_id, nullif(u.rule_id, '00000000-0000-0000-0000-000000000000'), u.reason,
       u.candidates::jsonb, nullif(u.chosen_id, '00000000-0000-0000-0000-000000000000'),
       nullif(u.previous_id, '00000000-0000-0000-0000-000000000000'), @manual::bool, @actor_kind::text,
       sqlc.narg('actor_id')::uuid, @decided_at::timestamptz
FROM (SELECT unnest(@ids::uuid[]) AS id, unnest(@lead_ids::uuid[]) AS lead_id, unnest(@rule_ids::uuid[]) AS rule_id,
             unnest(@reasons::text[]) AS reason, unnest(@candidates::text[]) AS candidates,
             unnest(@chosen_ids::uuid[]) AS chosen_id, unnest(@previous_ids::uuid[]) AS previous_id) u;

-- name: ListAssignmentDecisions :many
SELECT org_id, id, lead_id, rule_id, reason, candidates, chosen_id, previous_id, manual, actor_kind, actor_id, decided_at
FROM assignment_decisions
WHERE org_id = @org_id AND lead_id = @lead_id
ORDER BY decided_at DESC, id DESC
LIMIT @max_rows;

-- name: AssignLeadOwner :one
-- Gives the lead its owner and starts (or, with a nil due time, leaves) the first-touch timer.
UPDATE leads
SET owner_id = @owner_id, team_id = @team_id, assigned_at = @now::timestamptz,
    sla_state = CASE WHEN sqlc.narg('sla_due_at')::timestamptz IS NULL THEN sla_state ELSE 'running' END,
    sla_due_at = coalesce(sqlc.narg('sla_due_at')::timestamptz, sla_due_at),
    updated_at = @now::timestamptz, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at, sla_state, sla_due_at;

-- name: BreachLeadSLA :one
-- The first-touch deadline passed: only if this timer (due_at) is still running.
UPDATE leads SET sla_state = 'breached'
WHERE org_id = @org_id AND id = @id AND sla_state = 'running' AND sla_due_at = @due_at::timestamptz AND deleted_at IS NULL
RETURNING owner_id, name;

-- name: MarkLeadContacted :one
-- The first call, e-mail or meeting: met before the deadline, late after it; the timer stops.
UPDATE leads
SET contacted_at = coalesce(contacted_at, @at::timestamptz),
    sla_state = CASE
        WHEN sla_state = 'running' AND @at::timestamptz <= sla_due_at THEN 'met'
        WHEN sla_state IN ('running', 'breached') THEN 'late'
        ELSE sla_state END
WHERE org_id = @org_id AND id = @id
RETURNING sla_state, contacted_at, owner_id;

-- name: OverdueLeadSLAs :many
-- Leads whose first-touch timer is past due (running) or whose reassignment may be due (breached,
-- not contacted, and not routed again since the deadline), for the sweep.
SELECT l.id, l.sla_state, l.sla_due_at::timestamptz AS sla_due_at
FROM leads l
WHERE l.org_id = @org_id AND l.sla_state IN ('running', 'breached') AND l.sla_due_at <= @now::timestamptz AND l.deleted_at IS NULL
  AND l.contacted_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM assignment_decisions d
                  WHERE d.org_id = l.org_id AND d.lead_id = l.id AND d.decided_at > l.sla_due_at)
ORDER BY l.sla_due_at, l.id
LIMIT @max_rows;

-- name: SetUserAway :one
UPDATE users SET away = @away, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at;
