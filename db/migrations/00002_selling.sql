-- +goose Up
-- Selling: pipelines of guarded stages, opportunities with contact roles and stage history,
-- activities and tasks on any record, the per-user notification inbox, stale-deal and account-pool
-- settings, quotas, dated exchange rates and submitted forecasts.

-- Per-organization defaults of the selling rules (DOMAIN.md section 4).
ALTER TABLE organizations
    ADD COLUMN stale_after_days     integer NOT NULL DEFAULT 3 CHECK (stale_after_days BETWEEN 1 AND 365),
    ADD COLUMN pool_after_days      integer CHECK (pool_after_days BETWEEN 1 AND 3650), -- NULL: no pool
    ADD COLUMN pool_claim_limit     integer NOT NULL DEFAULT 20 CHECK (pool_claim_limit BETWEEN 1 AND 10000),
    ADD COLUMN first_contact_hours  integer NOT NULL DEFAULT 24 CHECK (first_contact_hours BETWEEN 1 AND 720),
    ADD COLUMN quote_follow_up_days integer NOT NULL DEFAULT 3 CHECK (quote_follow_up_days BETWEEN 1 AND 90);

-- An account's follow-up clock for the shared pool: the last activity on it, its contacts or its
-- deals, and when its current owner got it.
ALTER TABLE accounts
    ADD COLUMN last_activity_at timestamptz,
    ADD COLUMN owner_since      timestamptz;
UPDATE accounts SET owner_since = created_at WHERE owner_id IS NOT NULL;
CREATE INDEX accounts_pool_sweep ON accounts (org_id, greatest(last_activity_at, owner_since))
    WHERE owner_id IS NOT NULL AND deleted_at IS NULL;

-- Live views: the record an event's record belongs to (an opportunity's pipeline), and the
-- record's state after the change, so a board updates without reading the record again.
ALTER TABLE events
    ADD COLUMN container_id uuid,
    ADD COLUMN snapshot     jsonb;

CREATE TABLE pipelines (
    org_id     uuid NOT NULL REFERENCES organizations (id),
    id         uuid NOT NULL,
    name       text NOT NULL CHECK (name <> ''),
    position   integer NOT NULL DEFAULT 0,
    is_default boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    version    integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX pipelines_name ON pipelines (org_id, lower(name)) WHERE deleted_at IS NULL;
CREATE UNIQUE INDEX pipelines_default ON pipelines (org_id) WHERE is_default AND deleted_at IS NULL;

-- Stages are soft-deleted so that stage history keeps pointing at them.
CREATE TABLE pipeline_stages (
    org_id            uuid NOT NULL,
    id                uuid NOT NULL,
    pipeline_id       uuid NOT NULL,
    name              text NOT NULL CHECK (name <> ''),
    position          integer NOT NULL,
    probability       integer NOT NULL CHECK (probability BETWEEN 0 AND 100),
    forecast_category text NOT NULL CHECK (forecast_category IN ('pipeline', 'best_case', 'commit', 'closed_won', 'omitted')),
    closed            boolean NOT NULL DEFAULT false,
    won               boolean NOT NULL DEFAULT false,
    stale_after_days  integer CHECK (stale_after_days BETWEEN 0 AND 365), -- NULL: the organization's; 0: never
    entry_criteria    jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(entry_criteria) = 'array'),
    deleted_at        timestamptz,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, pipeline_id, id),
    FOREIGN KEY (org_id, pipeline_id) REFERENCES pipelines (org_id, id),
    CHECK (closed OR NOT won)
);
CREATE INDEX pipeline_stages_pipeline ON pipeline_stages (org_id, pipeline_id, position);

