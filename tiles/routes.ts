import Router from '@koa/router'
import type { Context } from 'koa'
import { catalog, type LayerDef } from '../layers/index.ts'
import type { Db } from '../server/db/index.ts'
import { baseUrl } from '../server/http/base-url.ts'
import { HttpError } from '../server/http/errors.ts'
import { parseParams } from '../server/http/validate.ts'
import type { Actor } from '../server/auth/sessions.ts'
import { etagOf, type TileCache } from './cache.ts'
import { TileCoords } from './coords.ts'
import type { TileEncoder } from './encoder.ts'
import { boundsSql } from './sql.ts'
import { tileJson, type Bounds } from './tilejson.ts'
import { scopeFilter } from '../server/auth/scope.ts'

export const MVT_TYPE = 'application/vnd.mapbox-vector-tile'

export interface TileRoutesOptions {
  db: Db
  encoder: TileEncoder
  version: string
  /** Encoded tiles by layer, z/x/y and scope; without it every tile is encoded afresh. */
  cache?: TileCache
  /** Absolute base URL for tile URLs; defaults to the request's origin. */
  publicUrl?: string
}

function layerOr404(id: string): LayerDef {
  const layer = catalog.get(id)
  if (!layer) throw new HttpError(404, `unknown layer "${id}"; see /tiles/catalog.json`)
  return layer
}

/**
 * /tiles/catalog.json, /tiles/{layer}.json (TileJSON 3.0.0), /tiles/{layer}/{z}/{x}/{y}.mvt.
 * Tiles carry only what the asker's scope may see, so they are `private`.
 */
export function tileRoutes(opts: TileRoutesOptions): Router {
  const r = new Router({ prefix: '/tiles' })
  const base = (ctx: Context) => baseUrl(ctx, opts.publicUrl)
  const boundsCache = new Map<string, { at: number; bounds: Bounds | null }>()

  async function layerBounds(layer: LayerDef, actor: Actor): Promise<Bounds | null> {
    const scope = scopeFilter(actor)
    const key = `${layer.id}:${scope}`
    const hit = boundsCache.get(key)
    if (hit && Date.now() - hit.at < 60_000) return hit.bounds
    const { rows } = await opts.db.query<{ w: number; s: number; e: number; n: number }>(boundsSql(layer), layer.scopeColumn ? [scope] : [])
    const round = (v: number) => Math.round(v * 1e6) / 1e6
    const bounds: Bounds | null = rows[0] ? [round(rows[0].w), round(rows[0].s), round(rows[0].e), round(rows[0].n)] : null
    boundsCache.set(key, { at: Date.now(), bounds })
    return bounds
  }

  r.get('/catalog.json', (ctx) => {
    ctx.body = {
      layers: [...catalog.values()].map((l) => ({
        id: l.id,
        title: l.title,
        group: l.group,
        geometryType: l.geometryType,
        minzoom: l.minzoom,
        maxzoom: l.maxzoom,
        realtime: l.realtime,
        tilejson: `${base(ctx)}/tiles/${l.id}.json`,
      })),
    }
  })

  r.get('/:layer.json', async (ctx) => {
    const layer = layerOr404(ctx.params.layer)
    ctx.body = tileJson(layer, base(ctx), await layerBounds(layer, ctx.state.actor), opts.version)
    ctx.set('Cache-Control', 'private, max-age=60')
  })

  r.get('/:layer/:z/:x/:y.mvt', async (ctx) => {
    const layer = layerOr404(ctx.params.layer)
    const { z, x, y } = parseParams(TileCoords, { z: ctx.params.z, x: ctx.params.x, y: ctx.params.y })
    ctx.set('Cache-Control', 'private, max-age=30')
    ctx.vary('Cookie')
    if (z < layer.minzoom || z > layer.maxzoom) {
      ctx.status = 204
      return
    }
    const actor: Actor = ctx.state.actor
    const scope = layer.scopeColumn ? scopeFilter(actor) : null
    let cached = opts.cache?.get(layer.id, scope, z, x, y)
    ctx.set('X-Tile-Cache', cached ? 'hit' : 'miss')
    if (!cached) {
      const generation = opts.cache?.generation(layer.id)
      const bytes = await opts.encoder.encode(layer, { z, x, y, scopePrefix: scope })
      cached = { bytes, etag: etagOf(bytes) }
      opts.cache?.set(layer.id, scope, z, x, y, cached, generation)
    }
    const { bytes: tile, etag } = cached
    if (tile.length === 0 || !etag) {
      ctx.status = 204
      return
    }
    ctx.set('ETag', etag)
    ctx.type = MVT_TYPE
    ctx.status = 200
    if (ctx.fresh) {
      ctx.status = 304
      return
    }
    ctx.body = tile
  })

  return r
}
