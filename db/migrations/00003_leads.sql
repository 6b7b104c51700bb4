-- +goose Up
-- The lead lifecycle: leads and their touches, public capture forms, behaviour events and anonymous
-- visitors, versioned scoring rules and the score ledger, ordered assignment rules with their
-- decisions, nurture enrolments, and CSV imports stored in the database in chunks.

-- Lead rules of the organization (DOMAIN.md sections 2 and 3), one JSON document: crm.LeadSettings.
ALTER TABLE organizations
    ADD COLUMN lead_settings jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(lead_settings) = 'object');

-- People who are away receive no new leads from the assignment rules.
ALTER TABLE users
    ADD COLUMN away boolean NOT NULL DEFAULT false;

CREATE TABLE leads (
    org_id            uuid NOT NULL REFERENCES organizations (id),
    id                uuid NOT NULL,
    status            text NOT NULL DEFAULT 'new'
                      CHECK (status IN ('new', 'working', 'nurturing', 'qualified', 'disqualified', 'converted')),
    status_reason     text NOT NULL DEFAULT '',
    name              text NOT NULL DEFAULT '',
    title             text NOT NULL DEFAULT '',
    company           text NOT NULL DEFAULT '',
    email             text CHECK (email = lower(email) AND email <> ''),
    phone             text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    website           text NOT NULL DEFAULT '',
    registration_code text NOT NULL DEFAULT '',
    industry          text NOT NULL DEFAULT '',
    company_size      integer CHECK (company_size >= 0),
    country           text NOT NULL DEFAULT '',
    region            text NOT NULL DEFAULT '',
    city              text NOT NULL DEFAULT '',
    source            text NOT NULL,
    campaign          text NOT NULL DEFAULT '',
    utm               jsonb NOT NULL DEFAULT '{}',
    owner_id          uuid,
    team_id           uuid,
    assigned_at       timestamptz,
    score_total       integer NOT NULL DEFAULT 0,
    score_fit         integer NOT NULL DEFAULT 0,
    score_engagement  integer NOT NULL DEFAULT 0,
    grade             text NOT NULL DEFAULT 'C' CHECK (grade IN ('A', 'B', 'C')),
    qualified_at      timestamptz,
    nurtured_at       timestamptz,
    sla_state         text NOT NULL DEFAULT 'none' CHECK (sla_state IN ('none', 'running', 'met', 'breached', 'late')),
    sla_due_at        timestamptz,
    contacted_at      timestamptz,
    spam              boolean NOT NULL DEFAULT false,
    touch_count       integer NOT NULL DEFAULT 1,
    first_touch_at    timestamptz NOT NULL,
    last_touch_at     timestamptz NOT NULL,
    converted_at      timestamptz,
    contact_id        uuid,
    account_id        uuid,
    opportunity_id    uuid,
    merged_into_id    uuid,
    custom            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom) = 'object'),
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    deleted_at        timestamptz,
    version           integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, owner_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, team_id) REFERENCES teams (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id),
    FOREIGN KEY (org_id, account_id) REFERENCES accounts (org_id, id),
    FOREIGN KEY (org_id, opportunity_id) REFERENCES opportunities (org_id, id),
    FOREIGN KEY (org_id, merged_into_id) REFERENCES leads (org_id, id),
    CHECK (status <> 'disqualified' OR status_reason <> '')
);
-- Deduplication: one live lead per e-mail and per phone in an organization. Spam is kept apart so
-- that a bot reusing a real address never captures the person's touches.
CREATE UNIQUE INDEX leads_email ON leads (org_id, email) WHERE deleted_at IS NULL AND NOT spam AND merged_into_id IS NULL;
CREATE UNIQUE INDEX leads_phone ON leads (org_id, phone) WHERE deleted_at IS NULL AND NOT spam AND merged_into_id IS NULL;
CREATE INDEX leads_created ON leads (org_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_updated ON leads (org_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_score ON leads (org_id, score_total, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_name ON leads (org_id, name, id) WHERE deleted_at IS NULL;
CREATE INDEX leads_owner ON leads (org_id, owner_id, status) WHERE deleted_at IS NULL;
CREATE INDEX leads_sla ON leads (org_id, sla_due_at) WHERE sla_state IN ('running', 'breached') AND deleted_at IS NULL;

-- Public capture forms, addressed by an unguessable public key.
CREATE TABLE lead_forms (
    org_id          uuid NOT NULL REFERENCES organizations (id),
    id              uuid NOT NULL,
    public_key      text NOT NULL UNIQUE CHECK (public_key ~ '^[A-Za-z0-9_-]{16,64}$'),
    name            text NOT NULL CHECK (name <> ''),
    fields          text[] NOT NULL,
    required_fields text[] NOT NULL DEFAULT '{}',
    allowed_origins text[] NOT NULL DEFAULT '{}',
    source          text NOT NULL DEFAULT 'web_form',
    campaign        text NOT NULL DEFAULT '',
    redirect_url    text NOT NULL DEFAULT '',
    honeypot_field  text NOT NULL DEFAULT '',
    allow_partial   boolean NOT NULL DEFAULT true,
    rate_per_minute integer NOT NULL DEFAULT 10 CHECK (rate_per_minute BETWEEN 1 AND 10000),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    deleted_at      timestamptz,
    version         integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, id),
    CHECK (required_fields <@ fields)
);

-- Every arrival of a person, with the raw payload for audit: on a lead, or on a contact when the
-- person is already a contact.
CREATE TABLE lead_touches (
    org_id      uuid NOT NULL REFERENCES organizations (id),
    id          uuid NOT NULL,
    lead_id     uuid,
    contact_id  uuid,
    source      text NOT NULL,
    campaign    text NOT NULL DEFAULT '',
    utm         jsonb NOT NULL DEFAULT '{}',
    form_id     uuid,
    import_id   uuid,
    payload     jsonb NOT NULL DEFAULT '{}',
    received_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, lead_id) REFERENCES leads (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id),
    CHECK (lead_id IS NOT NULL OR contact_id IS NOT NULL)
);
CREATE INDEX lead_touches_contact ON lead_touches (org_id, contact_id) WHERE contact_id IS NOT NULL;
CREATE INDEX lead_touches_lead ON lead_touches (org_id, lead_id, received_at DESC, id DESC);

-- Behaviour events (page visits, downloads, webinars, e-mail opens and clicks). An event of an
-- anonymous visitor has no lead until the visitor is identified.
CREATE TABLE lead_events (
    org_id          uuid NOT NULL REFERENCES organizations (id),
    id              uuid NOT NULL,
    lead_id         uuid,
    visitor_id      text,
    type            text NOT NULL CHECK (type IN ('page_visit', 'download', 'webinar', 'email_open', 'email_click', 'form_submit')),
    url             text NOT NULL DEFAULT '',
    occurred_at     timestamptz NOT NULL,
    idempotency_key text NOT NULL CHECK (length(idempotency_key) BETWEEN 1 AND 255),
    properties      jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, idempotency_key),
    FOREIGN KEY (org_id, lead_id) REFERENCES leads (org_id, id),
    CHECK (lead_id IS NOT NULL OR visitor_id IS NOT NULL)
);
CREATE INDEX lead_events_lead ON lead_events (org_id, lead_id, occurred_at) WHERE lead_id IS NOT NULL;
CREATE INDEX lead_events_visitor ON lead_events (org_id, visitor_id) WHERE lead_id IS NULL;

