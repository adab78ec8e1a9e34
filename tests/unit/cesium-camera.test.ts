import CheapRuler from 'cheap-ruler'
import { describe, expect, it } from 'vitest'
import {
  cesiumToMap,
  distanceForZoom,
  mapToCesium,
  metresPerPixel,
  verticalFov,
  viewBbox,
  wrapDegrees,
  zoomForDistance,
  type Viewport,
} from '../../web/map/cesium/camera.ts'
import type { MapCamera } from '../../web/map/view.ts'

const RAD = Math.PI / 180
/** Cesium's default frustum (60°) on a 1920×1080 canvas. */
const WALL: Viewport = { height: 1080, fovy: verticalFov(Math.PI / 3, 1920, 1080) }
const BUND: [number, number] = [121.4905, 31.2405]

/** Distance in metres between two lon/lat points. */
const metres = (a: readonly [number, number], b: readonly [number, number]) => new CheapRuler(a[1], 'meters').distance(a, b)

describe('verticalFov', () => {
  it('is the fov itself on a portrait or square canvas, and narrower on a landscape one', () => {
    expect(verticalFov(1, 500, 800)).toBe(1)
    expect(verticalFov(1, 800, 800)).toBe(1)
    // Cesium's 60° across 1920 px: tan(30°)·1080/1920 = tan(fovy/2)
    expect(Math.tan(WALL.fovy / 2)).toBeCloseTo(Math.tan(30 * RAD) * (1080 / 1920), 12)
  })
})

describe('zoom ⇄ distance', () => {
  it('uses web mercator scale: 512 px tiles, 2πR·cos(lat)', () => {
    // at the equator, zoom 0: the 40 075 km circumference over 512 px
    expect(metresPerPixel(0, 0)).toBeCloseTo(78271.517, 2)
    expect(metresPerPixel(1, 60)).toBeCloseTo(78271.517 / 4, 2)
  })

  it('halves the distance for each zoom step and inverts exactly', () => {
    const d14 = distanceForZoom(14, 31.24, WALL)
    expect(distanceForZoom(15, 31.24, WALL)).toBeCloseTo(d14 / 2, 6)
    // the ground under the centre spans the same metres across the canvas height as MapLibre's
    expect(2 * d14 * Math.tan(WALL.fovy / 2)).toBeCloseTo(metresPerPixel(14, 31.24) * 1080, 6)
    for (const z of [3, 12.5, 16, 21]) expect(zoomForDistance(distanceForZoom(z, 31.24, WALL), 31.24, WALL)).toBeCloseTo(z, 9)
  })
})

describe('mapToCesium', () => {
  it('looks straight down from above the centre at pitch 0', () => {
    const c = mapToCesium({ center: BUND, zoom: 15, bearing: 0, pitch: 0 }, WALL)
    expect(c.lon).toBeCloseTo(BUND[0], 9)
    expect(c.lat).toBeCloseTo(BUND[1], 9)
    expect(c.height).toBeCloseTo(distanceForZoom(15, BUND[1], WALL), 6)
    expect(c.pitch).toBeCloseTo(-Math.PI / 2, 12)
    expect(c.heading).toBe(0)
  })

  it('stands back against the bearing as far as the pitch tilts it', () => {
    const cam: MapCamera = { center: BUND, zoom: 15.5, bearing: 90, pitch: 60 }
    const c = mapToCesium(cam, WALL)
    const d = distanceForZoom(15.5, BUND[1], WALL)
    // bearing 90 (looking east): the camera is west of the centre, on the same parallel
    expect(c.lon).toBeLessThan(BUND[0])
    expect(c.lat).toBeCloseTo(BUND[1], 6)
    expect(metres([c.lon, c.lat], BUND)).toBeCloseTo(d * Math.sin(60 * RAD), 1)
    expect(c.height).toBeCloseTo(d * Math.cos(60 * RAD), 6)
    expect(c.heading).toBeCloseTo(Math.PI / 2, 12)
    expect(c.pitch).toBeCloseTo(-30 * RAD, 12)
  })

  it('maps negative bearings to Cesium headings in [0, 2π)', () => {
    expect(mapToCesium({ center: BUND, zoom: 14, bearing: -45, pitch: 30 }, WALL).heading).toBeCloseTo(315 * RAD, 12)
  })

  it('keeps pitch within MapLibre’s 0–85°', () => {
    expect(mapToCesium({ center: BUND, zoom: 14, bearing: 0, pitch: 85 }, WALL).pitch).toBeCloseTo(-5 * RAD, 12)
  })
})

