-- Alarms raised from sensor readings (threshold rules for now: a reading at or above the
-- sensor's `thresholds.alarm`). One open alarm per sensor and kind: repeats of the same condition
-- do not raise another (de-duplicated by the partial unique index).
CREATE TABLE alarms (
  id          serial PRIMARY KEY,
  sensor_id   integer NOT NULL REFERENCES sensors (id) ON DELETE CASCADE,
  kind        text NOT NULL CHECK (kind IN ('threshold')),
  value       double precision NOT NULL,
  threshold   double precision NOT NULL,
  raised_at   timestamptz NOT NULL,
  acked_at    timestamptz,
  acked_by    text,
  ack_comment text,
  resolved_at timestamptz,
  grid_code   text
);
CREATE UNIQUE INDEX alarms_open_idx ON alarms (sensor_id, kind) WHERE resolved_at IS NULL;
CREATE INDEX alarms_raised_idx ON alarms (raised_at);
