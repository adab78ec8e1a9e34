import { apiFetch } from './http.ts'

/** The part of a TileJSON 3.0 document the web uses. */
export interface TileJson {
  tilejson?: string
  name?: string
  tiles: string[]
  minzoom?: number
  maxzoom?: number
  /** [west, south, east, north] in WGS84 degrees. */
  bounds?: [number, number, number, number]
  center?: [number, number, number]
  attribution?: string
  vector_layers?: Array<{ id: string; fields?: Record<string, string> }>
}

/** `GET /tiles/<layerId>.json` — TileJSON for a tiled layer (layer id = MVT layer = source-layer). */
export function fetchTileJson(layerId: string): Promise<TileJson> {
  return apiFetch<TileJson>(`/tiles/${encodeURIComponent(layerId)}.json`)
}

/** True when `bounds` is a usable [w, s, e, n] box. */
export function isValidBounds(bounds: unknown): bounds is [number, number, number, number] {
  return (
    Array.isArray(bounds) &&
    bounds.length === 4 &&
    bounds.every((v) => typeof v === 'number' && Number.isFinite(v)) &&
    bounds[0] < bounds[2] &&
    bounds[1] < bounds[3]
  )
}

/** One entry of `/tiles/catalog.json`: a layer declared once in `layers/`. */
export interface CatalogLayer {
  id: string
  title: { 'zh-CN': string; en: string }
  group: string
  geometryType: 'point' | 'line' | 'polygon'
  minzoom: number
  maxzoom: number
  tilejson: string
  /** Counts by status below this zoom (server-side aggregation), or null. */
  aggregated?: { belowZoom: number; statuses: string[] } | null
  /** An extra deck.gl rendering (web/map/deckRenderers.ts), or null. */
  deck?: { kind: 'fov-cones'; minzoom: number } | null
  /** The card a click on this layer opens (server/features/types.ts), or null: not clickable. */
  card?: import('../../server/features/types.ts').CardKind | null
}

/** `GET /tiles/catalog.json` — every layer the server tiles, in drawing order. */
export async function fetchCatalog(): Promise<CatalogLayer[]> {
  return (await apiFetch<{ layers: CatalogLayer[] }>('/tiles/catalog.json')).layers
}
