-- The working calendar case time limits run on (server/cases/calendar.ts), in ONEGRID_TZ:
-- working ISO weekdays and the working periods of a day (one settings row), and the dates that
-- differ from the weekday rule: public holidays and the make-up working days on weekends (调休).
-- China publishes the year's holidays each autumn (国务院办公厅关于 YYYY 年部分节假日安排的通知);
-- an admin adds them with SQL for now, e.g.
--   INSERT INTO work_calendar_days (day, kind, name) VALUES ('2028-01-01', 'holiday', '元旦')
--     ON CONFLICT (day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name;
-- and the running server picks them up within a minute (the cases:deadlines job reloads the cached calendar each run).
CREATE TABLE work_calendar_settings (
  id       boolean PRIMARY KEY DEFAULT true CHECK (id),
  weekdays smallint[] NOT NULL DEFAULT '{1,2,3,4,5}'
    CHECK (weekdays <@ ARRAY[1, 2, 3, 4, 5, 6, 7]::smallint[]),
  -- [["08:30","12:00"],["13:00","17:30"]]: local HH:MM pairs, in order, not overlapping.
  periods  jsonb NOT NULL DEFAULT '[["08:30","12:00"],["13:00","17:30"]]'
    CHECK (jsonb_typeof(periods) = 'array' AND jsonb_array_length(periods) > 0)
);
INSERT INTO work_calendar_settings DEFAULT VALUES;

CREATE TABLE work_calendar_days (
  day  date PRIMARY KEY,
  -- holiday: not worked although a working weekday; workday: worked although a weekend day (调休).
  kind text NOT NULL CHECK (kind IN ('holiday', 'workday')),
  name text NOT NULL DEFAULT ''
);

-- 2026: 国务院办公厅关于2026年部分节假日安排的通知 of 2025-11-04.
INSERT INTO work_calendar_days (day, kind, name) VALUES
  ('2026-01-01', 'holiday', '元旦'), ('2026-01-02', 'holiday', '元旦'), ('2026-01-03', 'holiday', '元旦'),
  ('2026-01-04', 'workday', '元旦调休'),
  ('2026-02-14', 'workday', '春节调休'),
  ('2026-02-15', 'holiday', '春节'), ('2026-02-16', 'holiday', '春节'), ('2026-02-17', 'holiday', '春节'),
  ('2026-02-18', 'holiday', '春节'), ('2026-02-19', 'holiday', '春节'), ('2026-02-20', 'holiday', '春节'),
  ('2026-02-21', 'holiday', '春节'), ('2026-02-22', 'holiday', '春节'), ('2026-02-23', 'holiday', '春节'),
  ('2026-02-28', 'workday', '春节调休'),
  ('2026-04-04', 'holiday', '清明节'), ('2026-04-05', 'holiday', '清明节'), ('2026-04-06', 'holiday', '清明节'),
  ('2026-05-01', 'holiday', '劳动节'), ('2026-05-02', 'holiday', '劳动节'), ('2026-05-03', 'holiday', '劳动节'),
  ('2026-05-04', 'holiday', '劳动节'), ('2026-05-05', 'holiday', '劳动节'),
  ('2026-05-09', 'workday', '劳动节调休'),
  ('2026-06-19', 'holiday', '端午节'), ('2026-06-20', 'holiday', '端午节'), ('2026-06-21', 'holiday', '端午节'),
  ('2026-09-20', 'workday', '国庆节调休'),
  ('2026-09-25', 'holiday', '中秋节'), ('2026-09-26', 'holiday', '中秋节'), ('2026-09-27', 'holiday', '中秋节'),
  ('2026-10-01', 'holiday', '国庆节'), ('2026-10-02', 'holiday', '国庆节'), ('2026-10-03', 'holiday', '国庆节'),
  ('2026-10-04', 'holiday', '国庆节'), ('2026-10-05', 'holiday', '国庆节'), ('2026-10-06', 'holiday', '国庆节'),
  ('2026-10-07', 'holiday', '国庆节'),
  ('2026-10-10', 'workday', '国庆节调休'),
  -- 2027: only the statutory days (全国年节及纪念日放假办法, 2024 revision) by the lunar calendar;
  -- the bridging days and 调休 come with the State Council's notice for 2027 — replace these then.
  ('2027-01-01', 'holiday', '元旦（法定）'),
  ('2027-02-05', 'holiday', '春节（法定，除夕）'), ('2027-02-06', 'holiday', '春节（法定）'),
  ('2027-02-07', 'holiday', '春节（法定）'), ('2027-02-08', 'holiday', '春节（法定）'),
  ('2027-04-05', 'holiday', '清明节（法定）'),
  ('2027-05-01', 'holiday', '劳动节（法定）'), ('2027-05-02', 'holiday', '劳动节（法定）'),
  ('2027-06-09', 'holiday', '端午节（法定）'),
  ('2027-09-15', 'holiday', '中秋节（法定）'),
  ('2027-10-01', 'holiday', '国庆节（法定）'), ('2027-10-02', 'holiday', '国庆节（法定）'),
  ('2027-10-03', 'holiday', '国庆节（法定）');

-- Limits counted in working days (违法搭建 "15 个工作日"): a key here wins over the same key in
-- limits_hours, which keeps its working hours (existing data stays valid).
ALTER TABLE case_categories ADD COLUMN limits_days jsonb NOT NULL DEFAULT '{}';

-- Deadline and five-colour level rules (server/cases/deadlines.ts SlaSettings; a field left out
-- keeps the built-in default): stage_limits, urgency_factor, clock_urgencies, default_limits_hours,
-- due_soon_fraction, level_rules (ordered, first match wins).
CREATE TABLE sla_settings (
  id       boolean PRIMARY KEY DEFAULT true CHECK (id),
  settings jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(settings) = 'object')
);
INSERT INTO sla_settings (settings) VALUES ('{
  "due_soon_fraction": 0.25,
  "level_rules": [
    {"level": "red", "overdue": true, "urgency": ["urgent", "critical"]},
    {"level": "orange", "overdue": true},
    {"level": "green", "closed": true},
    {"level": "yellow", "due_soon": true},
    {"level": "blue"}
  ]
}');

-- The deadlines job looks at the open cases with a stage deadline, and at closed ones not yet green/orange/red.
CREATE INDEX cases_open_sla_idx ON cases (id) WHERE stage NOT IN ('closed', 'evaluated', 'cancelled', 'merged');
