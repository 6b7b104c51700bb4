-- +goose Up
-- Events are numbered without rewriting them. The relay used to give each event its sequence
-- number with an UPDATE of the event row: a second copy of the whole row (a lead event carries the
-- lead as a ~1 KB snapshot), three index entries and a dead tuple for vacuum, per event, about a
-- fifth of PostgreSQL's work for a captured lead. Now the writer's transaction also puts the event's
-- ID in a narrow queue, and the relay moves it from the queue to a narrow numbering table. Event
-- rows are written once and never updated. Also for capture: touches lose a foreign key that their
-- other keys imply (at the end).

-- Appended events not yet numbered: the relay's work queue, small because rows leave it once
-- published. Event IDs are UUIDv7, so the queue's order is the order of appending.
CREATE TABLE event_queue (
    org_id uuid NOT NULL,
    id     uuid PRIMARY KEY
);

-- The sequence number of every published event: dense, 1..n per organization, in the order the
-- events' transactions became visible to the relay.
CREATE TABLE event_seqs (
    org_id       uuid NOT NULL,
    seq          bigint NOT NULL,
    id           uuid NOT NULL,
    published_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, seq),
    UNIQUE (org_id, id)
);

INSERT INTO event_seqs (org_id, seq, id, published_at)
SELECT org_id, seq, id, published_at FROM events WHERE seq IS NOT NULL;
INSERT INTO event_queue (org_id, id)
SELECT org_id, id FROM events WHERE seq IS NULL;
ALTER TABLE events DROP COLUMN seq, DROP COLUMN published_at; -- and with them events_seq, events_unpublished

ALTER TABLE event_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_queue FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON event_queue TO rapport_app USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
CREATE POLICY system ON event_queue TO rapport_system USING (true) WITH CHECK (true);
ALTER TABLE event_seqs ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_seqs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON event_seqs TO rapport_app USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
CREATE POLICY system ON event_seqs TO rapport_system USING (true) WITH CHECK (true);
GRANT SELECT, INSERT, UPDATE, DELETE ON event_queue, event_seqs TO rapport_app, rapport_system;

-- A touch names a lead or a contact (CHECK) through foreign keys that include org_id, and leads and
-- contacts reference their organization: the touch's own reference to organizations could never
-- fail, and cost a lookup (and a lock of the organization's row) per captured lead.
ALTER TABLE lead_touches DROP CONSTRAINT lead_touches_org_id_fkey;
