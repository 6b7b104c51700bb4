-- name: ClearVisibility :exec
DELETE FROM user_visibility WHERE org_id = @org_id;

-- name: InsertVisibility :exec
INSERT INTO user_visibility (org_id, viewer_id, owner_id)
SELECT @org_id, unnest(@viewer_ids::uuid[]), unnest(@owner_ids::uuid[]);

-- name: VisibleOwners :many
SELECT owner_id FROM user_visibility WHERE org_id = @org_id AND viewer_id = @viewer_id;
