-- The seat's feature cards (GET /api/features/:layer/:id, service.ts; types.ts holds the shapes).
-- Scope: the parameter named "scope" is the asker's code prefix (text), NULL for an unrestricted
-- asker, and filters exactly as the layer's tiles do (tiles/sql.ts): the layer's scope column
-- LIKE prefix || '%', objects outside every grid (NULL) for unrestricted askers only. A feature
-- outside the scope yields no row (the route answers 404, as for an unknown id). Lists inside a
-- card are bounded by the same scope and by the limit given. Open cases: every stage but closed,
-- evaluated, cancelled and merged (server/cases/workflow.ts CLOSED_STAGES).
-- A polygon's point (lon, lat) is its label point when that lies inside it, else a point on its surface.

-- name: path
-- The admin units above a feature, top first, and its grid: $1 admin unit code to start the walk
-- up from (parent_code, inclusive; NULL: the community of the grid $2), $2 grid code to end with
-- (NULL: none). Only district, street and community levels are kept.
-- Output: code, name, level ('district' | 'street' | 'community' | 'grid').
WITH RECURSIVE up AS (
  SELECT a.code, a.name, a.level, a.parent_code, 0 AS depth
    FROM admin_units a
   WHERE a.code = coalesce($1::text, (SELECT g.community_code FROM grids g WHERE g.code = $2::text))
  UNION ALL
  SELECT a.code, a.name, a.level, a.parent_code, up.depth + 1
    FROM admin_units a JOIN up ON a.code = up.parent_code
   WHERE up.depth < 8
)
SELECT code, name, level FROM (
  SELECT code, name, level, -depth AS ord FROM up WHERE level IN ('district', 'street', 'community')
  UNION ALL
  SELECT g.code, g.name, 'grid', 1 FROM grids g WHERE g.code = $2::text
) p
ORDER BY ord;

-- name: open_cases
-- Open cases whose grid code starts with $1 (a grid or admin unit code; NULL: every case in
-- scope), within scope $2, newest first, at most $3; total counts them all.
-- Output: id, code, stage, category_code, description, reported_at, deadline_at, total.
SELECT c.id, c.code, c.stage, c.category_code, c.description, c.reported_at, c.deadline_at,
       count(*) OVER ()::int AS total
  FROM cases c
 WHERE ($1::text IS NULL OR c.grid_code LIKE $1::text || '%')
   AND ($2::text IS NULL OR c.grid_code LIKE $2::text || '%')
   AND c.stage NOT IN ('closed', 'evaluated', 'cancelled', 'merged')
 ORDER BY c.reported_at DESC, c.id DESC
 LIMIT $3;

