import { describe, expect, it } from 'vitest'
import { importLayers } from '../../server/import/layers.ts'
import {
  checkGeometry,
  checkPosition,
  findSwappedOutliers,
  jsonErrorAt,
  parseCsv,
  parseGeoJson,
  polygonAreaM2,
  toWgs84,
} from '../../server/import/parse.ts'

const buildings = importLayers.get('buildings')!
const roads = importLayers.get('roads')!
const parts = importLayers.get('parts')!

describe('checkPosition: anywhere on Earth, nothing else', () => {
  it.each([
    [[116.45, 39.91], null],
    [[-73.98, 40.75], null], // New York
    [[151.21, -33.87], null], // Sydney
    [[-180, -90], null],
    [[180, 90, 12.5], null], // a height is allowed
    [[39.91, 116.45], /look swapped.*latitude 116\.45 beyond ±90/],
    [[200, 39.9], /out of range/],
    [[13000000, 4800000], /out of range.*not projected metres/],
    [[116.45], /not \[longitude, latitude\]/],
    [['116.45', 39.9], /not a finite number/],
    [[null, 39.9], /not a finite number/],
    ['116.45,39.9', /not \[longitude, latitude\]/],
  ])('%j', (p, expected) => {
    const r = checkPosition(p)
    if (expected === null) expect(r).toBeNull()
    else expect(r).toMatch(expected)
  })
})

describe('checkGeometry', () => {
  const ring = [
    [116.45, 39.91],
    [116.451, 39.91],
    [116.451, 39.911],
    [116.45, 39.91],
  ]
  it.each([
    ['a polygon', buildings, { type: 'Polygon', coordinates: [ring] }, null],
    ['a multipolygon', buildings, { type: 'MultiPolygon', coordinates: [[ring], [ring]] }, null],
    ['a point for buildings', buildings, { type: 'Point', coordinates: [116.45, 39.91] }, /geometry type Point is not accepted for buildings \(expected Polygon or MultiPolygon\)/],
    ['a collection', buildings, { type: 'GeometryCollection', geometries: [] }, /GeometryCollection is not accepted/],
    ['no geometry', buildings, null, /has no geometry/],
    ['an unclosed ring', buildings, { type: 'Polygon', coordinates: [ring.slice(0, 3).concat([[116.4505, 39.9105]])] }, /ring 1 \(outer\) is not closed/],
    ['a ring of three', buildings, { type: 'Polygon', coordinates: [[ring[0], ring[1], ring[0]]] }, /has 3 positions; it needs at least 4/],
    ['an unclosed hole', buildings, { type: 'Polygon', coordinates: [ring, ring.slice(0, 3).concat([[116.4505, 39.9105]])] }, /ring 2 is not closed/],
    ['a polygon without rings', buildings, { type: 'Polygon', coordinates: [] }, /has no rings/],
    ['a bad part of a multipolygon', buildings, { type: 'MultiPolygon', coordinates: [[ring], [[[1, 2]]]] }, /part 2 of the multi-polygon ring 1/],
    ['a line', roads, { type: 'LineString', coordinates: [[116.45, 39.91], [116.46, 39.91]] }, null],
    ['a one-point line', roads, { type: 'LineString', coordinates: [[116.45, 39.91]] }, /the line has 1 position; it needs at least 2/],
    ['a point for parts', parts, { type: 'Point', coordinates: [116.45, 39.91] }, null],
    ['a multipoint for parts', parts, { type: 'MultiPoint', coordinates: [[116.45, 39.91]] }, /MultiPoint is not accepted for parts \(expected Point\)/],
  ])('%s', (_what, layer, geometry, expected) => {
    const r = checkGeometry(geometry, layer)
    if (expected === null) expect(r).toBeNull()
    else expect(r).toMatch(expected)
  })
})

describe('findSwappedOutliers', () => {
  const paris = [
    [2.3522, 48.8566],
    [2.2945, 48.8584],
    [2.3499, 48.853],
    [2.3376, 48.8606],
    [2.3212, 48.8417],
  ]
  it('finds the one point written as [lat, lon]', () => {
    const pts = [...paris, [48.8738, 2.295]].map(([x, y], index) => ({ index, x, y }))
    expect(findSwappedOutliers(pts)).toEqual([5])
  })
  it('leaves a far but not swapped point alone, and small files', () => {
    const pts = [...paris, [-73.98, 40.75]].map(([x, y], index) => ({ index, x, y }))
    expect(findSwappedOutliers(pts)).toEqual([])
    expect(findSwappedOutliers(paris.slice(0, 4).map(([x, y], index) => ({ index, x, y })))).toEqual([])
  })
})

