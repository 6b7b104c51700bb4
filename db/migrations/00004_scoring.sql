-- +goose Up
-- Scoring: organization-wide rescoring runs (batched, resumable, with progress) and the index the
-- decay job walks to find ledger entries that stopped counting.

-- One rescoring of every lead of an organization, started when its rules change. The job walks the
-- leads in ID order; last_lead_id is the cursor a retried job resumes from.
CREATE TABLE scoring_runs (
    org_id       uuid NOT NULL REFERENCES organizations (id),
    id           uuid NOT NULL,
    status       text NOT NULL CHECK (status IN ('running', 'done', 'superseded', 'failed')),
    reason       text NOT NULL DEFAULT '',
    total        integer NOT NULL DEFAULT 0,
    done         integer NOT NULL DEFAULT 0,
    changed      integer NOT NULL DEFAULT 0,
    last_lead_id uuid,
    started_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    PRIMARY KEY (org_id, id)
);
CREATE INDEX scoring_runs_started ON scoring_runs (org_id, started_at DESC, id DESC);

-- The ledger keeps only entries that count; the decay job finds those whose expiry has passed.
CREATE INDEX lead_score_entries_expiry ON lead_score_entries (org_id, expires_at) WHERE expires_at IS NOT NULL;

ALTER TABLE scoring_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE scoring_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON scoring_runs TO rapport_app USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id());
CREATE POLICY system ON scoring_runs TO rapport_system USING (true) WITH CHECK (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON scoring_runs TO rapport_app, rapport_system;
