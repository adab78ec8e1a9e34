/**
 * OGC API – Features – Part 1: Core, at /ogc, over the layer catalog (layers/index.ts).
 *
 *   GET /ogc                                  landing page
 *   GET /ogc/conformance                      core, geojson, oas30
 *   GET /ogc/collections                      one collection per catalog layer with a WGS84 `geom`
 *   GET /ogc/collections/{id}
 *   GET /ogc/collections/{id}/items           ?limit&offset&bbox&datetime&f=json → GeoJSON
 *   GET /ogc/collections/{id}/items/{fid}
 *
 * Every request has a signed-in actor (app.ts); features are scoped exactly like tiles.
 * No layer has a temporal extent yet, so a valid `datetime` is accepted and ignored, as the
 * standard allows for such collections.
 */
import Router from '@koa/router'
import type { Context } from 'koa'
import { catalog, visibleTo, type LayerDef } from '../../layers/index.ts'
import type { Db } from '../db/index.ts'
import { baseUrl } from '../http/base-url.ts'
import { HttpError } from '../http/errors.ts'
import { parseParams } from '../http/validate.ts'
import { DEFAULT_LIMIT, ItemsQuery, PlainQuery } from './params.ts'
import { countQuery, extentQuery, geomTablesQuery, itemQuery, itemsQuery, type Bbox, type Query } from './sql.ts'
import { scopeFilter } from '../auth/scope.ts'

export const GEOJSON_TYPE = 'application/geo+json'
const JSON_TYPE = 'application/json'
const OPENAPI_TYPE = 'application/vnd.oai.openapi+json;version=3.0'
const CRS84 = 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'

export const CONFORMANCE = [
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson',
  'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30',
]

interface Link {
  href: string
  rel: string
  type: string
  title?: string
}

/** What features are filtered by: the scope's code prefix, or null when the actor sees everything (as tiles). */

type Row = Record<string, unknown> & { '@id': number | string; '@geometry': unknown }

function feature(layer: LayerDef, row: Row) {
  const properties: Record<string, unknown> = {}
  for (const p of Object.keys(layer.properties)) properties[p] = row[p] ?? null
  const id = typeof row['@id'] === 'string' && /^\d+$/.test(row['@id']) ? Number(row['@id']) : row['@id']
  return { type: 'Feature' as const, id, geometry: row['@geometry'] ?? null, properties }
}