CREATE TABLE opportunities (
    org_id            uuid NOT NULL REFERENCES organizations (id),
    id                uuid NOT NULL,
    name              text NOT NULL CHECK (name <> ''),
    account_id        uuid NOT NULL,
    owner_id          uuid,
    team_id           uuid,
    pipeline_id       uuid NOT NULL,
    stage_id          uuid NOT NULL,
    amount            numeric(20, 4) CHECK (amount >= 0),
    currency          text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    close_date        date,
    probability       integer NOT NULL CHECK (probability BETWEEN 0 AND 100),
    forecast_category text NOT NULL CHECK (forecast_category IN ('pipeline', 'best_case', 'commit', 'closed_won', 'omitted')),
    source            text NOT NULL DEFAULT '',
    source_lead_id    uuid,
    campaign          text NOT NULL DEFAULT '',
    next_step         text NOT NULL DEFAULT '',
    loss_reason       text NOT NULL DEFAULT '',
    competitor        text NOT NULL DEFAULT '',
    checklist         text[] NOT NULL DEFAULT '{}',
    custom            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom) = 'object'),
    stage_entered_at  timestamptz NOT NULL,
    last_activity_at  timestamptz,
    stale_since       timestamptz,
    closed_at         timestamptz,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    deleted_at        timestamptz,
    version           integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, account_id) REFERENCES accounts (org_id, id),
    FOREIGN KEY (org_id, owner_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, team_id) REFERENCES teams (org_id, id),
    -- the stage must belong to the opportunity's pipeline
    FOREIGN KEY (org_id, pipeline_id, stage_id) REFERENCES pipeline_stages (org_id, pipeline_id, id)
);
CREATE INDEX opportunities_created ON opportunities (org_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_updated ON opportunities (org_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_name ON opportunities (org_id, name, id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_amount ON opportunities (org_id, coalesce(amount, 0), id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_close_date ON opportunities (org_id, coalesce(close_date, 'infinity'::date), id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_stage ON opportunities (org_id, stage_id, coalesce(close_date, 'infinity'::date), id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_owner ON opportunities (org_id, owner_id, id) WHERE deleted_at IS NULL;
CREATE INDEX opportunities_account ON opportunities (org_id, account_id, id) WHERE deleted_at IS NULL;
-- Board totals (count, amount, weighted per stage and currency) as an index-only scan.
CREATE INDEX opportunities_board ON opportunities (org_id, pipeline_id, stage_id, currency)
    INCLUDE (amount, probability, owner_id) WHERE deleted_at IS NULL;
-- The stale sweep reads open deals by their last touch.
CREATE INDEX opportunities_open_touch ON opportunities (org_id, greatest(last_activity_at, stage_entered_at))
    WHERE deleted_at IS NULL AND closed_at IS NULL;

CREATE TABLE opportunity_contacts (
    org_id         uuid NOT NULL,
    opportunity_id uuid NOT NULL,
    contact_id     uuid NOT NULL,
    roles          text[] NOT NULL DEFAULT '{}'
        CHECK (roles <@ ARRAY['decision_maker', 'economic_buyer', 'champion', 'influencer', 'user']),
    is_primary     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (org_id, opportunity_id, contact_id),
    FOREIGN KEY (org_id, opportunity_id) REFERENCES opportunities (org_id, id),
    FOREIGN KEY (org_id, contact_id) REFERENCES contacts (org_id, id)
);
CREATE UNIQUE INDEX opportunity_contacts_primary ON opportunity_contacts (org_id, opportunity_id) WHERE is_primary;
CREATE INDEX opportunity_contacts_contact ON opportunity_contacts (org_id, contact_id);

CREATE TABLE stage_history (
    org_id            uuid NOT NULL,
    id                uuid NOT NULL,
    opportunity_id    uuid NOT NULL,
    from_stage_id     uuid, -- NULL for the stage the opportunity was created in
    to_stage_id       uuid NOT NULL,
    actor_kind        text NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'system')),
    actor_id          uuid,
    changed_at        timestamptz NOT NULL,
    amount            numeric(20, 4),
    currency          text NOT NULL,
    probability       integer NOT NULL,
    forecast_category text NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, opportunity_id) REFERENCES opportunities (org_id, id),
    FOREIGN KEY (org_id, from_stage_id) REFERENCES pipeline_stages (org_id, id),
    FOREIGN KEY (org_id, to_stage_id) REFERENCES pipeline_stages (org_id, id)
);
CREATE INDEX stage_history_opportunity ON stage_history (org_id, opportunity_id, changed_at, id);

-- Activities and tasks hang off one record of any kind (Lead, Contact, Account, Opportunity),
-- named by type and ID; the service checks that it exists and is visible.
CREATE TABLE activities (
    org_id                  uuid NOT NULL REFERENCES organizations (id),
    id                      uuid NOT NULL,
    type                    text NOT NULL CHECK (type IN ('call', 'meeting', 'email', 'note')),
    subject                 text NOT NULL DEFAULT '',
    body                    text NOT NULL DEFAULT '',
    direction               text CHECK (direction IN ('inbound', 'outbound')),
    duration_seconds        integer CHECK (duration_seconds >= 0),
    outcome                 text NOT NULL DEFAULT '',
    occurred_at             timestamptz NOT NULL,
    record_type             text NOT NULL CHECK (record_type IN ('Lead', 'Contact', 'Account', 'Opportunity')),
    record_id               uuid NOT NULL,
    owner_id                uuid,
    participant_user_ids    uuid[] NOT NULL DEFAULT '{}',
    participant_contact_ids uuid[] NOT NULL DEFAULT '{}',
    created_at              timestamptz NOT NULL,
    updated_at              timestamptz NOT NULL,
    deleted_at              timestamptz,
    version                 integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, owner_id) REFERENCES users (org_id, id)
);
CREATE INDEX activities_record ON activities (org_id, record_id, occurred_at DESC, id DESC) WHERE deleted_at IS NULL;

CREATE TABLE tasks (
    org_id          uuid NOT NULL REFERENCES organizations (id),
    id              uuid NOT NULL,
    title           text NOT NULL CHECK (title <> ''),
    notes           text NOT NULL DEFAULT '',
    kind            text NOT NULL DEFAULT 'manual' CHECK (kind IN ('manual', 'first_contact', 'follow_up')),
    owner_id        uuid NOT NULL,
    due_at          timestamptz,
    remind_at       timestamptz,
    priority        text NOT NULL DEFAULT 'normal' CHECK (priority IN ('low', 'normal', 'high', 'urgent')),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done', 'cancelled')),
    record_type     text CHECK (record_type IN ('Lead', 'Contact', 'Account', 'Opportunity')),
    record_id       uuid,
    reminder_job_id bigint,
    completed_at    timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    version         integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, owner_id) REFERENCES users (org_id, id),
    CHECK ((record_type IS NULL) = (record_id IS NULL)),
    CHECK (remind_at IS NULL OR due_at IS NULL OR remind_at <= due_at)
);
CREATE INDEX tasks_owner ON tasks (org_id, owner_id, status, due_at, id);
CREATE INDEX tasks_record ON tasks (org_id, record_id) WHERE record_id IS NOT NULL;

-- The per-user inbox. dedup_key makes "notify once" an insert that does nothing the second time.
CREATE TABLE notifications (
    org_id      uuid NOT NULL REFERENCES organizations (id),
    id          uuid NOT NULL,
    user_id     uuid NOT NULL,
    kind        text NOT NULL,
    title       text NOT NULL,
    body        text NOT NULL DEFAULT '',
    record_type text,
    record_id   uuid,
    dedup_key   text,
    created_at  timestamptz NOT NULL,
    read_at     timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id),
    UNIQUE (org_id, user_id, dedup_key)
);
CREATE INDEX notifications_inbox ON notifications (org_id, user_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread ON notifications (org_id, user_id) WHERE read_at IS NULL;

-- Claims from the shared pool, counted against the per-user limit.
CREATE TABLE account_claims (
    org_id     uuid NOT NULL,
    id         uuid NOT NULL,
    account_id uuid NOT NULL,
    user_id    uuid NOT NULL,
    claimed_at timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, account_id) REFERENCES accounts (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id)
);
CREATE INDEX account_claims_user ON account_claims (org_id, user_id, claimed_at);

