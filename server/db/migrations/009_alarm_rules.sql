-- Alarm rules per sensor type, as data (server/alarms/): what raises an alarm, what clears it,
-- how often an unacknowledged alarm is repeated, and whether it opens a case — with the window
-- in time and space inside which alarms of one type are correlated into one case instead of many.
-- The levels themselves stay per sensor (sensors.thresholds {warn, alarm, clear?, direction?}).
--
--   threshold  raise when a reading is at or beyond thresholds.alarm (direction above/below);
--              resolve only once it is back at or within the clear level: thresholds.clear if the
--              sensor has one, else alarm ∓ hysteresis (hysteresis, so a value hovering at the
--              level does not flap).
--   rate       raise when the change per minute is at or beyond rate_per_min (rise, fall or both),
--              measured from the latest reading at least rate_window_s older — for a sensor
--              reporting less often, simply the previous reading; for one reporting every few
--              seconds, a span long enough that its noise is not taken for a rate; resolve once it
--              is at or within rate_clear_per_min.
--   offline    raise when a sensor that has reported live (sensors.live_since) sends no reading
--              for offline_after_s (the alarms:offline job); its next reading resolves it.
CREATE TABLE alarm_rules (
  id                   serial PRIMARY KEY,
  sensor_type          text NOT NULL CHECK (sensor_type IN ('smoke', 'gas', 'noise', 'dust', 'water_level', 'cover_tilt', 'structural', 'air_quality')),
  kind                 text NOT NULL CHECK (kind IN ('threshold', 'rate', 'offline')),
  enabled              boolean NOT NULL DEFAULT true,
  hysteresis           double precision CHECK (hysteresis >= 0),
  rate_per_min         double precision CHECK (rate_per_min > 0),
  rate_clear_per_min   double precision CHECK (rate_clear_per_min >= 0),
  rate_direction       text CHECK (rate_direction IN ('rise', 'fall', 'both')),
  rate_window_s        integer CHECK (rate_window_s > 0),
  offline_after_s      integer CHECK (offline_after_s > 0),
  -- Repeat an unacknowledged alarm this often (alarm:reminder); NULL: never.
  remind_every_s       integer CHECK (remind_every_s > 0),
  open_case            boolean NOT NULL DEFAULT false,
  case_category        text,
  urgency              text NOT NULL DEFAULT 'urgent' CHECK (urgency IN ('normal', 'urgent', 'critical')),
  correlate_window_s   integer NOT NULL DEFAULT 1800 CHECK (correlate_window_s >= 0),
  correlate_distance_m double precision NOT NULL DEFAULT 200 CHECK (correlate_distance_m >= 0),
  UNIQUE (sensor_type, kind),
  CHECK (kind <> 'rate' OR (rate_per_min IS NOT NULL AND rate_direction IS NOT NULL AND rate_window_s IS NOT NULL)),
  CHECK (kind <> 'offline' OR offline_after_s IS NOT NULL),
  -- case_categories is seeded after the migrations run, so the category is checked when a case is
  -- opened (a rule naming an unknown category opens none) rather than by a foreign key.
  CHECK (NOT open_case OR case_category IS NOT NULL)
);

-- Levels follow sensor_types.json (GB 3096 road-side noise, 黄浦公园 tide gauge warning level,
-- combustible gas %LEL, AQI bands); categories are the seed's sensor-linked case categories.
INSERT INTO alarm_rules (sensor_type, kind, hysteresis, remind_every_s, open_case, case_category, urgency, correlate_window_s, correlate_distance_m) VALUES
  ('smoke',       'threshold', 2,    300,  true,  'E0804', 'critical', 600,  100),
  ('gas',         'threshold', 10,   300,  true,  'E0403', 'critical', 1800, 300),
  ('noise',       'threshold', 5,    1800, false, 'E0301', 'normal',   3600, 200),
  ('dust',        'threshold', 50,   1800, true,  'E0302', 'normal',   3600, 500),
  ('water_level', 'threshold', 0.2,  600,  true,  'E0404', 'urgent',   3600, 1000),
  ('cover_tilt',  'threshold', 3,    900,  false, NULL,    'urgent',   600,  50),
  ('structural',  'threshold', 5,    900,  true,  'E0805', 'urgent',   3600, 200),
  ('air_quality', 'threshold', 20,   3600, false, NULL,    'normal',   3600, 3000);

