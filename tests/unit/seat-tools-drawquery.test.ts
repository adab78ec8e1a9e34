import { describe, expect, it } from 'vitest'
import turfBuffer from '@turf/buffer'
import turfCircle from '@turf/circle'
import turfDistance from '@turf/distance'
import {
  areaGeometry,
  circleFromDrawn,
  closeRing,
  csvCell,
  exportName,
  featurePoint,
  resultsToCSV,
  resultsToGeoJSON,
  shapeProblem,
  withinRequest,
  type BufferFn,
  type DrawShape,
  type WithinResult,
} from '../../web/map/drawQuery.ts'
import { WithinBody } from '../../server/spatial/params.ts'

const square: [number, number][] = [
  [121.47, 31.23],
  [121.48, 31.23],
  [121.48, 31.24],
  [121.47, 31.24],
]

describe('withinRequest', () => {
  it('sends a polygon as a closed ring the server accepts, repeats dropped', () => {
    const body = withinRequest({ kind: 'polygon', ring: [...square, square[3]!] })
    expect(body).toEqual({ geometry: { type: 'Polygon', coordinates: [[...square, square[0]]] }, limit: 200 })
    expect(WithinBody.safeParse(body).success).toBe(true)
  })

  it('sends a circle as the API circle (centre and radius), not its polygon', () => {
    const body = withinRequest({ kind: 'circle', center: [121.4712345678, 31.2312345678], radiusM: 250.04 })
    expect(body).toEqual({ circle: { lon: 121.4712346, lat: 31.2312346, radius_m: 250 }, limit: 200 })
    const parsed = WithinBody.safeParse(body)
    expect(parsed.success).toBe(true)
  })

  it('sends a line with its buffer', () => {
    const body = withinRequest({ kind: 'line', coords: [square[0]!, square[0]!, square[1]!], bufferM: 50 }, 20)
    expect(body).toEqual({ line: { type: 'LineString', coordinates: [square[0], square[1]] }, buffer_m: 50, limit: 20 })
    expect(WithinBody.safeParse(body).success).toBe(true)
  })

  it('refuses shapes the server would refuse', () => {
    const cases: [DrawShape, string][] = [
      [{ kind: 'polygon', ring: [square[0]!, square[1]!, square[0]!] }, 'tooFewPoints'],
      [{ kind: 'circle', center: square[0]!, radiusM: 0 }, 'radius'],
      [{ kind: 'circle', center: square[0]!, radiusM: 20_001 }, 'radius'],
      [{ kind: 'line', coords: [square[0]!, square[0]!], bufferM: 10 }, 'tooFewPoints'],
      [{ kind: 'line', coords: square, bufferM: 0 }, 'buffer'],
    ]
    for (const [shape, problem] of cases) {
      expect(shapeProblem(shape)).toBe(problem)
      expect(() => withinRequest(shape)).toThrow(problem)
    }
  })

  it('closes an open ring once', () => {
    expect(closeRing(square)).toHaveLength(5)
    expect(closeRing(closeRing(square))).toHaveLength(5)
  })
})

describe('circleFromDrawn', () => {
  /** A circle as terra-draw's web-mercator circle mode draws it: a regular polygon in Mercator metres. */
  function mercatorCircle(center: [number, number], radiusM: number, steps = 64): [number, number][] {
    const R = 6378137
    const x0 = (center[0] * Math.PI * R) / 180
    const y0 = R * Math.log(Math.tan(Math.PI / 4 + (center[1] * Math.PI) / 360))
    const scale = 1 / Math.cos((center[1] * Math.PI) / 180)
    const ring: [number, number][] = []
    for (let i = 0; i < steps; i++) {
      const a = (2 * Math.PI * i) / steps
      const x = x0 + radiusM * scale * Math.cos(a)
      const y = y0 + radiusM * scale * Math.sin(a)
      ring.push([(x / R) * (180 / Math.PI), (360 / Math.PI) * Math.atan(Math.exp(y / R)) - 90])
    }
    ring.push(ring[0]!)
    return ring
  }

  it('finds the centre of a Mercator circle and takes terra-draw’s radius', () => {
    const c: [number, number] = [121.4737, 31.2304]
    const got = circleFromDrawn(mercatorCircle(c, 300), 0.3)
    expect(got.center[0]).toBeCloseTo(c[0], 6)
    expect(got.center[1]).toBeCloseTo(c[1], 6)
    expect(got.radiusM).toBe(300)
  })

  it('measures the radius when terra-draw gave none', () => {
    const c: [number, number] = [121.4737, 31.2304]
    const got = circleFromDrawn(turfCircle(c, 0.5, { units: 'kilometers', steps: 64 }).geometry.coordinates[0] as [number, number][])
    expect(turfDistance(got.center, c, { units: 'meters' })).toBeLessThan(1)
    expect(got.radiusM).toBeGreaterThan(495)
    expect(got.radiusM).toBeLessThan(505)
  })
})

