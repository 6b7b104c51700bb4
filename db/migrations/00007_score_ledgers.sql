-- +goose Up
-- Scoring: one ledger row per lead instead of one row per award. A rescore of every lead wrote about
-- eight rows per lead, each checked against two foreign keys and entered in two indexes; most of an
-- organization-wide rescore's time went there. The ledger is now the lead's awards as one JSON
-- array (fit by rule, then engagement by event time, as scoring evaluates them), each entry
--   {"rule": uuid, "version": int, "event": uuid (behaviour only), "part": "fit"|"engagement",
--    "points": int, "reason": text, "at": timestamptz, "expires": timestamptz (when it decays)}
-- and expires_at is the earliest expiry among them: the decay job's index. The type is json, not
-- jsonb: the ledger is written and read whole, never searched inside, and json input is only
-- checked where jsonb is parsed and rebuilt (9 against 19 us for a ledger of 8 entries, 2.4 KiB).

-- No foreign key: only scoring writes a ledger, for leads it holds locked, and leads are never
-- deleted (only marked so); the check cost as much as the rest of the insert.
CREATE TABLE lead_score_ledgers (
    org_id     uuid NOT NULL,
    lead_id    uuid NOT NULL,
    entries    json NOT NULL CHECK (json_typeof(entries) = 'array'),
    expires_at timestamptz,
    PRIMARY KEY (org_id, lead_id)
);
-- A ledger past 2 KiB is compressed; lz4 does it in half the time of the default pglz (and a
-- server built without lz4 keeps pglz).
-- +goose StatementBegin
DO $$
BEGIN
    ALTER TABLE lead_score_ledgers ALTER COLUMN entries SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END
$$;
-- +goose StatementEnd
CREATE INDEX lead_score_ledgers_expiry ON lead_score_ledgers (org_id, expires_at) WHERE expires_at IS NOT NULL;
ALTER TABLE lead_score_ledgers SET (autovacuum_analyze_threshold = 500, autovacuum_analyze_scale_factor = 0.05);

INSERT INTO lead_score_ledgers (org_id, lead_id, entries, expires_at)
SELECT org_id, lead_id,
       json_agg(json_strip_nulls(json_build_object('rule', rule_id, 'version', rule_version, 'event', event_id,
                 'part', part, 'points', points, 'reason', reason, 'at', awarded_at, 'expires', expires_at))
                 ORDER BY part DESC, CASE WHEN part = 'engagement' THEN awarded_at END, event_id, rule_id),
       min(expires_at)
FROM lead_score_entries
GROUP BY org_id, lead_id;

-- lead_score_entries stays until a later migration drops it: migrations only add, so that replicas
-- of the previous version keep serving during a rolling upgrade. Nothing of this version reads it.
COMMENT ON TABLE lead_score_entries IS 'Replaced by lead_score_ledgers (00007); kept for replicas of the previous version.';

ALTER TABLE lead_score_ledgers ENABLE ROW LEVEL SECURITY;
ALTER TABLE lead_score_ledgers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON lead_score_ledgers TO rapport_app USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
CREATE POLICY system ON lead_score_ledgers TO rapport_system USING (true) WITH CHECK (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON lead_score_ledgers TO rapport_app, rapport_system;
