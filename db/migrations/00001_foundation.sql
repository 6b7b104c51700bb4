-- +goose Up
-- Rapport's foundation: tenants, people, access, the event log, accounts and contacts.
--
-- Tenancy. Every tenant table carries org_id, leads its primary key and every index with it, and
-- references other tenant rows by (org_id, id) so that a row can never point into another
-- organization, not even by a foreign key. Row-level security is the second wall: the application
-- runs each transaction as rapport_app with app.org_id set (db.InTenant), and the policy for that role
-- only shows the current organization. Cross-tenant work (login lookup, the event relay,
-- maintenance jobs) runs as rapport_system (db.AsSystem), whose policies show everything.

-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rapport_app') THEN
        CREATE ROLE rapport_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rapport_system') THEN
        CREATE ROLE rapport_system NOLOGIN;
    END IF;
    -- A superuser may SET ROLE to anything; a plain owner needs membership.
    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        EXECUTE format('GRANT rapport_app, rapport_system TO %I', current_user);
    END IF;
END
$$;
-- +goose StatementEnd

GRANT USAGE ON SCHEMA public TO rapport_app, rapport_system;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO rapport_app, rapport_system;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO rapport_app, rapport_system;

CREATE EXTENSION IF NOT EXISTS btree_gin;

-- app_org_id is the organization of the current transaction, or NULL (which matches nothing).
CREATE FUNCTION app_org_id() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$;

CREATE TABLE organizations (
    id                   uuid PRIMARY KEY,
    slug                 text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name                 text NOT NULL CHECK (name <> ''),
    time_zone            text NOT NULL,
    default_currency     text NOT NULL CHECK (default_currency ~ '^[A-Z]{3}$'),
    default_phone_region text NOT NULL CHECK (default_phone_region ~ '^[A-Z]{2}$'),
    record_visibility    text NOT NULL CHECK (record_visibility IN ('own', 'team')),
    working_hours        jsonb NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    version              integer NOT NULL DEFAULT 1
);

CREATE TABLE teams (
    org_id     uuid NOT NULL REFERENCES organizations (id),
    id         uuid NOT NULL,
    name       text NOT NULL CHECK (name <> ''),
    parent_id  uuid,
    manager_id uuid,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    version    integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, name),
    FOREIGN KEY (org_id, parent_id) REFERENCES teams (org_id, id),
    CHECK (parent_id IS DISTINCT FROM id)
);

CREATE TABLE users (
    org_id        uuid NOT NULL REFERENCES organizations (id),
    id            uuid NOT NULL,
    email         text NOT NULL CHECK (email = lower(email) AND email <> ''),
    name          text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'sales_manager', 'sales_rep', 'support_agent', 'analyst')),
    team_id       uuid,
    password_hash text,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    version       integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, email),
    FOREIGN KEY (org_id, team_id) REFERENCES teams (org_id, id)
);
-- Login finds a user by e-mail before the organization is known: the one index that does not
-- lead with org_id, used only by the system role.
CREATE INDEX users_login ON users (email);
CREATE INDEX users_team ON users (org_id, team_id);

ALTER TABLE teams ADD FOREIGN KEY (org_id, manager_id) REFERENCES users (org_id, id);

-- user_visibility is the record-visibility closure (rules/access.Closure): viewer sees the records
-- that owner owns. Rebuilt by the service whenever users, teams or the visibility setting change.
CREATE TABLE user_visibility (
    org_id    uuid NOT NULL,
    viewer_id uuid NOT NULL,
    owner_id  uuid NOT NULL,
    PRIMARY KEY (org_id, viewer_id, owner_id),
    FOREIGN KEY (org_id, viewer_id) REFERENCES users (org_id, id) ON DELETE CASCADE,
    FOREIGN KEY (org_id, owner_id) REFERENCES users (org_id, id) ON DELETE CASCADE
);

CREATE TABLE api_keys (
    org_id       uuid NOT NULL REFERENCES organizations (id),
    id           uuid NOT NULL,
    name         text NOT NULL CHECK (name <> ''),
    prefix       text NOT NULL,
    secret_hash  bytea NOT NULL,
    scopes       text[] NOT NULL,
    created_by   uuid,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz,
    last_used_at timestamptz,
    revoked_at   timestamptz,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, created_by) REFERENCES users (org_id, id)
);
-- A presented key is routed to its organization by its prefix (system role).
CREATE UNIQUE INDEX api_keys_prefix ON api_keys (prefix);

CREATE TABLE accounts (
    org_id            uuid NOT NULL REFERENCES organizations (id),
    id                uuid NOT NULL,
    name              text NOT NULL CHECK (name <> ''),
    registration_code text,
    domain            text,
    industry          text NOT NULL DEFAULT '',
    employees         integer CHECK (employees >= 0),
    region            text NOT NULL DEFAULT '',
    country           text NOT NULL DEFAULT '',
    owner_id          uuid,
    custom            jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom) = 'object'),
    merged_into_id    uuid,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    deleted_at        timestamptz,
    version           integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, owner_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, merged_into_id) REFERENCES accounts (org_id, id)
);
-- A registration code (e.g. the unified social credit code) identifies one company.
CREATE UNIQUE INDEX accounts_registration_code ON accounts (org_id, registration_code)
    WHERE deleted_at IS NULL AND registration_code IS NOT NULL;
