/**
 * Two tile encoders behind one interface: native ST_AsMVT on a real PostGIS, and a JS encoder
 * (@maplibre/vt-pbf) fed by SQL that already clips and snaps, for PGlite whose PostGIS has no
 * protobuf. Picked by the capability probe at start.
 */
import type { GeoJSONVTFeature, GeoJSONVTTile } from '@maplibre/geojson-vt'
import { fromGeojsonVt } from '@maplibre/vt-pbf'
import type { Queryable } from '../server/db/index.ts'
import { tileProperties, type LayerDef } from '../layers/index.ts'
import { EXTENT, jsTileSql, nativeTileSql } from './sql.ts'

export interface TileRequest {
  z: number
  x: number
  y: number
  /** Code prefix of the asker's scope; null for everything (unscoped layers ignore it). */
  scopePrefix: string | null
}

export interface TileEncoder {
  readonly kind: 'native' | 'js'
  encode(layer: LayerDef, req: TileRequest): Promise<Buffer>
}

const params = (layer: LayerDef, r: TileRequest) => (layer.scopeColumn ? [r.z, r.x, r.y, r.scopePrefix] : [r.z, r.x, r.y])

export function nativeEncoder(db: Queryable): TileEncoder {
  const sqlCache = new Map<string, string>()
  return {
    kind: 'native',
    async encode(layer, req) {
      let sql = sqlCache.get(layer.id)
      if (!sql) sqlCache.set(layer.id, (sql = nativeTileSql(layer)))
      const { rows } = await db.query<{ tile: Uint8Array | null }>(sql, params(layer, req))
      const tile = rows[0]?.tile
      return tile ? Buffer.from(tile.buffer, tile.byteOffset, tile.byteLength) : Buffer.alloc(0)
    },
  }
}

type GeoJsonGeometry =
  | { type: 'Point'; coordinates: [number, number] }
  | { type: 'MultiPoint' | 'LineString'; coordinates: [number, number][] }
  | { type: 'MultiLineString' | 'Polygon'; coordinates: [number, number][][] }
  | { type: 'MultiPolygon'; coordinates: [number, number][][][] }

/** GeoJSON already in tile coordinates → a vt feature (multi-geometries become one feature). */
function toVtFeature(id: number, tags: Record<string, unknown>, g: GeoJsonGeometry): GeoJSONVTFeature | null {
  switch (g.type) {
    case 'Point':
      return { id, type: 1, tags, geometry: [g.coordinates] }
    case 'MultiPoint':
      return { id, type: 1, tags, geometry: g.coordinates }
    case 'LineString':
      return { id, type: 2, tags, geometry: [g.coordinates] }
    case 'MultiLineString':
      return { id, type: 2, tags, geometry: g.coordinates }
    case 'Polygon':
      return { id, type: 3, tags, geometry: g.coordinates }
    case 'MultiPolygon':
      return { id, type: 3, tags, geometry: g.coordinates.flat() }
    default:
      return null
  }
}

export function jsEncoder(db: Queryable): TileEncoder {
  const sqlCache = new Map<string, string>()
  return {
    kind: 'js',
    async encode(layer, req) {
      let sql = sqlCache.get(layer.id)
      if (!sql) sqlCache.set(layer.id, (sql = jsTileSql(layer)))
      const { rows } = await db.query<Record<string, unknown> & { id: number; geom: string }>(sql, params(layer, req))
      if (rows.length === 0) return Buffer.alloc(0)
      const fields = Object.keys(tileProperties(layer))
      const features: GeoJSONVTFeature[] = []
      for (const row of rows) {
        const tags: Record<string, unknown> = {}
        for (const p of fields) if (row[p] !== null && row[p] !== undefined) tags[p] = row[p]
        const f = toVtFeature(row.id, tags, JSON.parse(row.geom) as GeoJsonGeometry)
        if (f && f.geometry.length > 0) features.push(f)
      }
      const tile = { transformed: true, features, source: null, x: req.x, y: req.y, z: req.z } as GeoJSONVTTile
      const pbf = fromGeojsonVt({ [layer.id]: tile }, { version: 2, extent: EXTENT })
      return Buffer.from(pbf.buffer, pbf.byteOffset, pbf.byteLength)
    },
  }
}

export function createEncoder(kind: 'native' | 'js', db: Queryable): TileEncoder {
  return kind === 'native' ? nativeEncoder(db) : jsEncoder(db)
}
