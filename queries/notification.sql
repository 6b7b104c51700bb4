-- name: GetNotifications :many
-- A user's notifications by ID; nobody else's.
SELECT org_id, id, user_id, kind, title, body, record_type, record_id, dedup_key, created_at, read_at
FROM notifications
WHERE org_id = @org_id AND user_id = @user_id AND id = ANY(@ids::uuid[]);

-- name: ListNotifications :many
-- A user's inbox, newest first, keyset-paged on (created_at, id).
SELECT org_id, id, user_id, kind, title, body, record_type, record_id, dedup_key, created_at, read_at
FROM notifications
WHERE org_id = @org_id AND user_id = @user_id AND (NOT @unread_only::boolean OR read_at IS NULL)
  AND (sqlc.narg('after_at')::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg('after_at')::timestamptz, sqlc.narg('after_id')::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: CountUnreadNotifications :one
SELECT count(*)::integer FROM notifications WHERE org_id = @org_id AND user_id = @user_id AND read_at IS NULL;

-- name: MarkNotificationsRead :execrows
-- Marks a user's unread notifications read: those with the given IDs, or all when ids is NULL.
UPDATE notifications SET read_at = @now::timestamptz
WHERE org_id = @org_id AND user_id = @user_id AND read_at IS NULL
  AND (sqlc.narg('ids')::uuid[] IS NULL OR id = ANY(sqlc.narg('ids')::uuid[]));
