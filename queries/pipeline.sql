-- name: CreatePipeline :exec
INSERT INTO pipelines (org_id, id, name, position, is_default, created_at, updated_at)
VALUES (@org_id, @id, @name, @position, @is_default, @now, @now);

-- name: ListPipelines :many
SELECT org_id, id, name, position, is_default, created_at, updated_at, deleted_at, version
FROM pipelines
WHERE org_id = @org_id AND deleted_at IS NULL
ORDER BY is_default DESC, position, name, id;

-- name: GetPipelines :many
SELECT org_id, id, name, position, is_default, created_at, updated_at, deleted_at, version
FROM pipelines
WHERE org_id = @org_id AND id = ANY(@ids::uuid[]) AND deleted_at IS NULL;

-- name: LockPipeline :one
SELECT org_id, id, name, position, is_default, created_at, updated_at, deleted_at, version
FROM pipelines
WHERE org_id = @org_id AND id = @id AND deleted_at IS NULL
FOR UPDATE;

-- name: UpdatePipeline :one
UPDATE pipelines SET name = @name, is_default = @is_default, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at;

-- name: ClearDefaultPipeline :exec
UPDATE pipelines SET is_default = false, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND is_default AND id <> @keep_id;

-- name: DefaultPipelineID :one
SELECT id FROM pipelines WHERE org_id = @org_id AND is_default AND deleted_at IS NULL;

-- name: StagesOfPipelines :many
-- Live stages, in order; removed ones too when with_deleted is set (for history).
SELECT org_id, id, pipeline_id, name, position, probability, forecast_category, closed, won, stale_after_days,
       entry_criteria, deleted_at
FROM pipeline_stages
WHERE org_id = @org_id AND pipeline_id = ANY(@pipeline_ids::uuid[]) AND (@with_deleted::boolean OR deleted_at IS NULL)
ORDER BY pipeline_id, position, id;

-- name: GetStages :many
SELECT org_id, id, pipeline_id, name, position, probability, forecast_category, closed, won, stale_after_days,
       entry_criteria, deleted_at
FROM pipeline_stages
WHERE org_id = @org_id AND id = ANY(@ids::uuid[]);

-- name: UpsertStage :exec
INSERT INTO pipeline_stages (org_id, id, pipeline_id, name, position, probability, forecast_category, closed, won,
                             stale_after_days, entry_criteria)
VALUES (@org_id, @id, @pipeline_id, @name, @position, @probability, @forecast_category, @closed, @won,
        @stale_after_days, @entry_criteria)
ON CONFLICT (org_id, id) DO UPDATE
SET name = excluded.name, position = excluded.position, probability = excluded.probability,
    forecast_category = excluded.forecast_category, closed = excluded.closed, won = excluded.won,
    stale_after_days = excluded.stale_after_days, entry_criteria = excluded.entry_criteria, deleted_at = NULL;

-- name: RemoveStage :exec
UPDATE pipeline_stages SET deleted_at = @now WHERE org_id = @org_id AND id = @id;

-- name: CountDealsInStages :many
-- Live deals per stage, for stages about to be removed.
SELECT stage_id, count(*)::int AS deals
FROM opportunities
WHERE org_id = @org_id AND stage_id = ANY(@stage_ids::uuid[]) AND deleted_at IS NULL
GROUP BY stage_id;
