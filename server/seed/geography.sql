-- The demo city's geography, from the real OpenStreetMap data of the Bund and Lujiazui.
-- All statements run in one transaction; osm_* and geo_* are temp tables dropped at commit.
--
-- 1. districts: the real district boundary lines (虹口区 - 黄浦区, 浦东新区 - 黄浦区, …) cut the data's
--    extent into faces; each face is the district its boundary lines name most (by shared length).
-- 2. blocks: the road network (major and minor roads, no tunnels, no service ways), the district
--    lines, the shore and the extent ring are noded and polygonized into faces that tile the area
--    seamlessly, river included; a face is water when its point on surface is in the river.
-- 3. streets (real codes; rules in data/streets.json), communities and unit grids are groups of
--    whole blocks (k-means on the blocks' points, a target size per group), so grid edges follow
--    roads and the shore. Numbering is west → east, north → south.

-- name: create_osm
-- Output: temp table osm(layer, id, p, geom) for the OSM layers loaded by insert_osm.
CREATE TEMP TABLE osm (layer text NOT NULL, id text, p jsonb NOT NULL, geom geometry NOT NULL) ON COMMIT DROP;

-- name: insert_osm
-- $1: layer name; $2: GeoJSON FeatureCollection text. Tile-clipped pieces stay pieces here.
INSERT INTO osm (layer, id, p, geom)
SELECT $1::text, f -> 'properties' ->> 'id', f -> 'properties', ST_MakeValid(ST_SetSRID(ST_GeomFromGeoJSON(f -> 'geometry'), 4326))
FROM jsonb_array_elements($2::jsonb -> 'features') WITH ORDINALITY AS a(f, n)
ORDER BY n;

-- name: create_extent
-- Output: temp table geo_extent(geom): the data's extent (the OSM earth layer's envelope).
CREATE TEMP TABLE geo_extent ON COMMIT DROP AS
SELECT ST_SetSRID(ST_Envelope(ST_Collect(geom)), 4326) AS geom FROM osm WHERE layer = 'earth';

-- name: create_districts
-- $1: JSON object district name → 6-digit code. Output: temp table geo_district(code, geom).
CREATE TEMP TABLE geo_district ON COMMIT DROP AS
WITH lines AS (
  SELECT o.p ->> 'name' AS name, ST_CollectionExtract(ST_Intersection(o.geom, e.geom), 2) AS g
  FROM osm o, geo_extent e WHERE o.layer = 'boundaries'
), faces AS (
  SELECT n AS face_id, d.geom
  FROM (SELECT ST_Polygonize(g) AS g FROM (SELECT ST_Node(ST_Collect(g ORDER BY name, ST_AsBinary(g))) AS g FROM (
          SELECT name, g FROM lines UNION ALL SELECT 'extent', ST_ExteriorRing(geom) FROM geo_extent) l) n) p,
       ST_Dump(p.g) WITH ORDINALITY AS d(path, geom, n)
), shared AS (
  SELECT f.face_id, trim(part) AS district, ST_Length(ST_Intersection(ST_Boundary(f.geom), ST_Buffer(l.g, 0.000001))) AS len
  FROM faces f JOIN lines l ON ST_DWithin(f.geom, l.g, 0.000001), unnest(string_to_array(l.name, ' - ')) AS part
), best AS (
  SELECT DISTINCT ON (face_id) face_id, district FROM (
    SELECT face_id, district, sum(len) AS len FROM shared GROUP BY face_id, district) s
  ORDER BY face_id, len DESC, district
)
SELECT $1::jsonb ->> b.district AS code, ST_Multi(ST_Union(f.geom)) AS geom
FROM faces f JOIN best b USING (face_id)
GROUP BY 1;

-- name: create_water
-- Output: temp table geo_water(geom): the river and creeks inside the extent, one geometry.
CREATE TEMP TABLE geo_water ON COMMIT DROP AS
SELECT ST_CollectionExtract(ST_Intersection(ST_Union(o.geom), e.geom), 3) AS geom
FROM osm o, geo_extent e
WHERE o.layer = 'water' AND ST_Dimension(o.geom) = 2 AND o.p ->> 'kind' IN ('water', 'riverbank')
GROUP BY e.geom;

