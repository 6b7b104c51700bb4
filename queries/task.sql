-- name: CreateTask :exec
INSERT INTO tasks (org_id, id, title, notes, kind, owner_id, due_at, remind_at, priority, status, record_type,
                   record_id, reminder_job_id, created_at, updated_at)
VALUES (@org_id, @id, @title, @notes, @kind, @owner_id, @due_at, @remind_at, @priority, @status, @record_type,
        @record_id, @reminder_job_id, @now, @now);

-- name: GetTasks :many
-- Tasks by ID that the viewer may see (by their owner, like records).
SELECT org_id, id, title, notes, kind, owner_id, due_at, remind_at, priority, status, record_type, record_id,
       reminder_job_id, completed_at, created_at, updated_at, version
FROM tasks t
WHERE t.org_id = @org_id AND t.id = ANY(@ids::uuid[])
  AND (sqlc.narg('viewer_id')::uuid IS NULL
       OR t.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = t.org_id AND v.viewer_id = sqlc.narg('viewer_id')));

-- name: GetTaskForUpdate :one
SELECT org_id, id, title, notes, kind, owner_id, due_at, remind_at, priority, status, record_type, record_id,
       reminder_job_id, completed_at, created_at, updated_at, version
FROM tasks t
WHERE t.org_id = @org_id AND t.id = @id
  AND (sqlc.narg('viewer_id')::uuid IS NULL
       OR t.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = t.org_id AND v.viewer_id = sqlc.narg('viewer_id')))
FOR UPDATE;

-- name: UpdateTask :one
UPDATE tasks
SET title = @title, notes = @notes, owner_id = @owner_id, due_at = @due_at, remind_at = @remind_at,
    priority = @priority, status = @status, reminder_job_id = @reminder_job_id, completed_at = @completed_at,
    updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at;
