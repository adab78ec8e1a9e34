-- The wall (issue 7).
--
-- View sync (server/realtime/screens.ts): what each screen was last told to show — a view pushed
-- by a seat or the cockpit, or nothing (view NULL: released, the screen's own mode). Kept here, not
-- in a process's memory, so a wall that connects later, after a restart or to another process
-- behind the load balancer, gets the same state.
CREATE TABLE screens (
  id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9_-]{0,63}$'),
  view        jsonb,
  -- Who pushed the view (NULL once released).
  by_username text,
  by_name     text,
  at          timestamptz NOT NULL,
  CHECK ((view IS NULL) = (by_username IS NULL))
);

-- The wall's ticker (GET /api/wall/summary `recent`): the latest events of a few types, read
-- newest first per type without walking the whole log past the far more frequent sensor:status.
CREATE INDEX event_log_type_seq_idx ON event_log (type, seq);
