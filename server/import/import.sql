-- Static statements of the import service (the per-layer upserts are built in sql.ts).

-- name: check_geometries
-- $1: jsonb array of GeoJSON geometries (already checked for structure and range, in WGS84);
-- $2: 'polygon' or 'line' — how to repair: polygons with ST_MakeValid's 'structure' method
--     (keeps areas, drops collapsed parts), lines with the default 'linework' method.
-- Output, one row per input in order: i (0-based), valid, reason (ST_IsValidReason when invalid),
-- repaired_type (GeometryType after ST_MakeValid, when invalid), repaired_empty,
-- area_m2 (geodesic area of a repaired polygon; the service computes valid ones' areas itself).
SELECT a.i::int - 1 AS i,
       v.valid,
       CASE WHEN NOT v.valid THEN ST_IsValidReason(x.g) END AS reason,
       CASE WHEN NOT v.valid THEN GeometryType(m.g) END AS repaired_type,
       CASE WHEN NOT v.valid THEN ST_IsEmpty(m.g) END AS repaired_empty,
       CASE WHEN $2::text = 'polygon' AND NOT v.valid THEN ST_Area(m.g::geography) END AS area_m2
FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS a(doc, i)
CROSS JOIN LATERAL (SELECT ST_SetSRID(ST_Force2D(ST_GeomFromGeoJSON(a.doc)), 4326) AS g) x
CROSS JOIN LATERAL (SELECT ST_IsValid(x.g) AS valid) v
CROSS JOIN LATERAL (
  SELECT CASE WHEN v.valid THEN x.g
              WHEN $2::text = 'polygon' THEN ST_MakeValid(x.g, 'method=structure')
              ELSE ST_MakeValid(x.g) END AS g
) m
ORDER BY a.i

-- name: part_classes
-- $1: text[] of class codes. Output: code of each that exists in part_classes.
SELECT code FROM part_classes WHERE code = ANY($1::text[])
