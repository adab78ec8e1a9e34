/**
 * The seat's feature cards (GET /api/features/:layer/:id): what a clicked feature is, who owns it,
 * what is wrong, computed in SQL (features.sql) within the asker's scope exactly as the layer's
 * tiles are — a feature outside the scope is not found. One loader per card kind (types.ts).
 *
 * Reused, not repeated: a case card is the case as CaseService answers GET /api/cases/:id; a
 * worker's day is PositionService.track over today's local day, as GET /api/workers/:id/patrol.
 */
import type { Actor } from '../auth/sessions.ts'
import { scopeFilter } from '../auth/scope.ts'
import { PART_RADIUS_M, type CaseService } from '../cases/service.ts'
import type { Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import type { PositionService } from '../positions/service.ts'
import { zoneClock } from '../time/zone.ts'
import { visibleTo, type LayerDef } from '../../layers/index.ts'
import { can } from '../auth/permissions.ts'
import type {
  AdminUnitCard, BuildingCard, CameraCard, CardKind, CaseCard, CaseLine, DeptRef, FeatureCard, GridCard, KeyPlaceCard, PartCard, SensorCard, UnitRef, WorkerCard,
} from './types.ts'

const sql = loadSql(new URL('./features.sql', import.meta.url))

/** Most lines one list of a card holds (open cases, tasks, a part's cases, alarms). */
export const CARD_LIST_LIMIT = 20
/** A sensor card's chart: readings of the last SENSOR_WINDOW_S, at most SENSOR_MAX_READINGS. */
export const SENSOR_WINDOW_S = 24 * 3600
export const SENSOR_MAX_READINGS = 500

/** OneGrid's own simulated live stream (server/media/routes.ts), played where a camera has no browser-playable stream. */
export const DEMO_STREAM_URL = '/media/demo/live.m3u8'

/**
 * What the browser plays for a camera: its own stream when hls.js can fetch it (an http(s) URL or
 * a path on this server), else — no URL, RTSP/GB28181 addresses a browser cannot open, the demo
 * city's `*.invalid` placeholders — OneGrid's demo loop, flagged simulated.
 */
export function cameraStream(streamUrl: string | null): { streamUrl: string; simulated: boolean } {
  const url = streamUrl?.trim() ?? ''
  if (url.startsWith('/') && !url.startsWith('//')) return { streamUrl: url, simulated: false }
  try {
    const u = new URL(url)
    if ((u.protocol === 'http:' || u.protocol === 'https:') && !u.hostname.endsWith('.invalid')) return { streamUrl: url, simulated: false }
  } catch {
    // not a URL: the demo loop
  }
  return { streamUrl: DEMO_STREAM_URL, simulated: true }
}

/**
 * Whether the actor may open the cards of this layer: the layer's permission; the cards of base
 * layers (grids, divisions, buildings) summarise cases and teams, so they also need cases.read.
 */
export function mayOpenCards(layer: LayerDef, actor: Actor): boolean {
  return visibleTo(layer, actor) && (layer.permission !== undefined || can(actor, 'cases.read'))
}

type Scope = Pick<Actor, 'scopePrefix' | 'unrestricted'>

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString())
const num = (v: unknown): number => Number(v)
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v))

interface CaseLineRow {
  id: number
  code: string
  stage: string
  category_code: string
  description: string
  reported_at: Date | string
  deadline_at: Date | string | null
}

const caseLine = (r: CaseLineRow): CaseLine => ({
  id: r.id,
  code: r.code,
  stage: r.stage,
  categoryCode: r.category_code,
  description: r.description,
  reportedAt: iso(r.reported_at)!,
  deadlineAt: iso(r.deadline_at),
})

const dept = (id: number | null, name: string | null, phone: string | null): DeptRef | null => (id === null ? null : { id, name: name ?? '', phone })

/** A JSON count map as the database hands it over (pg and PGlite parse json; a string when not). */
function counts(v: unknown): Record<string, number> {
  const o = (typeof v === 'string' ? JSON.parse(v) : (v ?? {})) as Record<string, unknown>
  return Object.fromEntries(Object.entries(o).map(([k, n]) => [k, Number(n)]))
}
const json = <T>(v: unknown): T => (typeof v === 'string' ? JSON.parse(v) : v) as T
const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0)

