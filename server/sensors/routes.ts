/**
 * PATCH /api/sensors/:id with `{ status: 'online' | 'offline' | 'alarm' }` — admins and
 * dispatchers; 404 for an unknown sensor or one outside the actor's scope, 422 for a bad body.
 * A changed status is logged as a `sensor:status` event in the same transaction (pushed to the
 * sockets that may see the sensor once committed) and invalidates the sensor's tiles (cache +
 * `tiles:invalidate`) through the shared TileInvalidator.
 */
import Router from '@koa/router'
import { z } from 'zod'
import type { Actor } from '../auth/sessions.ts'
import type { Db } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import { IdParam, parseBody, parseParams } from '../http/validate.ts'
import type { TileInvalidator } from '../../tiles/invalidation.ts'
import type { EventLog } from '../realtime/event-log.ts'
import { scopeFilter } from '../auth/scope.ts'

export const SensorPatch = z.object({
  status: z.enum(['online', 'offline', 'alarm'], { error: 'status must be online, offline or alarm' }),
})


interface SensorRow {
  id: number
  code: string
  name: string
  type: string
  status: string
  previous: string
  grid_code: string | null
  lon: number
  lat: number
}

export function sensorRoutes(opts: { db: Db; tiles: TileInvalidator; events: EventLog }): Router {
  const r = new Router({ prefix: '/api/sensors' })

  r.patch('/:id', async (ctx) => {
    const { id } = parseParams(IdParam, { id: ctx.params.id })
    const { status } = parseBody(SensorPatch, ctx.request.body)
    const actor: Actor = ctx.state.actor
    const scope = scopeFilter(actor)
    const row = await opts.events.write(async (tx, append) => {
      const { rows } = await tx.query<SensorRow>(
        `UPDATE sensors s SET status = $3
           FROM (SELECT id, status FROM sensors WHERE id = $1 FOR UPDATE) old
          WHERE s.id = old.id AND ($2::text IS NULL OR s.grid_code LIKE $2::text || '%')
          RETURNING s.id, s.code, s.name, s.type, s.status, old.status AS previous, s.grid_code, ST_X(s.geom) AS lon, ST_Y(s.geom) AS lat`,
        [id, scope, status],
      )
      const changed = rows[0]
      if (changed && changed.previous !== changed.status) {
        await append({
          type: 'sensor:status',
          scope: changed.grid_code,
          payload: { id: changed.id, code: changed.code, status: changed.status, previous: changed.previous, by: actor.username, lon: changed.lon, lat: changed.lat },
        })
      }
      return changed
    })
    if (!row) throw new HttpError(404, `no sensor ${id} in your scope`)
    if (row.previous !== row.status) opts.tiles.changed('sensors', [row.lon, row.lat, row.lon, row.lat], row.grid_code)
    ctx.body = { id: row.id, code: row.code, name: row.name, type: row.type, status: row.status, grid_code: row.grid_code, lon: row.lon, lat: row.lat }
  })

  return r
}
