-- name: CreateLeadImport :exec
-- An uploaded file, before its chunks; the upload's transaction adds them and commits all at once.
INSERT INTO lead_imports (org_id, id, file_name, size_bytes, encoding, delimiter, headers, chunk_count,
                          source, campaign, status, rows_total, created_by, created_at, updated_at)
VALUES (@org_id, @id, @file_name, @size_bytes, @encoding, @delimiter, @headers::text[], @chunk_count,
        @source, @campaign, 'uploaded', @rows_total, @created_by, @now, @now);

-- name: InsertLeadImportChunk :exec
INSERT INTO lead_import_chunks (org_id, import_id, seq, data) VALUES (@org_id, @import_id, @seq, @data);

-- name: FinishLeadImportUpload :exec
-- What the whole upload showed: its size, encoding, header and an estimate of its rows.
UPDATE lead_imports
SET size_bytes = @size_bytes, encoding = @encoding, delimiter = @delimiter, headers = @headers::text[],
    chunk_count = @chunk_count, rows_total = @rows_total
WHERE org_id = @org_id AND id = @id;

-- name: GetLeadImportChunk :one
SELECT data FROM lead_import_chunks WHERE org_id = @org_id AND import_id = @import_id AND seq = @seq;

-- name: DeleteLeadImportChunks :exec
-- The file of a finished import is not kept: its rows are leads (with their raw payload) or errors.
DELETE FROM lead_import_chunks WHERE org_id = @org_id AND import_id = @import_id;

-- name: GetLeadImports :many
-- Imports by ID; created_by, when given, confines them to that user's own.
SELECT * FROM lead_imports
WHERE org_id = @org_id AND id = ANY(@ids::uuid[])
  AND (sqlc.narg('created_by')::uuid IS NULL OR created_by = sqlc.narg('created_by')::uuid);

-- name: LockLeadImport :one
SELECT * FROM lead_imports WHERE org_id = @org_id AND id = @id FOR UPDATE;

-- name: ListLeadImports :many
-- Imports newest first, keyset-paged on (created_at, id); created_by confines them as in GetLeadImports.
SELECT * FROM lead_imports
WHERE org_id = @org_id
  AND (sqlc.narg('created_by')::uuid IS NULL OR created_by = sqlc.narg('created_by')::uuid)
  AND (sqlc.narg('after_at')::timestamptz IS NULL
       OR (created_at, id) < (sqlc.narg('after_at')::timestamptz, sqlc.narg('after_id')::uuid))
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- name: UpdateLeadImport :exec
-- Writes an import's state back after a change made under LockLeadImport.
UPDATE lead_imports
SET mapping = @mapping, source = @source, campaign = @campaign, status = @status, error = @error,
    rows_total = @rows_total, rows_done = @rows_done, rows_imported = @rows_imported, rows_merged = @rows_merged,
    rows_failed = @rows_failed, resume_line = @resume_line, started_at = @started_at, finished_at = @finished_at,
    updated_at = @updated_at
WHERE org_id = @org_id AND id = @id;

-- name: InsertLeadImportErrors :exec
-- The problems of one batch, one statement; a line and field already reported is skipped.
INSERT INTO lead_import_errors (org_id, import_id, line, field, reason)
SELECT @org_id, @import_id, unnest(@lines::integer[]), unnest(@fields::text[]), unnest(@reasons::text[])
ON CONFLICT (org_id, import_id, line, field) DO NOTHING;

-- name: ListLeadImportErrors :many
-- An import's problems in file order, keyset-paged on (line, field).
SELECT line, field, reason FROM lead_import_errors
WHERE org_id = @org_id AND import_id = @import_id
  AND (sqlc.narg('after_line')::integer IS NULL
       OR (line, field) > (sqlc.narg('after_line')::integer, sqlc.narg('after_field')::text))
ORDER BY line, field
LIMIT @max_rows;

-- name: CountLeadImportErrors :one
SELECT count(*)::integer FROM lead_import_errors WHERE org_id = @org_id AND import_id = @import_id;