/** The admin unit level each boundary layer shows (its view of admin_units, migration 003). */
const UNIT_LEVELS: Record<string, AdminUnitCard['level']> = { admin_districts: 'district', admin_streets: 'street', admin_communities: 'community' }

export class FeatureService {
  readonly #clock

  constructor(private readonly opts: { db: Queryable; cases: CaseService; positions: PositionService; tz: string }) {
    this.#clock = zoneClock(opts.tz)
  }

  /** The card of feature `id` of `layer` (a catalog layer with `card`) for the actor; null when not found or outside the scope. */
  async card(layer: LayerDef & { card: CardKind }, id: number, actor: Actor): Promise<FeatureCard | null> {
    const base = { layer: layer.id, id }
    switch (layer.card) {
      case 'grid':
        return this.grid(base, actor)
      case 'admin_unit':
        return this.adminUnit(base, UNIT_LEVELS[layer.table], actor)
      case 'building':
        return this.building(base, actor)
      case 'part':
        return this.part(base, actor)
      case 'key_place':
        return this.keyPlace(base, actor)
      case 'sensor':
        return this.sensor(base, actor)
      case 'camera':
        return cameraCard(this.opts.db, base, actor)
      case 'worker':
        return this.worker(base, actor)
      case 'case':
        return this.case(base, actor)
    }
  }

  private get db(): Queryable {
    return this.opts.db
  }

  private async openCases(prefix: string, scope: Scope): Promise<{ total: number; items: CaseLine[] }> {
    const { rows } = await this.db.query<CaseLineRow & { total: number }>(sql.open_cases!, [prefix, scopeFilter(scope), CARD_LIST_LIMIT])
    return { total: rows[0]?.total ?? 0, items: rows.map(caseLine) }
  }

  private async grid(base: { layer: string; id: number }, actor: Actor): Promise<GridCard | null> {
    const { rows } = await this.db.query<{
      code: string; name: string; area_m2: number; community_code: string; lon: number; lat: number; branch_name: string | null; branch_secretary: string | null
      team: unknown; houses_by_use: unknown; rental: number; people_by_category: unknown; parts: unknown; sensors: unknown; cameras: unknown
    }>(sql.grid!, [base.id, scopeFilter(actor)])
    const g = rows[0]
    if (!g) return null
    const byUse = counts(g.houses_by_use)
    const byCategory = counts(g.people_by_category)
    const sensors = counts(g.sensors)
    const cameras = counts(g.cameras)
    return {
      kind: 'grid',
      ...base,
      lon: g.lon,
      lat: g.lat,
      path: await unitPath(this.db, g.community_code, null),
      code: g.code,
      name: g.name,
      areaM2: num(g.area_m2),
      team: json<GridCard['team']>(g.team),
      partyBranch: g.branch_name === null ? null : { name: g.branch_name, secretary: g.branch_secretary ?? '' },
      houses: { total: total(byUse), byUse, rental: g.rental },
      people: { total: total(byCategory), byCategory },
      parts: json<GridCard['parts']>(g.parts),
      sensors: { online: sensors.online ?? 0, offline: sensors.offline ?? 0, alarm: sensors.alarm ?? 0 },
      cameras: { online: cameras.online ?? 0, offline: cameras.offline ?? 0, fault: cameras.fault ?? 0 },
      openCases: await this.openCases(g.code, actor),
    }
  }

  private async adminUnit(base: { layer: string; id: number }, level: AdminUnitCard['level'] | undefined, actor: Actor): Promise<AdminUnitCard | null> {
    if (!level) return null
    const { rows } = await this.db.query<{ code: string; name: string; parent_code: string | null; lon: number; lat: number; grids: number }>(sql.admin_unit!, [
      base.id,
      level,
      scopeFilter(actor),
    ])
    const u = rows[0]
    if (!u) return null
    return {
      kind: 'admin_unit',
      ...base,
      lon: u.lon,
      lat: u.lat,
      path: u.parent_code ? await unitPath(this.db, u.parent_code, null) : [],
      code: u.code,
      name: u.name,
      level,
      grids: u.grids,
      openCases: await this.openCases(u.code, actor),
    }
  }

