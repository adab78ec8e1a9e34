/**
 * Area queries: what lies inside a polygon, a circle or a buffered line (POST
 * /api/spatial/within), and per-unit counts for choropleth maps (GET /api/stats/choropleth).
 *
 * Scope as in service.ts: objects whose grid_code starts with the actor's prefix (objects outside
 * every grid only when unrestricted). Polygons are planar in lon/lat (GeoJSON, ST_Intersects);
 * circles and line buffers are geodesic (ST_DWithin on geography, metres). Candidates come from
 * the EPSG:3857 GiST indexes (`&&` with the query's box, widened by a Mercator scale margin for
 * distances) and are then refined exactly.
 */
import type { Queryable } from '../db/index.ts'
import type { Actor } from '../auth/sessions.ts'
import { HttpError } from '../http/errors.ts'
import { MAX_LAT, type ChoroIndicator, type ChoroLevel, type WithinBody, type WithinLayer, WITHIN_LAYERS } from './params.ts'
import { scopeFilter } from '../auth/scope.ts'

type Scope = Pick<Actor, 'scopePrefix' | 'unrestricted'>

export interface AreaFeature {
  type: 'Feature'
  id: number
  geometry: unknown
  properties: Record<string, unknown>
}

export interface WithinResult {
  counts: Partial<Record<WithinLayer, number>>
  features: Partial<Record<WithinLayer, AreaFeature[]>>
}

interface LayerDef {
  table: string
  columns: string[]
  where?: string
}

const LAYER_DEFS: Record<WithinLayer, LayerDef> = {
  workers: { table: 'workers', columns: ['code', 'name', 'role', 'phone', 'duty_status', 'grid_code'], where: 't.geom IS NOT NULL' },
  cameras: { table: 'cameras', columns: ['code', 'name', 'kind', 'heading_deg', 'fov_deg', 'range_m', 'status', 'grid_code'] },
  sensors: { table: 'sensors', columns: ['code', 'name', 'type', 'status', 'last_value', 'unit', 'last_seen', 'grid_code'] },
  parts: { table: 'parts', columns: ['code', 'class_code', 'name', 'state', 'grid_code'] },
  key_places: { table: 'key_places', columns: ['name', 'kind', 'risk_color', 'grid_code'] },
  cases: { table: 'cases', columns: ['code', 'category_code', 'stage', 'urgency', 'overdue', 'description', 'address', 'reported_at', 'grid_code'] },
  buildings: { table: 'buildings', columns: ['name', 'kind', 'use', 'address', 'height_m', 'levels', 'grid_code'] },
}

/** The query area as GeoJSON for ST_GeomFromGeoJSON and its distance (null = inside the polygon). */
interface Area {
  geojson: string
  distance: number | null
}

function toArea(b: WithinBody): Area {
  // Positions are [lon, lat] already (params.ts drops altitudes).
  if (b.geometry) return { geojson: JSON.stringify({ type: b.geometry.type, coordinates: b.geometry.coordinates }), distance: null }
  if (b.circle) return { geojson: JSON.stringify({ type: 'Point', coordinates: [b.circle.lon, b.circle.lat] }), distance: b.circle.radius_m }
  if (b.line && b.buffer_m !== undefined) return { geojson: JSON.stringify({ type: 'LineString', coordinates: b.line.coordinates }), distance: b.buffer_m }
  throw new HttpError(422, 'give exactly one of geometry, circle or line')
}

/**
 * $1 area GeoJSON, $2 distance in metres (NULL = polygon), $3 scope prefix (NULL =
 * unrestricted); the list query adds $4 limit.
 *
 * The index box: a polygon's own (planar in lon/lat, and Mercator keeps lon/lat boxes boxes);
 * for a distance, the geodesic path of the point or line (segmentized on the sphere every 1 km,
 * since a long geodesic bulges towards the pole) widened by the distance in 3857 units at the
 * highest latitude the buffer can reach, with a 5% margin and 10 m.
 */
const AREA_CTE = `WITH a AS (
  SELECT g,
         CASE WHEN $2::float8 IS NULL THEN ST_Transform(g, 3857)
              ELSE ST_Expand(ST_Transform(s, 3857),
                             $2::float8 * 1.05 / cos(radians(least(greatest(abs(ST_YMin(s)), abs(ST_YMax(s))) + $2::float8 / 110000, ${MAX_LAT}))) + 10)
         END AS box
    FROM (SELECT g, CASE WHEN $2::float8 IS NULL THEN g ELSE ST_Segmentize(g::geography, 1000)::geometry END AS s
            FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1::text), 4326) AS g) x) y
)`
const MATCH = `t.geom_3857 && a.box
  AND CASE WHEN $2::float8 IS NULL THEN ST_Intersects(t.geom, a.g)
           ELSE ST_DWithin(t.geom::geography, a.g::geography, $2::float8) END
  AND ($3::text IS NULL OR t.grid_code LIKE $3::text || '%')`

