/**
 * The one place a change to map objects reaches tiles: the cache drops the tiles of the layer
 * that touch the change, and the sockets that can see the changed object get `tiles:invalidate`
 * to refetch just those tiles. Every writer (REST edits, later MQTT ingest and case changes)
 * calls `changed()`.
 */
import { catalog } from '../layers/index.ts'
import { roomsSeeing, TilesInvalidatePayload } from '../server/realtime/events.ts'
import type { Io } from '../server/realtime/socket.ts'
import type { BBox, TileCache } from './cache.ts'

export class TileInvalidator {
  #io: Io | null = null

  constructor(readonly cache: TileCache) {}

  #shared = false

  /**
   * The HTTP app is built before socket.io is attached; main binds it. Until then no events.
   * `shared`: other processes serve the same data (Redis adapter, docs/scale-out.md) — a change
   * here drops their cached tiles too, and theirs ours.
   */
  bind(io: Io, opts: { shared?: boolean } = {}): void {
    this.#io = io
    this.#shared = opts.shared ?? false
    if (this.#shared) {
      io.on('tiles:changed', (p: unknown) => {
        const parsed = TilesInvalidatePayload.safeParse(p)
        const layer = parsed.success ? catalog.get(parsed.data.layer) : undefined
        if (layer) this.cache.invalidate(layer.id, parsed.data!.bbox, layer.buffer)
      })
    }
  }

  /**
   * Objects of `layer` changed inside `bbox` (WGS84 [w, s, e, n]); `scopeCode` is the changed
   * object's scope column value (its grid code; null when outside every grid) and decides who is told.
   * Returns how many cached tiles were dropped.
   */
  changed(layerId: string, bbox: BBox, scopeCode: string | null): number {
    const layer = catalog.get(layerId)
    if (!layer) throw new Error(`unknown layer ${layerId}`)
    const dropped = this.cache.invalidate(layer.id, bbox, layer.buffer)
    const payload = TilesInvalidatePayload.parse({ layer: layer.id, bbox })
    // A socket in several of the rooms gets it once; unscoped layers are seen by every socket.
    if (layer.scopeColumn) this.#io?.to(roomsSeeing(scopeCode)).emit('tiles:invalidate', payload)
    else this.#io?.emit('tiles:invalidate', payload)
    if (this.#shared) this.#io?.serverSideEmit('tiles:changed', payload)
    return dropped
  }
}
