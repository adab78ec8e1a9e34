-- What the simulator reads from the database (simulator.ts): the sensor fleet, the workers on
-- duty and the road network they walk. Coordinates are WGS84 lon/lat.

-- name: sensors
-- $1 boolean: include synthetic (scale) sensors. Output: id, code, type, grid_code, lon, lat,
-- warn, alarm (thresholds in the sensor's unit; NULL when unset), last_value.
SELECT id, code, type, grid_code, ST_X(geom) AS lon, ST_Y(geom) AS lat,
       (thresholds ->> 'warn')::float8 AS warn, (thresholds ->> 'alarm')::float8 AS alarm, last_value
FROM sensors
WHERE $1::boolean OR NOT synthetic
ORDER BY id;

-- name: workers
-- $1 boolean: include synthetic workers. Output: id, code, grid_code, lon, lat — the workers on
-- duty (on_duty, busy), where they were last (or their grid's label point), and their grid.
SELECT w.id, w.code, w.grid_code,
       ST_X(coalesce(w.geom, g.label_point, ST_PointOnSurface(g.geom))) AS lon,
       ST_Y(coalesce(w.geom, g.label_point, ST_PointOnSurface(g.geom))) AS lat
FROM workers w LEFT JOIN grids g ON g.code = w.grid_code
WHERE w.duty_status IN ('on_duty', 'busy') AND ($1::boolean OR NOT w.synthetic)
  AND coalesce(w.geom, g.label_point, g.geom) IS NOT NULL
ORDER BY w.id;

-- name: road_lines
-- The walkable roads (not rail, ferries, tunnels, steps) near the grids, one row per simple
-- line. Output: id, coords (GeoJSON coordinates of a LineString, as text).
SELECT r.id, (ST_AsGeoJSON(d.geom, 7)::json -> 'coordinates')::text AS coords
FROM roads r CROSS JOIN LATERAL ST_Dump(r.geom) AS d
WHERE r.kind IN ('major_road', 'minor_road', 'path')
  AND coalesce(r.name, '') !~ '(隧道|地道)'
  AND coalesce(r.kind_detail, '') <> 'steps'
  AND r.geom && (SELECT ST_Expand(ST_Extent(geom), 0.005) FROM grids WHERE NOT synthetic)
ORDER BY r.id, d.path;

-- name: grid_of_points
-- $1 float8[] lon, $2 float8[] lat. Output: i (1-based index into the arrays), grid_code — the
-- grid containing each point (points in no grid are left out).
SELECT p.i::int AS i, g.code AS grid_code
FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS p(lon, lat, i)
JOIN grids g ON ST_Intersects(g.geom, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326))
WHERE NOT g.synthetic;

-- name: relay_user
-- The account the in-process simulator posts positions as: one of the top scope whose role may
-- report for other workers (permission positions.relay). Output: id.
SELECT u.id FROM users u JOIN admin_units a ON a.code = u.scope_code
WHERE a.parent_code IS NULL AND NOT u.disabled
  AND EXISTS (SELECT 1 FROM role_permissions rp WHERE rp.role = u.role AND rp.permission = 'positions.relay')
ORDER BY u.id
LIMIT 1;

-- name: citizen_spots
-- $1 boolean: include synthetic grids. Output: grid, name, lon, lat — where simulated citizens
-- report from: each grid's label point (inside the grid).
SELECT code AS grid, name, ST_X(label_point) AS lon, ST_Y(label_point) AS lat
FROM grids
WHERE label_point IS NOT NULL AND ($1::boolean OR NOT synthetic)
ORDER BY code;

-- name: citizen_categories
-- What citizens report: the event categories (parts are reported by their class codes, which citizens do not know). Output: code, name.
SELECT code, minor_name AS name
FROM case_categories
WHERE kind = 'event'
ORDER BY code;
