-- name: CreateUser :exec
INSERT INTO users (org_id, id, email, name, role, team_id, password_hash, active, created_at, updated_at)
VALUES (@org_id, @id, @email, @name, @role, @team_id, @password_hash, @active, @now, @now);

-- name: GetUsers :many
SELECT org_id, id, email, name, role, team_id, active, away, created_at, updated_at, version
FROM users
WHERE org_id = @org_id AND id = ANY(@ids::uuid[]);

-- name: GetUserForUpdate :one
SELECT org_id, id, email, name, role, team_id, active, away, created_at, updated_at, version
FROM users
WHERE org_id = @org_id AND id = @id
FOR UPDATE;

-- name: ListUsers :many
SELECT org_id, id, email, name, role, team_id, active, away, created_at, updated_at, version
FROM users
WHERE org_id = @org_id
ORDER BY name, id;

-- name: UpdateUser :one
UPDATE users
SET name = @name, role = @role, team_id = @team_id, active = @active, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at;

-- name: SetUserPassword :exec
UPDATE users SET password_hash = @password_hash, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id;

-- name: FindLoginUsers :many
-- Runs as the system role: login does not know the organization yet.
SELECT u.org_id, u.id, u.role, u.password_hash, u.active, o.slug
FROM users u
JOIN organizations o ON o.id = u.org_id
WHERE u.email = @email
ORDER BY o.slug;

-- name: CanSee :one
-- Whether viewer sees records owned by owner (the visibility closure).
SELECT EXISTS (SELECT 1 FROM user_visibility WHERE org_id = @org_id AND viewer_id = @viewer_id AND owner_id = @owner_id);

-- name: GetUserByEmail :one
SELECT org_id, id, email, name, role, team_id, active, away, created_at, updated_at, version
FROM users
WHERE org_id = @org_id AND email = @email;
