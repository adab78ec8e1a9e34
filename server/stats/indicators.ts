/**
 * GET /api/stats/indicators — the evaluation indicators (考核指标) computed from the case record,
 * per district, street, community, grid, department or worker, over any period, within the
 * caller's scope. Definitions: docs/indicators.md; the one SQL that computes them: indicators.sql.
 *
 * Query: from, to (local dates YYYY-MM-DD in ONEGRID_TZ, `to` included; or ISO date-times with an
 * offset, `to` excluded; default the last 30 local days), code (a district, street, community or
 * grid inside the caller's scope; default the whole scope), groupBy (district | street | community
 * | grid | department | worker | none; default none).
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

/** A huge period is a 503 after this long, not a stuck request (server/db/timeout.ts). */
const STATEMENT_TIMEOUT_MS = 30_000

export function indicatorRoutes(opts: { db: Db; tz: string }): Router {
  const r = new Router({ prefix: '/api/stats' })
  r.get('/indicators', async (ctx) => {
    const query = parseParams(IndicatorsQuery, ctx.query)
    const actor: Actor = ctx.state.actor
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = await withStatementTimeout(opts.db, STATEMENT_TIMEOUT_MS, 'the indicators took too long; ask for a shorter period or a smaller area', (q) => loadIndicators(q, query, actor, opts.tz))
  })
  return r
}