describe('areaGeometry', () => {
  it('draws a circle of the asked radius and a line buffer around the line', () => {
    const circle = areaGeometry({ kind: 'circle', center: [121.47, 31.23], radiusM: 100 })!
    expect(circle.type).toBe('Polygon')
    const ring = circle.coordinates[0] as [number, number][]
    for (const p of ring.slice(0, 10)) expect(turfDistance([121.47, 31.23], p, { units: 'meters' })).toBeCloseTo(100, 0)
    const line: DrawShape = { kind: 'line', coords: [square[0]!, square[1]!], bufferM: 50 }
    const buf = areaGeometry(line, turfBuffer as BufferFn)!
    expect(['Polygon', 'MultiPolygon']).toContain(buf.type)
    // ~50 m each side of the line: the buffer's box is ~100 m tall around lat 31.23
    const lats = (buf.coordinates as [number, number][][]).flat().map((p) => p[1])
    expect((Math.max(...lats) - Math.min(...lats)) * 111_000).toBeGreaterThan(95)
    expect((Math.max(...lats) - Math.min(...lats)) * 111_000).toBeLessThan(105)
    expect(areaGeometry(line)).toBeNull()
    const fc = resultsToGeoJSON({ counts: {}, features: {} }, line) as { features: { geometry: { type: string }; properties: Record<string, unknown> }[] }
    expect(fc.features[0]!.geometry.type).toBe('LineString')
    expect(fc.features[0]!.properties.buffer_m).toBe(50)
    expect(areaGeometry({ kind: 'circle', center: [0, 0], radiusM: -1 })).toBeNull()
  })
})

const result: WithinResult = {
  counts: { workers: 2, cameras: 0, buildings: 1 },
  features: {
    workers: [
      { type: 'Feature', id: 7, geometry: { type: 'Point', coordinates: [121.471, 31.231] }, properties: { code: 'W007', name: '张三', phone: '=1+2', duty_status: 'on_duty' } },
      { type: 'Feature', id: 9, geometry: { type: 'Point', coordinates: [121.472, 31.232] }, properties: { code: 'W009', name: 'Li, "Si"', phone: null, duty_status: 'busy' } },
    ],
    cameras: [],
    buildings: [
      {
        type: 'Feature',
        id: 3,
        geometry: { type: 'Polygon', coordinates: [[[121.47, 31.23], [121.472, 31.23], [121.472, 31.232], [121.47, 31.23]]] },
        properties: { name: '一号楼', height_m: 24 },
      },
    ],
  },
}

describe('exports', () => {
  it('writes CSV with a header of every property, quoted cells and no formulas', () => {
    const csv = resultsToCSV(result)
    expect(csv.startsWith('\uFEFF')).toBe(true)
    const lines = csv.slice(1).trimEnd().split('\r\n')
    expect(lines[0]).toBe('layer,id,lon,lat,code,name,phone,duty_status,height_m')
    expect(lines[1]).toBe("workers,7,121.471,31.231,W007,张三,'=1+2,on_duty,")
    expect(lines[2]).toBe('workers,9,121.472,31.232,W009,"Li, ""Si""",,busy,')
    expect(lines[3]).toBe('buildings,3,121.471,31.231,,一号楼,,,24')
    expect(lines).toHaveLength(4)
  })

  it('writes GeoJSON: the asked area with its counts first, then each feature with its layer', () => {
    const fc = resultsToGeoJSON(result, { kind: 'circle', center: [121.47, 31.23], radiusM: 300 }) as {
      features: { geometry: { type: string }; properties: Record<string, unknown> }[]
    }
    expect(fc.features).toHaveLength(4)
    expect(fc.features[0]!.properties).toMatchObject({ layer: 'query', shape: 'circle', radius_m: 300, count_workers: 2, count_cameras: 0, count_buildings: 1 })
    expect(fc.features[0]!.geometry.type).toBe('Polygon')
    expect(fc.features.slice(1).map((f) => [f.properties.layer, f.properties.id])).toEqual([
      ['workers', 7],
      ['workers', 9],
      ['buildings', 3],
    ])
    expect(JSON.parse(JSON.stringify(fc))).toEqual(fc)
  })

  it('has small helpers that behave', () => {
    expect(csvCell(-3)).toBe('-3')
    expect(csvCell('-3')).toBe("'-3")
    expect(csvCell({ a: 1 })).toBe('"{""a"":1}"')
    expect(featurePoint(null)).toBeNull()
    expect(exportName('csv', new Date(2026, 10, 21, 8, 5))).toBe('onegrid-within-20261121-0805.csv')
  })
})
