/**
 * GET /api/locate, /api/spatial/nearest, /api/spatial/around, POST /api/spatial/within and
 * GET /api/stats/choropleth — within the asker's scope (service.ts, within.ts), and only the layers
 * their permissions show (a worker list needs workers.read, cases and grid teams cases.read).
 * Parameters: params.ts (400 naming the wrong one; 422 for a wrong /within body).
 */
import Router from '@koa/router'
import type { Db } from '../db/index.ts'
import type { Actor } from '../auth/sessions.ts'
import { HttpError } from '../http/errors.ts'
import { parseParams } from '../http/validate.ts'
import { AroundQuery, ChoroplethQuery, countVertices, LocateQuery, MAX_VERTICES, NearestQuery, WITHIN_LAYERS, WithinBody } from './params.ts'
import { around, locate, nearest, withTimeout } from './service.ts'
import { choropleth, within } from './within.ts'
import { can } from '../auth/permissions.ts'
import { catalog, visibleTo } from '../../layers/index.ts'

/** Whether the actor may read the objects of this layer (its catalog permission; map.base for the rest). */
function mayRead(actor: Actor, layer: string): boolean {
  const def = catalog.get(layer)
  return def ? visibleTo(def, actor) : can(actor, 'map.base')
}

/** 403 naming the layer's permission unless the actor may read it. */
function checkLayer(actor: Actor, layer: string): void {
  if (!mayRead(actor, layer)) throw new HttpError(403, `layer ${layer} needs the permission ${catalog.get(layer)?.permission ?? 'map.base'}, which the ${actor.role} role does not hold`)
}

/** The /within body, checked: 413 past MAX_VERTICES (before anything else), else 422 naming the first few problems. */
function parseWithin(body: unknown): WithinBody {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'expected a JSON object body (Content-Type: application/json)')
  }
  const b = body as { geometry?: { coordinates?: unknown }; line?: { coordinates?: unknown } }
  const vertices = countVertices(b.geometry?.coordinates) + countVertices(b.line?.coordinates)
  if (vertices > MAX_VERTICES) throw new HttpError(413, `the geometry has more than ${MAX_VERTICES} vertices; simplify it`)
  const r = WithinBody.safeParse(body)
  if (!r.success) {
    const issues = r.error.issues
    const shown = issues
      .slice(0, 5)
      .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
      .join('; ')
    throw new HttpError(422, issues.length > 5 ? `${shown}; and ${issues.length - 5} more` : shown)
  }
  return r.data
}

export function spatialRoutes(opts: { db: Db }): Router {
  const r = new Router({ prefix: '/api' })

  r.get('/locate', async (ctx) => {
    const { lon, lat } = parseParams(LocateQuery, ctx.query)
    const actor: Actor = ctx.state.actor
    const found = await withTimeout(opts.db, (q) => locate(q, { lon, lat }, actor))
    if (!found) throw new HttpError(404, `the point ${lon}, ${lat} is in no grid within your scope (${actor.scopeCode})`)
    ctx.set('Cache-Control', 'private, no-store')
    // The grid's team (names, phones) is operations data: for those who read cases.
    ctx.body = can(actor, 'cases.read') ? found : { ...found, team: [] }
  })

  r.get('/spatial/nearest', async (ctx) => {
    const { lon, lat, layer, k, onDuty } = parseParams(NearestQuery, ctx.query)
    if (onDuty && layer !== 'workers') throw new HttpError(400, 'onDuty: applies only to layer=workers')
    const actor: Actor = ctx.state.actor
    checkLayer(actor, layer)
    const features = await withTimeout(opts.db, (q) => nearest(q, { lon, lat }, actor, layer, k, onDuty))
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = { type: 'FeatureCollection', layer, point: { lon, lat }, k, onDuty, features }
  })

  r.get('/spatial/around', async (ctx) => {
    const { lon, lat, radius } = parseParams(AroundQuery, ctx.query)
    const actor: Actor = ctx.state.actor
    ctx.set('Cache-Control', 'private, no-store')
    const found = await withTimeout(opts.db, (q) => around(q, { lon, lat }, actor, radius))
    // What the actor's permissions do not show comes back empty (the rest of the answer stands).
    ctx.body = {
      ...found,
      team: can(actor, 'cases.read') ? found.team : [],
      workers: mayRead(actor, 'workers') ? found.workers : [],
      openCases: mayRead(actor, 'cases') ? found.openCases : [],
      cameras: mayRead(actor, 'cameras') ? found.cameras : [],
      sensors: mayRead(actor, 'sensors') ? found.sensors : [],
      keyPlaces: mayRead(actor, 'key_places') ? found.keyPlaces : [],
    }
  })

  r.post('/spatial/within', async (ctx) => {
    const body = parseWithin(ctx.request.body)
    const actor: Actor = ctx.state.actor
    // Layers asked for by name must be readable (403); the default "all" means all the actor may read.
    if (body.layers) for (const l of body.layers) checkLayer(actor, l)
    else body.layers = WITHIN_LAYERS.filter((l) => mayRead(actor, l))
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = await withTimeout(opts.db, (q) => within(q, body, actor))
  })

  r.get('/stats/choropleth', async (ctx) => {
    const { level, indicator } = parseParams(ChoroplethQuery, ctx.query)
    const actor: Actor = ctx.state.actor
    const values = await withTimeout(opts.db, (q) => choropleth(q, level, indicator, actor))
    ctx.set('Cache-Control', 'private, no-store')
    ctx.body = { level, indicator, values }
  })

  return r
}