-- name: create_blocks
-- $1: JSON object district code → [{ code, box?: [w, s, e, n] }] (data/streets.json).
-- Output: temp table geo_block(block_id, district_code, street_code, is_water, area_m2, pos, geom).
CREATE TEMP TABLE geo_block ON COMMIT DROP AS
WITH lines AS (
  SELECT ST_CollectionExtract(ST_Intersection(o.geom, e.geom), 2) AS g, o.id
  FROM osm o, geo_extent e
  WHERE o.layer = 'roads'
    AND o.p ->> 'kind' IN ('major_road', 'minor_road')
    AND coalesce(o.p ->> 'kind_detail', '') NOT IN ('service', 'footway', 'pedestrian', 'cycleway', 'path', 'steps', 'pier', 'living_street')
    AND NOT coalesce((o.p ->> 'is_tunnel')::boolean, false)
  UNION ALL
  SELECT ST_CollectionExtract(ST_Intersection(o.geom, e.geom), 2), o.id FROM osm o, geo_extent e WHERE o.layer = 'boundaries'
  UNION ALL
  SELECT ST_Boundary(geom), 'shore' FROM geo_water
  UNION ALL
  SELECT ST_ExteriorRing(geom), 'extent' FROM geo_extent
), faces AS (
  SELECT d.geom
  FROM (SELECT ST_Polygonize(g) AS g FROM (
          SELECT ST_UnaryUnion(ST_Collect(d.geom ORDER BY id, ST_AsBinary(d.geom))) AS g
          FROM lines, ST_Dump(lines.g) AS d WHERE NOT ST_IsEmpty(lines.g)) n) p,
       ST_Dump(p.g) AS d
), attrs AS (
  SELECT f.geom, ST_PointOnSurface(f.geom) AS pos, ST_Area(f.geom::geography) AS area_m2,
         -- The shore is in the linework, so a face is all water or all land: test one point.
         ST_Intersects(w.geom, ST_PointOnSurface(f.geom)) AS is_water
  FROM faces f, geo_water w
  WHERE ST_Area(f.geom::geography) > 1
)
SELECT row_number() OVER (ORDER BY ST_Y(a.pos) DESC, ST_X(a.pos)) AS block_id,
       d.code AS district_code,
       (SELECT r ->> 'code' FROM jsonb_array_elements($1::jsonb -> d.code) WITH ORDINALITY AS x(r, n)
         WHERE r -> 'box' IS NULL
            OR ST_Intersects(a.pos, ST_MakeEnvelope((r -> 'box' ->> 0)::float8, (r -> 'box' ->> 1)::float8,
                                                    (r -> 'box' ->> 2)::float8, (r -> 'box' ->> 3)::float8, 4326))
         ORDER BY n LIMIT 1) AS street_code,
       a.is_water, a.area_m2, a.pos, a.geom,
       NULL::int AS community_cluster, NULL::int AS community_no, NULL::int AS grid_cluster
FROM attrs a JOIN geo_district d ON ST_Intersects(d.geom, a.pos);

-- name: map_slivers
-- $1: smallest block in m². Output: temp table geo_sliver(tiny_id, into_id): each smaller block
-- (slivers between roads at junctions) goes to the neighbour it shares the longest edge with,
-- preferring one of the same kind (land or water).
CREATE TEMP TABLE geo_sliver ON COMMIT DROP AS
SELECT DISTINCT ON (t.block_id) t.block_id AS tiny_id, b.block_id AS into_id
FROM geo_block t
JOIN geo_block b ON b.block_id <> t.block_id AND b.area_m2 >= $1::float8 AND ST_Intersects(t.geom, b.geom)
WHERE t.area_m2 < $1::float8
ORDER BY t.block_id, (b.is_water = t.is_water) DESC, ST_Length(ST_Intersection(t.geom, b.geom)) DESC, b.block_id;

-- name: merge_slivers
UPDATE geo_block b SET geom = m.geom, area_m2 = ST_Area(m.geom::geography), pos = ST_PointOnSurface(m.geom)
FROM (SELECT s.into_id, ST_Union(b2.geom) AS geom
      FROM (SELECT into_id, tiny_id AS id FROM geo_sliver UNION ALL SELECT DISTINCT into_id, into_id FROM geo_sliver) s
      JOIN geo_block b2 ON b2.block_id = s.id
      GROUP BY s.into_id) m
WHERE b.block_id = m.into_id;

-- name: drop_slivers
DELETE FROM geo_block WHERE block_id IN (SELECT tiny_id FROM geo_sliver);

