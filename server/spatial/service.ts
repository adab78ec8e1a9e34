/**
 * Point queries for the hall: which grid a point is in and who looks after it, the nearest
 * objects of a layer, and everything around a point (cameras that can see it first).
 *
 * Scope: an actor sees only objects whose grid_code starts with their scope prefix (objects
 * outside every grid only when unrestricted). Distances are geodesic (geography, metres);
 * candidate search uses the EPSG:3857 GiST indexes (KNN `<->`, `ST_DWithin` with a Mercator
 * scale margin) and is then refined with the exact distance.
 */
import type { Db, Queryable } from '../db/index.ts'
import type { Actor } from '../auth/sessions.ts'
import type { SpatialLayer } from './params.ts'
import { scopeFilter } from '../auth/scope.ts'
import { withStatementTimeout } from '../db/timeout.ts'

type Scope = Pick<Actor, 'scopePrefix' | 'unrestricted'>

export interface Point {
  lon: number
  lat: number
}

export interface Feature {
  type: 'Feature'
  id: number
  geometry: { type: 'Point'; coordinates: [number, number] }
  properties: Record<string, unknown>
}

/** Most items one list of /around returns; `truncated` names the lists that had more. */
export const AROUND_LIST_LIMIT = 200
/** Per-statement limit on the postgres backend (PGlite runs in-process and has no timeout). */
export const STATEMENT_TIMEOUT_MS = 5000

interface LayerDef {
  table: string
  columns: string[]
  where?: string
}

const LAYER_DEFS: Record<SpatialLayer, LayerDef> = {
  workers: { table: 'workers', columns: ['id', 'code', 'name', 'role', 'phone', 'duty_status', 'grid_code'], where: 't.geom IS NOT NULL' },
  cameras: { table: 'cameras', columns: ['id', 'code', 'name', 'kind', 'heading_deg', 'fov_deg', 'range_m', 'status', 'grid_code'] },
  sensors: { table: 'sensors', columns: ['id', 'code', 'name', 'type', 'status', 'last_value', 'unit', 'last_seen', 'grid_code'] },
  key_places: { table: 'key_places', columns: ['id', 'name', 'kind', 'risk_color', 'grid_code'] },
  cases: { table: 'cases', columns: ['id', 'code', 'category_code', 'stage', 'urgency', 'description', 'address', 'reported_at', 'grid_code'] },
}

const OPEN_CASE = `t.stage NOT IN ('closed', 'evaluated', 'cancelled')`

/** Web Mercator is undefined at the poles; the 3857 search point is clamped (refined in 4326). */
const MERCATOR_MAX_LAT = 85

/**
 * Parameters shared by the layer queries: $1 lon, $2 lat, $3 lat for 3857, $4 scope prefix
 * (NULL = unrestricted).
 */
const PT = 'ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326)'
const PT_GEOG = `${PT}::geography`
const PT_3857 = 'ST_Transform(ST_SetSRID(ST_MakePoint($1::float8, $3::float8), 4326), 3857)'
const SCOPE = `($4::text IS NULL OR t.grid_code LIKE $4::text || '%')`

function baseParams(p: Point, scope: Scope): unknown[] {
  const lat3857 = Math.max(-MERCATOR_MAX_LAT, Math.min(MERCATOR_MAX_LAT, p.lat))
  return [p.lon, p.lat, lat3857, scopeFilter(scope)]
}

/** EPSG:3857 units per ground metre at this latitude, with a margin (for index filters only). */
function mercatorScale(p: Point): number {
  const lat = Math.min(Math.abs(p.lat), MERCATOR_MAX_LAT)
  return 1.05 / Math.cos((lat * Math.PI) / 180)
}

function selectList(def: LayerDef): string {
  return [
    ...def.columns.map((c) => `t.${c}`),
    'ST_X(t.geom) AS lon',
    'ST_Y(t.geom) AS lat',
    `ST_Distance(t.geom::geography, ${PT_GEOG}) AS distance_m`,
  ].join(', ')
}

const round = (n: unknown, digits: number) => (typeof n === 'number' ? Number(n.toFixed(digits)) : n)