describe('parseGeoJson', () => {
  it.each([
    ['', /the file is empty/],
    ['  \n ', /the file is empty/],
    ['{"type":"FeatureCollection","features":[]}', /no features/],
    ['{"type":"FeatureCollection"}', /no "features" array/],
    ['{"type":"Topology"}', /got type "Topology"/],
    ['{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::3857"}},"features":[{}]}', /declares the coordinate system urn:ogc:def:crs:EPSG::3857/],
    ['{"type": "FeatureCollection", "features": [', /not valid JSON.*line 1, column 44: the file ends before the JSON does/],
  ])('refuses %j', (text, message) => {
    expect(() => parseGeoJson(Buffer.from(text))).toThrow(message)
  })
  it('reads a collection, a single feature and a BOM, and flags non-features', () => {
    const fc = parseGeoJson(Buffer.from('\uFEFF{"type":"FeatureCollection","features":[{"type":"Feature","id":7,"properties":{"a":1},"geometry":null},{"type":"Point"}]}'))
    expect(fc).toEqual([
      { index: 0, featureId: 7, geometry: null, properties: { a: 1 } },
      { index: 1, geometry: null, properties: {}, error: expect.stringMatching(/not a GeoJSON Feature/) },
    ])
    expect(parseGeoJson(Buffer.from('{"type":"Feature","properties":null,"geometry":{"type":"Point","coordinates":[1,2]}}'))).toHaveLength(1)
  })
})

describe('jsonErrorAt', () => {
  it.each([
    ['{"a": 1,}', 8],
    ['[1, 2] x', 7],
    ['{"a": tru}', 6],
    ['{"a": [1, 2', 11],
    ['{"a": 1}', -1],
  ])('%j → %i', (text, pos) => {
    expect(jsonErrorAt(text)).toBe(pos)
  })
})

describe('parseCsv', () => {
  it('reads points from any usual lon/lat column names, with lines', () => {
    const rows = parseCsv(Buffer.from('\uFEFFID,Name,Longitude,Latitude\r\na,甲,116.4,39.9\r\n\r\nb,乙,116.5,abc\r\n'))
    expect(rows).toEqual([
      { index: 0, line: 2, geometry: { type: 'Point', coordinates: [116.4, 39.9] }, properties: { id: 'a', name: '甲' } },
      { index: 1, line: 4, geometry: null, properties: { id: 'b', name: '乙' }, error: 'latitude "abc" is not a number' },
    ])
  })
  it.each([
    ['', /empty/],
    ['id,lon,lat\n', /no data rows/],
    ['id,x,y\na,1,2\n', /needs a lon \(or lng, longitude\) and a lat \(or latitude\) column; its columns are: id, x, y/],
    ['id,lon,lat\na,1\n', /not valid CSV: .*columns length is 3, got 2 on line 2/],
  ])('refuses %j', (text, message) => {
    expect(() => parseCsv(Buffer.from(text))).toThrow(message)
  })
})

describe('toWgs84 and polygonAreaM2', () => {
  it('moves GCJ-02 back by the few hundred metres the offset adds, and leaves WGS84 alone', () => {
    const g = { type: 'Point', coordinates: [116.397, 39.908] }
    expect(toWgs84(g, 'wgs84')).toEqual(g)
    const [x, y] = toWgs84(g, 'gcj02').coordinates as number[]
    expect(x).toBeCloseTo(116.39076, 4)
    expect(y).toBeCloseTo(39.90660, 4)
  })
  it('computes a 100 m × 100 m square near Beijing to within 0.5 %', () => {
    const dLat = 100 / 111195
    const dLon = dLat / Math.cos((39.9 * Math.PI) / 180)
    const ring = [
      [116.4, 39.9],
      [116.4 + dLon, 39.9],
      [116.4 + dLon, 39.9 + dLat],
      [116.4, 39.9 + dLat],
      [116.4, 39.9],
    ]
    expect(polygonAreaM2({ type: 'Polygon', coordinates: [ring] })).toBeGreaterThan(9950)
    expect(polygonAreaM2({ type: 'Polygon', coordinates: [ring] })).toBeLessThan(10050)
    expect(polygonAreaM2({ type: 'MultiPolygon', coordinates: [[ring], [ring]] })).toBeCloseTo(2 * polygonAreaM2({ type: 'Polygon', coordinates: [ring] }), 6)
  })
})
