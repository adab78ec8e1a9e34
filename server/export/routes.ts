/**
 * GET /api/export/:layer.geojson and /api/export/:layer.csv — holders of data.export, for the
 * layers their permissions show (workers need workers.read, cases cases.read: 403 otherwise),
 * filtered by their scope (see layers.ts). Streamed in pages; `Content-Disposition: attachment`.
 */
import Router from '@koa/router'
import type { Context } from 'koa'
import type { Db } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import { exportLayers, type ExportLayer } from './layers.ts'
import { csvStream, geojsonStream } from './service.ts'
import { catalog, visibleTo } from '../../layers/index.ts'

const SENSITIVE = new Set(['people', 'houses', 'users', 'sessions'])

function layerOr404(id: string): ExportLayer {
  const l = exportLayers.get(id)
  if (l) return l
  if (SENSITIVE.has(id)) throw new HttpError(404, `${id} is personal data and is not exported here`)
  throw new HttpError(404, `unknown export layer "${id}"; exportable: ${[...exportLayers.keys()].join(', ')}`)
}

export function exportRoutes(opts: { db: Db }): Router {
  const r = new Router({ prefix: '/api/export' })
  const send = (ctx: Context, layer: ExportLayer, ext: 'geojson' | 'csv') => {
    const def = catalog.get(layer.id)
    if (def && !visibleTo(def, ctx.state.actor)) throw new HttpError(403, `layer ${layer.id} needs the permission ${def.permission ?? 'map.base'}, which the ${ctx.state.actor.role} role does not hold`)
    ctx.set('Cache-Control', 'private, no-store')
    ctx.set('Content-Disposition', `attachment; filename="${layer.id}.${ext}"`)
    ctx.type = ext === 'geojson' ? 'application/geo+json; charset=utf-8' : 'text/csv; charset=utf-8'
    ctx.body = ext === 'geojson' ? geojsonStream(opts.db, layer, ctx.state.actor) : csvStream(opts.db, layer, ctx.state.actor)
  }
  r.get('/:layer.geojson', (ctx) => send(ctx, layerOr404(ctx.params.layer), 'geojson'))
  r.get('/:layer.csv', (ctx) => send(ctx, layerOr404(ctx.params.layer), 'csv'))
  return r
}
