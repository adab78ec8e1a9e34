/**
 * Draw to ask (DrawTool.vue), the pure part: a drawn shape → the body of POST /api/spatial/within
 * (server/spatial/params.ts WithinBody), the shape as a polygon to show, and the answer as
 * GeoJSON and CSV files.
 *
 * A circle is sent as the API's own `circle { lon, lat, radius_m }` (geodesic, ST_DWithin on
 * geography), never as its drawn polygon, so the tool's counts are the API's counts for that
 * circle; a line with its buffer as `line` + `buffer_m`; a polygon as `geometry`.
 */
import turfCircle from '@turf/circle'
import turfDistance from '@turf/distance'

import type { AreaFeature, WithinResult } from '../../server/spatial/within.ts'
import { MAX_DISTANCE_M, MAX_VERTICES, WITHIN_LAYERS, type WithinLayer } from '../../server/spatial/params.ts'

export type { AreaFeature, WithinLayer, WithinResult }
export { MAX_DISTANCE_M, WITHIN_LAYERS }

export type LonLat = [number, number]

export type DrawShape =
  | { kind: 'polygon'; ring: LonLat[] }
  | { kind: 'circle'; center: LonLat; radiusM: number }
  | { kind: 'line'; coords: LonLat[]; bufferM: number }

/** Most features listed per layer (the API's own maximum); counts are always exact. */
export const LIST_LIMIT = 200
/** Buffer widths offered for a line, metres. */
export const BUFFER_CHOICES = [20, 50, 100, 200, 500] as const

/** The request body (WithinBody as the server parses it, `layers` left out: all of them). */
export type WithinRequest =
  | { geometry: { type: 'Polygon'; coordinates: LonLat[][] }; limit: number }
  | { circle: { lon: number; lat: number; radius_m: number }; limit: number }
  | { line: { type: 'LineString'; coordinates: LonLat[] }; buffer_m: number; limit: number }

const r7 = (x: number) => Math.round(x * 1e7) / 1e7
const r1 = (x: number) => Math.round(x * 10) / 10
const pos = (p: readonly number[]): LonLat => [r7(p[0]!), r7(p[1]!)]
const samePos = (a: LonLat, b: LonLat) => a[0] === b[0] && a[1] === b[1]

/** Drops consecutive repeats (a double click leaves one) after rounding to 7 decimals (~1 cm). */
function dedupe(coords: readonly (readonly number[])[]): LonLat[] {
  const out: LonLat[] = []
  for (const c of coords) {
    const p = pos(c)
    if (!out.length || !samePos(out[out.length - 1]!, p)) out.push(p)
  }
  return out
}

/** Why a shape cannot be asked about (a message key suffix), or null when it can. */
export type ShapeProblem = 'tooFewPoints' | 'tooManyPoints' | 'radius' | 'buffer'

export function shapeProblem(shape: DrawShape): ShapeProblem | null {
  switch (shape.kind) {
    case 'polygon': {
      const open = openRing(shape.ring)
      if (open.length < 3) return 'tooFewPoints'
      return open.length + 1 > MAX_VERTICES ? 'tooManyPoints' : null
    }
    case 'circle':
      return shape.radiusM > 0 && shape.radiusM <= MAX_DISTANCE_M ? null : 'radius'
    case 'line': {
      const c = dedupe(shape.coords)
      if (c.length < 2) return 'tooFewPoints'
      if (c.length > MAX_VERTICES) return 'tooManyPoints'
      return shape.bufferM > 0 && shape.bufferM <= MAX_DISTANCE_M ? null : 'buffer'
    }
  }
}

/** The ring's distinct corners, without the closing repeat. */
function openRing(ring: readonly (readonly number[])[]): LonLat[] {
  const c = dedupe(ring)
  while (c.length > 1 && samePos(c[0]!, c[c.length - 1]!)) c.pop()
  return c
}

/** The ring closed (RFC 7946: last position equal to the first). */
export function closeRing(ring: readonly (readonly number[])[]): LonLat[] {
  const c = openRing(ring)
  return c.length ? [...c, c[0]!] : c
}

