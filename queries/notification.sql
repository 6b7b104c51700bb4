-- name: CreateNotification :one
-- A notification with a dedup key is created once per user and key; the second time nothing is
-- inserted and no row is returned.
INSERT INTO notifications (org_id, id, user_id, kind, title, body, record_type, record_id, dedup_key, created_at)
VALUES (@org_id, @id, @user_id, @kind, @title, @body, @record_type, @record_id, @dedup_key, @now)
ON CONFLICT (org_id, user_id, dedup_key) DO NOTHING
RETURNING id;
