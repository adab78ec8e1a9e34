/**
 * In-process LRU cache of encoded tiles. A tile holds only what the asker's scope may see, so the
 * key is layer + z/x/y + scope prefix (null = unrestricted, its own key). Capped by entry count
 * and by bytes; the least recently used tiles go first.
 *
 * Invalidation is spatial: `invalidate(layer, bbox)` drops, for every scope, only the cached
 * tiles of that layer whose bounds widened by the layer's clip buffer touch the bbox. Empty tiles
 * (204) are cached too, so new objects must be invalidated the same way as changed ones.
 */
import { strongEtag } from '../server/http/conditional.ts'
import { EXTENT } from './sql.ts'

/** [west, south, east, north] in WGS84 degrees. */
export type BBox = [number, number, number, number]

export interface CachedTile {
  /** Encoded MVT; empty for a tile without features. */
  bytes: Buffer
  /** Strong ETag (quoted) of the bytes; null for an empty tile. */
  etag: string | null
}

interface Entry extends CachedTile {
  key: string
  layer: string
  z: number
  x: number
  y: number
  size: number
}

export interface TileCacheOptions {
  maxBytes: number
  maxEntries: number
}

export interface TileCacheStats {
  entries: number
  bytes: number
  hits: number
  misses: number
  evictions: number
  invalidated: number
}

export const etagOf = (bytes: Buffer): string | null => (bytes.length ? strongEtag(bytes) : null)

/** Rough fixed cost of one entry (key, object, map slots) beyond its bytes. */
const ENTRY_OVERHEAD = 200

const MAX_LAT = 85.0511287798066

/** Lon/lat → fractional tile coordinates at zoom z (y grows southwards). */
function toTileSpace(lon: number, lat: number, z: number): { x: number; y: number } {
  const n = 2 ** z
  const clamped = Math.max(-MAX_LAT, Math.min(MAX_LAT, lat))
  const r = (clamped * Math.PI) / 180
  return { x: ((lon + 180) / 360) * n, y: ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n }
}

/** Whether tile z/x/y widened by `buffer` tile-extent units touches the bbox (edges count). */
export function tileTouches(z: number, x: number, y: number, bbox: BBox, buffer: number): boolean {
  const [w, s, e, n] = bbox
  const nw = toTileSpace(w, n, z)
  const se = toTileSpace(e, s, z)
  const m = buffer / EXTENT
  return nw.x <= x + 1 + m && se.x >= x - m && nw.y <= y + 1 + m && se.y >= y - m
}

export class TileCache {
  readonly #entries = new Map<string, Entry>()
  /** layer → its entries, so invalidation looks at one layer only. */
  readonly #byLayer = new Map<string, Map<string, Entry>>()
  /** layer → times it was invalidated; a tile encoded across an invalidation is not stored. */
  readonly #generation = new Map<string, number>()
  #bytes = 0
  #hits = 0
  #misses = 0
  #evictions = 0
  #invalidated = 0

  constructor(private readonly opts: TileCacheOptions) {}

  static key(layer: string, scope: string | null, z: number, x: number, y: number): string {
    // Scope prefixes are digits, so '*' cannot collide with one.
    return `${layer}|${scope ?? '*'}|${z}/${x}/${y}`
  }

  get(layer: string, scope: string | null, z: number, x: number, y: number): CachedTile | undefined {
    const key = TileCache.key(layer, scope, z, x, y)
    const e = this.#entries.get(key)
    if (!e) {
      this.#misses++
      return undefined
    }
    // Most recently used goes last.
    this.#entries.delete(key)
    this.#entries.set(key, e)
    this.#hits++
    return { bytes: e.bytes, etag: e.etag }
  }

  /** The layer's generation now; pass it to set() to skip storing a tile that went stale meanwhile. */
  generation(layer: string): number {
    return this.#generation.get(layer) ?? 0
  }

  set(layer: string, scope: string | null, z: number, x: number, y: number, tile: CachedTile, generation?: number): void {
    if (generation !== undefined && generation !== this.generation(layer)) return
    const key = TileCache.key(layer, scope, z, x, y)
    const size = tile.bytes.length + key.length + ENTRY_OVERHEAD
    if (size > this.opts.maxBytes) return
    this.#remove(key)
    const e: Entry = { ...tile, key, layer, z, x, y, size }
    this.#entries.set(key, e)
    let perLayer = this.#byLayer.get(layer)
    if (!perLayer) this.#byLayer.set(layer, (perLayer = new Map()))
    perLayer.set(key, e)
    this.#bytes += size
    while (this.#entries.size > this.opts.maxEntries || this.#bytes > this.opts.maxBytes) {
      const oldest = this.#entries.keys().next()
      if (oldest.done) break
      this.#remove(oldest.value)
      this.#evictions++
    }
  }

  /**
   * Drops the cached tiles of `layer` (every scope) whose bounds plus `buffer` (tile-extent
   * units, the layer's clip buffer) touch `bbox`. Returns how many were dropped.
   */
  invalidate(layer: string, bbox: BBox, buffer: number): number {
    this.#generation.set(layer, this.generation(layer) + 1)
    const perLayer = this.#byLayer.get(layer)
    if (!perLayer) return 0
    let n = 0
    for (const e of [...perLayer.values()]) {
      if (tileTouches(e.z, e.x, e.y, bbox, buffer)) {
        this.#remove(e.key)
        n++
      }
    }
    this.#invalidated += n
    return n
  }

  clear(): void {
    this.#entries.clear()
    this.#byLayer.clear()
    this.#bytes = 0
  }

  stats(): TileCacheStats {
    return { entries: this.#entries.size, bytes: this.#bytes, hits: this.#hits, misses: this.#misses, evictions: this.#evictions, invalidated: this.#invalidated }
  }

  #remove(key: string): void {
    const e = this.#entries.get(key)
    if (!e) return
    this.#entries.delete(key)
    this.#byLayer.get(e.layer)?.delete(key)
    this.#bytes -= e.size
  }
}
