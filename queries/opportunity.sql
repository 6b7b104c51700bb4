-- name: CreateOpportunity :exec
INSERT INTO opportunities (org_id, id, name, account_id, owner_id, team_id, pipeline_id, stage_id, amount, currency,
                           close_date, probability, forecast_category, source, source_lead_id, campaign, next_step,
                           checklist, custom, stage_entered_at, closed_at, created_at, updated_at)
VALUES (@org_id, @id, @name, @account_id, @owner_id, @team_id, @pipeline_id, @stage_id, @amount, @currency,
        @close_date, @probability, @forecast_category, @source, @source_lead_id, @campaign, @next_step,
        @checklist, @custom, @now, @closed_at, @now, @now);

-- name: GetOpportunities :many
SELECT org_id, id, name, account_id, owner_id, team_id, pipeline_id, stage_id, amount, currency, close_date,
       probability, forecast_category, source, source_lead_id, campaign, next_step, loss_reason, competitor,
       checklist, custom, stage_entered_at, last_activity_at, stale_since, closed_at, created_at, updated_at,
       deleted_at, version
FROM opportunities o
WHERE o.org_id = @org_id AND o.id = ANY(@ids::uuid[])
  AND (sqlc.narg('viewer_id')::uuid IS NULL OR o.owner_id IS NULL
       OR o.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = o.org_id AND v.viewer_id = sqlc.narg('viewer_id')));

-- name: LockOpportunity :one
SELECT org_id, id, name, account_id, owner_id, team_id, pipeline_id, stage_id, amount, currency, close_date,
       probability, forecast_category, source, source_lead_id, campaign, next_step, loss_reason, competitor,
       checklist, custom, stage_entered_at, last_activity_at, stale_since, closed_at, created_at, updated_at,
       deleted_at, version
FROM opportunities o
WHERE o.org_id = @org_id AND o.id = @id
  AND (sqlc.narg('viewer_id')::uuid IS NULL OR o.owner_id IS NULL
       OR o.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = o.org_id AND v.viewer_id = sqlc.narg('viewer_id')))
FOR UPDATE;

-- name: SaveOpportunity :one
UPDATE opportunities
SET name = @name, owner_id = @owner_id, team_id = @team_id, stage_id = @stage_id, amount = @amount,
    currency = @currency, close_date = @close_date, probability = @probability,
    forecast_category = @forecast_category, source = @source, campaign = @campaign, next_step = @next_step,
    loss_reason = @loss_reason, competitor = @competitor, checklist = @checklist, custom = @custom,
    stage_entered_at = @stage_entered_at, stale_since = @stale_since, closed_at = @closed_at,
    deleted_at = @deleted_at, updated_at = @now, version = version + 1
WHERE org_id = @org_id AND id = @id
RETURNING version, updated_at;

-- name: DealContacts :many
SELECT opportunity_id, contact_id, roles, is_primary
FROM opportunity_contacts
WHERE org_id = @org_id AND opportunity_id = ANY(@ids::uuid[])
ORDER BY opportunity_id, is_primary DESC, contact_id;

-- name: PrimaryContactsOfDeals :many
SELECT oc.opportunity_id, sqlc.embed(contacts)
FROM opportunity_contacts oc
JOIN contacts ON contacts.org_id = oc.org_id AND contacts.id = oc.contact_id
WHERE oc.org_id = @org_id AND oc.opportunity_id = ANY(@ids::uuid[]) AND oc.is_primary
  AND (sqlc.narg('viewer_id')::uuid IS NULL OR contacts.owner_id IS NULL
       OR contacts.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = contacts.org_id AND v.viewer_id = sqlc.narg('viewer_id')));

-- name: DeleteDealContacts :exec
DELETE FROM opportunity_contacts WHERE org_id = @org_id AND opportunity_id = @opportunity_id;

-- name: AddDealContacts :batchexec
INSERT INTO opportunity_contacts (org_id, opportunity_id, contact_id, roles, is_primary)
VALUES (@org_id, @opportunity_id, @contact_id, @roles, @is_primary);

-- name: ContactAccounts :many
-- The account of each live contact (for checking a deal's contacts belong to its account).
SELECT id, account_id FROM contacts WHERE org_id = @org_id AND id = ANY(@ids::uuid[]) AND deleted_at IS NULL;

-- name: AddStageChange :exec
INSERT INTO stage_history (org_id, id, opportunity_id, from_stage_id, to_stage_id, actor_kind, actor_id, changed_at,
                           amount, currency, probability, forecast_category)
VALUES (@org_id, @id, @opportunity_id, @from_stage_id, @to_stage_id, @actor_kind, @actor_id, @changed_at,
        @amount, @currency, @probability, @forecast_category);

-- name: StageHistory :many
SELECT org_id, id, opportunity_id, from_stage_id, to_stage_id, actor_kind, actor_id, changed_at, amount, currency,
       probability, forecast_category
FROM stage_history
WHERE org_id = @org_id AND opportunity_id = ANY(@ids::uuid[])
ORDER BY opportunity_id, changed_at, id;

-- name: DealActivityTypes :many
-- The activity types logged on each deal (evidence for entry criteria).
SELECT DISTINCT record_id, type
FROM activities
WHERE org_id = @org_id AND record_id = ANY(@ids::uuid[]) AND record_type = 'Opportunity' AND deleted_at IS NULL;

-- name: MoveDealsToStage :many
-- Maps the deals of a removed stage to another stage of the same pipeline.
UPDATE opportunities
SET stage_id = @to_stage_id, stage_entered_at = @now, probability = @probability, forecast_category = @forecast_category,
    updated_at = @now, version = version + 1
WHERE org_id = @org_id AND stage_id = @from_stage_id AND deleted_at IS NULL
RETURNING id, owner_id, pipeline_id, version;
