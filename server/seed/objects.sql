-- The demo city's objects on its geography (objects.ts drives these, in one transaction).
-- Rows come from JS as one JSON array parameter per batch ($1, read with json_to_recordset);
-- every row carries n, its place in the batch, and inserts run ORDER BY n so serial ids follow
-- the generator's order. Nothing here is random: the generator picks, SQL places and stores.
-- Coordinates in and out are WGS84 lon/lat; bearings are degrees clockwise from north,
-- measured in EPSG:3857 (conformal, so local angles are true).

-- name: already_seeded
-- Output: n > 0 when the objects are there already (their reference data is).
SELECT count(*)::int AS n FROM departments;

-- name: water_count
SELECT count(*)::int AS n FROM water;

-- name: dept_ids
SELECT id, code, name FROM departments ORDER BY id;

-- name: worker_ids
SELECT id, code FROM workers ORDER BY id;

-- name: part_ids
SELECT id, code FROM parts ORDER BY id;

-- name: sensor_ids
SELECT id, code FROM sensors ORDER BY id;

-- name: roads_usable
-- Output: n, the roads the seeder can walk (major, minor, path; not rail, ferry, tunnels).
SELECT count(*)::int AS n FROM roads
WHERE kind IN ('major_road', 'minor_road', 'path') AND coalesce(name, '') !~ '(隧道|地道)';

-- name: lines_from_roads
-- Output: temp table seed_lines(id, kind, kind_detail, name, geom LineString 4326, len_m): one
-- row per simple line of the usable roads that touch a grid (steps left out), numbered by road
-- id and part.
CREATE TEMP TABLE seed_lines ON COMMIT DROP AS
SELECT (row_number() OVER (ORDER BY r.id, d.path))::int AS id, r.kind, r.kind_detail, r.name, d.geom,
       ST_Length(d.geom::geography) AS len_m
FROM roads r CROSS JOIN LATERAL ST_Dump(r.geom) AS d
WHERE r.kind IN ('major_road', 'minor_road', 'path')
  AND coalesce(r.name, '') !~ '(隧道|地道)'
  AND coalesce(r.kind_detail, '') <> 'steps'
  AND EXISTS (SELECT 1 FROM grids g WHERE ST_Intersects(g.geom, r.geom))
  AND ST_Length(d.geom::geography) > 5;

-- name: lines_from_grid_edges
-- Fallback when there are no roads: the grid edges stand for the streets (kind major_road).
-- Output: the same temp table seed_lines.
CREATE TEMP TABLE seed_lines ON COMMIT DROP AS
WITH e AS (SELECT ST_LineMerge(ST_Union(ST_Boundary(geom) ORDER BY code)) AS g FROM grids)
SELECT (row_number() OVER (ORDER BY d.path))::int AS id, 'major_road'::text AS kind, 'secondary'::text AS kind_detail,
       NULL::text AS name, d.geom, ST_Length(d.geom::geography) AS len_m
FROM e CROSS JOIN LATERAL ST_Dump(e.g) AS d
WHERE ST_Length(d.geom::geography) > 5;

-- name: index_lines
CREATE INDEX seed_lines_geom_idx ON seed_lines USING gist (geom);

-- name: lines_summary
-- Output: kind, lines, km.
SELECT kind, count(*)::int AS lines, round((sum(len_m) / 1000)::numeric, 1)::float8 AS km
FROM seed_lines GROUP BY kind ORDER BY kind;

