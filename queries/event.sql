-- name: AppendEventRows :exec
-- Many events of one transaction in one statement: a few times cheaper per event than pipelined
-- INSERTs when a sweep appends thousands (COPY is not allowed under row-level security). Arrays
-- cannot nest, so owner IDs travel as uuid[] literals; nil IDs and empty snapshots become NULL.
INSERT INTO events (org_id, id, type, record_type, record_id, actor_kind, actor_id, owner_ids, changes, occurred_at,
                    container_id, snapshot)
SELECT unnest(@org_ids::uuid[]), unnest(@ids::uuid[]), unnest(@types::text[]), unnest(@record_types::text[]),
       unnest(@record_ids::uuid[]), unnest(@actor_kinds::text[]),
       nullif(unnest(@actor_ids::uuid[]), '00000000-0000-0000-0000-000000000000'),
       unnest(@owner_ids::text[])::uuid[], unnest(@changes::text[])::jsonb, unnest(@occurred_ats::timestamptz[]),
       nullif(unnest(@container_ids::uuid[]), '00000000-0000-0000-0000-000000000000'),
       nullif(unnest(@snapshots::text[]), '')::jsonb;

-- name: PublishEvents :many
-- The relay's one statement: give the oldest unpublished events their per-organization sequence
-- numbers and report, per organization, the range it published. Runs as the system role under the
-- relay's advisory lock, so sequence numbers are handed out by one writer at a time.
WITH batch AS (
    SELECT e.org_id, e.id, row_number() OVER (PARTITION BY e.org_id ORDER BY e.id) AS rn
    FROM (SELECT org_id, id FROM events WHERE seq IS NULL ORDER BY id LIMIT @max_events) e
), counts AS (
    SELECT org_id, count(*) AS n FROM batch GROUP BY org_id
), bumped AS (
    INSERT INTO event_counters AS c (org_id, last_seq)
    SELECT org_id, n FROM counts
    ON CONFLICT (org_id) DO UPDATE SET last_seq = c.last_seq + excluded.last_seq
    RETURNING org_id, last_seq
), published AS (
    UPDATE events e
    SET seq = bumped.last_seq - counts.n + batch.rn, published_at = @now::timestamptz
    FROM batch
    JOIN counts USING (org_id)
    JOIN bumped USING (org_id)
    WHERE e.org_id = batch.org_id AND e.id = batch.id
    RETURNING e.org_id, e.seq
)
SELECT org_id, min(seq)::bigint AS first_seq, max(seq)::bigint AS last_seq
FROM published
GROUP BY org_id;

-- name: EventsAfter :many
-- The change feed and subscription catch-up: published events after a sequence number.
SELECT org_id, id, seq, type, record_type, record_id, actor_kind, actor_id, owner_ids, changes, occurred_at, published_at,
       container_id, snapshot
FROM events
WHERE org_id = @org_id AND seq > @after_seq::bigint AND seq <= @until_seq::bigint
  AND (cardinality(@record_types::text[]) = 0 OR record_type = ANY(@record_types::text[]))
ORDER BY seq
LIMIT @max_events;

-- name: LastSeq :one
SELECT coalesce(max(last_seq), 0)::bigint FROM event_counters WHERE org_id = @org_id;

-- name: RecordEvents :many
-- The audit trail of a record and of the records merged into it, oldest first, keyset-paged by id.
SELECT org_id, id, seq, type, record_type, record_id, actor_kind, actor_id, owner_ids, changes, occurred_at, published_at,
       container_id, snapshot
FROM events
WHERE org_id = @org_id AND record_id = ANY(@record_ids::uuid[]) AND id > @after_id
ORDER BY id
LIMIT @max_events;

-- name: AppendEvent :exec
INSERT INTO events (org_id, id, type, record_type, record_id, actor_kind, actor_id, owner_ids, changes, occurred_at,
                    container_id, snapshot)
VALUES (@org_id, @id, @type, @record_type, @record_id, @actor_kind, @actor_id, @owner_ids, @changes, @occurred_at,
        @container_id, @snapshot);
