-- The scale generator: synthetic districts around the real area, for benchmarks. Everything
-- here is marked synthetic and generated in the database (INSERT … SELECT generate_series), one
-- district per call, so progress can be reported and a run can be resumed.
--
-- A synthetic district is a lattice of 50 × 40 unit grids (0.002° × 0.002°) = 20 streets ×
-- 10 communities × 10 grids, with 10 sensors and 2 cameras per grid and a worker for every
-- two grids. Codes nest like real ones under 上海市: district 315000, 315001, … (31 + 50 + i).
-- Positions inside a grid come from a fixed integer hash of the row number, so the same run
-- gives the same data.

-- name: insert_district
-- $1 code (6 digits), $2 name, $3 west, $4 north (degrees): the district's top-left corner.
INSERT INTO admin_units (code, level, name, parent_code, gb_code, synthetic, geom)
VALUES ($1::text, 'district', $2::text, '310000', $1::text, true,
        ST_Multi(ST_MakeEnvelope($3::float8, $4::float8 - 40 * 0.002, $3::float8 + 50 * 0.002, $4::float8, 4326)));

-- name: insert_streets
-- $1 district code, $2 west, $3 north. Street s (1…20) covers 5 lattice columns × 20 rows:
-- columns 5·((s−1) mod 10) …, rows 20·((s−1) div 10) ….
INSERT INTO admin_units (code, level, name, parent_code, synthetic, geom)
SELECT $1::text || lpad(s::text, 3, '0'), 'street', '合成街道' || s, $1::text, true,
       ST_Multi(ST_MakeEnvelope($2::float8 + ((s - 1) % 10) * 5 * 0.002, $3::float8 - (((s - 1) / 10) + 1) * 20 * 0.002,
                                $2::float8 + (((s - 1) % 10) + 1) * 5 * 0.002, $3::float8 - ((s - 1) / 10) * 20 * 0.002, 4326))
FROM generate_series(1, 20) AS s;

-- name: insert_communities
-- $1 district code, $2 west, $3 north. Community c (1…10) of a street: 5 columns × 2 rows of grids.
INSERT INTO admin_units (code, level, name, parent_code, synthetic, geom)
SELECT $1::text || lpad(s::text, 3, '0') || lpad(c::text, 3, '0'), 'community', '合成社区' || s || '-' || c,
       $1::text || lpad(s::text, 3, '0'), true,
       ST_Multi(ST_MakeEnvelope($2::float8 + ((s - 1) % 10) * 5 * 0.002, $3::float8 - (((s - 1) / 10) * 20 + c * 2) * 0.002,
                                $2::float8 + (((s - 1) % 10) + 1) * 5 * 0.002, $3::float8 - (((s - 1) / 10) * 20 + (c - 1) * 2) * 0.002, 4326))
FROM generate_series(1, 20) AS s, generate_series(1, 10) AS c;

-- name: insert_grids
-- $1 district code, $2 west, $3 north. Grid g (1…10) of a community: row (g−1) div 5, column (g−1) mod 5.
INSERT INTO grids (code, name, community_code, street_code, district_code, area_m2, synthetic, geom, label_point)
SELECT cc || lpad(g::text, 3, '0'), '合成网格' || s || '-' || c || '-' || g, cc, sc, $1::text,
       ST_Area(cell::geography), true, ST_Multi(cell), ST_Centroid(cell)
FROM generate_series(1, 20) AS s, generate_series(1, 10) AS c, generate_series(1, 10) AS g,
     LATERAL (SELECT $1::text || lpad(s::text, 3, '0') AS sc) st,
     LATERAL (SELECT st.sc || lpad(c::text, 3, '0') AS cc) co,
     LATERAL (SELECT ST_MakeEnvelope(
        $2::float8 + (((s - 1) % 10) * 5 + (g - 1) % 5) * 0.002,
        $3::float8 - (((s - 1) / 10) * 20 + (c - 1) * 2 + (g - 1) / 5 + 1) * 0.002,
        $2::float8 + (((s - 1) % 10) * 5 + (g - 1) % 5 + 1) * 0.002,
        $3::float8 - (((s - 1) / 10) * 20 + (c - 1) * 2 + (g - 1) / 5) * 0.002, 4326) AS cell) ce
