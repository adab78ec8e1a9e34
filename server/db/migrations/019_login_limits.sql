-- Sign-in hardening (issue 10, server/auth/limits.ts).
--
-- Failed sign-ins by username — known or not, so that a lock tells nothing about whether an
-- account exists. Kept in the database, not in a process's memory, so the lock holds across the
-- server processes behind a load balancer and across restarts. A row goes when its user signs in,
-- restarts at 1 once a lock has run out, and is forgotten a day after its last failure.
CREATE TABLE login_failures (
  username       text PRIMARY KEY,
  -- Failures in a row since the last successful sign-in (or the last lock that ran out).
  failures       integer NOT NULL CHECK (failures > 0),
  last_failed_at timestamptz NOT NULL DEFAULT now(),
  -- Set when failures reached ONEGRID_LOGIN_MAX_FAILURES: every attempt before then is refused.
  locked_until   timestamptz
);
CREATE INDEX login_failures_last_idx ON login_failures (last_failed_at);

-- Idle timeout (ONEGRID_SESSION_IDLE_MINUTES): when a session was last used.
ALTER TABLE sessions ADD COLUMN last_seen_at timestamptz NOT NULL DEFAULT now();