-- name: grid
-- $1 grid id, $2 scope (grids: scope column code).
-- Output: id, code, name, area_m2, community_code, lon, lat, branch_name, branch_secretary,
-- team (json [{workerId, code, name, role, phone, dutyStatus}]: 网格长, 网格员, 监督员, by name),
-- houses_by_use (json {use: n}), rental, people_by_category (json {category: n}),
-- parts (json [{classCode, name, count}] most first), sensors / cameras (json {status: n}).
SELECT g.id, g.code, g.name, g.area_m2, g.community_code,
       ST_X(pt.p) AS lon, ST_Y(pt.p) AS lat,
       pb.name AS branch_name, pb.secretary AS branch_secretary,
       (SELECT coalesce(json_agg(json_build_object('workerId', w.id, 'code', w.code, 'name', w.name, 'role', gt.role, 'phone', w.phone, 'dutyStatus', w.duty_status)
                                 ORDER BY CASE gt.role WHEN 'grid_leader' THEN 0 WHEN 'grid_worker' THEN 1 ELSE 2 END, w.name, w.id), '[]'::json)
          FROM grid_team gt JOIN workers w ON w.id = gt.worker_id
         WHERE gt.grid_code = g.code) AS team,
       (SELECT coalesce(json_object_agg(h.use, h.n), '{}'::json)
          FROM (SELECT use, count(*)::int AS n FROM houses WHERE grid_code = g.code GROUP BY use) h) AS houses_by_use,
       (SELECT count(*)::int FROM houses WHERE grid_code = g.code AND is_rental) AS rental,
       (SELECT coalesce(json_object_agg(x.category, x.n), '{}'::json)
          FROM (SELECT category, count(*)::int AS n FROM people WHERE grid_code = g.code GROUP BY category) x) AS people_by_category,
       (SELECT coalesce(json_agg(json_build_object('classCode', x.class_code, 'name', x.name, 'count', x.n) ORDER BY x.n DESC, x.class_code), '[]'::json)
          FROM (SELECT p.class_code, pc.minor_name AS name, count(*)::int AS n
                  FROM parts p JOIN part_classes pc ON pc.code = p.class_code
                 WHERE p.grid_code = g.code GROUP BY p.class_code, pc.minor_name) x) AS parts,
       (SELECT coalesce(json_object_agg(x.status, x.n), '{}'::json)
          FROM (SELECT status, count(*)::int AS n FROM sensors WHERE grid_code = g.code GROUP BY status) x) AS sensors,
       (SELECT coalesce(json_object_agg(x.status, x.n), '{}'::json)
          FROM (SELECT status, count(*)::int AS n FROM cameras WHERE grid_code = g.code GROUP BY status) x) AS cameras
  FROM grids g
  LEFT JOIN party_branches pb ON pb.id = g.party_branch_id
 CROSS JOIN LATERAL (
   SELECT CASE WHEN g.label_point IS NOT NULL AND ST_Intersects(g.geom, g.label_point) THEN g.label_point ELSE ST_PointOnSurface(g.geom) END AS p
 ) pt
 WHERE g.id = $1 AND ($2::text IS NULL OR g.code LIKE $2::text || '%');

-- name: admin_unit
-- $1 admin unit id, $2 level ('district' | 'street' | 'community'). Boundaries are base map
-- (scopeColumn null): everyone who may see the layer sees every unit; its counts are the asker's:
-- $3 scope bounds the grids counted.
-- Output: id, code, name, level, parent_code, lon, lat, grids.
SELECT a.id, a.code, a.name, a.level, a.parent_code,
       ST_X(pt.p) AS lon, ST_Y(pt.p) AS lat,
       (SELECT count(*)::int FROM grids g
         WHERE g.code LIKE a.code || '%' AND ($3::text IS NULL OR g.code LIKE $3::text || '%')) AS grids
  FROM admin_units a
 CROSS JOIN LATERAL (SELECT ST_PointOnSurface(a.geom) AS p) pt
 WHERE a.id = $1 AND a.level = $2::text AND a.geom IS NOT NULL;

-- name: building
-- $1 building id, $2 scope (buildings: scope column grid_code).
-- Output: id, name, address, use, height_m, height_estimated, levels, grid_code, lon, lat,
-- houses_by_use (json {use: n}), residents_by_category (json {category: n}) — counts only.
SELECT b.id, b.name, b.address, b.use, b.height_m, b.height_estimated, b.levels, b.grid_code,
       ST_X(pt.p) AS lon, ST_Y(pt.p) AS lat,
       (SELECT coalesce(json_object_agg(x.use, x.n), '{}'::json)
          FROM (SELECT use, count(*)::int AS n FROM houses WHERE building_id = b.id GROUP BY use) x) AS houses_by_use,
       (SELECT coalesce(json_object_agg(x.category, x.n), '{}'::json)
          FROM (SELECT pe.category, count(*)::int AS n FROM people pe JOIN houses h ON h.id = pe.house_id
                 WHERE h.building_id = b.id GROUP BY pe.category) x) AS residents_by_category
  FROM buildings b
 CROSS JOIN LATERAL (SELECT ST_PointOnSurface(b.geom) AS p) pt
 WHERE b.id = $1 AND ($2::text IS NULL OR b.grid_code LIKE $2::text || '%');