function toFeature(row: Record<string, unknown>): Feature {
  const { lon, lat, id, distance_m, bearing_deg, ...rest } = row
  const properties: Record<string, unknown> = { ...rest, distance_m: round(Number(distance_m), 1) }
  if (bearing_deg !== undefined) properties.bearing_deg = bearing_deg === null ? null : round(Number(bearing_deg), 1)
  return { type: 'Feature', id: Number(id), geometry: { type: 'Point', coordinates: [Number(lon), Number(lat)] }, properties }
}

/** Spatial queries under the statement timeout (server/db/timeout.ts). */
export const withTimeout = <T>(db: Db, fn: (q: Queryable) => Promise<T>): Promise<T> =>
  withStatementTimeout(db, STATEMENT_TIMEOUT_MS, 'the spatial query took too long; try a smaller radius', fn)

export interface Located {
  district: { code: string; name: string }
  street: { code: string; name: string }
  community: { code: string; name: string }
  grid: { code: string; name: string }
  team: { name: string; role: string; phone: string | null; duty_status: string }[]
  partyBranch: { name: string; secretary: string } | null
}

interface GridRow {
  code: string
  name: string
  district_code: string
  district_name: string
  street_code: string
  street_name: string
  community_code: string
  community_name: string
  branch_name: string | null
  branch_secretary: string | null
}

/** The grid (within scope) that contains the point, its admin units, team and party branch; null if none. */
export async function locate(q: Queryable, p: Point, scope: Scope): Promise<Located | null> {
  const { rows } = await q.query<GridRow>(
    `SELECT g.code, g.name, g.district_code, d.name AS district_name, g.street_code, s.name AS street_name,
            g.community_code, c.name AS community_name, pb.name AS branch_name, pb.secretary AS branch_secretary
       FROM grids g
       JOIN admin_units d ON d.code = g.district_code
       JOIN admin_units s ON s.code = g.street_code
       JOIN admin_units c ON c.code = g.community_code
       LEFT JOIN party_branches pb ON pb.id = g.party_branch_id
      WHERE ST_Intersects(g.geom, ${PT}) AND ($3::text IS NULL OR g.code LIKE $3::text || '%')
      ORDER BY g.code
      LIMIT 1`,
    [p.lon, p.lat, scopeFilter(scope)],
  )
  const g = rows[0]
  if (!g) return null
  const team = await q.query<Located['team'][number]>(
    `SELECT w.name, gt.role, w.phone, w.duty_status
       FROM grid_team gt JOIN workers w ON w.id = gt.worker_id
      WHERE gt.grid_code = $1
      ORDER BY CASE gt.role WHEN 'grid_leader' THEN 0 WHEN 'grid_worker' THEN 1 ELSE 2 END, w.name, w.id`,
    [g.code],
  )
  return {
    district: { code: g.district_code, name: g.district_name },
    street: { code: g.street_code, name: g.street_name },
    community: { code: g.community_code, name: g.community_name },
    grid: { code: g.code, name: g.name },
    team: team.rows,
    partyBranch: g.branch_name === null ? null : { name: g.branch_name, secretary: g.branch_secretary ?? '' },
  }
}

/**
 * The k nearest objects of a layer: KNN (`<->` on the 3857 index) picks a generous candidate
 * set, which is then ordered by the exact geodesic distance.
 */
export async function nearest(q: Queryable, p: Point, scope: Scope, layer: SpatialLayer, k: number, onDuty: boolean): Promise<Feature[]> {
  const def = LAYER_DEFS[layer]
  const where = [SCOPE, def.where, onDuty && layer === 'workers' ? `t.duty_status = 'on_duty'` : undefined].filter(Boolean).join(' AND ')
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT * FROM (
       SELECT ${selectList(def)} FROM ${def.table} t
        WHERE ${where}
        ORDER BY t.geom_3857 <-> ${PT_3857}
        LIMIT $5
     ) c
     ORDER BY c.distance_m, c.id
     LIMIT $6`,
    [...baseParams(p, scope), k * 3 + 20, k],
  )
  return rows.map(toFeature)
}

/** Objects of a layer within radius metres, nearest first (at most limit + 1, to tell truncation). */
async function within(q: Queryable, p: Point, scope: Scope, layer: SpatialLayer, radius: number, extra?: string): Promise<Feature[]> {
  const def = LAYER_DEFS[layer]
  const where = [SCOPE, def.where, extra].filter(Boolean).join(' AND ')
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT ${selectList(def)} FROM ${def.table} t
      WHERE ${where}
        AND ST_DWithin(t.geom_3857, ${PT_3857}, $5::float8 * $6::float8 + 10)
        AND ST_DWithin(t.geom::geography, ${PT_GEOG}, $6::float8)
      ORDER BY distance_m, t.id
      LIMIT $7`,
    [...baseParams(p, scope), mercatorScale(p), radius, AROUND_LIST_LIMIT + 1],
  )
  return rows.map(toFeature)
}