-- Anonymous visitor ids that were identified as a lead.
CREATE TABLE lead_visitors (
    org_id     uuid NOT NULL REFERENCES organizations (id),
    visitor_id text NOT NULL CHECK (length(visitor_id) BETWEEN 1 AND 255),
    lead_id    uuid NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, visitor_id),
    FOREIGN KEY (org_id, lead_id) REFERENCES leads (org_id, id)
);

-- Scoring rules are versioned: an edit bumps the version, and the ledger names the version that
-- awarded each point.
CREATE TABLE scoring_rules (
    org_id      uuid NOT NULL REFERENCES organizations (id),
    id          uuid NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('attribute', 'behaviour')),
    name        text NOT NULL CHECK (name <> ''),
    field       text NOT NULL DEFAULT '',
    operator    text NOT NULL DEFAULT '',
    value       jsonb NOT NULL DEFAULT 'null',
    event_type  text NOT NULL DEFAULT '',
    url_pattern text NOT NULL DEFAULT '',
    points      integer NOT NULL CHECK (points BETWEEN -1000 AND 1000),
    cap_points  integer CHECK (cap_points > 0),
    cap_days    integer CHECK (cap_days > 0),
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    deleted_at  timestamptz,
    version     integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, id)
);

-- The score ledger: each awarded point set, with rule, version, event, reason and expiry. A lead's
-- score is the sum of its unexpired entries.
CREATE TABLE lead_score_entries (
    org_id       uuid NOT NULL REFERENCES organizations (id),
    lead_id      uuid NOT NULL,
    rule_id      uuid NOT NULL,
    rule_version integer NOT NULL,
    event_id     uuid,
    part         text NOT NULL CHECK (part IN ('fit', 'engagement')),
    points       integer NOT NULL,
    reason       text NOT NULL,
    awarded_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    FOREIGN KEY (org_id, lead_id) REFERENCES leads (org_id, id),
    FOREIGN KEY (org_id, rule_id) REFERENCES scoring_rules (org_id, id)
);
CREATE INDEX lead_score_entries_lead ON lead_score_entries (org_id, lead_id);

-- Leads enrolled in the nurture track.
CREATE TABLE nurture_enrolments (
    org_id      uuid NOT NULL REFERENCES organizations (id),
    lead_id     uuid NOT NULL,
    track       text NOT NULL DEFAULT 'nurture',
    enrolled_at timestamptz NOT NULL,
    left_at     timestamptz,
    PRIMARY KEY (org_id, lead_id, enrolled_at),
    FOREIGN KEY (org_id, lead_id) REFERENCES leads (org_id, id)
);