-- A quota belongs to a user or a team for a period [period_start, period_end).
CREATE TABLE quotas (
    org_id       uuid NOT NULL REFERENCES organizations (id),
    id           uuid NOT NULL,
    user_id      uuid,
    team_id      uuid,
    period_start date NOT NULL,
    period_end   date NOT NULL,
    amount       numeric(20, 4) NOT NULL CHECK (amount >= 0),
    currency     text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, user_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, team_id) REFERENCES teams (org_id, id),
    CHECK ((user_id IS NULL) <> (team_id IS NULL)),
    CHECK (period_start < period_end)
);
CREATE UNIQUE INDEX quotas_target_period ON quotas (org_id, coalesce(user_id, team_id), period_start, period_end);

-- rate: units of to_currency for one unit of from_currency, valid from valid_from until the next
-- rate of the pair.
CREATE TABLE exchange_rates (
    org_id        uuid NOT NULL REFERENCES organizations (id),
    from_currency text NOT NULL CHECK (from_currency ~ '^[A-Z]{3}$'),
    to_currency   text NOT NULL CHECK (to_currency ~ '^[A-Z]{3}$'),
    valid_from    date NOT NULL,
    rate          numeric(30, 12) NOT NULL CHECK (rate > 0),
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, from_currency, to_currency, valid_from),
    CHECK (from_currency <> to_currency)
);

-- A manager's adjusted forecast for a team and period, kept with the computed figures of that
-- moment so that forecast accuracy can be measured once the period closes.
CREATE TABLE forecast_submissions (
    org_id          uuid NOT NULL REFERENCES organizations (id),
    id              uuid NOT NULL,
    team_id         uuid,          -- NULL: the whole organization
    period_start    date NOT NULL,
    period_end      date NOT NULL,
    currency        text NOT NULL,
    pipeline_amount numeric(20, 4) NOT NULL,
    best_case       numeric(20, 4) NOT NULL,
    commit_amount   numeric(20, 4) NOT NULL,
    closed_won      numeric(20, 4) NOT NULL,
    weighted        numeric(20, 4) NOT NULL,
    adjusted        numeric(20, 4) NOT NULL CHECK (adjusted >= 0),
    note            text NOT NULL DEFAULT '',
    submitted_by    uuid NOT NULL,
    submitted_at    timestamptz NOT NULL,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, team_id) REFERENCES teams (org_id, id),
    FOREIGN KEY (org_id, submitted_by) REFERENCES users (org_id, id)
);
CREATE INDEX forecast_submissions_period ON forecast_submissions (org_id, period_start, submitted_at);

-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['pipelines', 'pipeline_stages', 'opportunities', 'opportunity_contacts',
                             'stage_history', 'activities', 'tasks', 'notifications', 'account_claims',
                             'quotas', 'exchange_rates', 'forecast_submissions']
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
