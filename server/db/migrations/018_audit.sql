-- Audit log (issue 10): who did what — logins (success and failure), logouts, every write,
-- configuration changes and sensitive reads. Written only by server/audit/log.ts (AuditLog.record);
-- the chain format and the check (`npm run audit:verify`) are in docs/audit.md.
--
-- Append-only: the database itself refuses UPDATE, DELETE and TRUNCATE (the triggers below), so
-- no code path, SQL console or bug of the application can change the record. Each row is chained
-- to the one before it: hash = sha256(prev_hash || canonical JSON of the row), so a row changed
-- behind the triggers' back (by the table's owner disabling them) is found by verify.
CREATE TABLE audit_log (
  -- Allocated under the append lock: id order is chain order (gaps are rolled-back appends).
  id        bigserial PRIMARY KEY,
  -- Whole milliseconds, so the ISO string the hash covers round-trips through a JS Date.
  at        timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  -- The username; for a failed login the attempted one (which may name no user); NULL: no actor.
  actor     text,
  role      text,
  -- login.success, login.failure, logout, write, config.change, read.sensitive, read.audit, …
  action    text NOT NULL CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$'),
  -- HTTP method of the request, when the entry is one.
  method    text,
  -- What was acted on: the request path, or an object's id such as `person:123`.
  target    text,
  -- HTTP status answered.
  status    integer,
  -- More facts (a login failure's reason, a read's filters); never a password or a request body.
  detail    jsonb NOT NULL DEFAULT '{}'::jsonb,
  ip        text,
  -- The request id (X-Request-Id), to find the request in the access log.
  req_id    text,
  -- The hash of the row before (NULL for the first row).
  prev_hash text,
  hash      text NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, id);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