-- Assignment rules, tried in position order; the first whose criteria match picks the owner.
CREATE TABLE assignment_rules (
    org_id           uuid NOT NULL REFERENCES organizations (id),
    id               uuid NOT NULL,
    position         integer NOT NULL,
    name             text NOT NULL CHECK (name <> ''),
    criteria         jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(criteria) = 'array'),
    target_user_id   uuid,
    target_team_id   uuid,
    strategy         text NOT NULL CHECK (strategy IN ('user', 'round_robin', 'least_loaded')),
    capacity         integer CHECK (capacity > 0),
    rr_last_user_id  uuid, -- round-robin turn, advanced under the rule's row lock
    active           boolean NOT NULL DEFAULT true,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    deleted_at       timestamptz,
    version          integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, target_user_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, target_team_id) REFERENCES teams (org_id, id),
    CHECK ((strategy = 'user') = (target_user_id IS NOT NULL)),
    CHECK ((strategy = 'user') OR target_team_id IS NOT NULL)
);
CREATE INDEX assignment_rules_position ON assignment_rules (org_id, position) WHERE deleted_at IS NULL;

-- Every assignment decision: the rule that matched, the candidates considered and why the chosen one.
CREATE TABLE assignment_decisions (
    org_id        uuid NOT NULL REFERENCES organizations (id),
    id            uuid NOT NULL,
    lead_id       uuid NOT NULL,
    rule_id       uuid,
    reason        text NOT NULL,
    candidates    jsonb NOT NULL DEFAULT '[]',
    chosen_id     uuid,
    previous_id   uuid,
    manual        boolean NOT NULL DEFAULT false,
    actor_kind    text NOT NULL,
    actor_id      uuid,
    decided_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, lead_id) REFERENCES leads (org_id, id),
    FOREIGN KEY (org_id, chosen_id) REFERENCES users (org_id, id)
);
CREATE INDEX assignment_decisions_lead ON assignment_decisions (org_id, lead_id, decided_at DESC);

-- CSV imports. The upload is stored in chunks so that any server process can run the job and no
-- process holds the whole file in memory.
CREATE TABLE lead_imports (
    org_id         uuid NOT NULL REFERENCES organizations (id),
    id             uuid NOT NULL,
    file_name      text NOT NULL,
    size_bytes     bigint NOT NULL DEFAULT 0,
    encoding       text NOT NULL DEFAULT '',
    mapping        jsonb NOT NULL DEFAULT '{}',
    source         text NOT NULL DEFAULT 'import',
    campaign       text NOT NULL DEFAULT '',
    status         text NOT NULL CHECK (status IN ('uploaded', 'queued', 'running', 'done', 'failed', 'cancelled')),
    error          text NOT NULL DEFAULT '',
    rows_total     integer NOT NULL DEFAULT 0,
    rows_done      integer NOT NULL DEFAULT 0,
    rows_imported  integer NOT NULL DEFAULT 0,
    rows_merged    integer NOT NULL DEFAULT 0,
    rows_failed    integer NOT NULL DEFAULT 0,
    resume_line    integer NOT NULL DEFAULT 0,
    created_by     uuid NOT NULL,
    created_at     timestamptz NOT NULL,
    started_at     timestamptz,
    finished_at    timestamptz,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
CREATE TABLE lead_import_chunks (
    org_id    uuid NOT NULL,
    import_id uuid NOT NULL,
    seq       integer NOT NULL,
    data      bytea NOT NULL,
    PRIMARY KEY (org_id, import_id, seq),
    FOREIGN KEY (org_id, import_id) REFERENCES lead_imports (org_id, id) ON DELETE CASCADE
);
CREATE TABLE lead_import_errors (
    org_id    uuid NOT NULL,
    import_id uuid NOT NULL,
    line      integer NOT NULL,
    field     text NOT NULL DEFAULT '',
    reason    text NOT NULL,
    FOREIGN KEY (org_id, import_id) REFERENCES lead_imports (org_id, id) ON DELETE CASCADE
);
CREATE INDEX lead_import_errors_import ON lead_import_errors (org_id, import_id, line);

-- Capture's dedup lookup and scoring's reads are planned generically (plan_cache_mode); until the
-- first ANALYZE their plans treat these tables as empty and walk the organization's rows. Analyze
-- them early and often as they fill.
ALTER TABLE leads SET (autovacuum_analyze_threshold = 200, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE lead_events SET (autovacuum_analyze_threshold = 500, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE lead_score_entries SET (autovacuum_analyze_threshold = 500, autovacuum_analyze_scale_factor = 0.05);

-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['leads', 'lead_forms', 'lead_touches', 'lead_events', 'lead_visitors',
                             'scoring_rules', 'lead_score_entries', 'nurture_enrolments', 'assignment_rules',
                             'assignment_decisions', 'lead_imports', 'lead_import_chunks', 'lead_import_errors']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I TO rapport_app USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())', t);
        EXECUTE format('CREATE POLICY system ON %I TO rapport_system USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;
-- +goose StatementEnd

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO rapport_app, rapport_system;
