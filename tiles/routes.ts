import Router from '@koa/router'
import type { Context } from 'koa'
import { catalog, visibleTo, type LayerDef } from '../layers/index.ts'
import type { Db } from '../server/db/index.ts'
import { baseUrl } from '../server/http/base-url.ts'
import { sendTagged } from '../server/http/conditional.ts'
import { HttpError } from '../server/http/errors.ts'
import { parseParams } from '../server/http/validate.ts'
import type { Actor } from '../server/auth/sessions.ts'
import { etagOf, type TileCache } from './cache.ts'
import { COMPRESS_THRESHOLD, CompressedTiles } from './compressed.ts'
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

/** At most this many layers in one composite tile request. */
export const MAX_COMPOSITE = 16

/** The layer, if it exists (404) and the actor may see it (403). */
function layerFor(id: string, actor: Actor): LayerDef {
  const layer = catalog.get(id)
  if (!layer) throw new HttpError(404, `unknown layer "${id}"; see /tiles/catalog.json`)
  if (!visibleTo(layer, actor)) throw new HttpError(403, `layer "${id}" needs the permission ${layer.permission ?? 'map.base'}, which the ${actor.role} role does not hold`)
  return layer
}

/** "a,b,c" → the layers, in order; each named once. */
function layersFor(ids: string, actor: Actor): LayerDef[] {
  const list = ids.split(',')
  if (list.length > MAX_COMPOSITE) throw new HttpError(400, `at most ${MAX_COMPOSITE} layers in one tile request, got ${list.length}`)
  if (new Set(list).size !== list.length) throw new HttpError(400, `a layer is named twice in "${ids}"`)
  return list.map((id) => layerFor(id, actor))
}

/**
 * Base layers that hold nothing scoped (roads, water, boundaries) are the same for everyone and
 * may sit in shared caches; anything scoped is private to the asker.
 */
const cacheControl = (scoped: boolean) => (scoped ? 'private, max-age=30' : 'public, max-age=300')

/**
 * /tiles/catalog.json, /tiles/{layer}.json (TileJSON 3.0.0), /tiles/{layer}/{z}/{x}/{y}.mvt and
 * the composite /tiles/{a},{b},…/{z}/{x}/{y}.mvt (one MVT holding each layer: an MVT is a list of
 * layers, so the encoded tiles are concatenated). Layers a role may not see are left out of the
 * catalog and answer 403; scoped tiles carry only what the asker's scope may see and are `private`.
 */
export function tileRoutes(opts: TileRoutesOptions): Router {
  const r = new Router({ prefix: '/tiles' })
  const base = (ctx: Context) => baseUrl(ctx, opts.publicUrl)
  const boundsCache = new Map<string, { at: number; bounds: Bounds | null }>()
  const compressed = new CompressedTiles(32 * 1024 * 1024)

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
    const actor = ctx.state.actor as Actor
    ctx.body = {
      layers: [...catalog.values()].filter((l) => visibleTo(l, actor)).map((l) => ({
        id: l.id,
        title: l.title,
        group: l.group,
        geometryType: l.geometryType,
        minzoom: l.minzoom,
        maxzoom: l.maxzoom,
        realtime: l.realtime,
        aggregated: l.aggregate ? { belowZoom: l.aggregate.belowZoom, statuses: l.aggregate.statuses } : null,
        deck: l.deck ?? null,
        card: l.card ?? null,
        tilejson: `${base(ctx)}/tiles/${l.id}.json`,
      })),
    }
  })

  r.get('/:layer.json', async (ctx) => {
    const layer = layerFor(ctx.params.layer, ctx.state.actor)
    ctx.body = tileJson(layer, base(ctx), await layerBounds(layer, ctx.state.actor), opts.version)
    ctx.set('Cache-Control', 'private, max-age=60')
  })

  /** One layer's tile for the asker: from the cache, or encoded (and cached). Empty bytes = no features. */
  async function tileOf(layer: LayerDef, actor: Actor, z: number, x: number, y: number): Promise<{ bytes: Buffer; etag: string | null; hit: boolean }> {
    if (z < layer.minzoom || z > layer.maxzoom) return { bytes: Buffer.alloc(0), etag: null, hit: true }
    const scope = layer.scopeColumn ? scopeFilter(actor) : null
    const cached = opts.cache?.get(layer.id, scope, z, x, y)
    if (cached) return { ...cached, hit: true }
    const generation = opts.cache?.generation(layer.id)
    const bytes = await opts.encoder.encode(layer, { z, x, y, scopePrefix: scope })
    const fresh = { bytes, etag: etagOf(bytes) }
    opts.cache?.set(layer.id, scope, z, x, y, fresh, generation)
    return { ...fresh, hit: false }
  }

  r.get('/:layers/:z/:x/:y.mvt', async (ctx) => {
    const actor: Actor = ctx.state.actor
    const layers = layersFor(ctx.params.layers, actor)
    const { z, x, y } = parseParams(TileCoords, { z: ctx.params.z, x: ctx.params.x, y: ctx.params.y })
    const scoped = layers.some((l) => l.scopeColumn)
    ctx.set('Cache-Control', cacheControl(scoped))
    if (scoped) ctx.vary('Cookie')
    const parts = await Promise.all(layers.map((l) => tileOf(l, actor, z, x, y)))
    ctx.set('X-Tile-Cache', parts.every((p) => p.hit) ? 'hit' : 'miss')
    const filled = parts.filter((p) => p.bytes.length > 0)
    if (filled.length === 0) {
      ctx.status = 204
      return
    }
    const tile = filled.length === 1 ? filled[0].bytes : Buffer.concat(filled.map((p) => p.bytes))
    const etag = filled.length === 1 ? filled[0].etag! : etagOf(tile)!
    // Compressed once per tile (a browser asks for br or gzip), not on every hit; a request
    // without Accept-Encoding gets the bytes as they are.
    ctx.vary('Accept-Encoding')
    const asked = tile.length >= COMPRESS_THRESHOLD && ctx.get('Accept-Encoding') !== ''
    // br where acceptable (smaller), whatever order the client lists them in; else gzip.
    const coding = !asked ? 'identity' : ctx.acceptsEncodings('br') === 'br' ? 'br' : ctx.acceptsEncodings('gzip') === 'gzip' ? 'gzip' : 'identity'
    if (coding === 'br' || coding === 'gzip') {
      ctx.compress = false
      ctx.set('Content-Encoding', coding)
      // A strong ETag names one representation: the coding is part of it.
      sendTagged(ctx, MVT_TYPE, compressed.get(etag, coding, tile), `${etag.slice(0, -1)}-${coding}"`)
      return
    }
    sendTagged(ctx, MVT_TYPE, tile, etag)
  })

  return r
}