  private async building(base: { layer: string; id: number }, actor: Actor): Promise<BuildingCard | null> {
    const { rows } = await this.db.query<{
      name: string | null; address: string | null; use: string | null; height_m: number; height_estimated: boolean; levels: number | null; grid_code: string | null
      lon: number; lat: number; houses_by_use: unknown; residents_by_category: unknown
    }>(sql.building!, [base.id, scopeFilter(actor)])
    const b = rows[0]
    if (!b) return null
    const byUse = counts(b.houses_by_use)
    const byCategory = counts(b.residents_by_category)
    return {
      kind: 'building',
      ...base,
      lon: b.lon,
      lat: b.lat,
      path: await unitPath(this.db, null, b.grid_code),
      name: b.name,
      address: b.address,
      use: b.use,
      heightM: num(b.height_m),
      heightEstimated: b.height_estimated,
      levels: numOrNull(b.levels),
      gridCode: b.grid_code,
      houses: { total: total(byUse), byUse },
      residents: { total: total(byCategory), byCategory },
    }
  }

  private async part(base: { layer: string; id: number }, actor: Actor): Promise<PartCard | null> {
    const { rows } = await this.db.query<{
      code: string; name: string; class_code: string; class_name: string; major_name: string
      owner_id: number | null; owner_name: string | null; owner_phone: string | null
      maintainer_id: number | null; maintainer_name: string | null; maintainer_phone: string | null
      property_unit: string | null; state: PartCard['state']; grid_code: string | null; lon: number; lat: number
    }>(sql.part!, [base.id, scopeFilter(actor)])
    const p = rows[0]
    if (!p) return null
    const cases = await this.db.query<CaseLineRow>(sql.part_cases!, [base.id, scopeFilter(actor), PART_RADIUS_M, CARD_LIST_LIMIT])
    return {
      kind: 'part',
      ...base,
      lon: p.lon,
      lat: p.lat,
      path: await unitPath(this.db, null, p.grid_code),
      code: p.code,
      name: p.name,
      classCode: p.class_code,
      className: p.class_name,
      majorName: p.major_name,
      owner: dept(p.owner_id, p.owner_name, p.owner_phone),
      maintainer: dept(p.maintainer_id, p.maintainer_name, p.maintainer_phone),
      propertyUnit: p.property_unit,
      state: p.state,
      gridCode: p.grid_code,
      cases: cases.rows.map(caseLine),
    }
  }

  private async keyPlace(base: { layer: string; id: number }, actor: Actor): Promise<KeyPlaceCard | null> {
    const { rows } = await this.db.query<{ name: string; kind: string; risk_color: string; grid_code: string | null; lon: number; lat: number }>(sql.key_place!, [
      base.id,
      scopeFilter(actor),
    ])
    const k = rows[0]
    if (!k) return null
    return {
      kind: 'key_place',
      ...base,
      lon: k.lon,
      lat: k.lat,
      path: await unitPath(this.db, null, k.grid_code),
      name: k.name,
      placeKind: k.kind,
      riskColor: k.risk_color,
      gridCode: k.grid_code,
    }
  }

  private async sensor(base: { layer: string; id: number }, actor: Actor): Promise<SensorCard | null> {
    const { rows } = await this.db.query<{
      code: string; name: string; type: string; unit: string; status: SensorCard['status']; last_value: number | null; last_seen: Date | string | null
      grid_code: string | null; lon: number; lat: number; thresholds: unknown
    }>(sql.sensor!, [base.id, scopeFilter(actor)])
    const s = rows[0]
    if (!s) return null
    const readings = await this.db.query<{ ts: Date | string; value: number }>(sql.sensor_readings!, [base.id, SENSOR_WINDOW_S, SENSOR_MAX_READINGS])
    const alarms = await this.db.query<{ id: number; kind: string; status: string; raised_at: Date | string; value: number | null; case_id: number | null }>(sql.sensor_alarms!, [
      base.id,
      CARD_LIST_LIMIT,
    ])
    return {
      kind: 'sensor',
      ...base,
      lon: s.lon,
      lat: s.lat,
      path: await unitPath(this.db, null, s.grid_code),
      code: s.code,
      name: s.name,
      type: s.type,
      unit: s.unit,
      status: s.status,
      lastValue: numOrNull(s.last_value),
      lastSeen: iso(s.last_seen),
      thresholds: counts(s.thresholds),
      readings: readings.rows.map((r) => ({ ts: iso(r.ts)!, value: num(r.value) })),
      alarms: alarms.rows.map((a) => ({ id: a.id, kind: a.kind, status: a.status, raisedAt: iso(a.raised_at)!, value: numOrNull(a.value), caseId: a.case_id })),
      gridCode: s.grid_code,
    }
  }