export function ogcRoutes(opts: { db: Db; publicUrl?: string }): Router {
  const r = new Router({ prefix: '/ogc' })
  const root = (ctx: Context) => `${baseUrl(ctx, opts.publicUrl)}/ogc`
  const run = <T>(query: Query) => opts.db.query<T>(query.text, query.values)

  // Catalog layers whose table has a WGS84 `geom` column, and which draw that geometry (not a
  // derived one such as grid_labels' label points, which would repeat its table); asked once.
  let served: Promise<LayerDef[]> | null = null
  const collections = () => {
    served ??= run<{ table_name: string }>(geomTablesQuery([...new Set([...catalog.values()].map((l) => l.table))]))
      .then(({ rows }) => {
        const tables = new Set(rows.map((row) => row.table_name))
        return [...catalog.values()].filter((l) => l.ogc !== false && tables.has(l.table) && l.geomColumn === 'geom_3857')
      })
      .catch((err: unknown) => {
        served = null
        throw err
      })
    return served
  }
  /** The collections the actor may see. */
  const collectionsFor = async (ctx: Context) => (await collections()).filter((l) => visibleTo(l, ctx.state.actor))
  async function collectionOr404(ctx: Context, id: string): Promise<LayerDef> {
    const layer = (await collections()).find((l) => l.id === id)
    if (!layer) throw new HttpError(404, `unknown collection "${id}"; see /ogc/collections`)
    if (!visibleTo(layer, ctx.state.actor)) throw new HttpError(403, `collection "${id}" needs the permission ${layer.permission ?? 'map.base'}, which the ${ctx.state.actor?.role} role does not hold`)
    return layer
  }

  const extentCache = new Map<string, { at: number; bbox: Bbox | null }>()
  async function extent(layer: LayerDef, scope: string | null): Promise<Bbox | null> {
    const key = `${layer.id}:${scope}`
    const hit = extentCache.get(key)
    if (hit && Date.now() - hit.at < 60_000) return hit.bbox
    const { rows } = await run<{ w: number; s: number; e: number; n: number }>(extentQuery(layer, scope))
    const round = (v: number) => Math.round(v * 1e7) / 1e7
    const bbox: Bbox | null = rows[0] ? [round(rows[0].w), round(rows[0].s), round(rows[0].e), round(rows[0].n)] : null
    extentCache.set(key, { at: Date.now(), bbox })
    return bbox
  }

  async function collection(ctx: Context, layer: LayerDef) {
    const self = `${root(ctx)}/collections/${layer.id}`
    const bbox = await extent(layer, scopeFilter(ctx.state.actor))
    return {
      id: layer.id,
      title: layer.title.en,
      description: layer.title['zh-CN'],
      extent: { spatial: { bbox: [bbox ?? [-180, -90, 180, 90]], crs: CRS84 } },
      itemType: 'feature',
      crs: [CRS84],
      links: [
        { href: self, rel: 'self', type: JSON_TYPE, title: 'this collection' },
        { href: `${self}/items`, rel: 'items', type: GEOJSON_TYPE, title: 'its features' },
      ] satisfies Link[],
    }
  }

  const sendJson = (ctx: Context, body: unknown, type = JSON_TYPE) => {
    ctx.set('Cache-Control', 'private, no-store')
    ctx.type = type
    ctx.body = body
  }

  r.get('/', (ctx) => {
    parseParams(PlainQuery, ctx.query)
    const base = root(ctx)
    sendJson(ctx, {
      title: 'OneGrid',
      description: 'The OneGrid layer catalog as OGC API – Features (scoped to the signed-in user)',
      links: [
        { href: base, rel: 'self', type: JSON_TYPE, title: 'this document' },
        { href: `${baseUrl(ctx, opts.publicUrl)}/api/openapi.json`, rel: 'service-desc', type: OPENAPI_TYPE, title: 'the API definition' },
        { href: `${base}/conformance`, rel: 'conformance', type: JSON_TYPE, title: 'conformance classes' },
        { href: `${base}/collections`, rel: 'data', type: JSON_TYPE, title: 'the collections' },
      ] satisfies Link[],
    })
  })

  r.get('/conformance', (ctx) => {
    parseParams(PlainQuery, ctx.query)
    sendJson(ctx, { conformsTo: CONFORMANCE })
  })

  r.get('/collections', async (ctx) => {
    parseParams(PlainQuery, ctx.query)
    const layers = await collectionsFor(ctx)
    sendJson(ctx, {
      links: [{ href: `${root(ctx)}/collections`, rel: 'self', type: JSON_TYPE, title: 'this document' }] satisfies Link[],
      collections: await Promise.all(layers.map((l) => collection(ctx, l))),
    })
  })

  r.get('/collections/:id', async (ctx) => {
    const layer = await collectionOr404(ctx, ctx.params.id)
    parseParams(PlainQuery, ctx.query)
    sendJson(ctx, await collection(ctx, layer))
  })

  r.get('/collections/:id/items', async (ctx) => {
    const layer = await collectionOr404(ctx, ctx.params.id)
    const query = parseParams(ItemsQuery, ctx.query)
    const limit = query.limit ?? DEFAULT_LIMIT
    const offset = query.offset ?? 0
    const filter = { scope: scopeFilter(ctx.state.actor), bbox: query.bbox ?? null }
    // query.datetime is validated and ignored: no catalog layer has a temporal extent.
    const [{ rows: counted }, { rows }] = await Promise.all([run<{ n: number }>(countQuery(layer, filter)), run<Row>(itemsQuery(layer, filter, { limit, offset }))])
    const numberMatched = Number(counted[0]?.n ?? 0)

    const items = `${root(ctx)}/collections/${layer.id}/items`
    const page = (o: number) => {
      const params = new URLSearchParams({ limit: String(limit), offset: String(o) })
      if (typeof ctx.query.bbox === 'string') params.set('bbox', ctx.query.bbox)
      if (typeof ctx.query.datetime === 'string') params.set('datetime', ctx.query.datetime)
      return `${items}?${params}`
    }
    const links: Link[] = [{ href: page(offset), rel: 'self', type: GEOJSON_TYPE, title: 'this page' }]
    if (offset + rows.length < numberMatched) links.push({ href: page(offset + limit), rel: 'next', type: GEOJSON_TYPE, title: 'next page' })
    if (offset > 0) links.push({ href: page(Math.max(0, offset - limit)), rel: 'prev', type: GEOJSON_TYPE, title: 'previous page' })
    links.push({ href: `${root(ctx)}/collections/${layer.id}`, rel: 'collection', type: JSON_TYPE, title: 'the collection' })

    sendJson(
      ctx,
      {
        type: 'FeatureCollection',
        features: rows.map((row) => feature(layer, row)),
        numberMatched,
        numberReturned: rows.length,
        timeStamp: new Date().toISOString(),
        links,
      },
      GEOJSON_TYPE,
    )
  })

  r.get('/collections/:id/items/:fid', async (ctx) => {
    const layer = await collectionOr404(ctx, ctx.params.id)
    parseParams(PlainQuery, ctx.query)
    const fid = ctx.params.fid
    const missing = () => new HttpError(404, `no feature "${fid}" in collection "${layer.id}"`)
    // Ids are integers (catalog: idColumn); anything else cannot name a feature.
    // The id as the collection writes it: 00001 is not feature 1 (one URL per feature).
    if (!/^(0|[1-9]\d{0,14})$/.test(fid)) throw missing()
    const { rows } = await run<Row>(itemQuery(layer, Number(fid), scopeFilter(ctx.state.actor)))
    if (!rows[0]) throw missing()
    const collectionUrl = `${root(ctx)}/collections/${layer.id}`
    sendJson(
      ctx,
      {
        ...feature(layer, rows[0]),
        links: [
          { href: `${collectionUrl}/items/${fid}`, rel: 'self', type: GEOJSON_TYPE, title: 'this feature' },
          { href: collectionUrl, rel: 'collection', type: JSON_TYPE, title: 'the collection' },
        ] satisfies Link[],
      },
      GEOJSON_TYPE,
    )
  })

  return r
}