/**
 * 422 with PostGIS's reason when a polygon is not valid (self-intersections, bad holes…), and
 * when a line's geodesic path comes nearer a pole than MAX_LAT (out of Web Mercator's range).
 */
async function checkArea(q: Queryable, area: Area): Promise<void> {
  if (area.distance === null) {
    const { rows } = await q.query<{ valid: boolean; reason: string | null }>(
      `SELECT ST_IsValid(g) AS valid, CASE WHEN ST_IsValid(g) THEN NULL ELSE ST_IsValidReason(g) END AS reason
         FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1::text), 4326) AS g) x`,
      [area.geojson],
    )
    if (!rows[0]?.valid) throw new HttpError(422, `geometry is not valid: ${rows[0]?.reason ?? 'unknown reason'}`)
    return
  }
  const { rows } = await q.query<{ lat: number }>(
    `SELECT greatest(abs(ST_YMin(s)), abs(ST_YMax(s))) AS lat
       FROM (SELECT ST_Segmentize(ST_SetSRID(ST_GeomFromGeoJSON($1::text), 4326)::geography, 1000)::geometry AS s) x`,
    [area.geojson],
  )
  if (Number(rows[0]?.lat) > MAX_LAT) throw new HttpError(422, `line: its geodesic path passes beyond latitude ±${MAX_LAT}`)
}

export async function within(q: Queryable, body: WithinBody, scope: Scope): Promise<WithinResult> {
  const area = toArea(body)
  await checkArea(q, area)
  const layers = body.layers ? WITHIN_LAYERS.filter((l) => body.layers!.includes(l)) : [...WITHIN_LAYERS]
  const params = [area.geojson, area.distance, scopeFilter(scope)]
  const result: WithinResult = { counts: {}, features: {} }
  // One connection (a transaction on postgres): one query after another.
  for (const layer of layers) {
    const def = LAYER_DEFS[layer]
    const where = [MATCH, def.where].filter(Boolean).join(' AND ')
    const count = await q.query<{ n: number }>(`${AREA_CTE} SELECT count(*)::int AS n FROM ${def.table} t, a WHERE ${where}`, params)
    const n = Number(count.rows[0]?.n ?? 0)
    result.counts[layer] = n
    if (n === 0) {
      result.features[layer] = []
      continue
    }
    const { rows } = await q.query<Record<string, unknown>>(
      `${AREA_CTE}
       SELECT t.id, ${def.columns.map((c) => `t.${c}`).join(', ')}, ST_AsGeoJSON(t.geom, 7) AS geometry
         FROM ${def.table} t, a
        WHERE ${where}
        ORDER BY t.id
        LIMIT $4`,
      [...params, body.limit],
    )
    result.features[layer] = rows.map(({ id, geometry, ...properties }) => ({
      type: 'Feature',
      id: Number(id),
      geometry: typeof geometry === 'string' ? JSON.parse(geometry) : geometry,
      properties,
    }))
  }
  return result
}

/* ------------------------------------------------------------------------------------------- */

export interface ChoroplethValue {
  code: string
  name: string
  value: number
}

/** Each indicator: the table counted and which of its rows count. */
const INDICATORS: Record<ChoroIndicator, { table: string; where: string }> = {
  cases_open: { table: 'cases', where: `stage NOT IN ('closed', 'evaluated', 'cancelled')` },
  cases_total: { table: 'cases', where: 'true' },
  cases_overdue: { table: 'cases', where: 'overdue' },
  sensors_alarm: { table: 'sensors', where: `status = 'alarm'` },
  sensors_offline: { table: 'sensors', where: `status = 'offline'` },
  workers_on_duty: { table: 'workers', where: `duty_status = 'on_duty'` },
}

/**
 * The indicator for every unit of the level inside the actor's scope (units whose code starts
 * with the scope prefix), units without any counted at 0. Objects are counted per grid first,
 * then summed into the units their grid code starts with.
 */
export async function choropleth(q: Queryable, level: ChoroLevel, indicator: ChoroIndicator, scope: Scope): Promise<ChoroplethValue[]> {
  const ind = INDICATORS[indicator]
  const units =
    level === 'grid'
      ? `SELECT code, name FROM grids WHERE code LIKE $1::text || '%'`
      : `SELECT code, name FROM admin_units WHERE level = $2::text AND code LIKE $1::text || '%'`
  const { rows } = await q.query<{ code: string; name: string; value: number }>(
    `WITH per_grid AS (
       SELECT grid_code, count(*)::int AS n FROM ${ind.table}
        WHERE grid_code LIKE $1::text || '%' AND ${ind.where}
        GROUP BY grid_code
     ), u AS (${units})
     SELECT u.code, u.name, coalesce(sum(p.n), 0)::int AS value
       FROM u LEFT JOIN per_grid p ON p.grid_code LIKE u.code || '%'
      GROUP BY u.code, u.name
      ORDER BY u.code`,
    level === 'grid' ? [scope.scopePrefix] : [scope.scopePrefix, level],
  )
  return rows.map((r) => ({ code: r.code, name: r.name, value: Number(r.value) }))
}
