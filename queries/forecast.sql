-- name: ForecastSums :many
-- The deals a forecast counts, summed per period, group, category and currency (unit: month or
-- quarter; group_by: owner, team or pipeline). Deals
-- in another currency than the forecast's are also kept apart per close date (rate_day: days since
-- from_date; 0 for the forecast's own currency, which needs no rate), so that the service looks
-- the exchange rate up once per sum rather than once per deal. Open deals count in their open
-- category, won deals in closed_won; lost and omitted deals are left out here. The per-deal
-- expressions are kept cheap (an integer day rather than a date, no coalesce inside the sums):
-- this reads every deal of the range, 200,000 in the benchmark.
SELECT date_trunc(@unit::text, o.close_date::timestamp)::date AS period_start,
       (CASE @group_by::text WHEN 'team' THEN o.team_id WHEN 'pipeline' THEN o.pipeline_id ELSE o.owner_id END)::uuid AS group_id,
       o.forecast_category,
       o.currency,
       (CASE WHEN o.currency = @currency::text THEN 0 ELSE o.close_date - @from_date::date END)::integer AS rate_day,
       coalesce(sum(o.amount), 0)::numeric AS amount,
       coalesce(sum(o.amount * o.probability), 0)::numeric AS amount_x_probability,
       count(*)::integer AS deals
FROM opportunities o
WHERE o.org_id = @org_id AND o.deleted_at IS NULL
  AND o.close_date >= @from_date::date AND o.close_date < @to_date::date
  AND (sqlc.narg('pipeline_id')::uuid IS NULL OR o.pipeline_id = sqlc.narg('pipeline_id'))
  AND ((o.closed_at IS NULL AND o.forecast_category IN ('pipeline', 'best_case', 'commit'))
       OR (o.closed_at IS NOT NULL AND o.forecast_category = 'closed_won'))
  -- not correlated with o, so PostgreSQL hashes the viewer's owners once instead of probing per deal
  AND (sqlc.narg('viewer_id')::uuid IS NULL OR o.owner_id IS NULL
       OR o.owner_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = @org_id AND v.viewer_id = sqlc.narg('viewer_id')))
GROUP BY 1, 2, 3, 4, 5;

-- name: ExchangeRatesOf :many
-- The rates that convert into or out of a currency, valid from before a day.
SELECT from_currency, to_currency, valid_from, rate
FROM exchange_rates
WHERE org_id = @org_id AND (from_currency = @currency OR to_currency = @currency) AND valid_from < @before
ORDER BY from_currency, to_currency, valid_from;

-- name: ListExchangeRates :many
SELECT from_currency, to_currency, valid_from, rate
FROM exchange_rates
WHERE org_id = @org_id AND (sqlc.narg('from_currency')::text IS NULL OR from_currency = sqlc.narg('from_currency'))
ORDER BY valid_from DESC, from_currency, to_currency
LIMIT 1000;

-- name: GetExchangeRate :one
SELECT rate FROM exchange_rates
WHERE org_id = @org_id AND from_currency = @from_currency AND to_currency = @to_currency AND valid_from = @valid_from
FOR UPDATE;

-- name: UpsertExchangeRate :exec
INSERT INTO exchange_rates (org_id, from_currency, to_currency, valid_from, rate, created_at)
VALUES (@org_id, @from_currency, @to_currency, @valid_from, @rate, @now)
ON CONFLICT (org_id, from_currency, to_currency, valid_from) DO UPDATE SET rate = excluded.rate;

-- name: ListQuotas :many
-- Quotas overlapping [from, to); with a viewer, only those of users the viewer sees and of the
-- teams those users belong to.
SELECT q.id, q.user_id, q.team_id, q.period_start, q.period_end, q.amount, q.currency
FROM quotas q
WHERE q.org_id = @org_id AND q.period_start < @to_date AND q.period_end > @from_date
  AND (sqlc.narg('viewer_id')::uuid IS NULL
       OR q.user_id IN (SELECT v.owner_id FROM user_visibility v WHERE v.org_id = q.org_id AND v.viewer_id = sqlc.narg('viewer_id'))
       OR q.team_id IN (SELECT u.team_id FROM users u JOIN user_visibility v ON v.org_id = u.org_id AND v.owner_id = u.id
                        WHERE u.org_id = q.org_id AND v.viewer_id = sqlc.narg('viewer_id')))
ORDER BY q.period_start, q.period_end, q.id;

-- name: LockQuota :one
SELECT id, amount, currency FROM quotas
WHERE org_id = @org_id AND coalesce(user_id, team_id) = @target_id AND period_start = @period_start AND period_end = @period_end
FOR UPDATE;

-- name: UpsertQuota :one
INSERT INTO quotas (org_id, id, user_id, team_id, period_start, period_end, amount, currency, created_at, updated_at)
VALUES (@org_id, @id, @user_id, @team_id, @period_start, @period_end, @amount, @currency, @now, @now)
ON CONFLICT (org_id, coalesce(user_id, team_id), period_start, period_end)
DO UPDATE SET amount = excluded.amount, currency = excluded.currency, updated_at = excluded.updated_at
RETURNING id;

-- name: InsertForecastSubmission :exec
INSERT INTO forecast_submissions (org_id, id, team_id, period_start, period_end, currency, pipeline_amount, best_case,
                                  commit_amount, closed_won, weighted, adjusted, note, submitted_by, submitted_at)
VALUES (@org_id, @id, @team_id, @period_start, @period_end, @currency, @pipeline_amount, @best_case,
        @commit_amount, @closed_won, @weighted, @adjusted, @note, @submitted_by, @submitted_at);

-- name: ListForecastSubmissions :many
-- Submissions for periods inside [from, to], newest first.
SELECT id, team_id, period_start, period_end, currency, pipeline_amount, best_case, commit_amount, closed_won,
       weighted, adjusted, note, submitted_by, submitted_at
FROM forecast_submissions
WHERE org_id = @org_id AND period_start >= @from_date AND period_end <= @to_date
ORDER BY submitted_at DESC, id DESC
LIMIT 1000;

-- name: LatestForecastSubmissions :many
-- The latest submission of every team and period inside [from, to).
SELECT DISTINCT ON (team_id, period_start, period_end)
       id, team_id, period_start, period_end, currency, pipeline_amount, best_case, commit_amount, closed_won,
       weighted, adjusted, note, submitted_by, submitted_at
FROM forecast_submissions
WHERE org_id = @org_id AND period_start >= @from_date AND period_end <= @to_date AND team_id IS NOT NULL
ORDER BY team_id, period_start, period_end, submitted_at DESC, id DESC;
