/**
 * What the wall's panels show (GET /api/wall/summary), computed in one read within the asker's
 * scope: today's cases, open and overdue ones, closure rates from the indicators, sensors,
 * workers, alarms, the grids with the most open cases and the ticker's latest events.
 * The SQL is summary.sql; the rates are the indicators' own (server/stats/indicators.ts).
 */
import type { Actor } from '../auth/sessions.ts'
import { scopeFilter } from '../auth/scope.ts'
import type { Queryable } from '../db/index.ts'
import { loadSql } from '../db/sqlfile.ts'
import { STAGES, SOURCES } from '../cases/types.ts'
import { toEvent, type EventRow } from '../realtime/event-log.ts'
import { WORKER_BACK_IN_GRID, WORKER_OUT_OF_GRID } from '../realtime/events.ts'
import { loadIndicators } from '../stats/indicators.ts'
import { zoneClock } from '../time/zone.ts'
import type { WallCount, WallRates, WallSensorType, WallSummary, WallTopGrid } from './types.ts'

const sql = loadSql(new URL('./summary.sql', import.meta.url))

/** The events the ticker shows (WallSummary.recent). */
export const TICKER_TYPES = ['alarm:raised', 'alarm:acked', 'alarm:resolved', 'case:created', 'case:changed', WORKER_OUT_OF_GRID, WORKER_BACK_IN_GRID] as const
/** How many events the ticker starts from; live ones follow over the socket. */
export const TICKER_LIMIT = 30
/** How many grids the top-grids panel lists. */
export const TOP_GRIDS = 5

/** Stages a case can be in on the day it was reported (merged duplicates are left out, as by the indicators). */
const TODAY_STAGES = STAGES.filter((s) => s !== 'merged')

type Scope = Pick<Actor, 'scopeCode' | 'scopePrefix' | 'unrestricted'>

interface TodayRow {
  dim: 'stage' | 'source' | 'category'
  key: string
  name: string | null
  count: number
}

/**
 * Every code of `keys` with its count (0 when none), in the order of `keys`; largest first when
 * `byCount` (ties keep that order), so a panel always has the same bars to draw.
 */
function countsOf(keys: readonly string[], rows: TodayRow[], byCount: boolean): WallCount[] {
  const n = new Map(rows.map((r) => [r.key, r.count]))
  const out = keys.map((key) => ({ key, name: null, count: n.get(key) ?? 0 }))
  return byCount ? out.sort((a, b) => b.count - a.count) : out
}

/** The summary for the asker at `now` (ms); "today" and the rate periods are local days of `tz`. */
export async function loadWallSummary(q: Queryable, scope: Scope, tz: string, now = Date.now()): Promise<WallSummary> {
  const clock = zoneClock(tz)
  const day = clock.ymd(now, '-')
  const { from: dayFrom, to: dayTo } = clock.dayBounds(day)
  const prefix = scopeFilter(scope)

  // The rates are exactly GET /api/stats/indicators?from&to for the same local dates, today included.
  const rates = async (days: number): Promise<WallRates> => {
    const from = clock.ymd(clock.day(now, -(days - 1)), '-')
    const { total } = await loadIndicators(q, { from, to: day, groupBy: 'none' }, scope, tz, now)
    return { from, to: day, closure: total.closure, onTimeClosure: total.onTimeClosure }
  }
  const days7 = await rates(7)
  const days30 = await rates(30)

  const today = (await q.query<TodayRow>(sql.today, [prefix, new Date(dayFrom).toISOString(), new Date(dayTo).toISOString()])).rows
  const of = (dim: TodayRow['dim']) => today.filter((r) => r.dim === dim)
  const byStage = countsOf(TODAY_STAGES, of('stage'), false)
  const open = (await q.query<{ open: number; overdue: number }>(sql.open, [prefix])).rows[0]!
  const topGrids = (await q.query<WallTopGrid>(sql.top_grids, [prefix, TOP_GRIDS])).rows
  const sensorRows = (await q.query<WallSensorType>(sql.sensors, [prefix])).rows
  const w = (await q.query<{ total: number; on_duty: number; busy: number; off_duty: number; out_of_grid: number }>(sql.workers, [prefix])).rows[0]!
  const alarms = (await q.query<{ open: number; unacked: number }>(sql.alarms, [prefix])).rows[0]!
  const recent = (await q.query<EventRow>(sql.recent, [prefix, TICKER_TYPES, TICKER_LIMIT])).rows

  const sum = (k: 'online' | 'offline' | 'alarm') => sensorRows.reduce((n, r) => n + r[k], 0)
  return {
    at: new Date(now).toISOString(),
    day,
    cases: {
      today: {
        reported: byStage.reduce((n, c) => n + c.count, 0),
        byStage,
        bySource: countsOf(SOURCES, of('source'), true),
        byCategory: of('category').map((r) => ({ key: r.key, name: r.name, count: r.count })),
      },
      open: open.open,
      overdue: open.overdue,
    },
    rates: { days7, days30 },
    sensors: { total: { online: sum('online'), offline: sum('offline'), alarm: sum('alarm') }, byType: sensorRows },
    workers: { total: w.total, onDuty: w.on_duty, busy: w.busy, offDuty: w.off_duty, outOfGrid: w.out_of_grid },
    alarms,
    topGrids,
    recent: recent.map(toEvent),
  }
}