  private async worker(base: { layer: string; id: number }, actor: Actor): Promise<WorkerCard | null> {
    const { rows } = await this.db.query<{
      code: string; name: string; role: string; phone: string | null; duty_status: WorkerCard['dutyStatus']; last_seen: Date | string | null; grid_code: string | null
      department_id: number | null; department_name: string | null; department_phone: string | null; lon: number; lat: number
    }>(sql.worker!, [base.id, scopeFilter(actor)])
    const w = rows[0]
    if (!w) return null
    const tasks = await this.db.query<CaseLineRow>(sql.worker_tasks!, [base.id, scopeFilter(actor), CARD_LIST_LIMIT])
    // Today in the city's time zone, as GET /api/workers/:id/patrol counts it.
    const { from, to } = this.#clock.dayBounds(this.#clock.ymd(Date.now(), '-'))
    const day = await this.opts.positions.track(base.id, new Date(from), new Date(to))
    return {
      kind: 'worker',
      ...base,
      lon: w.lon,
      lat: w.lat,
      path: await unitPath(this.db, null, w.grid_code),
      code: w.code,
      name: w.name,
      role: w.role,
      phone: w.phone,
      dutyStatus: w.duty_status,
      lastSeen: iso(w.last_seen),
      gridCode: w.grid_code,
      department: dept(w.department_id, w.department_name, w.department_phone),
      tasks: tasks.rows.map(caseLine),
      today: { points: day.pointCount, distanceM: day.distanceM, patrolS: day.patrolS },
    }
  }

  private async case(base: { layer: string; id: number }, actor: Actor): Promise<CaseCard | null> {
    // The layer's own scope test first (case_map), so a case outside it is "not found" like any other feature.
    const { rows } = await this.db.query<{ id: number; grid_code: string | null }>(sql.case_in_scope!, [base.id, scopeFilter(actor)])
    if (!rows[0]) return null
    const c = await this.opts.cases.get(base.id, actor)
    return { kind: 'case', ...base, lon: c.lon, lat: c.lat, path: await unitPath(this.db, null, c.gridCode), case: c }
  }
}

/** The hierarchy above a feature (features.sql `path`): from admin unit `from` up, then grid `grid`. */
export async function unitPath(db: Queryable, from: string | null, grid: string | null): Promise<UnitRef[]> {
  if (from === null && grid === null) return []
  const { rows } = await db.query<UnitRef>(sql.path!, [from, grid])
  return rows.map((r) => ({ code: r.code, name: r.name, level: r.level }))
}

/** A camera's card (also what POST /api/cameras/:id/ptz answers); null when not found or outside the scope. */
export async function cameraCard(db: Queryable, base: { layer: string; id: number }, scope: Scope): Promise<CameraCard | null> {
  const { rows } = await db.query<{
    code: string; name: string; kind: CameraCard['cameraKind']; heading_deg: number; fov_deg: number; range_m: number; stream_url: string | null
    status: CameraCard['status']; grid_code: string | null; lon: number; lat: number
  }>(sql.camera!, [base.id, scopeFilter(scope)])
  const c = rows[0]
  if (!c) return null
  return {
    kind: 'camera',
    ...base,
    lon: c.lon,
    lat: c.lat,
    path: await unitPath(db, null, c.grid_code),
    code: c.code,
    name: c.name,
    cameraKind: c.kind,
    headingDeg: num(c.heading_deg),
    fovDeg: num(c.fov_deg),
    rangeM: num(c.range_m),
    status: c.status,
    ...cameraStream(c.stream_url),
    ptz: c.kind === 'ptz' && c.status === 'online',
    gridCode: c.grid_code,
  }
}
