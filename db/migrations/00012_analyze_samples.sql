-- +goose Up
-- Smaller ANALYZE samples for the tables that capture and the relay append to. ANALYZE reads
-- 300 rows per unit of the largest statistics target of a table's columns (30,000 at the default
-- 100) and sorts each analyzed column's sample. While leads pour in, autovacuum analyzes these
-- tables every few seconds, and that was a tenth of the machine's CPU during batch capture: at
-- 167,000 rows one ANALYZE of leads took 390 ms, of touches 150 ms, of events 240 ms.
--
-- Rapport's connections plan generically (plan_cache_mode): parameters are not known when a plan
-- is made, so the plans read the number of distinct values, the null fractions and the table's
-- size, not the most-common-value lists and histograms that large samples refine. 9,000 sampled
-- leads (target 30; their lists filter on statuses, owners and dates) and 3,000 touches, events
-- and sequence numbers (target 10; read only by key) estimate those as well: ANALYZE of the same
-- tables took 77, 13 and 20 ms.
--
-- A column added to one of these tables later starts at the default target, which raises the
-- sample for the whole table again: give it the table's target (or 0, migration 00011).

-- +goose StatementBegin
DO $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT a.attrelid::regclass AS t, a.attname,
                    CASE WHEN a.attrelid = 'leads'::regclass THEN 30 ELSE 10 END AS target
             FROM pg_attribute a
             WHERE a.attrelid IN ('leads'::regclass, 'lead_touches'::regclass, 'events'::regclass, 'event_seqs'::regclass)
               AND a.attnum > 0 AND NOT a.attisdropped AND a.attstattarget = -1
    LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN %I SET STATISTICS %s', c.t, c.attname, c.target);
    END LOOP;
END $$;
-- +goose StatementEnd