ORDER BY 1;

-- name: insert_sensors
-- $1 district code, $2 sensors per grid. Type, status and position from a hash of the row number.
INSERT INTO sensors (code, type, name, unit, thresholds, status, grid_code, synthetic, geom)
SELECT 'S' || g.code || lpad(k::text, 2, '0'),
       t.type, '合成' || t.label || '传感器', t.unit, t.thresholds,
       CASE WHEN h % 100 < 3 THEN 'offline' WHEN h % 1000 < 5 THEN 'alarm' ELSE 'online' END,
       g.code, true,
       ST_SetSRID(ST_MakePoint(ST_XMin(g.geom) + 0.002 * ((h % 997) / 997.0), ST_YMin(g.geom) + 0.002 * ((h / 997 % 991) / 991.0)), 4326)
FROM grids g, generate_series(1, $2::int) AS k,
     LATERAL (SELECT abs(hashtext(g.code || ':' || k)) AS h) hh,
     LATERAL (SELECT * FROM (VALUES
       (0, 'smoke', '烟感', 'ppm', '{"warn": 50, "alarm": 100}'::jsonb),
       (1, 'gas', '燃气', '%LEL', '{"warn": 10, "alarm": 25}'::jsonb),
       (2, 'noise', '噪声', 'dB', '{"warn": 70, "alarm": 85}'::jsonb),
       (3, 'dust', '扬尘', 'µg/m³', '{"warn": 75, "alarm": 150}'::jsonb),
       (4, 'water_level', '水位', 'm', '{"warn": 4.2, "alarm": 4.8}'::jsonb),
       (5, 'cover_tilt', '井盖倾斜', '°', '{"warn": 10, "alarm": 20}'::jsonb),
       (6, 'structural', '结构', 'mm', '{"warn": 5, "alarm": 10}'::jsonb)) AS v(i, type, label, unit, thresholds)
       WHERE v.i = hh.h % 7) t
WHERE g.district_code = $1::text
ORDER BY 1;

-- name: insert_cameras
-- $1 district code, $2 cameras per grid.
INSERT INTO cameras (code, name, kind, heading_deg, fov_deg, range_m, stream_url, status, grid_code, synthetic, geom)
SELECT 'V' || g.code || lpad(k::text, 2, '0'), '合成摄像机' || g.code || '-' || k,
       CASE WHEN h % 4 = 0 THEN 'ptz' ELSE 'fixed' END,
       (h % 360)::float8, CASE WHEN h % 4 = 0 THEN 360 ELSE 60 END, 50 + h % 100,
       'rtsp://demo.invalid/cam/V' || g.code || lpad(k::text, 2, '0'),
       CASE WHEN h % 100 < 4 THEN 'offline' ELSE 'online' END,
       g.code, true,
       ST_SetSRID(ST_MakePoint(ST_XMin(g.geom) + 0.002 * ((h % 983) / 983.0), ST_YMin(g.geom) + 0.002 * ((h / 983 % 977) / 977.0)), 4326)
FROM grids g, generate_series(1, $2::int) AS k, LATERAL (SELECT abs(hashtext('cam:' || g.code || ':' || k)) AS h) hh
WHERE g.district_code = $1::text
ORDER BY 1;

-- name: insert_workers
-- $1 district code: one grid worker for every second grid (odd grid numbers).
INSERT INTO workers (code, name, role, grid_code, duty_status, synthetic, geom, last_seen)
SELECT 'W' || g.code, '合成网格员' || g.code, 'grid_worker', g.code,
       CASE WHEN h % 3 = 0 THEN 'off_duty' ELSE 'on_duty' END, true, ST_Centroid(g.geom), NULL
FROM grids g, LATERAL (SELECT abs(hashtext('w:' || g.code)) AS h) hh
WHERE g.district_code = $1::text AND right(g.code, 1)::int % 2 = 1
ORDER BY 1;

-- name: counts
SELECT (SELECT count(*)::int FROM grids) AS grids,
       (SELECT count(*)::int FROM sensors) AS sensors,
       (SELECT count(*)::int FROM cameras) AS cameras,
       (SELECT count(*)::int FROM workers) AS workers,
       (SELECT count(*)::int FROM admin_units WHERE synthetic AND level = 'district') AS synthetic_districts;
