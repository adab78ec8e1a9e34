import { VectorTile } from '@mapbox/vector-tile'
import { PbfReader as Pbf } from 'pbf'

export interface DecodedFeature {
  id: number | undefined
  type: number
  properties: Record<string, unknown>
  /** Rings/lines/points in tile coordinates. */
  geometry: { x: number; y: number }[][]
}

/** Decodes one layer of an MVT buffer with @mapbox/vector-tile. */
export function decodeLayer(buf: Uint8Array, layer: string): { extent: number; features: DecodedFeature[] } | null {
  if (buf.length === 0) return null
  const tile = new VectorTile(new Pbf(buf))
  const l = tile.layers[layer]
  if (!l) return null
  const features: DecodedFeature[] = []
  for (let i = 0; i < l.length; i++) {
    const f = l.feature(i)
    features.push({ id: f.id, type: f.type, properties: { ...f.properties }, geometry: f.loadGeometry().map((r) => r.map((p) => ({ x: p.x, y: p.y }))) })
  }
  return { extent: l.extent, features }
}

/** The x/y of the tile at zoom z containing lon/lat. */
export function tileOf(lon: number, lat: number, z: number): { z: number; x: number; y: number } {
  const n = 2 ** z
  const x = Math.floor(((lon + 180) / 360) * n)
  const r = (lat * Math.PI) / 180
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)
  return { z, x, y }
}
