/**
 * Alarms over HTTP, within the asker's scope (404 outside it or unknown):
 * - POST /api/alarms/:id/ack `{ comment? }` — users holding alarms.handle (server/auth/route-permissions.ts)
 *   acknowledge an open alarm; who and when are recorded with an `alarm:acked` event. 409 when
 *   already acknowledged.
 * - POST /api/alarms/:id/resolve `{ comment? }` — the same permission closes an alarm by hand (the
 *   rules close it by themselves when the condition clears); `alarm:resolved`, the sensor's
 *   status follows. 409 when already resolved.
 * - GET /api/alarms?state=open,acked,resolved&since=<ISO>&limit= — the list for the wall ticker,
 *   the most recently changed first (open: neither acknowledged nor resolved).
 * Bad bodies are 422, bad query parameters 400.
 */
import Router from '@koa/router'
import { z } from 'zod'
import type { Actor } from '../auth/sessions.ts'
import { scopeFilter } from '../auth/scope.ts'
import type { Db } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import { IdParam, parseBody, parseParams } from '../http/validate.ts'
import type { EventLog } from '../realtime/event-log.ts'
import type { TileInvalidator } from '../../tiles/invalidation.ts'
import type { AlarmAckedPayload } from './events.ts'
import { invalidateTiles, settle, sql, type AlarmRow } from './service.ts'

export const AckBody = z.strictObject({ comment: z.string().trim().max(500, 'comment: at most 500 characters').optional() })
export const ResolveBody = AckBody

const STATES = ['open', 'acked', 'resolved'] as const
export const AlarmListQuery = z.strictObject({
  state: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
    .pipe(z.array(z.enum(STATES, { error: 'state must be open, acked or resolved (several comma-separated)' })).min(1, 'state: name at least one'))
    .optional(),
  since: z.iso.datetime({ offset: true, error: 'since must be an ISO 8601 date-time' }).optional(),
  limit: z.coerce.number({ error: 'limit must be a number' }).int('limit must be an integer').min(1).max(1000, 'limit: at most 1000').default(100),
})

/** An alarm as the list reads it: the changed-alarm row (alarms.sql) plus who acknowledged it and its state. */
interface ListRow extends Omit<AlarmRow, 'change' | 'rule_id'> {
  acked_at: Date | string | null
  acked_by: string | null
  ack_comment: string | null
  case_code: string | null
  state: string
  changed_at: Date | string
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString())

export function alarmRoutes(opts: { db: Db; events: EventLog; tiles: TileInvalidator; tz: string }): Router {
  const r = new Router({ prefix: '/api/alarms' })

  r.get('/', async (ctx) => {
    const q = parseParams(AlarmListQuery, ctx.query)
    const actor: Actor = ctx.state.actor
    const { rows } = await opts.db.query<ListRow>(sql.list, [scopeFilter(actor), q.state ?? null, q.since ?? null, q.limit])
    ctx.body = {
      alarms: rows.map((a) => ({
        id: a.id,
        state: a.state,
        kind: a.kind,
        sensorId: a.sensor_id,
        code: a.code,
        name: a.name,
        sensorType: a.type,
        value: a.value,
        threshold: a.threshold,
        unit: a.unit,
        raisedAt: iso(a.raised_at),
        ackedAt: iso(a.acked_at),
        ackedBy: a.acked_by,
        ackComment: a.ack_comment,
        resolvedAt: iso(a.resolved_at),
        resolvedBy: a.resolved_by,
        resolveComment: a.resolve_comment,
        resolvedValue: a.resolved_value,
        reminders: a.reminder_count,
        caseId: a.case_id,
        caseCode: a.case_code,
        changedAt: iso(a.changed_at),
        gridCode: a.grid_code,
        lon: a.lon,
        lat: a.lat,
      })),
    }
  })

  r.post('/:id/ack', async (ctx) => {
    const { id } = parseParams(IdParam, { id: ctx.params.id })
    const { comment } = parseBody(AckBody, ctx.request.body ?? {})
    const actor: Actor = ctx.state.actor
    const result = await opts.events.write(async (tx, append) => {
      const { rows } = await tx.query<{ id: number; sensor_id: number; grid_code: string | null; acked_at: Date | string | null; was_acked: boolean }>(
        `UPDATE alarms a SET acked_at = CASE WHEN old.acked_at IS NULL THEN now() ELSE old.acked_at END,
                             acked_by = coalesce(old.acked_by, $3), ack_comment = CASE WHEN old.acked_at IS NULL THEN $4 ELSE old.ack_comment END
           FROM (SELECT id, acked_at, acked_by, ack_comment FROM alarms WHERE id = $1 FOR UPDATE) old
          WHERE a.id = old.id AND ($2::text IS NULL OR a.grid_code LIKE $2::text || '%')
          RETURNING a.id, a.sensor_id, a.grid_code, a.acked_at, old.acked_at IS NOT NULL AS was_acked`,
        [id, scopeFilter(actor), actor.username, comment ?? null],
      )
      const row = rows[0]
      if (!row) throw new HttpError(404, `no alarm ${id} in your scope`)
      if (row.was_acked) throw new HttpError(409, `alarm ${id} was already acknowledged`, 'already_acknowledged')
      const ackedAt = new Date(row.acked_at!).toISOString()
      const payload: AlarmAckedPayload = { id: row.id, sensorId: row.sensor_id, by: actor.username, comment: comment ?? null, ackedAt }
      await append({ type: 'alarm:acked', scope: row.grid_code, payload })
      return { id: row.id, sensorId: row.sensor_id, ackedAt, ackedBy: actor.username, comment: comment ?? null }
    })
    ctx.body = result
  })

  r.post('/:id/resolve', async (ctx) => {
    const { id } = parseParams(IdParam, { id: ctx.params.id })
    const { comment } = parseBody(ResolveBody, ctx.request.body ?? {})
    const actor: Actor = ctx.state.actor
    const effects = await opts.events.write(async (tx, append) => {
      await tx.query(sql.lock_alarm_sensor, [id])
      const { rows } = await tx.query<AlarmRow & { was_resolved: boolean }>(sql.resolve, [id, scopeFilter(actor), actor.username, comment ?? null])
      const row = rows[0]
      if (!row) throw new HttpError(404, `no alarm ${id} in your scope`)
      if (row.was_resolved) throw new HttpError(409, `alarm ${id} was already resolved`, 'already_resolved')
      return settle(tx, append, [row], { tz: opts.tz, by: actor.username })
    })
    invalidateTiles(opts.tiles, effects)
    const a = effects.alarms[0]!
    ctx.body = { id: a.id, sensorId: a.sensor_id, resolvedAt: iso(a.resolved_at), resolvedBy: a.resolved_by, comment: a.resolve_comment }
  })
  return r
}
