-- +goose Up
-- Cheaper writes for lead capture, whose PostgreSQL work per lead is mostly the rows it appends
-- (a lead, a touch, an event) and what comes with them (docs/benchmarks.md, sixth session).

-- Audit copies are kept as text, not parsed into jsonb: a touch's raw payload (the submission byte
-- for byte, which is what an audit copy should be) and an event's snapshot (the record as the
-- writer encoded it). Nothing queries into them but tests; json keeps ->, ->> and validation on
-- input, and skips building a jsonb value for each row (a tenth of capture's PostgreSQL time).
-- json has no ordering, so ANALYZE no longer sorts these large values (jsonb_cmp).
ALTER TABLE lead_touches ALTER COLUMN payload DROP DEFAULT;
ALTER TABLE lead_touches ALTER COLUMN payload TYPE json USING payload::text::json;
ALTER TABLE lead_touches ALTER COLUMN payload SET DEFAULT '{}';
ALTER TABLE events ALTER COLUMN snapshot TYPE json USING snapshot::text::json;

-- No statement filters, joins or groups on these columns: their statistics (for each, a sort of the
-- 30,000 rows ANALYZE samples, with the collation's comparisons for text; autovacuum analyzes leads
-- every few seconds while a new organization's leads pour in, migration 00003) serve no plan.
-- ANALYZE of 110,000 captured leads: 600 -> 300 ms; of their touches: 430 -> 100 ms.
ALTER TABLE leads
    ALTER COLUMN utm SET STATISTICS 0, ALTER COLUMN custom SET STATISTICS 0,
    ALTER COLUMN title SET STATISTICS 0, ALTER COLUMN industry SET STATISTICS 0,
    ALTER COLUMN country SET STATISTICS 0, ALTER COLUMN region SET STATISTICS 0,
    ALTER COLUMN city SET STATISTICS 0, ALTER COLUMN company_size SET STATISTICS 0,
    ALTER COLUMN status_reason SET STATISTICS 0, ALTER COLUMN score_fit SET STATISTICS 0,
    ALTER COLUMN score_engagement SET STATISTICS 0, ALTER COLUMN touch_count SET STATISTICS 0,
    ALTER COLUMN first_touch_at SET STATISTICS 0, ALTER COLUMN last_touch_at SET STATISTICS 0,
    ALTER COLUMN assigned_at SET STATISTICS 0, ALTER COLUMN qualified_at SET STATISTICS 0,
    ALTER COLUMN nurtured_at SET STATISTICS 0, ALTER COLUMN converted_at SET STATISTICS 0;
ALTER TABLE lead_touches
    ALTER COLUMN utm SET STATISTICS 0, ALTER COLUMN source SET STATISTICS 0,
    ALTER COLUMN campaign SET STATISTICS 0, ALTER COLUMN form_id SET STATISTICS 0,
    ALTER COLUMN import_id SET STATISTICS 0, ALTER COLUMN received_at SET STATISTICS 0;
ALTER TABLE events ALTER COLUMN changes SET STATISTICS 0;

-- Leads and events reference their organization once per statement instead of once per row.
-- A foreign key checks each inserted row with a query of its own (a third of the per-row checks
-- of a capture, with the touch's reference to its lead and nothing else). The same guarantee, set
-- at a time: an insert's statement locks the organizations its rows name (FOR KEY SHARE, as the
-- foreign key did) and fails when one is missing; deleting an organization fails while leads or
-- events name it; org_id and organizations.id never change. Cross-tenant references are not
-- concerned: those are composite keys (org_id, x_id), all kept.
ALTER TABLE leads DROP CONSTRAINT leads_org_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_org_id_fkey;

-- +goose StatementBegin
CREATE FUNCTION org_rows_exist() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    orgs  uuid[] := ARRAY(SELECT DISTINCT org_id FROM new_rows);
    found integer;
BEGIN
    SELECT count(*) INTO found FROM (SELECT 1 FROM organizations WHERE id = ANY (orgs) FOR KEY SHARE) AS o;
    IF found < cardinality(orgs) THEN
        RAISE EXCEPTION 'insert on table "%" names an organization that does not exist', TG_TABLE_NAME
            USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME, CONSTRAINT = TG_TABLE_NAME || '_org_id_fkey';
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION org_rows_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM leads WHERE org_id IN (SELECT id FROM old_rows))
       OR EXISTS (SELECT 1 FROM events WHERE org_id IN (SELECT id FROM old_rows)) THEN
        RAISE EXCEPTION 'an organization is deleted while leads or events name it'
            USING ERRCODE = 'foreign_key_violation', TABLE = 'organizations';
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION org_id_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the organization of a row of "%" never changes', TG_TABLE_NAME
        USING ERRCODE = 'foreign_key_violation', TABLE = TG_TABLE_NAME;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER leads_org AFTER INSERT ON leads
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION org_rows_exist();
CREATE TRIGGER events_org AFTER INSERT ON events
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION org_rows_exist();
CREATE TRIGGER organizations_rows AFTER DELETE ON organizations
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION org_rows_gone();
CREATE TRIGGER leads_org_fixed BEFORE UPDATE OF org_id ON leads
    FOR EACH ROW WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id) EXECUTE FUNCTION org_id_fixed();
CREATE TRIGGER events_org_fixed BEFORE UPDATE OF org_id ON events
    FOR EACH ROW WHEN (OLD.org_id IS DISTINCT FROM NEW.org_id) EXECUTE FUNCTION org_id_fixed();
CREATE TRIGGER organizations_id_fixed BEFORE UPDATE OF id ON organizations
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION org_id_fixed();
