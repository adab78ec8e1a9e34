import distance from '@turf/distance'
import bearing from '@turf/bearing'
import { describe, expect, it } from 'vitest'
import { catalog } from '../../layers/index.ts'
import { coneOf, conesOf, PTZ_VIEW_DEG } from '../../web/map/deckRenderers.ts'

const at: [number, number] = [121.5, 31.24]
const camera = (heading_deg: number, fov_deg: number, range_m: number, status = 'online') => ({
  geometry: { type: 'Point' as const, coordinates: at },
  properties: { heading_deg, fov_deg, range_m, status },
})

describe('camera view cones', () => {
  it('the cameras layer asks for them from z16', () => {
    expect(catalog.get('cameras')!.deck).toEqual({ kind: 'fov-cones', minzoom: 16 })
  })

  it('spans the heading ± half the angle, out to the range, from the camera', () => {
    const cone = coneOf(camera(90, 60, 100))!
    expect(cone.online).toBe(true)
    const ring = cone.polygon
    expect(ring[0]).toEqual(ring[ring.length - 1])
    let far = 0
    for (const p of ring) {
      const d = distance(at, p, { units: 'meters' })
      far = Math.max(far, d)
      expect(d).toBeLessThanOrEqual(100.5)
      if (d > 1) {
        // every arc point lies within 60–120° (east ± 30°)
        const b = (bearing(at, p) + 360) % 360
        expect(b).toBeGreaterThanOrEqual(59.5)
        expect(b).toBeLessThanOrEqual(120.5)
      }
    }
    expect(far).toBeGreaterThan(99)
  })

  it('wraps through north and is a disc at 360°', () => {
    const north = coneOf(camera(350, 40, 50))!
    const bearings = north.polygon.filter((p) => distance(at, p, { units: 'meters' }) > 1).map((p) => (bearing(at, p) + 360) % 360)
    for (const b of bearings) expect(b >= 329.5 || b <= 10.5, String(b)).toBe(true)
    const disc = coneOf(camera(0, 360, 30, 'offline'))!
    expect(disc.online).toBe(false)
    for (const p of disc.polygon) expect(distance(at, p, { units: 'meters' })).toBeCloseTo(30, 0)
  })

  it('draws a 360° PTZ camera as its disc and, over it, the sector it looks at now, which turns with it', () => {
    const [disc, view] = conesOf(camera(90, 360, 40))
    expect(disc!.full).toBe(true)
    expect(view!.full).toBe(false)
    const mid = (c: NonNullable<typeof view>) => {
      const far = c.polygon.filter((p) => distance(at, p, { units: 'meters' }) > 1).map((p) => (bearing(at, p) + 360) % 360)
      return { min: Math.min(...far), max: Math.max(...far) }
    }
    expect(mid(view!).min).toBeCloseTo(90 - PTZ_VIEW_DEG / 2, 0)
    expect(mid(view!).max).toBeCloseTo(90 + PTZ_VIEW_DEG / 2, 0)
    const turned = conesOf(camera(135, 360, 40))[1]!
    expect(mid(turned).min).toBeCloseTo(135 - PTZ_VIEW_DEG / 2, 0)
    // each cone names its camera and the heading it is centred on (what the seat's e2e reads)
    const [d7, v7] = conesOf({ id: 7, ...camera(135, 360, 40) })
    expect([d7!.cameraId, d7!.headingDeg, v7!.cameraId, v7!.headingDeg]).toEqual([7, 135, 7, 135])
    expect(coneOf({ ...camera(10, 60, 40), properties: { ...camera(10, 60, 40).properties, id: 9 } })!.cameraId).toBe(9)
    expect(coneOf(camera(10, 60, 40))!.cameraId).toBeNull()
    expect(conesOf(camera(90, 60, 40))).toHaveLength(1)
  })

  it('draws nothing for a camera without a position or a range', () => {
    expect(coneOf({ ...camera(0, 60, 50), geometry: null })).toBeNull()
    expect(coneOf(camera(0, 60, 0))).toBeNull()
    expect(coneOf({ geometry: camera(0, 60, 50).geometry, properties: {} })).toBeNull()
  })
})
