/**
 * Which tiles of a source to refetch after the server's `tiles:invalidate` {layer, bbox}
 * (server/realtime/events.ts): the tiles touching bbox at the zooms the map may be showing.
 * MapLibre's `map.refreshTiles(source, ids)` reloads those of them it holds in view and
 * ignores the rest, so listing a zoom too many costs nothing.
 */
export type BBox = [number, number, number, number]

/** More tiles than this at one zoom: reload the whole source instead (a change that large touches most of the view). */
export const MAX_TILES_PER_ZOOM = 256

const clampLat = (lat: number) => Math.max(-85.0511, Math.min(85.0511, lat))

/** Web-Mercator tile column/row of a lon/lat at zoom z. */
function tileXY(lon: number, lat: number, z: number): [number, number] {
  const n = 2 ** z
  const x = Math.floor(((lon + 180) / 360) * n)
  const r = (clampLat(lat) * Math.PI) / 180
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)
  return [Math.min(n - 1, Math.max(0, x)), Math.min(n - 1, Math.max(0, y))]
}

/**
 * Tiles touching bbox from zoom `minz` to `maxz` (inclusive); null when a zoom would need more
 * than MAX_TILES_PER_ZOOM (then reload the source).
 */
export function tilesTouching(bbox: BBox, minz: number, maxz: number): { x: number; y: number; z: number }[] | null {
  const [w, s, e, n] = bbox
  const out: { x: number; y: number; z: number }[] = []
  for (let z = Math.max(0, Math.floor(minz)); z <= Math.floor(maxz); z++) {
    const [x0, y0] = tileXY(w, n, z)
    const [x1, y1] = tileXY(e, s, z)
    if ((x1 - x0 + 1) * (y1 - y0 + 1) > MAX_TILES_PER_ZOOM) return null
    for (let x = x0; x <= x1; x++) for (let y = y0; y <= y1; y++) out.push({ x, y, z })
  }
  return out
}

/** The zooms a source's tiles in view can have at map zoom `zoom`: the ideal one and its neighbours (parents/children kept while loading), within the source's range; overzoomed tiles are its maxzoom tiles. */
export function zoomsInView(zoom: number, sourceMin: number, sourceMax: number): [number, number] {
  const ideal = Math.min(sourceMax, Math.max(sourceMin, Math.floor(zoom)))
  return [Math.max(sourceMin, ideal - 1), Math.min(sourceMax, ideal + 1)]
}
