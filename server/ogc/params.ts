/**
 * Query parameters of the OGC API – Features endpoints. Every wrong value is a 400 whose
 * message starts with the parameter's name (parseParams); parameters the API does not define
 * are rejected too (/req/core/query-param-unknown).
 */
import { z } from 'zod'
import type { Bbox } from './sql.ts'

export const MAX_LIMIT = 10_000
export const DEFAULT_LIMIT = 100

/** `f`: the only encoding served is JSON (GeoJSON for features). */
const format = z.enum(['json'], { error: 'only f=json is supported' }).optional()

const oneValue = (what: string) => z.string({ error: `expected one ${what}` })

const limit = oneValue('integer')
  .regex(/^\d{1,6}$/, 'expected an integer')
  .transform(Number)
  .pipe(z.number().int().min(1, `must be 1 to ${MAX_LIMIT}`).max(MAX_LIMIT, `must be 1 to ${MAX_LIMIT}`))

const offset = oneValue('integer')
  .regex(/^\d{1,15}$/, 'expected a non-negative integer')
  .transform(Number)

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/** `minLon,minLat,maxLon,maxLat` in CRS84. */
const bbox = oneValue('list of 4 numbers').transform((s, ctx): Bbox => {
  const parts = s.split(',').map((v) => v.trim())
  if (parts.length !== 4 || !parts.every((v) => NUMBER.test(v))) {
    ctx.addIssue({ code: 'custom', message: 'expected 4 numbers minLon,minLat,maxLon,maxLat (CRS84)' })
    return z.NEVER
  }
  const [w, s2, e, n] = parts.map(Number)
  const problems: string[] = []
  if (![w, e].every((v) => v >= -180 && v <= 180)) problems.push('longitudes must be within -180..180')
  if (![s2, n].every((v) => v >= -90 && v <= 90)) problems.push('latitudes must be within -90..90')
  if (s2 > n) problems.push('minLat must not exceed maxLat')
  if (w > e) problems.push('minLon > maxLon (crossing the antimeridian) is not supported')
  for (const message of problems) ctx.addIssue({ code: 'custom', message })
  return problems.length ? z.NEVER : [w, s2, e, n]
})

export interface Interval {
  start: Date | null
  end: Date | null
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2})))?$/

/** An RFC 3339 date-time (or full-date, taken as its start in UTC); null when not one. */
export function parseInstant(s: string): Date | null {
  const m = DATE_TIME.exec(s)
  if (!m) return null
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (month < 1 || month > 12 || day < 1 || day > new Date(Date.UTC(year, month, 0)).getUTCDate()) return null
  if (m[4] !== undefined) {
    if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 60) return null
    if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return null
  }
  const t = Date.parse(m[4] === undefined ? `${m[1]}-${m[2]}-${m[3]}T00:00:00Z` : s.replace(/[ t]/, 'T').replace(/:60(?=[.Zz+-]|$)/, ':59'))
  return Number.isNaN(t) ? null : new Date(t)
}

/** `datetime`: an instant, or an interval `start/end` where either end may be open (`..` or empty). */
export function parseDatetime(s: string): Interval | string {
  const parts = s.split('/')
  if (parts.length === 1) {
    const t = parseInstant(s)
    return t ? { start: t, end: t } : 'expected an RFC 3339 date-time or an interval start/end'
  }
  if (parts.length !== 2) return 'expected an RFC 3339 date-time or an interval start/end'
  const open = (v: string) => v === '..' || v === ''
  if (open(parts[0]) && open(parts[1])) return 'an interval needs at least one end'
  const [start, end] = parts.map((v) => (open(v) ? null : parseInstant(v)))
  if ((!open(parts[0]) && !start) || (!open(parts[1]) && !end)) return 'interval ends must be RFC 3339 date-times or ".."'
  if (start && end && start > end) return 'the interval starts after it ends'
  return { start, end }
}

const datetime = oneValue('date-time or interval').transform((s, ctx): Interval => {
  const r = parseDatetime(s)
  if (typeof r === 'string') {
    ctx.addIssue({ code: 'custom', message: r })
    return z.NEVER
  }
  return r
})

/** Query of the landing page, conformance, collections and single items. */
export const PlainQuery = z.strictObject({ f: format })

/** Query of /collections/{id}/items. */
export const ItemsQuery = z.strictObject({
  f: format,
  limit: limit.optional(),
  offset: offset.optional(),
  bbox: bbox.optional(),
  datetime: datetime.optional(),
})
export type ItemsQuery = z.infer<typeof ItemsQuery>
