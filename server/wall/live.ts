/**
 * What the wall's live overlays start from (GET /api/wall/live?bbox=w,s,e,n): open cases with
 * their stage clocks, unresolved alarms at their sensors, workers on duty at their last position
 * — within the box (optional: the whole scope) and the asker's scope, each list bounded. The
 * socket's events and telemetry keep the overlays current after that. SQL: live.sql.
 */
import { z } from 'zod'
import type { Actor } from '../auth/sessions.ts'
import { scopeFilter } from '../auth/scope.ts'
import type { Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import type { WallLive, WallLiveAlarm, WallLiveCase, WallLiveWorker } from './types.ts'

const sql = loadSql(new URL('./live.sql', import.meta.url))

/** The most rows of each list one answer carries (cases: the most urgent and oldest; alarms: the latest raised). */
export const LIVE_LIMITS = { cases: 5000, alarms: 2000, workers: 5000 } as const

/** Web Mercator's latitude limit: a box is clipped to it before it is projected (the poles have no EPSG:3857 y). */
const MERCATOR_LAT = 85.0511287798

const coord = (name: string, limit: number) =>
  z
    .number({ error: `bbox ${name} must be a number` })
    .min(-limit, `bbox ${name} must be within -${limit}…${limit}`)
    .max(limit, `bbox ${name} must be within -${limit}…${limit}`)

/** `w,s,e,n` in WGS84 degrees, west < east and south < north (a box across the antimeridian is not one the city needs). */
export const Bbox = z
  .string()
  .transform((s) => s.split(',').map((x) => (x.trim() === '' ? NaN : Number(x))))
  .pipe(
    z.tuple([coord('west', 180), coord('south', 90), coord('east', 180), coord('north', 90)], {
      error: 'bbox must be four numbers west,south,east,north in degrees (WGS84)',
    }),
  )
  .refine(([w, s, e, n]) => w < e && s < n, 'bbox must have west < east and south < north')

export const LiveQuery = z.strictObject({ bbox: Bbox.optional() })
export type LiveQuery = z.infer<typeof LiveQuery>

type Scope = Pick<Actor, 'scopePrefix' | 'unrestricted'>

const iso = (d: Date | string) => new Date(d).toISOString()
const isoOrNull = (d: Date | string | null) => (d === null ? null : iso(d))

interface CaseRow {
  id: number
  code: string
  stage: string
  urgency: string
  category_code: string
  lon: number
  lat: number
  reported_at: Date | string
  stage_started_at: Date | string | null
  stage_deadline_at: Date | string | null
  overdue: boolean
}
interface AlarmRow {
  id: number
  sensor_id: number
  code: string
  name: string
  sensor_type: string
  kind: string
  lon: number
  lat: number
  raised_at: Date | string
  acked: boolean
}
interface WorkerRow {
  id: number
  code: string
  name: string
  lon: number
  lat: number
  duty_status: string
  out_of_grid: boolean
  last_seen: Date | string | null
}

/** The live state in the box (default: everything) and the asker's scope. */
export async function loadWallLive(q: Queryable, query: LiveQuery, scope: Scope, now = Date.now()): Promise<WallLive> {
  const [w, s, e, n] = query.bbox ?? [-180, -90, 180, 90]
  const box = [w, Math.max(s, -MERCATOR_LAT), e, Math.min(n, MERCATOR_LAT)]
  const prefix = scopeFilter(scope)
  const cases = (await q.query<CaseRow>(sql.cases, [prefix, ...box, LIVE_LIMITS.cases])).rows
  const alarms = (await q.query<AlarmRow>(sql.alarms, [prefix, ...box, LIVE_LIMITS.alarms])).rows
  const workers = (await q.query<WorkerRow>(sql.workers, [prefix, ...box, LIVE_LIMITS.workers])).rows
  return {
    at: new Date(now).toISOString(),
    cases: cases.map(
      (c): WallLiveCase => ({
        id: c.id,
        code: c.code,
        stage: c.stage,
        urgency: c.urgency,
        categoryCode: c.category_code,
        lon: c.lon,
        lat: c.lat,
        reportedAt: iso(c.reported_at),
        stageStartedAt: isoOrNull(c.stage_started_at),
        stageDeadlineAt: isoOrNull(c.stage_deadline_at),
        overdue: c.overdue,
      }),
    ),
    alarms: alarms.map(
      (a): WallLiveAlarm => ({
        id: a.id,
        sensorId: a.sensor_id,
        code: a.code,
        name: a.name,
        sensorType: a.sensor_type,
        kind: a.kind,
        lon: a.lon,
        lat: a.lat,
        raisedAt: iso(a.raised_at),
        acked: a.acked,
      }),
    ),
    workers: workers.map(
      (x): WallLiveWorker => ({
        id: x.id,
        code: x.code,
        name: x.name,
        lon: x.lon,
        lat: x.lat,
        dutyStatus: x.duty_status,
        outOfGrid: x.out_of_grid,
        ts: isoOrNull(x.last_seen),
      }),
    ),
  }
}
