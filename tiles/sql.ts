/**
 * The one place tile SQL is assembled. Identifiers come only from the checked catalog
 * (layers/index.ts validates them); every value is a bound parameter:
 *   $1 z, $2 x, $3 y (integers), and for scoped layers $4 scope prefix (text, NULL = everything,
 *   including objects outside every grid).
 * Both variants filter with the tile envelope (EPSG:3857, the layer's stored geometry column
 * has the same SRID and its own GiST index) widened by the layer's buffer. A point layer with
 * `aggregate` gets, below its belowZoom or when a tile would hold more than featureLimit
 * features, one feature per occupied grid cell with counts by status instead (see Aggregation):
 * aggregated rather than truncated, so no tile grows past a few thousand points and no alarm is
 * dropped.
 *
 * native → one row { tile: bytea } made by ST_AsMVT (PostGIS built with protobuf).
 * js     → one row per feature { id, <properties…>, geom: GeoJSON text in tile coordinates },
 *          clipped, moved onto the integer tile grid and repaired the way ST_AsMVTGeom does,
 *          for tiles/js-encoder.ts to encode (PGlite's PostGIS has no protobuf).
 */
import { aggregateProperties, type LayerDef } from '../layers/index.ts'

export const EXTENT = 4096

const q = (ident: string) => `"${ident}"`

/** The scope filter for parameter $n, or nothing for an unscoped layer. */
function scopeClause(layer: LayerDef, n: number): string {
  return layer.scopeColumn ? `\n      AND ($${n}::text IS NULL OR t.${q(layer.scopeColumn)} LIKE $${n}::text || '%')` : ''
}

const BOUNDS = (margin: number) => `SELECT ST_TileEnvelope($1::int, $2::int, $3::int) AS env,
         ST_TileEnvelope($1::int, $2::int, $3::int, margin => ${margin}) AS benv`

/**
 * The CTEs both encoders start from: `bounds` (the tile envelope `env` and the buffered `benv`)
 * and `src` — one row per feature (id, properties, `g` the stored EPSG:3857 geometry), or for an
 * aggregated tile one row per occupied cell (id, its counts, `g` the cell's mean position).
 */
function source(layer: LayerDef): { ctes: string; columns: string[] } {
  const props = Object.keys(layer.properties)
  const g = `t.${q(layer.geomColumn)}`
  const from = `FROM ${q(layer.table)} t, bounds`
  const where = `${g} && bounds.benv${scopeClause(layer, 4)}`
  const agg = layer.aggregate
  const featureCols = [`t.${q(layer.idColumn)} AS id`, ...props.map((p) => `t.${q(p)}`)]
  if (!agg) {
    return {
      columns: props,
      ctes: `bounds AS (${BOUNDS(layer.buffer / EXTENT)}),
src AS (
  SELECT ${[...featureCols, `${g} AS g`].join(', ')}
  ${from}
  WHERE ${where}
  ORDER BY t.${q(layer.idColumn)}
  LIMIT ${layer.featureLimit}
)`,
    }
  }
  const aggCols = Object.keys(aggregateProperties(layer))
  const status = `t.${q(agg.statusColumn)}`
  const perRow = EXTENT / agg.cell
  const cellWidth = `(ST_XMax(bounds.env) - ST_XMin(bounds.env)) / ${perRow}`
  // A tile is aggregated below belowZoom, or when it would hold more than featureLimit features.
  const dense = `$1::int < ${agg.belowZoom} OR (SELECT count(*) FROM (SELECT 1 ${from} WHERE ${where} LIMIT ${layer.featureLimit + 1}) n) > ${layer.featureLimit}`
  // Cells are half-open ([west, east) × (south, north]) so a point on a tile edge counts once.
  const inTile = `${g} && bounds.env
      AND ST_X(${g}) >= ST_XMin(bounds.env) AND ST_X(${g}) < ST_XMax(bounds.env)
      AND ST_Y(${g}) > ST_YMin(bounds.env) AND ST_Y(${g}) <= ST_YMax(bounds.env)${scopeClause(layer, 4)}`
  const counts = agg.statuses.map((s) => `count(*) FILTER (WHERE ${status} = '${s}')::int AS ${q(`n_${s}`)}`)
  const top = `CASE ${agg.statuses.map((s) => `WHEN c.${q(`n_${s}`)} > 0 THEN '${s}'`).join(' ')} END`
  return {
    columns: [...props, ...aggCols],
    ctes: `bounds AS (${BOUNDS(layer.buffer / EXTENT)}),
dense AS (SELECT (${dense}) AS yes),
src AS (
  (SELECT ${[...featureCols, ...aggCols.map((c) => `NULL AS ${q(c)}`), `${g} AS g`].join(', ')}
   ${from}
   WHERE NOT (SELECT yes FROM dense) AND ${where}
   ORDER BY t.${q(layer.idColumn)}
   LIMIT ${layer.featureLimit})
  UNION ALL
  SELECT ${[`c.cy * ${perRow} + c.cx + 1`, ...props.map(() => 'NULL'), 'c.count', ...agg.statuses.map((s) => `c.${q(`n_${s}`)}`), top].join(', ')},
         ST_SetSRID(ST_MakePoint(c.ax, c.ay), 3857)
  FROM (
    SELECT floor((ST_X(${g}) - ST_XMin(bounds.env)) / (${cellWidth}))::int AS cx,
           floor((ST_YMax(bounds.env) - ST_Y(${g})) / (${cellWidth}))::int AS cy,
           count(*)::int AS count, ${counts.join(', ')},
           avg(ST_X(${g})) AS ax, avg(ST_Y(${g})) AS ay
    ${from}
    WHERE (SELECT yes FROM dense) AND ${inTile}
    GROUP BY 1, 2
  ) c
)`,
  }
}

