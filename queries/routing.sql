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

-- name: AdvanceAssignmentTurn :exec
-- The turn is state of the routing, not an edit of the rule: no version bump.
UPDATE assignment_rules SET rr_last_user_id = @user_id
WHERE org_id = @org_id AND id = @id;

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
-- Owners the person already has: of a contact with the lead's e-mail or phone (kind 1), of an
-- account with the lead's registration code or web domain (kind 2); most recently changed first.
SELECT kind::int AS kind, owner_id::uuid AS owner_id
FROM (
    SELECT 1 AS kind, c.owner_id, c.updated_at
    FROM contacts c
    WHERE c.org_id = @org_id AND c.deleted_at IS NULL AND c.owner_id IS NOT NULL
      AND ((@email::text <> '' AND @email::text = ANY(c.emails)) OR (@phone::text <> '' AND @phone::text = ANY(c.phones)))
    UNION ALL
    SELECT 2, a.owner_id, a.updated_at
    FROM accounts a
    WHERE a.org_id = @org_id AND a.deleted_at IS NULL AND a.owner_id IS NOT NULL
      AND ((@registration_code::text <> '' AND a.registration_code = @registration_code::text)
           OR (@domain::text <> '' AND a.domain = @domain::text))
) o
ORDER BY kind, updated_at DESC
LIMIT 4;

-- name: InsertAssignmentDecision :exec
INSERT INTO assignment_decisions (org_id, id, lead_id, rule_id, reason, candidates, chosen_id, previous_id, manual,
                                  actor_kind, actor_id, decided_at)
VALUES (@org_id, @id, @lead_id, @rule_id, @reason, @candidates, @chosen_id, @previous_id, @manual,
        @actor_kind, @actor_id, @decided_at);

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
