/**
 * Features of a catalog layer in a box, from the OGC API (server/ogc/routes.ts), page by page:
 * the 3D city loads what its view shows this way (the 2.5D map uses vector tiles instead).
 */
import { apiFetch } from '../../services/http.ts'

export type Bbox = [number, number, number, number]

export interface OgcFeature<P = Record<string, unknown>> {
  type: 'Feature'
  id: number | string
  geometry: { type: string; coordinates: unknown } | null
  properties: P
}

interface OgcPage<P> {
  features: OgcFeature<P>[]
  numberMatched?: number
  numberReturned: number
}

/** Features per request: big pages (the server allows 10 000) but a bounded answer each. */
export const PAGE_SIZE = 2000

/**
 * Every feature of `collection` in `bbox`, at most `max` (the layer's featureLimit, like a tile),
 * in the server's order. `signal` stops between pages (a newer view wants other data).
 */
export async function fetchFeatures<P = Record<string, unknown>>(
  collection: string,
  bbox: Bbox,
  opts: { max: number; pageSize?: number; signal?: AbortSignal },
): Promise<{ features: OgcFeature<P>[]; truncated: boolean }> {
  const pageSize = Math.min(opts.pageSize ?? PAGE_SIZE, opts.max)
  const box = bbox.map((v) => v.toFixed(6)).join(',')
  const features: OgcFeature<P>[] = []
  for (let offset = 0; features.length < opts.max; offset += pageSize) {
    const limit = Math.min(pageSize, opts.max - features.length)
    const page = await apiFetch<OgcPage<P>>(`/ogc/collections/${encodeURIComponent(collection)}/items?bbox=${box}&limit=${limit}&offset=${offset}`, { signal: opts.signal })
    features.push(...page.features)
    const matched = page.numberMatched ?? Infinity
    if (page.numberReturned < limit || offset + page.numberReturned >= matched) return { features, truncated: false }
  }
  return { features, truncated: true }
}