-- name: line_points
-- $1: JSON array of plans {n, kinds ('a|b'), spacing (m), phase (m from each line's start)}.
-- Output: plan, line_id, i, x, y (on the line), az (bearing of the line there), name (road),
-- kind — one point every `spacing` metres along each line of the plan's kinds.
SELECT p.n AS plan, l.id AS line_id, s.i, ST_X(q.pt) AS x, ST_Y(q.pt) AS y,
       coalesce(degrees(ST_Azimuth(ST_Transform(q.a, 3857), ST_Transform(q.b, 3857))), 0) AS az,
       l.name, l.kind
FROM json_to_recordset($1::json) AS p(n int, kinds text, spacing float8, phase float8)
JOIN seed_lines l ON l.kind = ANY (string_to_array(p.kinds, '|')) AND l.len_m >= p.phase
CROSS JOIN LATERAL generate_series(0, floor((l.len_m - p.phase) / p.spacing)::int) AS s(i)
CROSS JOIN LATERAL (SELECT least(1.0, (p.phase + s.i * p.spacing) / l.len_m) AS f, 2.0 / l.len_m AS d) AS ff
CROSS JOIN LATERAL (SELECT ST_LineInterpolatePoint(l.geom, ff.f) AS pt,
                           ST_LineInterpolatePoint(l.geom, greatest(0.0, ff.f - ff.d)) AS a,
                           ST_LineInterpolatePoint(l.geom, least(1.0, ff.f + ff.d)) AS b) AS q
ORDER BY p.n, l.id, s.i;

-- name: locate_points
-- $1: JSON array of {i, x, y}. Output: i, grid_code, district_code for the points inside a
-- grid (on a shared edge: the first grid by code); points outside every grid are left out.
SELECT p.i, g.code AS grid_code, g.district_code
FROM json_to_recordset($1::json) AS p(i int, x float8, y float8)
CROSS JOIN LATERAL (
  SELECT code, district_code FROM grids
  WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(p.x, p.y), 4326))
  ORDER BY code LIMIT 1
) AS g
ORDER BY p.i;

-- name: points_in_grids
-- $1: JSON array of {i, grid, count, seed (> 0)}. Output: i, k, x, y — `count` points spread at
-- random inside the grid by ST_GeneratePoints with the given seed (repeatable).
SELECT r.i, d.path[1] AS k, ST_X(d.geom) AS x, ST_Y(d.geom) AS y
FROM json_to_recordset($1::json) AS r(i int, grid text, count int, seed int)
JOIN grids g ON g.code = r.grid
CROSS JOIN LATERAL ST_Dump(ST_GeneratePoints(g.geom, r.count, r.seed)) AS d
ORDER BY r.i, d.path[1];

-- name: grid_info
-- Output: the grids with their admin names and a label point (x, y), by code.
SELECT g.code, g.name, g.community_code, g.street_code, g.district_code, g.area_m2,
       ST_X(p.pt) AS x, ST_Y(p.pt) AS y,
       c.name AS community_name, s.name AS street_name, d.name AS district_name
FROM grids g
CROSS JOIN LATERAL (SELECT coalesce(g.label_point, ST_PointOnSurface(g.geom)) AS pt) AS p
JOIN admin_units c ON c.code = g.community_code
JOIN admin_units s ON s.code = g.street_code
JOIN admin_units d ON d.code = g.district_code
ORDER BY g.code;

-- name: streets
-- Output: code, name, district_code of the streets that have grids.
SELECT s.code, s.name, s.parent_code AS district_code FROM admin_units s
WHERE s.level = 'street' AND EXISTS (SELECT 1 FROM grids g WHERE g.street_code = s.code)
ORDER BY s.code;

-- name: insert_departments
INSERT INTO departments (code, name, kind, phone)
SELECT code, name, kind, phone FROM json_to_recordset($1::json) AS r(n int, code text, name text, kind text, phone text)
ORDER BY n;

-- name: insert_part_classes
INSERT INTO part_classes (code, major_code, major_name, minor_name)
SELECT code, major_code, major_name, minor_name
FROM json_to_recordset($1::json) AS r(n int, code text, major_code text, major_name text, minor_name text)
ORDER BY n;

-- name: insert_case_categories
INSERT INTO case_categories (code, kind, major_code, major_name, minor_name, limits_hours, dept)
SELECT code, kind, major_code, major_name, minor_name, limits_hours, dept
FROM json_to_recordset($1::json) AS r(n int, code text, kind text, major_code text, major_name text, minor_name text, limits_hours jsonb, dept text)
ORDER BY n;