/** The body of POST /api/spatial/within for a shape (throws for a shape with a problem). */
export function withinRequest(shape: DrawShape, limit = LIST_LIMIT): WithinRequest {
  const problem = shapeProblem(shape)
  if (problem) throw new Error(`cannot query this shape: ${problem}`)
  switch (shape.kind) {
    case 'polygon':
      return { geometry: { type: 'Polygon', coordinates: [closeRing(shape.ring)] }, limit }
    case 'circle':
      return { circle: { lon: r7(shape.center[0]), lat: r7(shape.center[1]), radius_m: r1(shape.radiusM) }, limit }
    case 'line':
      return { line: { type: 'LineString', coordinates: dedupe(shape.coords) }, buffer_m: r1(shape.bufferM), limit }
  }
}

/* ---------------------------------------------------------------------------------------------
 * terra-draw's circle → centre and radius
 * ------------------------------------------------------------------------------------------- */

const R = 6378137
const mercY = (lat: number) => R * Math.log(Math.tan(Math.PI / 4 + (lat * Math.PI) / 360))
const latOfY = (y: number) => (360 / Math.PI) * Math.atan(Math.exp(y / R)) - 90

/**
 * A circle drawn by terra-draw's circle mode (web-mercator projection): a regular polygon around
 * the centre in Mercator metres, with `radiusKilometers` the ground distance from the centre to
 * where the pointer was released. The centre is the mean of the corners in Mercator (exact for a
 * regular polygon); the radius is `radiusKilometers`, or else the mean ground distance to the corners.
 */
export function circleFromDrawn(ring: readonly (readonly number[])[], radiusKilometers?: unknown): { center: LonLat; radiusM: number } {
  const c = openRing(ring)
  if (c.length < 3) throw new Error('a circle needs its polygon')
  let x = 0
  let y = 0
  for (const [lon, lat] of c) {
    x += lon
    y += mercY(lat)
  }
  const center: LonLat = [r7(x / c.length), r7(latOfY(y / c.length))]
  let radiusM: number
  if (typeof radiusKilometers === 'number' && Number.isFinite(radiusKilometers) && radiusKilometers > 0) radiusM = radiusKilometers * 1000
  else radiusM = c.reduce((s, p) => s + turfDistance(center, p, { units: 'meters' }), 0) / c.length
  return { center, radiusM: r1(radiusM) }
}

/* ---------------------------------------------------------------------------------------------
 * The asked area as a polygon (drawn on the map and written into the GeoJSON export)
 * ------------------------------------------------------------------------------------------- */

export type AreaGeometry = { type: 'Polygon'; coordinates: LonLat[][] } | { type: 'MultiPolygon'; coordinates: LonLat[][][] }

/**
 * A line buffer as a polygon: @turf/buffer's signature. It is passed in (DrawTool loads it only
 * when a line's area is exported: its geometry engine is large), so this module stays light.
 */
export type BufferFn = (line: { type: 'LineString'; coordinates: LonLat[] }, radius: number, opts: { units: 'meters'; steps: number }) => { geometry: unknown } | undefined

/**
 * The area the API searches, as a polygon: the ring itself, a 128-gon circle, or the line's
 * buffer (null for a line without `buffer`; the map draws a line's area as a wide path instead).
 */
export function areaGeometry(shape: DrawShape, buffer?: BufferFn): AreaGeometry | null {
  if (shapeProblem(shape)) return null
  switch (shape.kind) {
    case 'polygon':
      return { type: 'Polygon', coordinates: [closeRing(shape.ring)] }
    case 'circle':
      return turfCircle(shape.center, shape.radiusM, { units: 'meters', steps: 128 }).geometry as AreaGeometry
    case 'line': {
      if (!buffer) return null
      const b = buffer({ type: 'LineString', coordinates: dedupe(shape.coords) }, shape.bufferM, { units: 'meters', steps: 16 })
      return (b?.geometry as AreaGeometry | undefined) ?? null
    }
  }
}

/** The line as drawn (repeats dropped), for a line shape; else null. */
export function shapeLine(shape: DrawShape): LonLat[] | null {
  return shape.kind === 'line' ? dedupe(shape.coords) : null
}

/* ---------------------------------------------------------------------------------------------
 * The answer: rows, GeoJSON, CSV
 * ------------------------------------------------------------------------------------------- */

/** The layers of an answer in the API's order (those it counted). */
export function answeredLayers(result: WithinResult): WithinLayer[] {
  return WITHIN_LAYERS.filter((l) => result.counts[l] !== undefined)
}

