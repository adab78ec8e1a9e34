-- Cases imported from another system (server/import/cases.ts: a city's hotline history) keep
-- that system's work-order number, so a re-import recognises them and skips them.
ALTER TABLE cases ADD COLUMN external_code text;
CREATE UNIQUE INDEX cases_external_code_idx ON cases (external_code) WHERE external_code IS NOT NULL;