-- name: insert_party_branches
INSERT INTO party_branches (name, secretary, community_code)
SELECT name, secretary, community_code
FROM json_to_recordset($1::json) AS r(n int, name text, secretary text, community_code text)
ORDER BY n;

-- name: link_party_branches
UPDATE grids g SET party_branch_id = pb.id FROM party_branches pb WHERE pb.community_code = g.community_code;

-- name: insert_workers
-- $1: rows {n, code, name, phone, role, grid_code, department_id, duty_status}.
INSERT INTO workers (code, name, phone, role, grid_code, department_id, duty_status)
SELECT code, name, phone, role, grid_code, department_id, duty_status
FROM json_to_recordset($1::json) AS r(n int, code text, name text, phone text, role text, grid_code text, department_id int, duty_status text)
ORDER BY n;

-- name: insert_grid_team
INSERT INTO grid_team (grid_code, worker_id, role)
SELECT r.grid_code, w.id, r.role
FROM json_to_recordset($1::json) AS r(n int, grid_code text, worker_code text, role text)
JOIN workers w ON w.code = r.worker_code
ORDER BY r.n;

-- name: insert_parts
INSERT INTO parts (code, external_id, class_code, name, owner_dept_id, property_unit, maintainer_dept_id, state,
                   first_date, changed_at, source, note, grid_code, geom)
SELECT code, external_id, class_code, name, owner_dept_id, property_unit, maintainer_dept_id, state,
       first_date, changed_at, source, note, grid_code, ST_SetSRID(ST_MakePoint(x, y), 4326)
FROM json_to_recordset($1::json) AS r(n int, code text, external_id text, class_code text, name text, owner_dept_id int,
     property_unit text, maintainer_dept_id int, state text, first_date date, changed_at date, source text, note text,
     grid_code text, x float8, y float8)
ORDER BY n;

