/**
 * GET /api/stats/indicators — the evaluation indicators (考核指标) computed from the case record,
 * per district, street, community, grid, department or worker, over any period, within the
 * caller's scope. Definitions: docs/indicators.md; the one SQL that computes them: indicators.sql.
 *
 * Query: from, to (local dates YYYY-MM-DD in ONEGRID_TZ, `to` included; or ISO date-times with an
 * offset, `to` excluded; default the last 30 local days), code (a district, street, community or
 * grid inside the caller's scope; default the whole scope), groupBy (district | street | community
 * | grid | department | worker | none; default none), compare (previous: also the total of the
 * period of the same length just before).
 *
 * The HTTP answer carries the cockpit's indicators too (loadCockpitIndicators: open cases, sensor
 * and camera availability, workers on duty, patrol coverage); loadIndicators alone computes the
 * case indicators, as the wall and the assessment use them.
 */
import Router from '@koa/router'
import { z } from 'zod'
import type { Db, Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import type { Actor } from '../auth/sessions.ts'
import { inScope, scopeFilter, scopePrefix } from '../auth/scope.ts'
import { HttpError } from '../http/errors.ts'
import { parseParams } from '../http/validate.ts'
import { zoneClock } from '../time/zone.ts'
import { withStatementTimeout } from '../db/timeout.ts'
import { patrolCoverage, type GridCoverage } from './coverage.ts'

const sql = loadSql(new URL('./indicators.sql', import.meta.url))

export const GROUP_BY = ['none', 'district', 'street', 'community', 'grid', 'department', 'worker'] as const
export type GroupBy = (typeof GROUP_BY)[number]
const REGION_DIGITS: Partial<Record<GroupBy, number>> = { district: 6, street: 9, community: 12, grid: 15 }

/** The indicators in the order docs/indicators.md lists them. */
export const INDICATORS = ['registration', 'onTimeDispatch', 'disposal', 'onTimeDisposal', 'closure', 'onTimeClosure', 'rework', 'overdue', 'handlingTime', 'satisfaction'] as const
export type IndicatorKey = (typeof INDICATORS)[number]

const DATE = /^\d{4}-\d{2}-\d{2}$/
const When = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: 'must be a date YYYY-MM-DD or an ISO 8601 date-time with its offset, e.g. 2031-03-01T00:00:00+08:00',
})
export const IndicatorsQuery = z.object({
  from: When.optional(),
  to: When.optional(),
  code: z.string().regex(/^(\d{6}|\d{9}|\d{12}|\d{15})$/, 'must be a district (6 digits), street (9), community (12) or grid (15) code').optional(),
  groupBy: z
    .enum(GROUP_BY, { error: (iss) => `unknown grouping "${String(iss.input)}"; groupings: ${GROUP_BY.join(', ')}` })
    .default('none'),
  /** `previous`: the answer also carries the total of the period of the same length just before. */
  compare: z.enum(['previous'], { error: (iss) => `unknown comparison "${String(iss.input)}"; the one there is: previous` }).optional(),
})
export type IndicatorsQuery = z.infer<typeof IndicatorsQuery>

export interface Ratio {
  numerator: number
  denominator: number
  /** numerator / denominator, null when the denominator is 0. */
  rate: number | null
}

export interface IndicatorRow {
  /** The unit, department id or worker id; null for the cases without one (department, worker). */
  code: string | null
  name: string | null
  reported: number
  pending: number
  merged: number
  registration: Ratio
  onTimeDispatch: Ratio & { undetermined: number }
  disposal: Ratio
  onTimeDisposal: Ratio
  closure: Ratio
  onTimeClosure: Ratio
  rework: Ratio & { reworks: number }
  overdue: Ratio
  /** numerator: hours summed, denominator: handled cases; average = numerator / denominator. */
  handlingTime: { numerator: number; denominator: number; average: number | null }
  satisfaction: Ratio & { average: number | null }
}

