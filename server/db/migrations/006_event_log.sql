-- The domain event log: every event a screen must not miss (alarm raised, case changed, sensor
-- status, worker out of grid, …) is written here in the same transaction as the change, then
-- pushed over socket.io. A screen that was away asks for what came after the last seq it saw.
--
-- seq follows commit order: it is taken by updating the one counter row, whose row lock is held
-- until the transaction ends, so a transaction that writes events waits for an earlier one to
-- commit (or roll back) before it gets the next number. A reader that has seen seq n can never
-- later find a committed event below n.
CREATE TABLE event_seq (
  id   integer PRIMARY KEY CHECK (id = 1),
  last bigint NOT NULL
);
INSERT INTO event_seq (id, last) VALUES (1, 0);

CREATE TABLE event_log (
  seq     bigint PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  type    text NOT NULL,
  -- The admin/grid code of what the event is about (a grid code, a street code, …); who may see
  -- the event is decided by it as for everything else. NULL: outside every grid (unrestricted users only).
  scope   text,
  payload jsonb NOT NULL
);
CREATE INDEX event_log_at_idx ON event_log (at);