-- name: building_info
-- Output: the buildings (id order) with footprint area, levels (OSM's, else height / 3.2 m), a
-- point inside (x, y) and their grid (the building's own grid_code, else by spatial join).
SELECT b.id, b.kind, b.use, b.name, b.address, b.height_m,
       coalesce(b.levels, greatest(1, round(b.height_m / 3.2)))::int AS levels,
       ST_Area(b.geom::geography) AS area_m2, ST_X(p.pt) AS x, ST_Y(p.pt) AS y,
       coalesce(b.grid_code, (SELECT g.code FROM grids g WHERE ST_Intersects(g.geom, p.pt) ORDER BY g.code LIMIT 1)) AS grid_code
FROM buildings b CROSS JOIN LATERAL (SELECT ST_PointOnSurface(b.geom) AS pt) AS p
ORDER BY b.id;

-- name: bank_points
-- $1: spacing (m); $2: true to follow the water polygons (river banks), false for the edge of
-- the grids' land away from its bounding box (what borders the river when there is no water
-- table). Output: i, x, y, grid_code — a point every $1 m along the bank, moved about 3 m
-- inside the nearest grid within 80 m.
WITH src AS (
  SELECT w.id AS wid, d.geom AS g
  FROM water w CROSS JOIN LATERAL ST_Dump(ST_Boundary(w.geom)) AS d
  WHERE $2::boolean AND ST_Area(w.geom::geography) > 20000
  UNION ALL
  SELECT 0, d.geom
  FROM (SELECT ST_Union(geom ORDER BY code) AS u FROM grids) AS land CROSS JOIN LATERAL ST_Dump(ST_Boundary(land.u)) AS d
  WHERE NOT $2::boolean
), lines AS (
  SELECT row_number() OVER (ORDER BY wid, ST_XMin(g), ST_YMin(g), ST_NPoints(g)) AS lid, g, ST_Length(g::geography) AS len
  FROM src WHERE ST_Length(g::geography) > $1::float8
), pts AS (
  SELECT lid, k, ST_LineInterpolatePoint(g, (k + 0.5) * $1::float8 / len) AS p
  FROM lines CROSS JOIN LATERAL generate_series(0, floor(len / $1::float8)::int - 1) AS k
), env AS (
  SELECT ST_Boundary(ST_Envelope(ST_Collect(geom ORDER BY code))) AS e FROM grids
), near AS (
  SELECT pts.lid, pts.k, n.code, n.geom, pts.p
  FROM pts CROSS JOIN env
  CROSS JOIN LATERAL (
    SELECT code, geom FROM grids g WHERE ST_DWithin(g.geom, pts.p, 0.001)
    ORDER BY ST_Distance(g.geom, pts.p), code LIMIT 1
  ) AS n
  WHERE ST_DWithin(n.geom::geography, pts.p::geography, 80)
    AND ($2::boolean OR NOT ST_DWithin(env.e::geography, pts.p::geography, 40))
), inside AS (
  SELECT lid, k, code, ST_Buffer(geom, -0.00003) AS shrunk, p FROM near
)
SELECT (row_number() OVER (ORDER BY lid, k))::int AS i, ST_X(q.q) AS x, ST_Y(q.q) AS y, code AS grid_code
FROM inside CROSS JOIN LATERAL (SELECT ST_ClosestPoint(shrunk, p) AS q) AS q
WHERE NOT ST_IsEmpty(shrunk)
ORDER BY lid, k;

-- name: camera_nodes
-- $1: cluster cell (m in EPSG:3857). Intersections of major roads: line ends and crossings,
-- clustered to one node per cell, kept where lines of at least two different roads meet.
-- Output: node, x, y (the node), line_id, name, az — one row per approach (a major line
-- leaving the node for at least 20 m), az pointing from the node along that line.
WITH major AS (
  SELECT id, name, geom, len_m FROM seed_lines WHERE kind = 'major_road'
), pts AS (
  SELECT ST_StartPoint(geom) AS p FROM major
  UNION ALL SELECT ST_EndPoint(geom) FROM major
  UNION ALL
  SELECT d.geom FROM major a JOIN major b ON a.id < b.id AND ST_Intersects(a.geom, b.geom)
  CROSS JOIN LATERAL ST_Dump(ST_Intersection(a.geom, b.geom)) AS d
  WHERE GeometryType(d.geom) = 'POINT'
), cells AS (
  SELECT ST_Transform(ST_Centroid(ST_Collect(p ORDER BY ST_X(p), ST_Y(p))), 4326) AS node
  FROM (SELECT ST_Transform(p, 3857) AS p FROM pts) AS q
  GROUP BY ST_SnapToGrid(p, $1::float8)
), near AS (
  SELECT c.node, m.id, m.name, m.geom, m.len_m, ST_LineLocatePoint(m.geom, c.node) AS f
  FROM cells c JOIN major m ON ST_DWithin(m.geom, c.node, 0.00012)
), nodes AS (
  SELECT node, (row_number() OVER (ORDER BY ST_Y(node) DESC, ST_X(node)))::int AS nid
  FROM near GROUP BY node
  HAVING count(DISTINCT coalesce(name, id::text)) >= 2
), approaches AS (
  SELECT n.nid, n.node, a.id, a.name, a.geom, a.len_m, a.f, dir
  FROM nodes n JOIN near a ON a.node = n.node
  CROSS JOIN (VALUES (-1), (1)) AS dirs(dir)
  WHERE (dir = 1 AND (1 - a.f) * a.len_m > 20) OR (dir = -1 AND a.f * a.len_m > 20)
)
SELECT nid AS node, ST_X(node) AS x, ST_Y(node) AS y, id AS line_id, name,
       coalesce(degrees(ST_Azimuth(ST_Transform(ST_LineInterpolatePoint(geom, f), 3857),
                                   ST_Transform(ST_LineInterpolatePoint(geom, greatest(0.0, least(1.0, f + dir * 20 / len_m))), 3857))), 0) AS az
FROM approaches
ORDER BY nid, id, dir;

-- name: insert_sensors
INSERT INTO sensors (code, external_id, type, name, unit, thresholds, status, last_value, last_seen, installed_on, grid_code, geom)
SELECT code, external_id, type, name, unit, thresholds, status, last_value, last_seen, installed_on, grid_code,
       ST_SetSRID(ST_MakePoint(x, y), 4326)
FROM json_to_recordset($1::json) AS r(n int, code text, external_id text, type text, name text, unit text, thresholds jsonb,
     status text, last_value float8, last_seen timestamptz, installed_on date, grid_code text, x float8, y float8)
ORDER BY n;

-- name: insert_readings
-- $1: rows {id (sensor), t0 (first reading), v (hourly values from t0)}.
INSERT INTO sensor_readings (sensor_id, ts, value)
SELECT r.id, r.t0 + (u.o - 1) * interval '1 hour', u.v
FROM json_to_recordset($1::json) AS r(id int, t0 timestamptz, v float8[])
CROSS JOIN LATERAL unnest(r.v) WITH ORDINALITY AS u(v, o)
ORDER BY r.id, u.o;

-- name: insert_cameras
INSERT INTO cameras (code, name, kind, heading_deg, fov_deg, range_m, stream_url, status, grid_code, geom)
SELECT code, name, kind, heading_deg, fov_deg, range_m, stream_url, status, grid_code, ST_SetSRID(ST_MakePoint(x, y), 4326)
FROM json_to_recordset($1::json) AS r(n int, code text, name text, kind text, heading_deg float8, fov_deg float8,
     range_m float8, stream_url text, status text, grid_code text, x float8, y float8)
ORDER BY n;

-- name: insert_key_places
INSERT INTO key_places (external_id, name, kind, risk_color, geom)
SELECT external_id, name, kind, risk_color, ST_SetSRID(ST_MakePoint(x, y), 4326)
FROM json_to_recordset($1::json) AS r(n int, external_id text, name text, kind text, risk_color text, x float8, y float8)
ORDER BY n;

-- name: insert_organizations
INSERT INTO organizations (external_id, name, kind, address, contact, geom)
SELECT external_id, name, kind, address, contact, ST_SetSRID(ST_MakePoint(x, y), 4326)
FROM json_to_recordset($1::json) AS r(n int, external_id text, name text, kind text, address text, contact text, x float8, y float8)
ORDER BY n;

-- name: insert_houses
INSERT INTO houses (building_id, unit_no, floor, area_m2, use, is_rental, grid_code)
SELECT building_id, unit_no, floor, area_m2, use, is_rental, grid_code
FROM json_to_recordset($1::json) AS r(n int, building_id int, unit_no text, floor int, area_m2 float8, use text, is_rental boolean, grid_code text)
ORDER BY n;

-- name: house_ids
SELECT id, building_id, unit_no FROM houses ORDER BY id;

-- name: insert_people
INSERT INTO people (house_id, name, id_number, phone, gender, birth_year, category, special_group, risk_level, grid_code)
SELECT house_id, name, id_number, phone, gender, birth_year, category, special_group, risk_level, grid_code
FROM json_to_recordset($1::json) AS r(n int, house_id int, name text, id_number text, phone text, gender text,
     birth_year int, category text, special_group text, risk_level smallint, grid_code text)
ORDER BY n;

-- name: insert_cases
INSERT INTO cases (code, category_code, source, urgency, stage, description, address, grid_code, department_id, worker_id, reporter,
                   reported_at, accepted_at, verified_at, registered_at, dispatched_at, in_progress_at, handled_at, checked_at, closed_at,
                   evaluated_at, deadline_at, stage_started_at, stage_deadline_at, overdue, rework_count, outcome, satisfaction, geom)
SELECT code, category_code, source, urgency, stage, description, address, grid_code, department_id, worker_id, reporter,
       reported_at, accepted_at, verified_at, registered_at, dispatched_at, in_progress_at, handled_at, checked_at, closed_at,
       evaluated_at, deadline_at, stage_started_at, stage_deadline_at, overdue, rework_count, outcome, satisfaction, ST_SetSRID(ST_MakePoint(x, y), 4326)
FROM json_to_recordset($1::json) AS r(n int, code text, category_code text, source text, urgency text, stage text,
     description text, address text, grid_code text, department_id int, worker_id int, reporter text, reported_at timestamptz,
     accepted_at timestamptz, verified_at timestamptz, registered_at timestamptz, dispatched_at timestamptz,
     in_progress_at timestamptz, handled_at timestamptz, checked_at timestamptz, closed_at timestamptz, evaluated_at timestamptz,
     deadline_at timestamptz, stage_started_at timestamptz, stage_deadline_at timestamptz, overdue boolean, rework_count int, outcome text, satisfaction smallint, x float8, y float8)
ORDER BY n;

-- name: case_ids
SELECT id, code FROM cases ORDER BY id;

-- name: insert_case_actions
-- $1: rows {n, case_id, action, actor, role, from_stage, to_stage, at, note, x, y (null: no place)}.
INSERT INTO case_actions (case_id, action, actor, role, from_stage, to_stage, at, note, geom)
SELECT case_id, action, actor, role, from_stage, to_stage, at, note,
       CASE WHEN x IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(x, y), 4326) END