-- name: assign_communities
-- $1: target community size in m². Adds geo_block.community_no (1-based, per street, numbered
-- north → south then west → east by the community's centre).
WITH k AS (
  SELECT street_code, least(count(*), greatest(1, round(sum(area_m2) / $1::float8)))::int AS k FROM geo_block GROUP BY street_code
), c AS (
  SELECT b.block_id, ST_ClusterKMeans(b.pos, k.k)
           OVER (PARTITION BY b.street_code ORDER BY b.block_id) AS cl
  FROM geo_block b JOIN k USING (street_code)
)
UPDATE geo_block b SET community_cluster = c.cl FROM c WHERE c.block_id = b.block_id;

-- name: number_communities
WITH centres AS (
  SELECT street_code, community_cluster, ST_Centroid(ST_Collect(pos)) AS c FROM geo_block GROUP BY 1, 2
), n AS (
  SELECT street_code, community_cluster,
         row_number() OVER (PARTITION BY street_code ORDER BY round(ST_Y(c)::numeric, 3) DESC, ST_X(c)) AS no
  FROM centres
)
UPDATE geo_block b SET community_no = n.no FROM n
WHERE n.street_code = b.street_code AND n.community_cluster = b.community_cluster;

-- name: assign_grids
-- $1: target land grid size in m²; $2: target water grid size in m². Adds geo_block.grid_cluster:
-- blocks of one community and one kind (land or water) grouped by k-means.
WITH k AS (
  SELECT street_code, community_no, is_water,
         least(count(*), greatest(1, round(sum(area_m2) / CASE WHEN is_water THEN $2::float8 ELSE $1::float8 END)))::int AS k
  FROM geo_block GROUP BY 1, 2, 3
), c AS (
  SELECT b.block_id, ST_ClusterKMeans(b.pos, k.k)
           OVER (PARTITION BY b.street_code, b.community_no, b.is_water ORDER BY b.block_id) AS cl
  FROM geo_block b JOIN k USING (street_code, community_no, is_water)
)
UPDATE geo_block b SET grid_cluster = c.cl FROM c WHERE c.block_id = b.block_id;

-- name: insert_units
-- $1: JSON array of { code, level, name, parent_code, gb_code } for the city, districts and
-- streets; communities are made here from the blocks. Geometry: union of the unit's blocks.
WITH u AS (
  SELECT x ->> 'code' AS code, x ->> 'level' AS level, x ->> 'name' AS name, x ->> 'parent_code' AS parent_code,
         x ->> 'gb_code' AS gb_code, n
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(x, n)
)
INSERT INTO admin_units (code, level, name, parent_code, gb_code, geom)
SELECT u.code, u.level, u.name, u.parent_code, u.gb_code,
       ST_Multi(ST_Union(b.geom))
FROM u LEFT JOIN geo_block b
  ON (u.level = 'city') OR (u.level = 'district' AND b.district_code = u.code) OR (u.level = 'street' AND b.street_code = u.code)
GROUP BY u.code, u.level, u.name, u.parent_code, u.gb_code, u.n
ORDER BY u.n;

-- name: insert_communities
-- Communities (generated names: "<street>第N社区"), 12 digits = street + 3.
INSERT INTO admin_units (code, level, name, parent_code, geom)
SELECT b.street_code || lpad(b.community_no::text, 3, '0'), 'community',
       regexp_replace(s.name, '街道$', '') || '第' || b.community_no || '社区',
       b.street_code, ST_Multi(ST_Union(b.geom))
FROM geo_block b JOIN admin_units s ON s.code = b.street_code
GROUP BY b.street_code, b.community_no, s.name
ORDER BY 1;

-- name: insert_grids
-- Unit grids: union of each cluster's blocks; 15 digits = community + 3, numbered per community
-- west → east, north → south (rows ~220 m high); the label point is the centre of the largest
-- inscribed circle, so a label sits inside even an odd-shaped grid.
WITH g AS (
  SELECT b.street_code || lpad(b.community_no::text, 3, '0') AS community_code, b.street_code, b.district_code,
         bool_and(b.is_water) AS is_water, ST_Multi(ST_Union(b.geom)) AS geom
  FROM geo_block b
  GROUP BY b.street_code, b.community_no, b.district_code, b.is_water, b.grid_cluster
), n AS (
  SELECT g.*, row_number() OVER (PARTITION BY g.community_code
           ORDER BY floor((31.3 - ST_Y(ST_PointOnSurface(g.geom))) / 0.002), ST_X(ST_PointOnSurface(g.geom))) AS no
  FROM g
)
INSERT INTO grids (code, name, community_code, street_code, district_code, area_m2, geom, label_point)
SELECT n.community_code || lpad(n.no::text, 3, '0'),
       c.name || CASE WHEN n.is_water THEN '水域' ELSE '' END || '第' || lpad(n.no::text, 2, '0') || '网格',
       n.community_code, n.street_code, n.district_code,
       round(ST_Area(n.geom::geography)::numeric, 1)::double precision, n.geom,
       (ST_MaximumInscribedCircle(n.geom)).center
FROM n JOIN admin_units c ON c.code = n.community_code
ORDER BY 1;

-- name: insert_roads
-- Whole roads: the tile-clipped pieces of each OSM way merged.
INSERT INTO roads (external_id, name, kind, kind_detail, geom)
SELECT 'osm:way:' || id, max(p ->> 'name'), max(p ->> 'kind'), max(p ->> 'kind_detail'),
       ST_Multi(ST_LineMerge(ST_Union(ST_CollectionExtract(geom, 2))))
FROM osm
WHERE layer = 'roads' AND id IS NOT NULL AND ST_Dimension(geom) = 1
GROUP BY id
ORDER BY id;

-- name: insert_water
INSERT INTO water (external_id, name, kind, geom)
SELECT 'osm:' || id, max(p ->> 'name'), max(p ->> 'kind'), ST_Multi(ST_Union(ST_CollectionExtract(geom, 3)))
FROM osm
WHERE layer = 'water' AND id IS NOT NULL AND ST_Dimension(geom) = 2
GROUP BY id
ORDER BY id;

-- name: insert_buildings
-- Whole buildings (building parts are buildings too): pieces merged by OSM id. Height: OSM's;
-- else an estimate by footprint area (documented in docs/data-model.md), flagged. Address from
-- the OSM address points inside the footprint.
WITH pieces AS (
  SELECT id, p, ST_CollectionExtract(geom, 3) AS g
  FROM osm WHERE layer = 'buildings' AND p ->> 'kind' IN ('building', 'building_part') AND ST_Dimension(geom) = 2
), b AS (
  SELECT id,
         ST_Multi(ST_Union(g)) AS geom,
         max(nullif((p ->> 'height')::float8, 0)) AS height,
         (array_agg(p ->> 'name' ORDER BY (p ->> 'name') IS NULL, ST_Area(g) DESC))[1] AS name,
         (array_agg(p ->> 'name:en' ORDER BY (p ->> 'name:en') IS NULL, ST_Area(g) DESC))[1] AS name_en,
         (array_agg(p ->> 'kind' ORDER BY ST_Area(g) DESC))[1] AS kind,
         (array_agg(coalesce(p ->> 'kind_detail', p ->> 'landuse_kind') ORDER BY coalesce(p ->> 'kind_detail', p ->> 'landuse_kind') IS NULL, ST_Area(g) DESC))[1] AS use
  FROM pieces GROUP BY id
), a AS (
  SELECT b.*, ST_Area(b.geom::geography) AS area_m2,
         (SELECT string_agg(DISTINCT (ap.p ->> 'addr_street') || coalesce(ap.p ->> 'addr_housenumber', '') || '号', '、')
            FROM osm ap WHERE ap.layer = 'buildings' AND ap.p ->> 'kind' = 'address' AND ST_Intersects(b.geom, ap.geom)) AS address
  FROM b
)
INSERT INTO buildings (external_id, osm_id, name, name_en, kind, use, address, height_m, height_estimated, levels, geom)
SELECT 'osm:' || id, id::bigint, name, name_en, kind, use, address,
       round(coalesce(height,
         CASE WHEN kind = 'building_part' THEN 9.6
              WHEN area_m2 < 150 THEN 6.4
              WHEN area_m2 < 600 THEN 12.8
              WHEN area_m2 < 2000 THEN 19.2
              WHEN area_m2 < 6000 THEN 32
              ELSE 48 END)::numeric, 1)::float8,
       height IS NULL,
       greatest(1, round(coalesce(height,
         CASE WHEN kind = 'building_part' THEN 9.6 WHEN area_m2 < 150 THEN 6.4 WHEN area_m2 < 600 THEN 12.8
              WHEN area_m2 < 2000 THEN 19.2 WHEN area_m2 < 6000 THEN 32 ELSE 48 END) / 3.2))::int,
       geom
FROM a
-- Only buildings of the demo area: the data's tiles reach a little beyond its extent.
WHERE NOT ST_IsEmpty(geom) AND ST_Intersects((SELECT geom FROM geo_extent), ST_PointOnSurface(geom))
ORDER BY id::bigint;

-- name: assign_building_grids
UPDATE buildings b SET grid_code = g.code
FROM grids g
WHERE b.grid_code IS NULL AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom));