INSERT INTO alarm_rules (sensor_type, kind, rate_per_min, rate_clear_per_min, rate_direction, rate_window_s, remind_every_s, open_case, case_category, urgency, correlate_window_s, correlate_distance_m) VALUES
  -- A flood wall gauge rising 3 m an hour; tides move it about 0.5 m an hour.
  ('water_level', 'rate', 0.05, 0.01, 'rise', 300, 600, true,  'E0404', 'urgent',   3600, 1000),
  ('structural',  'rate', 1,    0.2,  'both', 300, 900, true,  'E0805', 'urgent',   3600, 200),
  -- A manhole cover lifted or knocked over moves by degrees within a minute.
  ('cover_tilt',  'rate', 5,    1,    'both', 60,  900, false, NULL,    'urgent',   600,  50),
  ('gas',         'rate', 5,    1,    'rise', 60,  300, true,  'E0403', 'critical', 1800, 300);

-- Battery smoke detectors report hourly, the national air-quality feed hourly too; mains-powered
-- monitors every few minutes.
INSERT INTO alarm_rules (sensor_type, kind, offline_after_s) VALUES
  ('smoke', 'offline', 3 * 3600), ('gas', 'offline', 900), ('noise', 'offline', 900), ('dust', 'offline', 900),
  ('water_level', 'offline', 900), ('cover_tilt', 'offline', 3 * 3600), ('structural', 'offline', 1800), ('air_quality', 'offline', 3 * 3600);

-- What a sensor of each type can physically report, in its unit: readings outside are dropped as
-- absurd (a broken probe, a unit mix-up) before they can raise an alarm.
CREATE TABLE sensor_value_ranges (
  sensor_type text PRIMARY KEY,
  min_value   double precision NOT NULL,
  max_value   double precision NOT NULL,
  CHECK (min_value < max_value)
);
INSERT INTO sensor_value_ranges (sensor_type, min_value, max_value) VALUES
  ('smoke', 0, 100),           -- %obs/m
  ('gas', 0, 100),             -- %LEL
  ('noise', 0, 200),           -- dB(A)
  ('dust', 0, 20000),          -- µg/m³ (PM10 in a sand storm stays below 10 000)
  ('water_level', -10, 20),    -- m (吴淞高程)
  ('cover_tilt', -180, 180),   -- °
  ('structural', -2000, 2000), -- mm
  ('air_quality', 0, 1000);    -- AQI

-- Alarms: three kinds now, the rule that raised each, who resolved it, reminders, the case it opened or joined.
ALTER TABLE alarms DROP CONSTRAINT alarms_kind_check;
ALTER TABLE alarms ADD CONSTRAINT alarms_kind_check CHECK (kind IN ('threshold', 'rate', 'offline'));
ALTER TABLE alarms ADD COLUMN rule_id integer REFERENCES alarm_rules (id) ON DELETE SET NULL;
ALTER TABLE alarms ADD COLUMN resolved_by text;
ALTER TABLE alarms ADD COLUMN resolve_comment text;
ALTER TABLE alarms ADD COLUMN resolved_value double precision;
ALTER TABLE alarms ADD COLUMN reminder_count integer NOT NULL DEFAULT 0;
ALTER TABLE alarms ADD COLUMN last_reminded_at timestamptz;
ALTER TABLE alarms ADD COLUMN case_id integer REFERENCES cases (id) ON DELETE SET NULL;
UPDATE alarms a SET rule_id = r.id FROM sensors s, alarm_rules r WHERE s.id = a.sensor_id AND r.sensor_type = s.type AND r.kind = a.kind;
CREATE INDEX alarms_case_idx ON alarms (case_id) WHERE case_id IS NOT NULL;
CREATE INDEX alarms_unacked_idx ON alarms (raised_at) WHERE acked_at IS NULL AND resolved_at IS NULL;

-- What the device last said about itself (topic onegrid/sensors/<code>/status). A device in
-- fault counts as offline on the map (the sensors layer knows alarm, offline and online only);
-- sensors.status is derived: alarm while any alarm is open, offline for an open offline alarm or
-- a device that says offline/fault, else online.
ALTER TABLE sensors ADD COLUMN device_status text NOT NULL DEFAULT 'online' CHECK (device_status IN ('online', 'offline', 'fault'));
ALTER TABLE sensors ADD COLUMN battery real;
ALTER TABLE sensors ADD COLUMN rssi real;
ALTER TABLE sensors ADD COLUMN status_at timestamptz;
-- The first live reading (MQTT): only sensors that have reported live are watched for silence —
-- a seeded or imported history says nothing about whether the device is connected yet.
ALTER TABLE sensors ADD COLUMN live_since timestamptz;
