-- name: CreateTeam :exec
INSERT INTO teams (org_id, id, name, parent_id, manager_id, created_at, updated_at)
VALUES (@org_id, @id, @name, @parent_id, @manager_id, @now, @now);

-- name: ListTeams :many
SELECT org_id, id, name, parent_id, manager_id, created_at, updated_at, version
FROM teams
WHERE org_id = @org_id
ORDER BY name, id;

-- name: GetTeamForUpdate :one
SELECT org_id, id, name, parent_id, manager_id, created_at, updated_at, version
FROM teams
WHERE org_id = @org_id AND id = @id
FOR UPDATE;

-- name: UpdateTeam :one
UPDATE teams
SET name = @name, parent_id = @parent_id, manager_id = @manager_id, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at;