CREATE INDEX accounts_domain ON accounts (org_id, domain) WHERE deleted_at IS NULL AND domain IS NOT NULL;
CREATE INDEX accounts_name ON accounts (org_id, name, id) WHERE deleted_at IS NULL;
CREATE INDEX accounts_created ON accounts (org_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX accounts_updated ON accounts (org_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX accounts_owner ON accounts (org_id, owner_id, id) WHERE deleted_at IS NULL;

CREATE TABLE contacts (
    org_id         uuid NOT NULL REFERENCES organizations (id),
    id             uuid NOT NULL,
    first_name     text NOT NULL DEFAULT '',
    last_name      text NOT NULL DEFAULT '',
    name           text NOT NULL CHECK (name <> ''),
    title          text NOT NULL DEFAULT '',
    emails         text[] NOT NULL DEFAULT '{}',
    phones         text[] NOT NULL DEFAULT '{}',
    account_id     uuid,
    owner_id       uuid,
    email_consent  text NOT NULL DEFAULT 'unknown' CHECK (email_consent IN ('unknown', 'granted', 'withdrawn')),
    sms_consent    text NOT NULL DEFAULT 'unknown' CHECK (sms_consent IN ('unknown', 'granted', 'withdrawn')),
    phone_consent  text NOT NULL DEFAULT 'unknown' CHECK (phone_consent IN ('unknown', 'granted', 'withdrawn')),
    custom         jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(custom) = 'object'),
    merged_into_id uuid,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deleted_at     timestamptz,
    version        integer NOT NULL DEFAULT 1,
    PRIMARY KEY (org_id, id),
    FOREIGN KEY (org_id, account_id) REFERENCES accounts (org_id, id),
    FOREIGN KEY (org_id, owner_id) REFERENCES users (org_id, id),
    FOREIGN KEY (org_id, merged_into_id) REFERENCES contacts (org_id, id)
);
CREATE INDEX contacts_emails ON contacts USING gin (org_id, emails) WHERE deleted_at IS NULL;
CREATE INDEX contacts_phones ON contacts USING gin (org_id, phones) WHERE deleted_at IS NULL;
CREATE INDEX contacts_account ON contacts (org_id, account_id, id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_name ON contacts (org_id, name, id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_created ON contacts (org_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_updated ON contacts (org_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_owner ON contacts (org_id, owner_id, id) WHERE deleted_at IS NULL;

-- The event log. Writers append events with seq NULL in their own transaction; the relay
-- (internal/eventlog) assigns the per-organization sequence in commit-visible order, then sends one
-- NOTIFY per batch. Writers never touch a shared counter, so they never serialise on it.
CREATE TABLE events (
    org_id       uuid NOT NULL REFERENCES organizations (id),
    id           uuid NOT NULL,
    seq          bigint,
    type         text NOT NULL,
    record_type  text NOT NULL,
    record_id    uuid NOT NULL,
    actor_kind   text NOT NULL CHECK (actor_kind IN ('user', 'api_key', 'system')),
    actor_id     uuid,
    owner_ids    uuid[] NOT NULL DEFAULT '{}',
    changes      jsonb NOT NULL DEFAULT '[]',
    occurred_at  timestamptz NOT NULL,
    published_at timestamptz,
    PRIMARY KEY (org_id, id)
);
CREATE UNIQUE INDEX events_seq ON events (org_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX events_record ON events (org_id, record_id, occurred_at, id);
-- The relay's work queue: small, because rows leave it once published.
CREATE INDEX events_unpublished ON events (id) WHERE seq IS NULL;

CREATE TABLE event_counters (
    org_id   uuid PRIMARY KEY REFERENCES organizations (id),
    last_seq bigint NOT NULL
);

-- Idempotency keys remember the first result of a create for at least 24 hours.
CREATE TABLE idempotency_keys (
    org_id       uuid NOT NULL REFERENCES organizations (id),
    principal_id uuid NOT NULL,
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    operation    text NOT NULL,
    request_hash bytea NOT NULL,
    record_id    uuid NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (org_id, principal_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Row-level security, forced so that even the owner obeys it outside the superuser.
-- +goose StatementBegin
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['teams', 'users', 'user_visibility', 'api_keys', 'accounts', 'contacts',
                             'events', 'event_counters', 'idempotency_keys']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant ON %I TO rapport_app USING (org_id = app_org_id()) WITH CHECK (org_id = app_org_id())', t);
        EXECUTE format('CREATE POLICY system ON %I TO rapport_system USING (true) WITH CHECK (true)', t);
    END LOOP;
END
$$;
-- +goose StatementEnd
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
ALTER TABLE organizations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant ON organizations TO rapport_app USING (id = app_org_id()) WITH CHECK (id = app_org_id());
CREATE POLICY system ON organizations TO rapport_system USING (true) WITH CHECK (true);

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO rapport_app, rapport_system;