FROM json_to_recordset($1::json) AS r(n int, case_id int, action text, actor text, role text, from_stage text, to_stage text, at timestamptz, note text, x float8, y float8)
ORDER BY n;

-- name: mark_parts
-- $1: JSON array of {id, state, changed_at}: parts with an open case are no longer intact.
UPDATE parts p SET state = r.state, changed_at = r.changed_at
FROM json_to_recordset($1::json) AS r(id int, state text, changed_at date)
WHERE p.id = r.id;

-- name: patrol_network
-- $1: inset in degrees (0.0001: about 10 m). For each grid: where its workers walk — the seed lines
-- inside the grid shrunk by the inset, and the shrunk grid's edge (the pavement along the
-- boundary roads). Output: code, edge and lines as GeoJSON (lines may be null).
WITH g AS (
  SELECT code, ST_Buffer(geom, -$1::float8, 'quad_segs=2') AS inner FROM grids
)
SELECT g.code,
       ST_AsGeoJSON(ST_Boundary(g.inner), 7) AS edge,
       ST_AsGeoJSON((SELECT ST_CollectionExtract(ST_Collect(ST_Intersection(l.geom, g.inner) ORDER BY l.id), 2)
                     FROM seed_lines l WHERE ST_Intersects(l.geom, g.inner)), 7) AS lines