-- name: insert_landuse
-- Land use (parks, grass, residential, commercial, pedestrian areas, …): the tile-clipped
-- pieces of each OSM feature merged, polygons only (the layer's walls, fences, tree rows and
-- label points are left out), clipped to the data's extent. Numbered largest first, so that in
-- a tile (drawn in id order) a park inside a residential area is drawn over it.
-- The pieces of one feature were simplified per tile and do not quite meet: a closing of
-- 1.5e-5° (about 1.5 m; mitred, so corners stay square) seals the slits between them, and holes
-- under 50 m² (the gaps' leftovers) are filled.
WITH pieces AS (
  SELECT id, p, ST_CollectionExtract(geom, 3) AS g
  FROM osm WHERE layer = 'landuse' AND id IS NOT NULL AND ST_Dimension(geom) = 2
), merged AS (
  SELECT id, ST_Buffer(ST_Buffer(ST_Union(g), 1.5e-5, 'join=mitre'), -1.5e-5, 'join=mitre') AS g,
         (array_agg(coalesce(p ->> 'name:zh', p ->> 'name') ORDER BY coalesce(p ->> 'name:zh', p ->> 'name') IS NULL, ST_Area(g) DESC))[1] AS name,
         (array_agg(p ->> 'kind' ORDER BY ST_Area(g) DESC, p ->> 'kind'))[1] AS kind
  FROM pieces GROUP BY id
), sealed AS (
  SELECT m.id, m.name, m.kind, ST_Multi(ST_CollectionExtract(ST_Intersection(ST_MakeValid(ST_Collect(
           ST_MakePolygon(ST_ExteriorRing(d.geom), ARRAY(
             SELECT ST_ExteriorRing(r.geom) FROM ST_DumpRings(d.geom) r
             WHERE r.path[1] > 0 AND ST_Area(r.geom::geography) >= 50 ORDER BY r.path[1]))
           ORDER BY d.path)), (SELECT geom FROM geo_extent)), 3)) AS geom
  FROM merged m, ST_Dump(m.g) d
  GROUP BY m.id, m.name, m.kind
)
INSERT INTO landuse (external_id, name, kind, geom)
SELECT 'osm:' || id, name, kind, geom
FROM sealed
WHERE NOT ST_IsEmpty(geom) AND ST_Area(geom::geography) >= 1
ORDER BY ST_Area(geom::geography) DESC, id;

-- name: insert_place_labels
-- Labels of the OSM places in the extent (neighbourhoods, localities: 十六铺, 城隍庙, …), name
-- in Chinese where OSM has it, with the English name.
INSERT INTO map_labels (external_id, name, name_en, kind, rank, geom)
SELECT DISTINCT ON (id) 'osm:' || id, coalesce(p ->> 'name:zh', p ->> 'name'), p ->> 'name:en', 'place',
       CASE p ->> 'kind' WHEN 'locality' THEN 4 ELSE 5 END, geom
FROM osm
WHERE layer = 'places' AND id IS NOT NULL AND p ->> 'kind' IN ('neighbourhood', 'locality')
  AND coalesce(p ->> 'name:zh', p ->> 'name') IS NOT NULL AND ST_GeometryType(geom) = 'ST_Point'
  AND ST_Intersects(geom, (SELECT geom FROM geo_extent))
ORDER BY id;

-- name: insert_unit_labels
-- One label per district, street and community: the centre of the largest circle inside the
-- unit's land (the unit itself when it is all water), so the label sits inside even an
-- odd-shaped unit and not in the river. Rank: districts 1, streets 2, communities 3.
WITH u AS (
  SELECT a.code, a.name, a.level, a.geom,
         ST_CollectionExtract(ST_Difference(a.geom, w.geom), 3) AS land
  FROM admin_units a LEFT JOIN geo_water w ON w.geom IS NOT NULL
  WHERE a.level IN ('district', 'street', 'community') AND a.geom IS NOT NULL
)
INSERT INTO map_labels (external_id, name, kind, rank, unit_code, geom)
SELECT 'admin:' || code, name, level, CASE level WHEN 'district' THEN 1 WHEN 'street' THEN 2 ELSE 3 END, code,
       (ST_MaximumInscribedCircle(CASE WHEN land IS NULL OR ST_IsEmpty(land) THEN geom ELSE land END)).center
FROM u
ORDER BY 4, code;
