/**
 * POST /api/alarms/:id/ack `{ comment? }` — admins, dispatchers, leaders and supervisors within
 * their scope acknowledge an open alarm; who and when are recorded, and an `alarm:acked` event
 * goes out with the change. 404 outside the scope or unknown, 409 when already acknowledged.
 */
import Router from '@koa/router'
import { z } from 'zod'
import type { Actor } from '../auth/sessions.ts'
import { requireRole } from '../auth/routes.ts'
import { scopeFilter } from '../auth/scope.ts'
import type { Db } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import { IdParam, parseBody, parseParams } from '../http/validate.ts'
import type { EventLog } from '../realtime/event-log.ts'

export const AckBody = z.strictObject({ comment: z.string().trim().max(500, 'comment: at most 500 characters').optional() })

export function alarmRoutes(opts: { db: Db; events: EventLog }): Router {
  const r = new Router({ prefix: '/api/alarms' })
  r.post('/:id/ack', requireRole('admin', 'dispatcher', 'leader', 'supervisor'), async (ctx) => {
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
      await append({ type: 'alarm:acked', scope: row.grid_code, payload: { id: row.id, sensorId: row.sensor_id, by: actor.username, comment: comment ?? null, ackedAt } })
      return { id: row.id, sensorId: row.sensor_id, ackedAt, ackedBy: actor.username, comment: comment ?? null }
    })
    ctx.body = result
  })
  return r
}
