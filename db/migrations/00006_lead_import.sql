-- +goose Up
-- CSV imports: what the upload found (the header row and the delimiter) is kept with the import, so
-- that the mapping can be checked and suggested without reading the file again; the job reads the
-- chunks in seq order up to chunk_count. An error row is unique per line and field, so that a batch
-- run twice (a crash between the batch and the job's end) cannot report a line twice, and the
-- report pages on (line, field).
ALTER TABLE lead_imports
    ADD COLUMN delimiter   text NOT NULL DEFAULT ',' CHECK (delimiter IN (',', ';', E'\t')),
    ADD COLUMN headers     text[] NOT NULL DEFAULT '{}',
    ADD COLUMN chunk_count integer NOT NULL DEFAULT 0 CHECK (chunk_count >= 0);

DROP INDEX lead_import_errors_import;
CREATE UNIQUE INDEX lead_import_errors_line ON lead_import_errors (org_id, import_id, line, field);
CREATE INDEX lead_imports_created ON lead_imports (org_id, created_at DESC, id DESC);