-- name: part
-- $1 part id, $2 scope (parts: grid_code).
-- Output: id, code, name, class_code, class_name, major_name, owner_id, owner_name, owner_phone,
-- maintainer_id, maintainer_name, maintainer_phone, property_unit, state, grid_code, lon, lat.
SELECT p.id, p.code, p.name, p.class_code, pc.minor_name AS class_name, pc.major_name,
       o.id AS owner_id, o.name AS owner_name, o.phone AS owner_phone,
       m.id AS maintainer_id, m.name AS maintainer_name, m.phone AS maintainer_phone,
       p.property_unit, p.state, p.grid_code, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
  FROM parts p
  JOIN part_classes pc ON pc.code = p.class_code
  LEFT JOIN departments o ON o.id = p.owner_dept_id
  LEFT JOIN departments m ON m.id = p.maintainer_dept_id
 WHERE p.id = $1 AND ($2::text IS NULL OR p.grid_code LIKE $2::text || '%');

-- name: part_cases
-- The cases of a part, as the workflow ties a part case to a part (server/cases/service.ts
-- responsible()): a case of the part's class (category 'P' || class code) whose nearest part of
-- that class within $3 metres is this one (equal distances: the lower id). $1 part id, $2 scope,
-- $4 limit; newest first, any stage.
-- Output: id, code, stage, category_code, description, reported_at, deadline_at.
SELECT c.id, c.code, c.stage, c.category_code, c.description, c.reported_at, c.deadline_at
  FROM parts p
  JOIN cases c
    ON c.category_code = 'P' || p.class_code
   AND c.geom_3857 && ST_Expand(p.geom_3857, $3::float8 * 1.05 / cos(radians(least(abs(ST_Y(p.geom)), 85))) + 1)
   AND ST_DWithin(c.geom::geography, p.geom::geography, $3::float8)
 WHERE p.id = $1
   AND ($2::text IS NULL OR c.grid_code LIKE $2::text || '%')
   AND NOT EXISTS (
     SELECT 1 FROM parts q
      WHERE q.class_code = p.class_code AND q.id <> p.id
        AND q.geom_3857 && ST_Expand(c.geom_3857, $3::float8 * 1.05 / cos(radians(least(abs(ST_Y(c.geom)), 85))) + 1)
        AND (ST_Distance(q.geom::geography, c.geom::geography), q.id) < (ST_Distance(p.geom::geography, c.geom::geography), p.id))
 ORDER BY c.reported_at DESC, c.id DESC
 LIMIT $4;

-- name: key_place
-- $1 key place id, $2 scope (key_places: grid_code). Output: id, name, kind, risk_color, grid_code, lon, lat.
SELECT k.id, k.name, k.kind, k.risk_color, k.grid_code, ST_X(k.geom) AS lon, ST_Y(k.geom) AS lat
  FROM key_places k
 WHERE k.id = $1 AND ($2::text IS NULL OR k.grid_code LIKE $2::text || '%');

-- name: sensor
-- $1 sensor id, $2 scope (sensors: grid_code).
-- Output: id, code, name, type, unit, status, last_value, last_seen, grid_code, lon, lat,
-- thresholds (json: the numeric entries of sensors.thresholds, e.g. warn, alarm, clear).
SELECT s.id, s.code, s.name, s.type, s.unit, s.status, s.last_value, s.last_seen, s.grid_code,
       ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat,
       (SELECT coalesce(jsonb_object_agg(t.key, t.value), '{}'::jsonb)
          FROM jsonb_each(s.thresholds) t WHERE jsonb_typeof(t.value) = 'number') AS thresholds
  FROM sensors s
 WHERE s.id = $1 AND ($2::text IS NULL OR s.grid_code LIKE $2::text || '%');

