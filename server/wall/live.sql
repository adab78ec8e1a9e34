-- What the wall's live overlays start from (GET /api/wall/live, live.ts); events keep it current.
-- $1: scope prefix (text), NULL for an unrestricted asker. $2..$5: the box west, south, east,
-- north in WGS84 degrees (latitudes within the Web Mercator range), compared with the stored
-- EPSG:3857 copies so their GiST indexes are used. $6: the most rows to return.

-- name: cases
-- Open cases (not closed, evaluated, cancelled or merged), most urgent and oldest first, with the
-- running stage's clock (migration 011) and the map's overdue judgement (case_map.sla_state).
-- Output: id, code, stage, urgency, category_code, lon, lat, reported_at, stage_started_at,
-- stage_deadline_at, overdue.
SELECT c.id, c.code, c.stage, c.urgency, c.category_code, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat,
       c.reported_at, c.stage_started_at, c.stage_deadline_at, c.sla_state = 'overdue' AS overdue
  FROM case_map c
 WHERE ($1::text IS NULL OR c.grid_code LIKE $1::text || '%')
   AND c.stage NOT IN ('closed', 'evaluated', 'cancelled', 'merged')
   AND c.geom_3857 && ST_Transform(ST_MakeEnvelope($2::float8, $3::float8, $4::float8, $5::float8, 4326), 3857)
 ORDER BY CASE c.urgency WHEN 'critical' THEN 0 WHEN 'urgent' THEN 1 ELSE 2 END, c.reported_at, c.id
 LIMIT $6;

-- name: alarms
-- Alarms not resolved, at their sensor's position, the latest raised first.
-- Output: id, sensor_id, code, name, sensor_type, kind, lon, lat, raised_at, acked.
SELECT a.id, a.sensor_id, s.code, s.name, s.type AS sensor_type, a.kind, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
       a.raised_at, a.acked_at IS NOT NULL AS acked
  FROM alarms a
  JOIN sensors s ON s.id = a.sensor_id
 WHERE a.resolved_at IS NULL
   AND ($1::text IS NULL OR a.grid_code LIKE $1::text || '%')
   AND s.geom_3857 && ST_Transform(ST_MakeEnvelope($2::float8, $3::float8, $4::float8, $5::float8, 4326), 3857)
 ORDER BY a.raised_at DESC, a.id DESC
 LIMIT $6;

-- name: workers
-- Workers on duty or busy at their last position (positions update workers.geom and last_seen),
-- with out_of_grid as the map and the geofence judge it (worker_map, migration 008).
-- Output: id, code, name, lon, lat, duty_status, out_of_grid, last_seen.
SELECT w.id, w.code, w.name, ST_X(w.geom) AS lon, ST_Y(w.geom) AS lat, w.duty_status, w.out_of_grid, w.last_seen
  FROM worker_map w
 WHERE w.duty_status IN ('on_duty', 'busy')
   AND w.geom IS NOT NULL
   AND ($1::text IS NULL OR w.grid_code LIKE $1::text || '%')
   AND w.geom_3857 && ST_Transform(ST_MakeEnvelope($2::float8, $3::float8, $4::float8, $5::float8, 4326), 3857)
 ORDER BY w.id
 LIMIT $6;
