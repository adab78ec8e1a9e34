/**
 * Worker positions and what they say.
 *
 * - POST /api/positions `{ crs?, positions: [{ workerId?, ts, lon, lat, accuracy?, speed?, heading? }] }`
 *   — a worker reports their own fixes; admins and dispatchers any worker's in their scope
 *   (workerId in each fix). 200 `{ accepted, duplicates, events }`.
 * - GET /api/workers/:id/track?from=&to= — points, stops, distance, patrol time, out-of-grid segments.
 * - GET /api/workers/:id/patrol?day=YYYY-MM-DD — distance, patrol and out-of-grid time of one day (ONEGRID_TZ).
 * - GET /api/grids/:code/presence?from=&to= — who was in the grid, when.
 *
 * Tracks are personal data: admins, dispatchers, leaders and supervisors within their scope, and
 * a worker for themself. Ranges default to the last 24 h and cover at most 31 days; a bad or
 * inverted range is 422.
 */
import Router from '@koa/router'
import { z } from 'zod'
import type { Actor } from '../auth/sessions.ts'
import { HttpError } from '../http/errors.ts'
import { describeIssues, IdParam, parseBody, parseParams } from '../http/validate.ts'
import { PositionReport } from '../realtime/events.ts'
import { MAX_RANGE_MS, type PositionService } from './service.ts'
import { zoneClock } from '../time/zone.ts'

const Ts = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 date-time with its offset, e.g. 2026-11-21T08:00:00+08:00' })
export const RangeQuery = z.object({ from: Ts.optional(), to: Ts.optional() })
export const DayQuery = z.object({
  day: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/, 'day must be a date like 2026-11-21')
    .refine((d) => {
      // 2026-02-30 rolls over to March; 2026-13-45 is no date at all (toISOString would throw).
      const t = new Date(`${d}T00:00:00Z`)
      return !Number.isNaN(t.getTime()) && t.toISOString().startsWith(d)
    }, 'day is not a calendar date')
    .optional(),
})
const GridParam = z.object({ code: z.string().regex(/^\d{15}$/, 'a grid code has 15 digits') })

/** The query's range: [from, to), by default the 24 h up to now. */
export function parseRange(query: unknown, now = new Date()): { from: Date; to: Date } {
  const r = RangeQuery.safeParse(query)
  if (!r.success) throw new HttpError(422, describeIssues(r.error))
  const to = r.data.to ? new Date(r.data.to) : now
  const from = r.data.from ? new Date(r.data.from) : new Date(to.getTime() - 86_400_000)
  if (from.getTime() >= to.getTime()) throw new HttpError(422, `from (${from.toISOString()}) must be before to (${to.toISOString()})`)
  if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw new HttpError(422, 'a range covers at most 31 days')
  return { from, to }
}

export function positionRoutes(opts: { positions: PositionService; tz: string }): Router {
  const r = new Router({ prefix: '/api' })
  const { positions } = opts

  r.post('/positions', async (ctx) => {
    const report = parseBody(PositionReport, ctx.request.body)
    ctx.body = await positions.ingest(ctx.state.actor as Actor, report)
  })

  r.get('/workers/:id/track', async (ctx) => {
    const { id } = parseParams(IdParam, { id: ctx.params.id })
    const { from, to } = parseRange(ctx.query)
    const w = await positions.worker(ctx.state.actor as Actor, id)
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = { workerId: w.id, code: w.code, name: w.name, gridCode: w.grid_code, ...(await positions.track(w.id, from, to)) }
  })

  r.get('/workers/:id/patrol', async (ctx) => {
    const { id } = parseParams(IdParam, { id: ctx.params.id })
    const q = DayQuery.safeParse(ctx.query)
    if (!q.success) throw new HttpError(422, describeIssues(q.error))
    // Today in the city's time zone unless a day is named.
    const clock = zoneClock(opts.tz)
    const day = q.data.day ?? clock.ymd(Date.now(), '-')
    const w = await positions.worker(ctx.state.actor as Actor, id)
    const { from, to } = clock.dayBounds(day)
    const t = await positions.track(w.id, new Date(from), new Date(to))
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = { workerId: w.id, code: w.code, name: w.name, day, from: t.from, to: t.to, distanceM: t.distanceM, patrolS: t.patrolS, outOfGridS: t.outOfGridS, stops: t.stops.length }
  })

  r.get('/grids/:code/presence', async (ctx) => {
    const { code } = parseParams(GridParam, { code: ctx.params.code })
    const { from, to } = parseRange(ctx.query)
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = await positions.presence(ctx.state.actor as Actor, code, from, to)
  })

  return r
}
