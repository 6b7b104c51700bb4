-- name: AppendEventRows :exec
-- Many events of one transaction in one statement: a few times cheaper per event than pipelined
-- INSERTs when a sweep appends thousands (COPY is not allowed under row-level security). Arrays
-- cannot nest, so owner IDs travel as uuid[] literals; nil IDs and empty snapshots become NULL.
-- Each event's ID also goes to the relay's queue (event_queue).
WITH appended AS (
    INSERT INTO events (org_id, id, type, record_type, record_id, actor_kind, actor_id, owner_ids, changes, occurred_at,
                        container_id, snapshot)
    SELECT unnest(@org_ids::uuid[]), unnest(@ids::uuid[]), unnest(@types::text[]), unnest(@record_types::text[]),
           unnest(@record_ids::uuid[]), unnest(@actor_kinds::text[]),
           nullif(unnest(@actor_ids::uuid[]), '00000000-0000-0000-0000-000000000000'),
           unnest(@owner_ids::text[])::uuid[], unnest(@changes::text[])::jsonb, unnest(@occurred_ats::timestamptz[]),
           nullif(unnest(@container_ids::uuid[]), '00000000-0000-0000-0000-000000000000'),
           nullif(unnest(@snapshots::text[]), '')::json
    RETURNING org_id, id
)
INSERT INTO event_queue (org_id, id) SELECT org_id, id FROM appended;

-- name: PublishEvents :many
-- The relay's one statement: take the oldest queued events off the queue, give them their
-- per-organization sequence numbers (event_seqs; the event rows are not rewritten) and report, per
-- organization, the range it published. Runs as the system role under the relay's advisory lock, so
-- sequence numbers are handed out by one writer at a time. The queue is read by its primary key
-- through an array, not joined: a join with a CTE may become a nested loop over the batch when the
-- queue's statistics say it is empty, quadratic in the batch.
WITH dequeued AS (
    DELETE FROM event_queue
    WHERE id = ANY (ARRAY(SELECT q.id FROM event_queue q ORDER BY q.id LIMIT @max_events))
    RETURNING org_id, id
), batch AS (
    SELECT org_id, id, row_number() OVER (PARTITION BY org_id ORDER BY id) AS rn FROM dequeued
), counts AS (
    SELECT org_id, count(*) AS n FROM batch GROUP BY org_id
), bumped AS (
    INSERT INTO event_counters AS c (org_id, last_seq)
    SELECT org_id, n FROM counts
    ON CONFLICT (org_id) DO UPDATE SET last_seq = c.last_seq + excluded.last_seq
    RETURNING org_id, last_seq
), published AS (
    INSERT INTO event_seqs (org_id, seq, id, published_at)
    SELECT batch.org_id, bumped.last_seq - counts.n + batch.rn, batch.id, @now::timestamptz
    FROM batch
    JOIN counts USING (org_id)
    JOIN bumped USING (org_id)
    RETURNING org_id, seq
)
SELECT org_id, min(seq)::bigint AS first_seq, max(seq)::bigint AS last_seq
FROM published
GROUP BY org_id;

-- name: EventsAfter :many
-- The change feed and subscription catch-up: published events after a sequence number.
SELECT sqlc.embed(e), s.seq
FROM event_seqs s
JOIN events e ON e.org_id = s.org_id AND e.id = s.id
WHERE s.org_id = @org_id AND s.seq > @after_seq::bigint AND s.seq <= @until_seq::bigint
  AND (cardinality(@record_types::text[]) = 0 OR e.record_type = ANY(@record_types::text[]))
ORDER BY s.seq
LIMIT @max_events;

-- name: LastSeq :one
SELECT coalesce(max(last_seq), 0)::bigint FROM event_counters WHERE org_id = @org_id;

-- name: RecordEvents :many
-- The audit trail of a record and of the records merged into it, oldest first, keyset-paged by id.
-- Events not yet published have sequence number 0.
SELECT sqlc.embed(e), coalesce(s.seq, 0)::bigint AS seq
FROM events e
LEFT JOIN event_seqs s ON s.org_id = e.org_id AND s.id = e.id
WHERE e.org_id = @org_id AND e.record_id = ANY(@record_ids::uuid[]) AND e.id > @after_id
ORDER BY e.id
LIMIT @max_events;

-- name: AppendEvent :exec
WITH appended AS (
    INSERT INTO events (org_id, id, type, record_type, record_id, actor_kind, actor_id, owner_ids, changes, occurred_at,
                        container_id, snapshot)
    VALUES (@org_id, @id, @type, @record_type, @record_id, @actor_kind, @actor_id, @owner_ids, @changes, @occurred_at,
            @container_id, @snapshot)
    RETURNING org_id, id
)
INSERT INTO event_queue (org_id, id) SELECT org_id, id FROM appended;