export interface Indicators {
  from: string
  to: string
  tz: string
  asOf: string
  groupBy: GroupBy
  code: string | null
  total: IndicatorRow
  rows: IndicatorRow[]
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d
const ratio = (numerator: number, denominator: number): Ratio => ({ numerator, denominator, rate: denominator ? round(numerator / denominator) : null })

type CountRow = Record<string, number | string | boolean | null>

function toRow(code: string | null, name: string | null, r: CountRow | undefined): IndicatorRow {
  const n = (k: string) => Number(r?.[k] ?? 0)
  const hours = n('handling_hours')
  return {
    code,
    name,
    reported: n('reported'),
    pending: n('pending'),
    merged: n('merged'),
    registration: ratio(n('registration_num'), n('registration_den')),
    onTimeDispatch: { ...ratio(n('on_time_dispatch_num'), n('on_time_dispatch_den')), undetermined: n('dispatch_undetermined') },
    disposal: ratio(n('disposal_num'), n('disposal_den')),
    onTimeDisposal: ratio(n('on_time_disposal_num'), n('disposal_den')),
    closure: ratio(n('closure_num'), n('closure_den')),
    onTimeClosure: ratio(n('on_time_closure_num'), n('closure_den')),
    rework: { ...ratio(n('rework_num'), n('disposal_num')), reworks: n('reworks') },
    overdue: ratio(n('overdue_num'), n('disposal_den')),
    handlingTime: { numerator: round(hours), denominator: n('handling_den'), average: n('handling_den') ? round(hours / n('handling_den')) : null },
    satisfaction: { ...ratio(n('satisfaction_num'), n('satisfaction_den')), average: n('satisfaction_den') ? round(n('satisfaction_sum') / n('satisfaction_den')) : null },
  }
}

/** The period [from, to) of the query in ms: dates are whole local days of `tz`, `to` included. */
export function periodOf(q: Pick<IndicatorsQuery, 'from' | 'to'>, tz: string, now = Date.now()): { from: number; to: number } {
  const clock = zoneClock(tz)
  const at = (s: string, nextDay: boolean) => {
    if (!DATE.test(s)) return Date.parse(s)
    const day = clock.dayBounds(s)
    return nextDay ? day.to : day.from
  }
  const to = q.to ? at(q.to, true) : clock.day(now, 1)
  const from = q.from ? at(q.from, false) : clock.day(to - 1, -29)
  if (!(from < to)) throw new HttpError(400, `from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`)
  return { from, to }
}

type Scope = Pick<Actor, 'scopeCode' | 'scopePrefix' | 'unrestricted'>

/** The indicators for the query, within the asker's scope. */
export async function loadIndicators(q: Queryable, query: IndicatorsQuery, scope: Scope, tz: string, now = Date.now()): Promise<Indicators> {
  const { from, to } = periodOf(query, tz, now)
  const { groupBy } = query
  let area: string | null = null
  let areaUnit: { code: string; name: string } | null = null
  if (query.code) {
    const u = (await q.query<{ code: string; name: string; level: string }>(sql.unit, [query.code])).rows[0]
    if (!u) throw new HttpError(404, `no district, street, community or grid has the code ${query.code}`)
    area = scopePrefix(u.code)
    if (!scope.unrestricted && !inScope(scope.scopePrefix, area)) throw new HttpError(403, `${u.code} is outside your scope (${scope.scopeCode})`)
    areaUnit = { code: u.code, name: u.name }
  }
  const digits = REGION_DIGITS[groupBy]
  const prefix = area ?? scope.scopePrefix
  if (digits !== undefined && digits < prefix.length) {
    throw new HttpError(400, `groupBy: ${groupBy} is above the selected area ${area ? query.code : scope.scopeCode}; group by a level inside it`)
  }
  const { rows } = await q.query<CountRow>(sql.indicators, [scopeFilter(scope), area, new Date(from).toISOString(), new Date(to).toISOString(), groupBy])
  const totalCounts = rows.find((r) => r.is_total)
  const byKey = new Map(rows.filter((r) => !r.is_total).map((r) => [r.key === null ? null : String(r.key), r]))
  let units: { code: string | null; name: string | null }[] = []
  if (digits !== undefined) {
    const level = groupBy === 'grid' ? 'grid' : groupBy
    units = (await q.query<{ code: string; name: string }>(sql.units, [prefix, level])).rows
    // Cases outside every grid (unrestricted askers only) belong to no unit.
    if (byKey.has(null)) units.push({ code: null, name: null })
  } else if (groupBy === 'department' || groupBy === 'worker') {
    const ids = [...byKey.keys()].filter((k): k is string => k !== null).map(Number)
    const names = new Map((await q.query<{ code: string; name: string }>(groupBy === 'department' ? sql.departments : sql.workers, [ids])).rows.map((r) => [r.code, r.name]))
    units = [...byKey.keys()].sort((a, b) => (a === null ? 1 : b === null ? -1 : Number(a) - Number(b))).map((code) => ({ code, name: code === null ? null : (names.get(code) ?? null) }))
  }
  const tzClock = zoneClock(tz)
  const local = (ms: number) => {
    const off = tzClock.offset(ms) / 60_000
    const sign = off < 0 ? '-' : '+'
    const hh = String(Math.floor(Math.abs(off) / 60)).padStart(2, '0')
    const mm = String(Math.abs(off) % 60).padStart(2, '0')
    return `${tzClock.wall(ms).toISOString().slice(0, 19)}${sign}${hh}:${mm}`
  }
  return {
    from: local(from),
    to: local(to),
    tz,
    asOf: new Date(now).toISOString(),
    groupBy,
    code: areaUnit?.code ?? null,
    total: toRow(areaUnit?.code ?? scope.scopeCode, areaUnit?.name ?? null, totalCounts),
    rows: units.map((u) => toRow(u.code, u.name, byKey.get(u.code))),
  }
}

// ─── the cockpit's indicators ────────────────────────────────────────────────────────────────

/** Sensor-hours online (numerator) of the sensor-hours observed (denominator), and how many sensors. */
export interface SensorAvailability extends Ratio {
  sensors: number
}

/** The indicators the leaders' cockpit adds (docs/indicators.md, "Cockpit indicators"). */
export interface CockpitFields {
  /** Cases open at the end of the period (now, when the period has not ended). */
  open: number
  /** Time-weighted share of sensor time online; null for department and worker rows. */
  sensorAvailability: SensorAvailability | null
  /** Cameras online now of the cameras; null for department and worker rows and for a period that is not current. */
  cameraAvailability: Ratio | null
  /** Workers on duty or busy now of the workers; null as cameraAvailability. */
  workersOnDuty: Ratio | null
  /** Road metres walked of the road metres of the grids; null for department and worker rows. */
  patrolCoverage: Ratio | null
}

export type CockpitRow = IndicatorRow & CockpitFields

export interface CockpitIndicators extends Indicators {
  total: CockpitRow
  rows: CockpitRow[]
  /** With compare=previous: the total over the period of the same length just before. */
  previous?: { from: string; to: string; total: CockpitRow }
}

interface KeyedRow {
  key: string | null
  is_total: boolean
}

/** The same period length just before [from, to): whole local days when both ends are local midnights. */
export function previousPeriod(p: { from: number; to: number }, tz: string): { from: number; to: number } {
  const clock = zoneClock(tz)
  if (clock.day(p.from) === p.from && clock.day(p.to) === p.to) {
    let days = 0
    while (clock.day(p.from, days) < p.to) days++
    return { from: clock.day(p.from, -days), to: p.from }
  }
  return { from: p.from - (p.to - p.from), to: p.from }
}

type Figures = Map<string | null, CockpitFields>

/**
 * The cockpit's figures of each period ([from, to) in ms): the total, and for the first period
 * (the one asked for) by key — the unit codes of a region grouping; department and worker ids for
 * `open` alone (sensors, cameras, workers and roads belong to places, not to departments).
 * Camera availability and workers on duty are a snapshot of now: only for a period that holds now.
 */
async function cockpitFigures(
  q: Queryable,
  a: { scope: string | null; area: string | null; prefix: string; groupBy: GroupBy; tz: string; now: number },
  periods: { from: number; to: number }[],
): Promise<{ total: CockpitFields; byKey: Figures }[]> {
  const iso = (ms: number) => new Date(ms).toISOString()
  const coverage = await patrolCoverage(q, sql, a.prefix, periods.map((p) => ({ from: p.from, to: Math.min(p.to, a.now) })))
  const out: { total: CockpitFields; byKey: Figures }[] = []
  for (const [i, p] of periods.entries()) {
    const grouping: GroupBy = i === 0 ? a.groupBy : 'none'
    const digits = REGION_DIGITS[grouping]
    // The statements about places group by region only.
    const region = digits === undefined ? 'none' : grouping
    const until = Math.min(p.to, a.now)
    const current = p.from <= a.now && a.now < p.to
    const blank = (placed: boolean): CockpitFields => ({
      open: 0,
      sensorAvailability: placed ? { ...ratio(0, 0), sensors: 0 } : null,
      cameraAvailability: placed && current ? ratio(0, 0) : null,
      workersOnDuty: placed && current ? ratio(0, 0) : null,
      patrolCoverage: placed ? ratio(0, 0) : null,
    })
    const total = blank(true)
    const byKey: Figures = new Map()
    const at = (r: KeyedRow): CockpitFields => {
      if (r.is_total) return total
      let f = byKey.get(r.key)
      if (!f) byKey.set(r.key, (f = blank(digits !== undefined)))
      return f
    }
    const placed = (r: KeyedRow) => r.is_total || digits !== undefined

    for (const r of (await q.query<KeyedRow & { open: number }>(sql.open_cases, [a.scope, a.area, iso(until), grouping])).rows) at(r).open = r.open

    if (p.from < until) {
      const { rows } = await q.query<KeyedRow & { sensors: number; observed_s: number; offline_s: number }>(sql.sensor_availability, [a.scope, a.area, iso(p.from), iso(until), region, a.tz])
      for (const r of rows.filter(placed)) {
        const observed = Number(r.observed_s)
        const online = Math.max(0, observed - Number(r.offline_s))
        at(r).sensorAvailability = { ...ratio(round(online / 3600, 3), round(observed / 3600, 3)), sensors: r.sensors }
      }
    }

    if (current) {
      const cams = (await q.query<KeyedRow & { cameras: number; online: number }>(sql.cameras_online, [a.scope, a.area, region])).rows
      for (const r of cams.filter(placed)) at(r).cameraAvailability = ratio(r.online, r.cameras)
      const workers = (await q.query<KeyedRow & { workers: number; on_duty: number }>(sql.workers_on_duty, [a.scope, a.area, region])).rows
      for (const r of workers.filter(placed)) at(r).workersOnDuty = ratio(r.on_duty, r.workers)
    }

    const sum: GridCoverage = { walkedM: 0, roadM: 0 }
    const byUnit = new Map<string, GridCoverage>()
    for (const [code, c] of coverage[i]) {
      sum.walkedM += c.walkedM
      sum.roadM += c.roadM
      if (digits === undefined) continue
      const unit = code.slice(0, digits)
      const u = byUnit.get(unit) ?? { walkedM: 0, roadM: 0 }
      u.walkedM += c.walkedM
      u.roadM += c.roadM
      byUnit.set(unit, u)
    }
    const metres = (c: GridCoverage) => ratio(Math.round(c.walkedM), Math.round(c.roadM))
    total.patrolCoverage = metres(sum)
    for (const [unit, c] of byUnit) at({ key: unit, is_total: false }).patrolCoverage = metres(c)
    out.push({ total, byKey })
  }
  return out
}

/**
 * The indicators of loadIndicators with the cockpit's beside them in every row (null where they
 * do not apply), and with compare=previous the total of the period just before.
 */
export async function loadCockpitIndicators(q: Queryable, query: IndicatorsQuery, scope: Scope, tz: string, now = Date.now()): Promise<CockpitIndicators> {
  const base = await loadIndicators(q, query, scope, tz, now)
  const period = periodOf(query, tz, now)
  const area = base.code ? scopePrefix(base.code) : null
  const before = query.compare === 'previous' ? previousPeriod(period, tz) : null
  const periods = before ? [period, before] : [period]
  const [cur, prev] = await cockpitFigures(q, { scope: scopeFilter(scope), area, prefix: area ?? scope.scopePrefix, groupBy: query.groupBy, tz, now }, periods)
  const regional = REGION_DIGITS[query.groupBy] !== undefined
  const current = period.from <= now && now < period.to
  // A unit with none of the things counted: zeros over nothing (region rows), or nothing that applies.
  const none: CockpitFields = {
    open: 0,
    sensorAvailability: regional ? { ...ratio(0, 0), sensors: 0 } : null,
    cameraAvailability: regional && current ? ratio(0, 0) : null,
    workersOnDuty: regional && current ? ratio(0, 0) : null,
    patrolCoverage: regional ? ratio(0, 0) : null,
  }
  const out: CockpitIndicators = {
    ...base,
    total: { ...base.total, ...cur.total },
    rows: base.rows.map((r) => ({ ...r, ...(cur.byKey.get(r.code) ?? none) })),
  }
  if (before && prev) {
    const p = await loadIndicators(q, { ...query, from: new Date(before.from).toISOString(), to: new Date(before.to).toISOString(), groupBy: 'none' }, scope, tz, now)
    out.previous = { from: p.from, to: p.to, total: { ...p.total, ...prev.total } }
  }
  return out
}

/** A huge period is a 503 after this long, not a stuck request (server/db/timeout.ts). */
const STATEMENT_TIMEOUT_MS = 30_000

export function indicatorRoutes(opts: { db: Db; tz: string }): Router {
  const r = new Router({ prefix: '/api/stats' })
  r.get('/indicators', async (ctx) => {
    const query = parseParams(IndicatorsQuery, ctx.query)
    const actor: Actor = ctx.state.actor
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = await withStatementTimeout(opts.db, STATEMENT_TIMEOUT_MS, 'the indicators took too long; ask for a shorter period or a smaller area', (q) =>
      loadCockpitIndicators(q, query, actor, opts.tz),
    )
  })
  return r
}