/**
 * Cameras whose field of view covers the point (within range_m, and the bearing camera→point
 * within heading ± fov/2 — the difference taken on the circle, so heading 350° ± 20° covers 5°;
 * PTZ cameras and 360° ones cover everything in range), then the other cameras within radius.
 */
async function cameras(q: Queryable, p: Point, scope: Scope, radius: number): Promise<Feature[]> {
  const def = LAYER_DEFS.cameras
  const { rows } = await q.query<Record<string, unknown>>(
    `SELECT * FROM (
       SELECT ${def.columns.map((c) => `t.${c}`).join(', ')}, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat,
              d.distance_m, d.bearing_deg,
              (d.distance_m <= t.range_m AND (
                 t.kind = 'ptz' OR t.fov_deg >= 360 OR d.bearing_deg IS NULL
                 OR least(abs(d.bearing_deg - t.heading_deg), 360 - abs(d.bearing_deg - t.heading_deg)) <= t.fov_deg / 2
              )) AS covers
         FROM cameras t
        CROSS JOIN LATERAL (
          SELECT ST_Distance(t.geom::geography, ${PT_GEOG}) AS distance_m,
                 degrees(ST_Azimuth(t.geom::geography, ${PT_GEOG})) AS bearing_deg
        ) d
        WHERE ${SCOPE}
          AND ST_DWithin(t.geom_3857, ${PT_3857}, $5::float8 * greatest($6::float8, (SELECT coalesce(max(range_m), 0) FROM cameras)) + 10)
     ) c
     WHERE c.covers OR c.distance_m <= $6::float8
     ORDER BY c.covers DESC, c.distance_m, c.id
     LIMIT $7`,
    [...baseParams(p, scope), mercatorScale(p), radius, AROUND_LIST_LIMIT + 1],
  )
  return rows.map((r) => {
    const { covers, ...rest } = r
    const f = toFeature(rest)
    f.properties.covers = covers === true
    return f
  })
}

export interface Around {
  point: Point
  radius: number
  grid: { code: string; name: string } | null
  community: Located['community'] | null
  street: Located['street'] | null
  team: Located['team']
  workers: Feature[]
  cameras: Feature[]
  sensors: Feature[]
  keyPlaces: Feature[]
  openCases: Feature[]
  /** Lists that had more than AROUND_LIST_LIMIT items (the nearest ones are returned). */
  truncated: string[]
}

export async function around(q: Queryable, p: Point, scope: Scope, radius: number): Promise<Around> {
  // One connection (a transaction on postgres): run one after another.
  const here = await locate(q, p, scope)
  const workers = await nearest(q, p, scope, 'workers', 5, true)
  const lists = {
    cameras: await cameras(q, p, scope, radius),
    sensors: await within(q, p, scope, 'sensors', radius),
    keyPlaces: await within(q, p, scope, 'key_places', radius),
    openCases: await within(q, p, scope, 'cases', radius, OPEN_CASE),
  }
  const truncated = Object.entries(lists)
    .filter(([, l]) => l.length > AROUND_LIST_LIMIT)
    .map(([name]) => name)
  for (const l of Object.values(lists)) l.length = Math.min(l.length, AROUND_LIST_LIMIT)
  return {
    point: p,
    radius,
    grid: here?.grid ?? null,
    community: here?.community ?? null,
    street: here?.street ?? null,
    team: here?.team ?? [],
    workers,
    ...lists,
    truncated,
  }
}