-- name: sensor_readings
-- The readings of sensor $1 in [now - $2 seconds, now], oldest first. Up to $3 readings all of
-- them; beyond, thinned evenly: the readings are cut into $3 / 2 runs of equal count and each run
-- keeps its lowest and its highest reading (so a spike is never thinned away), at most $3 in all.
-- Output: ts, value.
WITH r AS (
  SELECT ts, value, row_number() OVER (ORDER BY ts) - 1 AS i, count(*) OVER () AS n
    FROM sensor_readings
   WHERE sensor_id = $1 AND ts >= now() - make_interval(secs => $2::float8) AND ts <= now()
), b AS (
  SELECT ts, value, n,
         row_number() OVER (PARTITION BY i * ($3::int / 2) / n ORDER BY value, ts) AS lo,
         row_number() OVER (PARTITION BY i * ($3::int / 2) / n ORDER BY value DESC, ts) AS hi
    FROM r
)
SELECT ts, value FROM b
 WHERE n <= $3::int OR lo = 1 OR hi = 1
 ORDER BY ts;

-- name: sensor_alarms
-- The last $2 alarms of sensor $1, newest first. status: open (neither acknowledged nor
-- resolved), acked, resolved — as GET /api/alarms names them.
-- Output: id, kind, status, raised_at, value, case_id.
SELECT a.id, a.kind,
       CASE WHEN a.resolved_at IS NOT NULL THEN 'resolved' WHEN a.acked_at IS NOT NULL THEN 'acked' ELSE 'open' END AS status,
       a.raised_at, a.value, a.case_id
  FROM alarms a
 WHERE a.sensor_id = $1
 ORDER BY a.raised_at DESC, a.id DESC
 LIMIT $2;

-- name: camera
-- $1 camera id, $2 scope (cameras: grid_code).
-- Output: id, code, name, kind, heading_deg, fov_deg, range_m, stream_url, status, grid_code, lon, lat.
SELECT c.id, c.code, c.name, c.kind, c.heading_deg, c.fov_deg, c.range_m, c.stream_url, c.status, c.grid_code,
       ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat
  FROM cameras c
 WHERE c.id = $1 AND ($2::text IS NULL OR c.grid_code LIKE $2::text || '%');

-- name: worker
-- $1 worker id, $2 scope (the workers layer reads worker_map: grid_code). Where the worker is
-- (the last position; without one, the point of their grid). No row for a worker with neither.
-- Output: id, code, name, role, phone, duty_status, last_seen, grid_code, department_id,
-- department_name, department_phone, lon, lat.
SELECT w.id, w.code, w.name, w.role, w.phone, w.duty_status, w.last_seen, w.grid_code,
       d.id AS department_id, d.name AS department_name, d.phone AS department_phone,
       ST_X(pt.p) AS lon, ST_Y(pt.p) AS lat
  FROM worker_map w
  LEFT JOIN departments d ON d.id = w.department_id
 CROSS JOIN LATERAL (
   SELECT coalesce(w.geom, (SELECT coalesce(g.label_point, ST_PointOnSurface(g.geom)) FROM grids g WHERE g.code = w.grid_code)) AS p
 ) pt
 WHERE w.id = $1 AND ($2::text IS NULL OR w.grid_code LIKE $2::text || '%') AND pt.p IS NOT NULL;

-- name: worker_tasks
-- The open cases assigned to worker $1, within scope $2, newest first, at most $3.
-- Output: id, code, stage, category_code, description, reported_at, deadline_at.
SELECT c.id, c.code, c.stage, c.category_code, c.description, c.reported_at, c.deadline_at
  FROM cases c
 WHERE c.worker_id = $1
   AND ($2::text IS NULL OR c.grid_code LIKE $2::text || '%')
   AND c.stage NOT IN ('closed', 'evaluated', 'cancelled', 'merged')
 ORDER BY c.reported_at DESC, c.id DESC
 LIMIT $3;

-- name: case_in_scope
-- $1 case id, $2 scope (the cases layer reads case_map: grid_code). Output: id, grid_code.
SELECT c.id, c.grid_code FROM case_map c
 WHERE c.id = $1 AND ($2::text IS NULL OR c.grid_code LIKE $2::text || '%');
