/**
 * 实有人口 (residents) — personal data, read within the asker's scope (SQL filters by grid code)
 * and masked unless asked otherwise (issue 10):
 * - GET /api/people?grid=&house=&limit=&after=&unmasked= — residents, by id; `grid` a grid or
 *   admin-unit code prefix within the scope, `house` a house id; keyset paging with `after`.
 * - GET /api/people/:id?unmasked= — one resident (404 outside the scope, like an unknown one).
 * Names, ID numbers and phone numbers come masked (张**, 3101**********1234, 138****5678) — done in
 * SQL, so an unmasked value never leaves the database for a masked reader. `unmasked=true` needs
 * the permission people.unmask (403 otherwise), and every such read is recorded in the audit log
 * (action `read.sensitive`, the ids read) in the same transaction as the read: no audit row, no data.
 */
import Router from '@koa/router'
import type { Context } from 'koa'
import { z } from 'zod'
import type { AuditLog } from '../audit/log.ts'
import { can } from '../auth/permissions.ts'
import { scopeFilter } from '../auth/scope.ts'
import type { Actor } from '../auth/sessions.ts'
import type { Db, Queryable } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import { IdParam, parseParams } from '../http/validate.ts'

const Flag = z.enum(['true', 'false', '1', '0'], { error: 'unmasked must be true or false' }).transform((v) => v === 'true' || v === '1')
const ListQuery = z
  .object({
    grid: z.string().regex(/^\d{2,15}$/, 'grid must be a grid or admin-unit code (digits)').optional(),
    house: z.string().regex(/^\d{1,9}$/, 'house must be a house id').transform(Number).optional(),
    limit: z.string().regex(/^\d{1,3}$/, 'limit must be 1…200').transform(Number).refine((n) => n >= 1 && n <= 200, 'limit must be 1…200').default(50),
    after: z.string().regex(/^\d{1,9}$/, 'after must be a resident id').transform(Number).optional(),
    unmasked: Flag.default(false),
  })
  .strict()
const OneQuery = z.object({ unmasked: Flag.default(false) }).strict()

/** The columns of a resident; `$1` says unmasked. Masks keep the first character of a name, the first and last 4 of an ID number, the first 3 and last 4 of a phone. */
const COLUMNS = `p.id, p.house_id, h.unit_no, b.name AS building, p.grid_code, p.gender, p.birth_year, p.category, p.special_group,
  CASE WHEN $1 THEN p.name ELSE left(p.name, 1) || repeat('*', greatest(char_length(p.name) - 1, 1)) END AS name,
  CASE WHEN $1 THEN p.id_number ELSE left(p.id_number, 4) || repeat('*', greatest(char_length(p.id_number) - 8, 0)) || right(p.id_number, 4) END AS id_number,
  CASE WHEN $1 OR p.phone IS NULL THEN p.phone ELSE left(p.phone, 3) || repeat('*', greatest(char_length(p.phone) - 7, 0)) || right(p.phone, 4) END AS phone`
const FROM = `FROM people p JOIN houses h ON h.id = p.house_id JOIN buildings b ON b.id = h.building_id
  WHERE ($2::text IS NULL OR p.grid_code LIKE $2 || '%')`

interface PersonRow {
  id: number
  house_id: number
  unit_no: string
  building: string | null
  grid_code: string | null
  gender: string
  birth_year: number
  category: string
  special_group: string | null
  name: string
  id_number: string
  phone: string | null
}

const toPerson = (r: PersonRow) => ({
  id: r.id,
  name: r.name,
  idNumber: r.id_number,
  phone: r.phone,
  gender: r.gender,
  birthYear: r.birth_year,
  category: r.category,
  specialGroup: r.special_group,
  house: { id: r.house_id, unitNo: r.unit_no, building: r.building },
  gridCode: r.grid_code,
})

export function peopleRoutes(opts: { db: Db; audit: AuditLog }): Router {
  const { db, audit } = opts
  const r = new Router({ prefix: '/api/people' })

  /** Runs the read; an unmasked one only with people.unmask, and with its audit row in the same transaction. */
  async function read(ctx: Context, unmasked: boolean, run: (q: Queryable) => Promise<PersonRow[]>): Promise<PersonRow[]> {
    const actor: Actor = ctx.state.actor
    ctx.set('Cache-Control', 'no-store')
    if (!unmasked) return run(db)
    if (!can(actor, 'people.unmask')) throw new HttpError(403, `reading personal data unmasked needs the permission people.unmask, which the ${actor.role} role does not hold`)
    return db.transaction(async (tx) => {
      const rows = await run(tx)
      await audit.record(
        { action: 'read.sensitive', actor: actor.username, role: actor.role, method: ctx.method, target: ctx.path, status: 200, ip: ctx.ip, reqId: ctx.state.reqId, detail: { people: rows.map((p) => p.id) } },
        tx,
      )
      return rows
    })
  }

  r.get('/', async (ctx) => {
    const actor: Actor = ctx.state.actor
    const q = parseParams(ListQuery, ctx.query)
    const rows = await read(ctx, q.unmasked, async (tx) =>
      (
        await tx.query<PersonRow>(
          `SELECT ${COLUMNS} ${FROM}
             AND ($3::text IS NULL OR p.grid_code LIKE $3 || '%') AND ($4::int IS NULL OR p.house_id = $4) AND p.id > $5
           ORDER BY p.id LIMIT $6`,
          [q.unmasked, scopeFilter(actor), q.grid ?? null, q.house ?? null, q.after ?? 0, q.limit],
        )
      ).rows,
    )
    ctx.body = { people: rows.map(toPerson), masked: !q.unmasked, next: rows.length === q.limit ? rows.at(-1)!.id : null }
  })

  r.get('/:id', async (ctx) => {
    const actor: Actor = ctx.state.actor
    const { id } = parseParams(IdParam, ctx.params)
    const { unmasked } = parseParams(OneQuery, ctx.query)
    const rows = await read(ctx, unmasked, async (tx) => (await tx.query<PersonRow>(`SELECT ${COLUMNS} ${FROM} AND p.id = $3`, [unmasked, scopeFilter(actor), id])).rows)
    if (!rows.length) throw new HttpError(404, `no resident ${id} in your scope`)
    ctx.body = { person: toPerson(rows[0]), masked: !unmasked }
  })
  return r
}