export function nativeTileSql(layer: LayerDef): string {
  const { ctes, columns } = source(layer)
  return `WITH ${ctes},
mvtgeom AS (
  SELECT src.id::bigint AS id, ${columns.map((c) => `src.${q(c)}`).join(', ')},
         ST_AsMVTGeom(src.g, bounds.env, ${EXTENT}, ${layer.buffer}, true) AS geom
  FROM src, bounds
)
SELECT ST_AsMVT(mvtgeom.*, '${layer.id}', ${EXTENT}, 'geom', 'id') AS tile FROM mvtgeom WHERE geom IS NOT NULL`
}

/** Dimension each geometry type keeps after repair (ST_CollectionExtract type). */
const EXTRACT = { point: 1, line: 2, polygon: 3 } as const

/** World (EPSG:3857) → tile grid: x' = (x - xmin) * extent / width, y' = (ymax - y) * extent / height. */
function toTileGrid(expr: string): string {
  return `ST_TransScale(${expr},
        -ST_XMin(bounds.env), -ST_YMax(bounds.env),
        ${EXTENT} / (ST_XMax(bounds.env) - ST_XMin(bounds.env)),
        -${EXTENT} / (ST_YMax(bounds.env) - ST_YMin(bounds.env)))`
}

export function jsTileSql(layer: LayerDef): string {
  const { ctes, columns } = source(layer)
  const g = 'src.g'
  let tileGeom: string
  const box = `ST_MakeEnvelope(${-layer.buffer}, ${-layer.buffer}, ${EXTENT + layer.buffer}, ${EXTENT + layer.buffer})`
  if (layer.geometryType === 'point') {
    // As ST_AsMVTGeom: onto the integer grid, then keep what lies in the buffered tile box.
    tileGeom = `ST_Intersection(ST_SnapToGrid(${toTileGrid(g)}, 1), ST_SetSRID(${box}, 3857))`
  } else {
    // As ST_AsMVTGeom does: onto the integer tile grid first, then clip to the buffered tile
    // box (a loose clip in world units first keeps big polygons cheap), drop points on straight
    // lines, snap the new vertices, drop repeats, repair what snapping broke, keep the type.
    const loose = `ST_ClipByBox2D(${g}, ST_TileEnvelope($1::int, $2::int, $3::int, margin => ${(2 * layer.buffer) / EXTENT}))`
    const onGrid = `ST_Simplify(ST_SnapToGrid(${toTileGrid(loose)}, 1), 0)`
    const snapped = `ST_RemoveRepeatedPoints(ST_SnapToGrid(ST_ClipByBox2D(${onGrid}, ${box}), 1))`
    const repaired = `ST_CollectionExtract(ST_MakeValid(${snapped}), ${EXTRACT[layer.geometryType]})`
    // MVT wants exterior rings with positive shoelace area in tile coordinates, which
    // PostGIS (treating y as up) calls counter-clockwise; the encoder-equivalence test checks it.
    // Polygons and holes below one square unit cannot be drawn; ST_AsMVTGeom (wagyu) drops them too.
    const dropSpecks = `(SELECT ST_Collect(ST_MakePolygon(ST_ExteriorRing(d.geom), ARRAY(
          SELECT ST_ExteriorRing(r.geom) FROM ST_DumpRings(d.geom) r WHERE r.path[1] > 0 AND ST_Area(r.geom) >= 1)))
        FROM ST_Dump(${repaired}) d WHERE ST_Area(d.geom) >= 1)`
    tileGeom = layer.geometryType === 'polygon' ? `ST_ForcePolygonCCW(${dropSpecks})` : repaired
  }
  return `WITH ${ctes},
feats AS (
  SELECT src.id::int AS id, ${columns.map((c) => `src.${q(c)}`).join(', ')}, ${tileGeom} AS g
  FROM src, bounds
)
SELECT id, ${columns.map(q).join(', ')}, ST_AsGeoJSON(g, 0) AS geom
FROM feats WHERE g IS NOT NULL AND NOT ST_IsEmpty(g)`
}

/** Bounds of a layer's data in WGS84 for TileJSON; $1 scope prefix (NULL = all) for scoped layers. */
export function boundsSql(layer: LayerDef): string {
  return `SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n FROM (
  SELECT ST_Transform(ST_SetSRID(ST_Extent(t.${q(layer.geomColumn)})::geometry, 3857), 4326) AS e
  FROM ${q(layer.table)} t
  WHERE true${scopeClause(layer, 1)}
) b WHERE e IS NOT NULL`
}
