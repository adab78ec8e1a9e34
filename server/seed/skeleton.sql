-- The first small admin/grid hierarchy over the demo area (the Bund and Lujiazui).
-- Land = the OSM land polygons (the river and creeks are already cut out); its pieces fall to 黄浦区, 浦东新区 and 虹口区 by which bank they are on; each district gets one
-- real street (cn-codes) and one community; grids are a lattice of cells cut by the land.

-- name: create_land
-- $1: GeoJSON FeatureCollection text of the OSM "earth" polygons (they cover the river too);
-- $2: the OSM water polygons (kinds water and riverbank) cut out of them.
-- Output: temp table seed_land(district_code, geom), one row per piece of land over 5,000 m².
-- The river and Suzhou Creek split the land; a piece goes to 浦东新区 if it holds the Lujiazui
-- reference point, to 虹口区 if it lies north of Suzhou Creek, else to 黄浦区.
CREATE TEMP TABLE seed_land ON COMMIT DROP AS
WITH polys AS (
  SELECT n, ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(f -> 'geometry'), 4326)) AS geom
  FROM (VALUES (1, $1::jsonb), (2, $2::jsonb)) AS fc(n, doc), jsonb_array_elements(doc -> 'features') AS f
  WHERE f -> 'geometry' ->> 'type' IN ('Polygon', 'MultiPolygon')
    AND (n = 1 OR f -> 'properties' ->> 'kind' IN ('water', 'riverbank'))
), pieces AS (
  SELECT (ST_Dump(ST_Difference((SELECT ST_Union(geom) FROM polys WHERE n = 1),
                                (SELECT ST_Union(geom) FROM polys WHERE n = 2)))).geom AS geom
)
SELECT CASE
         WHEN ST_Intersects(geom, ST_SetSRID(ST_MakePoint(121.5115, 31.2373), 4326)) THEN '310115'
         WHEN ST_Y(ST_PointOnSurface(geom)) > 31.2455 THEN '310109'
         ELSE '310101'
       END AS district_code,
       geom
FROM pieces
WHERE ST_Area(geom::geography) > 5000;

-- name: insert_units
-- $1: JSON array of { code, level, name, parent_code, district_code|null }.
-- A unit with district_code takes the union of that district's land as its geometry; the
-- city takes all the land.
INSERT INTO admin_units (code, level, name, parent_code, geom)
SELECT u ->> 'code', u ->> 'level', u ->> 'name', u ->> 'parent_code',
       ST_Multi(CASE WHEN u ->> 'district_code' IS NULL
                     THEN (SELECT ST_Union(geom) FROM seed_land)
                     ELSE (SELECT ST_Union(geom) FROM seed_land l WHERE l.district_code = u ->> 'district_code')
                END)
FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(u, n)
ORDER BY n;

-- name: insert_grids
-- $1..$4: west, south, east, north; $5, $6: cell width and height in degrees;
-- $7: JSON object district_code → { street_code, community_code, street_name }.
-- Cells are cut by each district's land; pieces under 2,000 m² are dropped. Numbering:
-- row by row from the north, west to east within a row, per community.
WITH a AS (
  SELECT $1::float8 AS w, $2::float8 AS s, $3::float8 AS e, $4::float8 AS n, $5::float8 AS cw, $6::float8 AS ch
), cells AS (
  SELECT c, r, ST_MakeEnvelope(w + c * cw, n - (r + 1) * ch, w + (c + 1) * cw, n - r * ch, 4326) AS cell
  FROM a, generate_series(0, ceil((e - w) / cw)::int - 1) AS c, generate_series(0, ceil((n - s) / ch)::int - 1) AS r
), pieces AS (
  SELECT cells.r, cells.c, l.district_code,
         ST_Multi(ST_CollectionExtract(ST_Intersection(cells.cell, l.geom), 3)) AS geom
  FROM cells JOIN seed_land l ON ST_Intersects(cells.cell, l.geom)
), kept AS (
  SELECT p.*, $7::jsonb -> p.district_code AS unit
  FROM pieces p
  WHERE NOT ST_IsEmpty(p.geom) AND ST_Area(p.geom::geography) >= 2000
), numbered AS (
  SELECT k.*, row_number() OVER (PARTITION BY k.district_code ORDER BY k.r, k.c,
                                 ST_X(ST_PointOnSurface(k.geom))) AS n
  FROM kept k
)
INSERT INTO grids (code, name, community_code, street_code, district_code, area_m2, geom)
SELECT (unit ->> 'community_code') || lpad(n::text, 3, '0'),
       (unit ->> 'street_name') || '第' || lpad(n::text, 2, '0') || '网格',
       unit ->> 'community_code', unit ->> 'street_code', district_code,
       round(ST_Area(geom::geography)::numeric, 1)::double precision,
       geom
FROM numbered
ORDER BY district_code, n;
