/**
 * Both tile encoders must produce the same tile for the same request: the same feature ids and
 * properties, geometries within one tile-extent unit (per axis; for polygons, apart from
 * slivers under 2 unit², since the two clip-and-repair engines treat one-pixel spikes apart). Run on a real PostGIS, where both work
 * (the JS encoder is what PGlite uses; native ST_AsMVT needs protobuf).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { catalog } from '../../layers/index.ts'
import { migrate } from '../../server/db/migrate.ts'
import { seedGeography } from '../../server/seed/geography.ts'
import { anchorDate } from '../../server/seed/index.ts'
import { seedObjects } from '../../server/seed/objects.ts'
import { TEST_ANCHOR, TEST_SEED } from '../helpers/constants.ts'
import type { Db } from '../../server/db/index.ts'
import { jsEncoder, nativeEncoder } from '../../tiles/encoder.ts'
import { freshDatabase, type FreshDatabase } from '../helpers/db.ts'
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

/** A decoded feature as GeoJSON in tile coordinates: points as MultiPoint, lines and rings as MultiLineString. */
const asLines = (f: DecodedFeature) =>
  JSON.stringify(
    f.type === 1
      ? { type: 'MultiPoint', coordinates: f.geometry.flat().map((p) => [p.x, p.y]) }
      : { type: 'MultiLineString', coordinates: f.geometry.map((r) => r.map((p) => [p.x, p.y])) },
  )

/** Layers with few features over the compared tiles: the least each must still show. */
const FEW: Record<string, number> = { water: 5, districts: 20 }

describe.skipIf(!url)('tile encoders agree', () => {
  let fresh: FreshDatabase
  let db: Db
  beforeAll(async () => {
    fresh = await freshDatabase('postgres')
    db = fresh.db
    await migrate(db)
    await seedGeography(db)
    await seedObjects(db, { seed: TEST_SEED, anchor: anchorDate(TEST_ANCHOR, 'Asia/Shanghai'), tz: 'Asia/Shanghai' })
  })
  afterAll(async () => {
    await fresh?.drop()
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
      let onlyInOne = 0
      for (const t of tiles) {
        const req = { ...t, scopePrefix: null }
        const a = decodeLayer(await native.encode(layer, req), layer.id)
        const b = decodeLayer(await js.encode(layer, req), layer.id)
        const where = `${layer.id} ${t.z}/${t.x}/${t.y}`
        if (!a && !b) continue
        // The same features — except that the two clip-and-repair engines (wagyu, GEOS) may
        // disagree on a polygon too small to draw: under 2 unit², or thinner than half a unit.
        const idsA = new Set(a?.features.map((f) => f.id))
        const idsB = new Set(b?.features.map((f) => f.id))
        for (const f of [...(a?.features ?? []).filter((f) => !idsB.has(f.id)), ...(b?.features ?? []).filter((f) => !idsA.has(f.id))]) {
          const area = Math.abs(signedArea(f))
          const perimeter = f.geometry.reduce((sum, r) => sum + r.reduce((s2, p, i) => (i ? s2 + Math.hypot(p.x - r[i - 1].x, p.y - r[i - 1].y) : s2), 0), 0)
          expect(layer.geometryType, `${where}: feature ${f.id} in one encoder only`).toBe('polygon')
          expect(area < 2 || area < 0.25 * perimeter, `${where}: feature ${f.id} in one encoder only is visible (area ${area})`).toBe(true)
          onlyInOne++
        }
        if (!a || !b) continue
        const byId = new Map(b.features.map((f) => [f.id, f]))
        for (const fa of a.features) {
          const fb = byId.get(fa.id)
          if (!fb) continue
          expect(fb!.type, where).toBe(fa.type)
          expect(fb!.properties, where).toEqual(fa.properties)
          if (layer.geometryType === 'polygon') {
            // Polygons: each lies within 1.5 units of the other, apart from slivers under 2 unit²
            // (wagyu in ST_AsMVTGeom drops one-pixel spikes that GEOS keeps).
            const { rows } = await db.query<{ ab: number; ba: number }>(
              `WITH g AS (SELECT ST_BuildArea(ST_GeomFromGeoJSON($1)) AS a, ST_BuildArea(ST_GeomFromGeoJSON($2)) AS b)
               SELECT ST_Area(ST_Difference(a, ST_Buffer(b, 1.5))) AS ab, ST_Area(ST_Difference(b, ST_Buffer(a, 1.5))) AS ba FROM g`,
              [asLines(fa), asLines(fb!)],
            )
            expect(rows[0].ab, `${where} feature ${fa.id}: native outside JS`).toBeLessThan(2)
            expect(rows[0].ba, `${where} feature ${fa.id}: JS outside native`).toBeLessThan(2)
            const [sa, sb] = [signedArea(fa), signedArea(fb!)]
            expect(Math.sign(sb), `${where} feature ${fa.id} ring winding`).toBe(Math.sign(sa))
            expect(Math.abs(sa - sb), `${where} feature ${fa.id} area`).toBeLessThanOrEqual(Math.max(50, Math.abs(sa) * 0.02))
          } else {
            // Lines and points: every vertex within one unit on each axis.
            const { rows } = await db.query<{ d: number }>('SELECT ST_HausdorffDistance(ST_GeomFromGeoJSON($1), ST_GeomFromGeoJSON($2)) AS d', [asLines(fa), asLines(fb!)])
            expect(rows[0].d, `${where} feature ${fa.id} Hausdorff distance`).toBeLessThanOrEqual(Math.SQRT2)
          }
          compared++
        }
      }
      console.log(`tile-encoders: ${layer.id}: compared ${compared} features on ${tiles.length} tiles; ${onlyInOne} invisible specks in one encoder only`)
      expect(onlyInOne).toBeLessThanOrEqual(Math.max(2, compared / 500))
      // Enough features to mean something; a few layers simply have few (the river, four districts).
      expect(compared).toBeGreaterThan(FEW[layer.id] ?? 50)
    })
  }
})
