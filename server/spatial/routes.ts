/**
 * GET /api/locate, /api/spatial/nearest, /api/spatial/around — any signed-in user, within
 * their scope (service.ts). Parameters: params.ts (400 naming the wrong one).
 */
import Router from '@koa/router'
import type { Db } from '../db/index.ts'
import type { Actor } from '../auth/sessions.ts'
import { HttpError } from '../http/errors.ts'
import { parseParams } from '../http/validate.ts'
import { AroundQuery, LocateQuery, NearestQuery } from './params.ts'
import { around, locate, nearest, withTimeout } from './service.ts'

export function spatialRoutes(opts: { db: Db }): Router {
  const r = new Router({ prefix: '/api' })

  r.get('/locate', async (ctx) => {
    const { lon, lat } = parseParams(LocateQuery, ctx.query)
    const actor: Actor = ctx.state.actor
    const found = await withTimeout(opts.db, (q) => locate(q, { lon, lat }, actor))
    if (!found) throw new HttpError(404, `the point ${lon}, ${lat} is in no grid within your scope (${actor.scopeCode})`)
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = found
  })

  r.get('/spatial/nearest', async (ctx) => {
    const { lon, lat, layer, k, onDuty } = parseParams(NearestQuery, ctx.query)
    if (onDuty && layer !== 'workers') throw new HttpError(400, 'onDuty: applies only to layer=workers')
    const actor: Actor = ctx.state.actor
    const features = await withTimeout(opts.db, (q) => nearest(q, { lon, lat }, actor, layer, k, onDuty))
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = { type: 'FeatureCollection', layer, point: { lon, lat }, k, onDuty, features }
  })

  r.get('/spatial/around', async (ctx) => {
    const { lon, lat, radius } = parseParams(AroundQuery, ctx.query)
    const actor: Actor = ctx.state.actor
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = await withTimeout(opts.db, (q) => around(q, { lon, lat }, actor, radius))
  })

  return r
}