/** A representative point of a result's geometry: the point, or the middle of its box. */
export function featurePoint(geometry: unknown): LonLat | null {
  const g = geometry as { type?: string; coordinates?: unknown } | null
  if (!g || !g.coordinates) return null
  if (g.type === 'Point') {
    const c = g.coordinates as number[]
    return [c[0]!, c[1]!]
  }
  let w = Infinity
  let s = Infinity
  let e = -Infinity
  let n = -Infinity
  const walk = (c: unknown): void => {
    if (!Array.isArray(c)) return
    if (typeof c[0] === 'number' && typeof c[1] === 'number') {
      w = Math.min(w, c[0])
      e = Math.max(e, c[0])
      s = Math.min(s, c[1])
      n = Math.max(n, c[1])
    } else c.forEach(walk)
  }
  walk(g.coordinates)
  return Number.isFinite(w) ? [r7((w + e) / 2), r7((s + n) / 2)] : null
}

/** The label a result row shows: name, else code, else `#id`. */
export function featureLabel(f: AreaFeature): string {
  const p = f.properties
  const name = typeof p.name === 'string' && p.name ? p.name : null
  const code = typeof p.code === 'string' && p.code ? p.code : null
  if (name && code) return `${name}（${code}）`
  return name ?? code ?? `#${f.id}`
}

/**
 * The answer as one FeatureCollection: the asked area first (`layer: "query"`; a line's area is its
 * buffer polygon when `buffer` is given, else the line itself with `buffer_m`), then each listed
 * feature with its layer.
 */
export function resultsToGeoJSON(result: WithinResult, shape: DrawShape | null, buffer?: BufferFn): { type: 'FeatureCollection'; features: unknown[] } {
  const features: unknown[] = []
  if (shape) {
    const area = areaGeometry(shape, buffer) ?? (shape.kind === 'line' ? { type: 'LineString', coordinates: dedupe(shape.coords) } : null)
    const props: Record<string, unknown> = { layer: 'query', shape: shape.kind }
    if (shape.kind === 'circle') Object.assign(props, { center: shape.center, radius_m: r1(shape.radiusM) })
    if (shape.kind === 'line') Object.assign(props, { line: dedupe(shape.coords), buffer_m: r1(shape.bufferM) })
    for (const l of answeredLayers(result)) props[`count_${l}`] = result.counts[l]
    if (area) features.push({ type: 'Feature', geometry: area, properties: props })
  }
  for (const layer of answeredLayers(result)) {
    for (const f of result.features[layer] ?? []) features.push({ type: 'Feature', id: f.id, geometry: f.geometry, properties: { layer, id: f.id, ...f.properties } })
  }
  return { type: 'FeatureCollection', features }
}

/** One CSV cell (RFC 4180); text that a spreadsheet would run as a formula is prefixed with '. */
export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return ''
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v)
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}

/**
 * The listed features as CSV: `layer,id,lon,lat` and then every property any row has, in the
 * order first seen. A byte order mark leads, so spreadsheet programs read the Chinese text as UTF-8.
 */
export function resultsToCSV(result: WithinResult): string {
  const rows: { layer: string; f: AreaFeature }[] = []
  for (const layer of answeredLayers(result)) for (const f of result.features[layer] ?? []) rows.push({ layer, f })
  const keys: string[] = []
  const seen = new Set<string>(['layer', 'id', 'lon', 'lat'])
  for (const { f } of rows) {
    for (const k of Object.keys(f.properties)) {
      if (seen.has(k)) continue
      seen.add(k)
      keys.push(k)
    }
  }
  const head = ['layer', 'id', 'lon', 'lat', ...keys]
  const lines = [head.map(csvCell).join(',')]
  for (const { layer, f } of rows) {
    const p = featurePoint(f.geometry)
    lines.push([layer, f.id, p?.[0], p?.[1], ...keys.map((k) => f.properties[k])].map(csvCell).join(','))
  }
  return '\uFEFF' + lines.join('\r\n') + '\r\n'
}

/** A file name for an export: `onegrid-within-20261121-0830.csv` (local time). */
export function exportName(ext: 'csv' | 'geojson', now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `onegrid-within-${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}.${ext}`
}