describe('cesiumToMap', () => {
  // Views the wall uses: overview, pitched city, rotated close-up, low oblique, another city, other canvas sizes.
  const cases: [string, MapCamera, Viewport][] = [
    ['overview, straight down', { center: BUND, zoom: 14, bearing: 0, pitch: 0 }, WALL],
    ['pitched city view', { center: [121.5, 31.238], zoom: 15.2, bearing: -20, pitch: 55 }, WALL],
    ['rotated close-up', { center: [121.505, 31.235], zoom: 17.5, bearing: 135, pitch: 70 }, WALL],
    ['low oblique', { center: BUND, zoom: 16, bearing: 179, pitch: 84 }, WALL],
    ['far north, 3840×1080', { center: [25.28, 60.17], zoom: 12, bearing: 45, pitch: 40 }, { height: 1080, fovy: verticalFov(Math.PI / 3, 3840, 1080) }],
    ['portrait canvas', { center: [-74.006, 40.7128], zoom: 13, bearing: -90, pitch: 20 }, { height: 1200, fovy: verticalFov(Math.PI / 3, 800, 1200) }],
  ]

  it.each(cases)('round-trips %s', (_name, cam, vp) => {
    const back = cesiumToMap(mapToCesium(cam, vp), vp)
    // within a metre on the ground, 1/1000 of a zoom step, and a hundredth of a degree
    expect(metres(back.center, cam.center)).toBeLessThan(1)
    expect(back.zoom).toBeCloseTo(cam.zoom, 3)
    expect(wrapDegrees(back.bearing - cam.bearing)).toBeCloseTo(0, 2)
    expect(back.pitch).toBeCloseTo(cam.pitch, 6)
  })

  it('takes a camera looking at or above the horizon at the steepest pitch, with a centre in front of it', () => {
    const m = cesiumToMap({ lon: BUND[0], lat: BUND[1], height: 300, heading: 0, pitch: 0.1 }, WALL)
    expect(m.pitch).toBe(85)
    expect(m.center[1]).toBeGreaterThan(BUND[1])
    expect(Number.isFinite(m.zoom)).toBe(true)
  })

  it('clamps the zoom to MapLibre’s range', () => {
    expect(cesiumToMap({ lon: 0, lat: 0, height: 1e9, heading: 0, pitch: -Math.PI / 2 }, WALL).zoom).toBe(0)
    expect(cesiumToMap({ lon: 0, lat: 0, height: 0.001, heading: 0, pitch: -Math.PI / 2 }, WALL).zoom).toBeLessThanOrEqual(24)
  })

  it('gives bearings in (-180, 180]', () => {
    expect(cesiumToMap({ lon: 0, lat: 0, height: 500, heading: 270 * RAD, pitch: -Math.PI / 2 }, WALL).bearing).toBeCloseTo(-90, 9)
    expect(wrapDegrees(-180)).toBe(180)
    expect(wrapDegrees(540)).toBe(180)
  })
})

describe('viewBbox', () => {
  it('holds the visible ground around the centre and grows with pitch, capped', () => {
    const flat = viewBbox({ center: BUND, zoom: 15, bearing: 0, pitch: 0 }, { width: 1920, height: 1080 })
    const [w, s, e, n] = flat
    expect(w).toBeLessThan(BUND[0])
    expect(e).toBeGreaterThan(BUND[0])
    expect(s).toBeLessThan(BUND[1])
    expect(n).toBeGreaterThan(BUND[1])
    // half the canvas diagonal at zoom 15 (≈ 4 m/px at this latitude)
    const half = (Math.hypot(1920, 1080) / 2) * metresPerPixel(15, BUND[1])
    expect(metres(BUND, [e, BUND[1]])).toBeCloseTo(half, 0)
    const pitched = viewBbox({ center: BUND, zoom: 15, bearing: 0, pitch: 60 }, { width: 1920, height: 1080 })
    expect(pitched[2] - pitched[0]).toBeGreaterThan(e - w)
    const capped = viewBbox({ center: BUND, zoom: 8, bearing: 0, pitch: 0 }, { width: 1920, height: 1080 }, 3000)
    expect(metres(BUND, [capped[2], BUND[1]])).toBeCloseTo(3000, 0)
  })
})
