/**
 * Both tile encoders must produce the same tile for the same request: the same feature ids and
 * properties, geometries within one tile-extent unit. Run on a real PostGIS, where both work
 * (the JS encoder is what PGlite uses; native ST_AsMVT needs protobuf).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { catalog } from '../../layers/index.ts'
import { openPostgres } from '../../server/db/postgres.ts'
import { migrate } from '../../server/db/migrate.ts'
import { seedSkeleton } from '../../server/seed/skeleton.ts'
import type { Db } from '../../server/db/index.ts'
import { jsEncoder, nativeEncoder } from '../../tiles/encoder.ts'
import { decodeLayer, tileOf, type DecodedFeature } from '../helpers/mvt.ts'

const url = process.env.TEST_DATABASE_URL
if (!url && process.env.CI === 'true') throw new Error('CI=true but TEST_DATABASE_URL is not set')
if (!url) console.warn('tile-encoders: skipped — set TEST_DATABASE_URL to a PostGIS database to compare the encoders')

/** Signed shoelace area summed over all rings: exterior rings count +, holes −. */
function signedArea(f: DecodedFeature): number {
  let a = 0
  for (const ring of f.geometry) for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) a += (ring[j].x * ring[i].y - ring[i].x * ring[j].y) / 2
  return a
}

const asLines = (f: DecodedFeature) => JSON.stringify({ type: 'MultiLineString', coordinates: f.geometry.map((r) => r.map((p) => [p.x, p.y])) })

describe.skipIf(!url)('tile encoders agree', () => {
  let db: Db
  beforeAll(async () => {
    db = await openPostgres(url!)
    await migrate(db)
    await seedSkeleton(db)
  })
  afterAll(async () => {
    await db?.close()
  })

  // Every tile over the demo area at z13 and z15, plus a low and a deep zoom.
  const tiles: { z: number; x: number; y: number }[] = []
  for (const z of [13, 15]) {
    const a = tileOf(121.4813, 31.2504, z)
    const b = tileOf(121.5198, 31.2269, z)
    for (let x = a.x; x <= b.x; x++) for (let y = a.y; y <= b.y; y++) tiles.push({ z, x, y })
  }
  tiles.push(tileOf(121.5, 31.24, 11), tileOf(121.4995, 31.2397, 18))

  for (const layer of catalog.values()) {
    it(`${layer.id}: same features, properties and geometry (±1 unit) on ${tiles.length} tiles`, async () => {
      const native = nativeEncoder(db)
      const js = jsEncoder(db)
      let compared = 0
      for (const t of tiles) {
        const req = { ...t, scopePrefix: null }
        const a = decodeLayer(await native.encode(layer, req), layer.id)
        const b = decodeLayer(await js.encode(layer, req), layer.id)
        const where = `${layer.id} ${t.z}/${t.x}/${t.y}`
        expect(b?.features.length ?? 0, where).toBe(a?.features.length ?? 0)
        if (!a || !b) continue
        const byId = new Map(b.features.map((f) => [f.id, f]))
        for (const fa of a.features) {
          const fb = byId.get(fa.id)
          expect(fb, `${where} feature ${fa.id}`).toBeDefined()
          expect(fb!.type, where).toBe(fa.type)
          expect(fb!.properties, where).toEqual(fa.properties)
          const { rows } = await db.query<{ d: number }>('SELECT ST_HausdorffDistance(ST_GeomFromGeoJSON($1), ST_GeomFromGeoJSON($2)) AS d', [asLines(fa), asLines(fb!)])
          expect(rows[0].d, `${where} feature ${fa.id} Hausdorff distance`).toBeLessThanOrEqual(1)
          if (layer.geometryType === 'polygon') {
            const [sa, sb] = [signedArea(fa), signedArea(fb!)]
            expect(Math.sign(sb), `${where} feature ${fa.id} ring winding`).toBe(Math.sign(sa))
            expect(Math.abs(sa - sb), `${where} feature ${fa.id} area`).toBeLessThanOrEqual(Math.max(50, Math.abs(sa) * 0.02))
          }
          compared++
        }
      }
      console.log(`tile-encoders: ${layer.id}: compared ${compared} features on ${tiles.length} tiles`)
      expect(compared).toBeGreaterThan(50)
    })
  }
})