FROM g WHERE NOT ST_IsEmpty(g.inner)
ORDER BY g.code;

-- name: insert_positions
-- $1: rows {w (worker id), t0, step (s), x: [], y: []}: one fix every `step` seconds from t0.
INSERT INTO worker_positions (worker_id, ts, geom)
SELECT r.w, r.t0 + (u.o - 1) * make_interval(secs => r.step), ST_SetSRID(ST_MakePoint(u.x, u.y), 4326)
FROM json_to_recordset($1::json) AS r(w int, t0 timestamptz, step int, x float8[], y float8[])
CROSS JOIN LATERAL unnest(r.x, r.y) WITH ORDINALITY AS u(x, y, o)
ORDER BY r.w, r.t0, u.o;

-- name: update_workers
-- $1: rows {code, duty_status, last_seen, x, y}: the live state after the track history.
UPDATE workers w SET duty_status = r.duty_status, last_seen = r.last_seen,
       geom = CASE WHEN r.x IS NULL THEN NULL ELSE ST_SetSRID(ST_MakePoint(r.x, r.y), 4326) END
FROM json_to_recordset($1::json) AS r(code text, duty_status text, last_seen timestamptz, x float8, y float8)
WHERE w.code = r.code;

-- Grid codes by spatial join, one statement per table: the grid whose polygon holds the
-- object's point on surface (on a shared edge, the first by code), NULL outside every grid.
-- Rows are inserted with the grid the generator located them in by the same rule, so these
-- statements write only where that differs (or was unknown) — reading is cheap, rewriting a
-- row is not (its generated 3857 column and indexes are rebuilt).

-- name: grid_parts
UPDATE parts t SET grid_code = j.code
FROM (SELECT x.id, (SELECT g.code FROM grids g WHERE ST_Intersects(g.geom, ST_PointOnSurface(x.geom)) ORDER BY g.code LIMIT 1) AS code
      FROM parts x) AS j
