-- The incident briefing of a case (server/cases/briefing.ts, GET /api/cases/:id/briefing): what a
-- briefing shows beyond the case (GET /api/cases/:id) and its record (…/timeline).

-- name: place
-- The names of the case's grid and the admin units above it. $1 grid code.
-- Output: grid_code, grid_name, community_code, community_name, street_code, street_name, district_code, district_name.
SELECT g.code AS grid_code, g.name AS grid_name, g.community_code, c.name AS community_name, g.street_code, s.name AS street_name,
       g.district_code, d.name AS district_name
  FROM grids g
  LEFT JOIN admin_units c ON c.code = g.community_code
  LEFT JOIN admin_units s ON s.code = g.street_code
  LEFT JOIN admin_units d ON d.code = g.district_code
 WHERE g.code = $1;

-- name: department
-- $1 department id. Output: id, name, phone.
SELECT id, name, phone FROM departments WHERE id = $1;

-- name: workers
-- The workers the case was dispatched to, in the order of their first dispatch, each with the time
-- they held it: from a dispatch to the case's next dispatch or return, else to the end of the span.
-- $1 case id, $2 end of the span (timestamptz), $3 the case's current worker id (NULL: none; listed
-- from the case's dispatch time when the record names no dispatch to them, as imported history).
-- Output: id, code, name, phone, role, department_id, department_name, from_at, to_at.
WITH d AS (
  SELECT a.at, CASE WHEN a.action = 'dispatch' AND (a.payload ->> 'workerId') ~ '^[0-9]+$' THEN (a.payload ->> 'workerId')::int END AS worker_id,
         lead(a.at) OVER (ORDER BY a.at, a.id) AS next_at
    FROM case_actions a
   WHERE a.case_id = $1 AND a.action IN ('dispatch', 'return')
), held AS (
  SELECT worker_id, min(at) AS from_at, max(coalesce(next_at, $2::timestamptz)) AS to_at FROM d WHERE worker_id IS NOT NULL GROUP BY worker_id
  UNION ALL
  SELECT c.worker_id, coalesce(c.dispatched_at, c.reported_at), $2::timestamptz FROM cases c
   WHERE c.id = $1 AND $3::int IS NOT NULL AND c.worker_id = $3::int AND NOT EXISTS (SELECT 1 FROM d WHERE d.worker_id = $3::int)
)
SELECT w.id, w.code, w.name, w.phone, w.role, w.department_id, dep.name AS department_name, h.from_at, least(h.to_at, $2::timestamptz) AS to_at
  FROM held h
  JOIN workers w ON w.id = h.worker_id
  LEFT JOIN departments dep ON dep.id = w.department_id
 ORDER BY h.from_at, w.id;

-- name: alarms
-- The incident's alarms: those linked to the case, and those of sensors within $2 metres of its
-- place raised during [$3, $4] (the span); within the asker's scope ($5 prefix, NULL: all); the
-- earliest first, at most $6 rows. $1 case id.
-- Output: id, sensor_id, code, name, type, unit, kind, value, threshold, raised_at, acked_at, acked_by,
-- resolved_at, resolved_by, linked, distance_m, lon, lat.
WITH c AS (SELECT id, geom FROM cases WHERE id = $1),
hits AS (
  SELECT a.id FROM alarms a WHERE a.case_id = $1
  UNION
  SELECT a.id
    FROM c, alarms a JOIN sensors s ON s.id = a.sensor_id
   WHERE a.raised_at BETWEEN $3::timestamptz AND $4::timestamptz
     AND ST_DWithin(s.geom::geography, c.geom::geography, $2::float8)
)
SELECT a.id, a.sensor_id, s.code, s.name, s.type, coalesce(s.thresholds ->> 'unit', s.unit) AS unit, a.kind, a.value, a.threshold,
       a.raised_at, a.acked_at, a.acked_by, a.resolved_at, a.resolved_by, coalesce(a.case_id = c.id, false) AS linked,
       round(ST_Distance(s.geom::geography, c.geom::geography)::numeric, 1)::float8 AS distance_m, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat
  FROM hits JOIN alarms a ON a.id = hits.id JOIN sensors s ON s.id = a.sensor_id, c
 WHERE ($5::text IS NULL OR a.grid_code LIKE $5::text || '%')
 ORDER BY a.raised_at, a.id
 LIMIT $6;

-- name: last_action
-- When the record last changed. $1 case id. Output: at (NULL without actions).
SELECT max(at) AS at FROM case_actions WHERE case_id = $1;
