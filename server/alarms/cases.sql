-- Cases opened by alarms (server/alarms/cases.ts).

-- name: rules
-- The case-opening rules of the given rule ids whose case category exists.
-- $1 rule ids (int[]). Output: id, sensor_type, case_category, urgency, correlate_window_s, correlate_distance_m.
SELECT r.id, r.sensor_type, r.case_category, r.urgency, r.correlate_window_s, r.correlate_distance_m
  FROM alarm_rules r JOIN case_categories cc ON cc.code = r.case_category
 WHERE r.id = ANY($1::int[]) AND r.open_case;

-- name: lock_type
-- Serialises case correlation per sensor type across transactions and processes, so two alarms
-- raised at once (two batches, two servers) cannot both miss the other's case. $1 sensor type.
SELECT pg_advisory_xact_lock(7142009, hashtext($1::text));

-- name: correlate
-- An open auto-case of this sensor type and category with an alarm within the window (s) of the
-- new alarm's time and within the distance (m) of its sensor; the nearest first.
-- $1 sensor id, $2 alarm id, $3 sensor type, $4 category, $5 raised_at, $6 window s, $7 distance m.
-- Output: id, code, grid_code.
SELECT c.id, c.code, c.grid_code
  FROM alarms a
  JOIN cases c ON c.id = a.case_id
  JOIN sensors s ON s.id = a.sensor_id
  JOIN sensors me ON me.id = $1
 WHERE a.id <> $2 AND s.type = $3 AND c.category_code = $4 AND c.source = 'sensor'
   AND c.stage NOT IN ('closed', 'evaluated', 'cancelled', 'merged')
   AND a.raised_at BETWEEN $5::timestamptz - make_interval(secs => $6::float8) AND $5::timestamptz + make_interval(secs => $6::float8)
   AND ST_DWithin(s.geom::geography, me.geom::geography, $7::float8)
 ORDER BY ST_Distance(s.geom::geography, me.geom::geography), c.id
 LIMIT 1;

-- name: last_code
-- The highest case number of one day (codes C<yyyymmdd><nnnnn>, as the seed makes them). $1 'C<yyyymmdd>'.
SELECT coalesce(max(substr(code, 10)::int), 0) AS n
  FROM cases
 WHERE code BETWEEN $1::text || '00000' AND $1::text || '99999' AND code ~ '^C[0-9]{13}$';

-- name: insert_case
-- $1 code, $2 category, $3 urgency, $4 description, $5 reported_at, $6 sensor id.
-- Output: id, code, grid_code, lon, lat (no row: the code was taken meanwhile).
INSERT INTO cases (code, category_code, source, urgency, stage, description, address, grid_code, reporter, reported_at, geom)
SELECT $1, $2, 'sensor', $3, 'reported', $4, s.name, s.grid_code, s.code, $5::timestamptz, s.geom
  FROM sensors s WHERE s.id = $6
ON CONFLICT (code) DO NOTHING
RETURNING id, code, grid_code, ST_X(geom) AS lon, ST_Y(geom) AS lat;

-- name: insert_action
-- $1 case id, $2 action, $3 at, $4 note, $5 sensor id (its position).
INSERT INTO case_actions (case_id, action, actor, at, note, geom)
SELECT $1, $2, 'system', $3::timestamptz, $4, s.geom FROM sensors s WHERE s.id = $5;

-- name: link
-- $1 alarm id, $2 case id.
UPDATE alarms SET case_id = $2 WHERE id = $1;