WHERE j.id = t.id AND t.grid_code IS DISTINCT FROM j.code;

-- name: grid_sensors
UPDATE sensors t SET grid_code = j.code
FROM (SELECT x.id, (SELECT g.code FROM grids g WHERE ST_Intersects(g.geom, ST_PointOnSurface(x.geom)) ORDER BY g.code LIMIT 1) AS code
      FROM sensors x) AS j
WHERE j.id = t.id AND t.grid_code IS DISTINCT FROM j.code;

-- name: grid_cameras
UPDATE cameras t SET grid_code = j.code
FROM (SELECT x.id, (SELECT g.code FROM grids g WHERE ST_Intersects(g.geom, ST_PointOnSurface(x.geom)) ORDER BY g.code LIMIT 1) AS code
      FROM cameras x) AS j
WHERE j.id = t.id AND t.grid_code IS DISTINCT FROM j.code;

-- name: grid_organizations
UPDATE organizations t SET grid_code = j.code
FROM (SELECT x.id, (SELECT g.code FROM grids g WHERE ST_Intersects(g.geom, ST_PointOnSurface(x.geom)) ORDER BY g.code LIMIT 1) AS code
      FROM organizations x) AS j
WHERE j.id = t.id AND t.grid_code IS DISTINCT FROM j.code;

-- name: grid_key_places
UPDATE key_places t SET grid_code = j.code
FROM (SELECT x.id, (SELECT g.code FROM grids g WHERE ST_Intersects(g.geom, ST_PointOnSurface(x.geom)) ORDER BY g.code LIMIT 1) AS code
      FROM key_places x) AS j
WHERE j.id = t.id AND t.grid_code IS DISTINCT FROM j.code;

-- name: grid_cases
UPDATE cases t SET grid_code = j.code
FROM (SELECT x.id, (SELECT g.code FROM grids g WHERE ST_Intersects(g.geom, ST_PointOnSurface(x.geom)) ORDER BY g.code LIMIT 1) AS code
      FROM cases x) AS j
WHERE j.id = t.id AND t.grid_code IS DISTINCT FROM j.code;

-- name: grid_houses
-- Houses take their building's grid (its own grid_code, else the grid holding its point on surface).
UPDATE houses h SET grid_code = bg.code
FROM (SELECT b.id, coalesce(b.grid_code, (SELECT g.code FROM grids g WHERE ST_Intersects(g.geom, ST_PointOnSurface(b.geom)) ORDER BY g.code LIMIT 1)) AS code
      FROM buildings b) AS bg
WHERE bg.id = h.building_id AND h.grid_code IS DISTINCT FROM bg.code;

-- name: grid_people
-- People take their house's grid.
UPDATE people p SET grid_code = h.grid_code FROM houses h WHERE h.id = p.house_id AND p.grid_code IS DISTINCT FROM h.grid_code;

-- name: counts
SELECT (SELECT count(*)::int FROM departments) AS departments,
       (SELECT count(*)::int FROM part_classes) AS part_classes,
       (SELECT count(*)::int FROM case_categories) AS case_categories,
       (SELECT count(*)::int FROM party_branches) AS party_branches,
       (SELECT count(*)::int FROM workers) AS workers,
       (SELECT count(*)::int FROM grid_team) AS grid_team,
       (SELECT count(*)::int FROM parts) AS parts,
       (SELECT count(*)::int FROM sensors) AS sensors,
       (SELECT count(*)::int FROM sensor_readings) AS sensor_readings,
       (SELECT count(*)::int FROM cameras) AS cameras,
       (SELECT count(*)::int FROM houses) AS houses,
       (SELECT count(*)::int FROM people) AS people,
       (SELECT count(*)::int FROM organizations) AS organizations,
       (SELECT count(*)::int FROM key_places) AS key_places,
       (SELECT count(*)::int FROM cases) AS cases,
       (SELECT count(*)::int FROM case_actions) AS case_actions,
       (SELECT count(*)::int FROM worker_positions) AS worker_positions;
