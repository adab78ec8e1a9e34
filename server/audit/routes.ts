/**
 * The audit admin's view of the audit log (docs/audit.md), newest first:
 *
 *   GET /api/admin/audit?from&to&actor&action&limit&before   → { rows: AuditRow[], next: id | null }
 *   GET /api/admin/audit.csv?from&to&actor&action            → every matching row as CSV
 *
 * from/to: an ISO 8601 date-time with offset, or a date (a day of ONEGRID_TZ; `to` includes that
 * day); from is inclusive, to exclusive. actor: a username, exactly. action: a name exactly, or a
 * prefix ending in `*` (`login.*`). limit 1–500 (100); before: an id, the `next` of the page before.
 * Only holders of audit.read (the audit admin; server/auth/route-permissions.ts). Every read is itself recorded (`read.audit`).
 */
import { Readable, Transform, pipeline } from 'node:stream'
import Router from '@koa/router'
import type { Context } from 'koa'
import { stringify } from 'csv-stringify'
import { z } from 'zod'
import type { Queryable } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import { parseParams } from '../http/validate.ts'
import { ZoneClock } from '../time/zone.ts'
import { auditFacts } from './middleware.ts'
import { ROW_COLUMNS, toRow, type AuditLog, type AuditRow, type RawRow } from './log.ts'

const When = z.union([z.iso.date(), z.iso.datetime({ offset: true })], {
  error: 'must be a date (2026-05-01) or an ISO 8601 date-time with offset (2026-05-01T08:00:00+08:00)',
})

const Filter = z.object({
  from: When.optional(),
  to: When.optional(),
  actor: z.string().trim().min(1, 'actor must not be empty').max(200, 'actor is at most 200 characters').optional(),
  action: z
    .string()
    .regex(/^[a-z][a-z0-9_.]*\*?$/, 'action must be an action name such as login.failure, or a prefix ending in * such as login.*')
    .max(100)
    .optional(),
})

export const AuditQuery = Filter.extend({
  limit: z.coerce.number({ error: 'limit must be a number' }).int('limit must be a whole number').min(1, 'limit must be 1–500').max(500, 'limit must be 1–500').default(100),
  before: z
    .string()
    .regex(/^\d{1,18}$/, 'before must be a row id (a positive integer)')
    .optional(),
})
export type AuditFilter = z.infer<typeof Filter>

/** The bound parameters of a filter: from, to (instants), actor, exact action, action prefix. */
function filterParams(f: AuditFilter, clock: ZoneClock): [string | null, string | null, string | null, string | null, string | null] {
  const instant = (v: string | undefined, end: boolean): string | null => {
    if (v === undefined) return null
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) {
      const b = clock.dayBounds(v)
      return new Date(end ? b.to : b.from).toISOString()
    }
    return v
  }
  const from = instant(f.from, false)
  const to = instant(f.to, true)
  if (from && to && Date.parse(from) >= Date.parse(to)) throw new HttpError(400, `from (${f.from}) must be before to (${f.to})`)
  const prefix = f.action?.endsWith('*') ? f.action.slice(0, -1) : null
  return [from, to, f.actor ?? null, prefix === null ? (f.action ?? null) : null, prefix]
}

const WHERE = `($1::timestamptz IS NULL OR at >= $1::timestamptz) AND ($2::timestamptz IS NULL OR at < $2::timestamptz)
  AND ($3::text IS NULL OR actor = $3::text) AND ($4::text IS NULL OR action = $4::text)
  AND ($5::text IS NULL OR starts_with(action, $5::text)) AND ($6::bigint IS NULL OR id < $6::bigint)`

async function page(q: Queryable, params: unknown[], before: string | null, limit: number): Promise<AuditRow[]> {
  const { rows } = await q.query<RawRow>(`SELECT ${ROW_COLUMNS} FROM audit_log WHERE ${WHERE} ORDER BY audit_log.id DESC LIMIT $7`, [...params, before, limit])
  return rows.map(toRow)
}

const CSV_COLUMNS = ['id', 'at', 'actor', 'role', 'action', 'method', 'target', 'status', 'ip', 'req_id', 'detail', 'prev_hash', 'hash'] as const
const CSV_PAGE = 2000

/** Every matching row, newest first, as CSV (UTF-8 with BOM; cells that a spreadsheet would run as a formula are prefixed with '). */
function csvStream(q: Queryable, params: unknown[]): Readable {
  async function* records(): AsyncGenerator<Record<string, unknown>> {
    let before: string | null = null
    for (;;) {
      const rows = await page(q, params, before, CSV_PAGE)
      for (const r of rows) {
        yield { id: r.id, at: r.at, actor: r.actor, role: r.role, action: r.action, method: r.method, target: r.target, status: r.status, ip: r.ip, req_id: r.reqId, detail: JSON.stringify(r.detail), prev_hash: r.prevHash, hash: r.hash }
      }
      if (rows.length < CSV_PAGE) return
      before = String(rows[rows.length - 1].id)
    }
  }
  const out = stringify({ header: true, bom: true, columns: [...CSV_COLUMNS], escape_formulas: true })
  return pipeline(Readable.from(records()), out as unknown as Transform, () => {})
}

export function auditRoutes(opts: { audit: AuditLog; tz: string }): Router {
  const { audit } = opts
  const clock = new ZoneClock(opts.tz)
  const r = new Router({ prefix: '/api/admin' })
  const filtersOf = (f: AuditFilter) => Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined))

  r.get('/audit', async (ctx: Context) => {
    const query = parseParams(AuditQuery, ctx.query)
    const params = filterParams(query, clock)
    const rows = await page(audit.db, [...params], query.before ?? null, query.limit)
    await audit.record({ ...auditFacts(ctx), action: 'read.audit', status: 200, detail: { format: 'json', filters: filtersOf(query), rows: rows.length } })
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = { rows, next: rows.length === query.limit ? rows[rows.length - 1].id : null }
  })

  r.get('/audit.csv', async (ctx: Context) => {
    const query = parseParams(Filter, ctx.query)
    const params = filterParams(query, clock)
    await audit.record({ ...auditFacts(ctx), action: 'read.audit', status: 200, detail: { format: 'csv', filters: filtersOf(query) } })
    const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15)
    ctx.set('Cache-Control', 'private, no-store')
    ctx.set('Content-Disposition', `attachment; filename="audit-${stamp}.csv"`)
    ctx.type = 'text/csv; charset=utf-8'
    ctx.body = csvStream(audit.db, [...params])
  })
  return r
}
