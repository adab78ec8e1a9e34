/**
 * Reading import files (GeoJSON, CSV of points) into raw features, and the checks that need no
 * database: geometry structure, closed rings, coordinate ranges, swapped latitude/longitude.
 * File-level problems throw ImportFileError (its status says which: 400, 413, 415); problems of
 * one feature are returned as reasons and end up in the report.
 */
import { parse as parseCsvSync } from 'csv-parse/sync'
import gcoord from 'gcoord'
import turfArea from '@turf/area'
import type { MultiPolygon, Polygon } from 'geojson'
import { HttpError } from '../http/errors.ts'
import type { GeoJsonType, ImportLayer } from './layers.ts'

export type ImportFormat = 'geojson' | 'csv'
export type Crs = 'wgs84' | 'gcj02'

/** A problem with the whole file (not one feature); nothing is written. */
export class ImportFileError extends HttpError {}

export interface RawFeature {
  /** 0-based position in `features` (GeoJSON) or data row (CSV, header excluded). */
  index: number
  /** 1-based line in a CSV file (header = line 1). */
  line?: number
  /** The GeoJSON feature's `id` member. */
  featureId?: unknown
  /** A reason found while reading (not a Feature, bad lon/lat cell…). */
  error?: string
  geometry: unknown
  properties: Record<string, unknown>
}

const BOM = /^\uFEFF/

/** "12.3 MB", or "5.1 KB" below a megabyte. */
export function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MB` : `${(n / 1024).toFixed(1)} KB`
}

function isBlank(bytes: Buffer): boolean {
  return bytes.toString('utf8').replace(BOM, '').trim() === ''
}

/** "line 3, column 14" for a position in a text, as JSON.parse reports it. */
function whereIs(textIn: string, pos: number): string {
  const before = textIn.slice(0, pos)
  const line = before.split('\n').length
  const column = pos - before.lastIndexOf('\n')
  return `line ${line}, column ${column}`
}

/**
 * Where JSON text first breaks the grammar (JSON.parse in Node 20 often does not say): the
 * index of the offending character, text.length when the text ends too early, -1 if unknown.
 * Runs only after JSON.parse failed.
 */
export function jsonErrorAt(t: string): number {
  let i = 0
  const fail = (): never => {
    throw i
  }
  const ws = () => {
    while (i < t.length && (t[i] === ' ' || t[i] === '\n' || t[i] === '\r' || t[i] === '\t')) i++
  }
  const str = () => {
    i++
    while (i < t.length) {
      const c = t[i]
      if (c === '"') {
        i++
        return
      }
      if (c === '\\') i += 2
      else if (c < ' ') fail()
      else i++
    }
    fail()
  }
  const value = (): void => {
    ws()
    const c = t[i]
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']'
      i++
      ws()
      if (t[i] === close) {
        i++
        return
      }
      for (;;) {
        if (c === '{') {
          ws()
          if (t[i] !== '"') fail()
          str()
          ws()
          if (t[i] !== ':') fail()
          i++
        }
        value()
        ws()
        if (t[i] === ',') i++
        else if (t[i] === close) {
          i++
          return
        } else fail()
      }
    }
    if (c === '"') return str()
    const num = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(t.slice(i, i + 400))
    if (num && num[0]) {
      i += num[0].length
      return
    }
    for (const lit of ['true', 'false', 'null']) {
      if (t.startsWith(lit, i)) {
        i += lit.length
        return
      }
    }
    fail()
  }
  try {
    value()
    ws()
    return i < t.length ? i : -1
  } catch (e) {
    return typeof e === 'number' ? e : -1
  }
}

const ACCEPTED_CRS = /^(urn:ogc:def:crs:OGC:1\.3:CRS84|urn:ogc:def:crs:EPSG::4326|EPSG:4326|urn:ogc:def:crs:EPSG::4490|EPSG:4490)$/i

export function parseGeoJson(bytes: Buffer): RawFeature[] {
  if (bytes.length === 0 || isBlank(bytes)) throw new ImportFileError(400, 'the file is empty')
  const textIn = bytes.toString('utf8').replace(BOM, '')
  let doc: unknown
  try {
    doc = JSON.parse(textIn)
  } catch (err) {
    const msg = (err as Error).message
    const pos = jsonErrorAt(textIn)
    const where = pos < 0 ? '' : pos >= textIn.length ? ` (${whereIs(textIn, textIn.length)}: the file ends before the JSON does)` : ` (${whereIs(textIn, pos)})`
    throw new ImportFileError(400, `the file is not valid JSON: ${msg}${where}`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ImportFileError(400, 'expected a GeoJSON FeatureCollection (or a single Feature) object')
  }
  const d = doc as { type?: unknown; features?: unknown; crs?: { properties?: { name?: unknown } } }
  const crsName = d.crs?.properties?.name
  if (typeof crsName === 'string' && !ACCEPTED_CRS.test(crsName)) {
    throw new ImportFileError(400, `the file declares the coordinate system ${crsName}; send WGS84 longitude/latitude (EPSG:4326), or GCJ-02 with crs=gcj02`)
  }
  let list: unknown[]
  if (d.type === 'FeatureCollection') {
    if (!Array.isArray(d.features)) throw new ImportFileError(400, 'the FeatureCollection has no "features" array')
    list = d.features
  } else if (d.type === 'Feature') {
    list = [doc]
  } else {
    throw new ImportFileError(400, `expected a GeoJSON FeatureCollection (or a single Feature); got type ${JSON.stringify(d.type ?? null)}`)
  }
  if (list.length === 0) throw new ImportFileError(400, 'the file has no features')
  return list.map((f, index): RawFeature => {
    if (typeof f !== 'object' || f === null || (f as { type?: unknown }).type !== 'Feature') {
      return { index, geometry: null, properties: {}, error: 'not a GeoJSON Feature (expected an object with "type": "Feature")' }
    }
    const feat = f as { id?: unknown; geometry?: unknown; properties?: unknown }
    const props = feat.properties
    if (props !== undefined && props !== null && (typeof props !== 'object' || Array.isArray(props))) {
      return { index, featureId: feat.id, geometry: feat.geometry, properties: {}, error: '"properties" must be an object' }
    }
    return { index, featureId: feat.id, geometry: feat.geometry ?? null, properties: (props as Record<string, unknown>) ?? {} }
  })
}

const LON_COLUMNS = ['lon', 'lng', 'long', 'longitude']
const LAT_COLUMNS = ['lat', 'latitude']

export interface CsvRecord {
  record: Record<string, string>
  /** csv-parse's info: `lines` is the 1-based line the record ends on (header = line 1). */
  info: { lines: number }
}

/**
 * Every CSV import reads its file here: UTF-8 (BOM dropped), a header row, cells trimmed, empty
 * lines skipped. Header names are trimmed, and lower-cased unless `keepCase` (Chinese headers of
 * the case import are matched as written). Throws ImportFileError for an empty or broken file.
 */
export function readCsvRecords(bytes: Buffer, opts: { keepCase?: boolean } = {}): CsvRecord[] {
  if (bytes.length === 0 || isBlank(bytes)) throw new ImportFileError(400, 'the file is empty')
  let records: CsvRecord[]
  try {
    records = parseCsvSync(bytes, {
      bom: true,
      columns: (header: string[]) => header.map((h) => (opts.keepCase ? h.trim() : h.trim().toLowerCase())),
      skip_empty_lines: true,
      trim: true,
      info: true,
    }) as unknown as CsvRecord[]
  } catch (err) {
    throw new ImportFileError(400, `the file is not valid CSV: ${(err as Error).message}`)
  }
  if (records.length === 0) throw new ImportFileError(400, 'the file has no data rows (only a header)')
  return records
}

/** A CSV of points: one row per feature, lon/lat columns (any of the usual names), other columns are properties. */
export function parseCsv(bytes: Buffer): RawFeature[] {
  const records = readCsvRecords(bytes)
  const columns = Object.keys(records[0].record)
  const lonCol = LON_COLUMNS.find((c) => columns.includes(c))
  const latCol = LAT_COLUMNS.find((c) => columns.includes(c))
  if (!lonCol || !latCol) {
    throw new ImportFileError(400, `the CSV needs a lon (or lng, longitude) and a lat (or latitude) column; its columns are: ${columns.join(', ')}`)
  }
  return records.map(({ record, info }, index): RawFeature => {
    const { [lonCol]: lonText, [latCol]: latText, ...properties } = record
    const line = info.lines
    const num = (name: string, v: string | undefined): number | string => {
      if (v === undefined || v === '') return `${name} is empty`
      const n = Number(v)
      return Number.isFinite(n) ? n : `${name} ${JSON.stringify(v)} is not a number`
    }
    const lon = num(lonCol, lonText)
    const lat = num(latCol, latText)
    const error = typeof lon === 'string' ? lon : typeof lat === 'string' ? lat : undefined
    return { index, line, geometry: error ? null : { type: 'Point', coordinates: [lon, lat] }, properties, ...(error ? { error } : {}) }
  })
}

// ---------------------------------------------------------------------------------------------
// Geometry checks.

type Position = number[]

const fmt = (p: unknown) => (Array.isArray(p) ? `[${p.map((v) => (typeof v === 'number' ? String(v) : JSON.stringify(v))).join(', ')}]` : JSON.stringify(p))

/** Why a position is unusable, or null. Longitude ∈ [-180, 180], latitude ∈ [-90, 90], anywhere on Earth. */
export function checkPosition(p: unknown): string | null {
  if (!Array.isArray(p) || p.length < 2 || p.length > 4) return `position ${fmt(p)} is not [longitude, latitude]`
  if (!p.every((v) => typeof v === 'number' && Number.isFinite(v))) return `position ${fmt(p)} has a value that is not a finite number`
  const [x, y] = p as number[]
  if (Math.abs(y) > 90 && Math.abs(x) <= 90 && Math.abs(y) <= 180) {
    return `coordinates look swapped (latitude, longitude order): ${fmt([x, y])} has latitude ${y} beyond ±90, but ${fmt([y, x])} would be valid — give [longitude, latitude]`
  }
  if (Math.abs(x) > 180 || Math.abs(y) > 90) {
    return `coordinate ${fmt([x, y])} is out of range: longitude must be within [-180, 180] and latitude within [-90, 90] (WGS84 degrees, not projected metres)`
  }
  return null
}

function checkPositions(list: unknown, what: string, minCount: number): string | null {
  if (!Array.isArray(list)) return `${what} is not a list of positions`
  if (list.length < minCount) return `${what} has ${list.length} position${list.length === 1 ? '' : 's'}; it needs at least ${minCount}`
  for (const p of list) {
    const r = checkPosition(p)
    if (r) return r
  }
  return null
}

function checkRings(rings: unknown, what: string): string | null {
  if (!Array.isArray(rings) || rings.length === 0) return `${what} has no rings`
  for (let i = 0; i < rings.length; i++) {
    const ringName = `${what} ring ${i + 1}${i === 0 ? ' (outer)' : ''}`
    const ring = rings[i] as unknown
    const r = checkPositions(ring, ringName, 4)
    if (r) return r
    const pts = ring as Position[]
    const first = pts[0]
    const last = pts[pts.length - 1]
    if (first[0] !== last[0] || first[1] !== last[1]) {
      return `${ringName} is not closed: it starts at ${fmt(first.slice(0, 2))} but ends at ${fmt(last.slice(0, 2))} (the last position must repeat the first)`
    }
  }
  return null
}

function listOf(coords: unknown, what: string, each: (c: unknown, name: string) => string | null): string | null {
  if (!Array.isArray(coords) || coords.length === 0) return `${what} has no parts`
  for (let i = 0; i < coords.length; i++) {
    const r = each(coords[i], `part ${i + 1} of the ${what}`)
    if (r) return r
  }
  return null
}

/**
 * Checks a GeoJSON geometry for a layer: accepted type, structure, closed rings, finite
 * coordinates within range, obviously swapped order. Returns the first problem, or null.
 */
export function checkGeometry(geometry: unknown, layer: ImportLayer): string | null {
  if (geometry === null || geometry === undefined) return 'the feature has no geometry'
  if (typeof geometry !== 'object' || Array.isArray(geometry)) return 'geometry is not a GeoJSON geometry object'
  const g = geometry as { type?: unknown; coordinates?: unknown }
  const accepted = layer.geometryTypes as readonly string[]
  if (typeof g.type !== 'string' || !accepted.includes(g.type)) {
    return `geometry type ${typeof g.type === 'string' ? g.type : JSON.stringify(g.type ?? null)} is not accepted for ${layer.id} (expected ${accepted.join(' or ')})`
  }
  const c = g.coordinates
  switch (g.type as GeoJsonType) {
    case 'Point':
      return checkPosition(c)
    case 'LineString':
      return checkPositions(c, 'the line', 2)
    case 'MultiLineString':
      return listOf(c, 'multi-line', (l, name) => checkPositions(l, name, 2))
    case 'Polygon':
      return checkRings(c, 'the polygon')
    case 'MultiPolygon':
      return listOf(c, 'multi-polygon', (p, name) => checkRings(p, name))
  }
}

/** Every position of a (checked) geometry, to transform or sample. */
export function mapPositions(geometry: { type: string; coordinates: unknown }, fn: (p: Position) => Position): { type: string; coordinates: unknown } {
  const walk = (c: unknown): unknown => (Array.isArray(c) && typeof c[0] === 'number' ? fn(c as Position) : (c as unknown[]).map(walk))
  return { type: geometry.type, coordinates: walk(geometry.coordinates) }
}

/** First position of a (checked) geometry: the feature's representative point for file-level checks. */
export function firstPosition(geometry: { coordinates: unknown }): Position {
  let c = geometry.coordinates
  while (Array.isArray(c) && Array.isArray(c[0])) c = c[0]
  return c as Position
}

/** Area in m² of a (Multi)Polygon in WGS84, on the sphere (@turf/area). */
export function polygonAreaM2(geometry: { type: string; coordinates: unknown }): number {
  if (geometry.type !== 'Polygon' && geometry.type !== 'MultiPolygon') return 0
  return turfArea(geometry as Polygon | MultiPolygon)
}

/** Where GCJ-02 applies (the box gcoord uses); outside it GCJ-02 equals WGS84. */
export function inChinaBox(p: Position): boolean {
  return p[0] >= 72.004 && p[0] <= 137.8347 && p[1] >= 0.8293 && p[1] <= 55.8271
}

/** GCJ-02 (Chinese map SDKs) to WGS84; gcoord leaves points outside China unchanged. */
export function toWgs84(geometry: { type: string; coordinates: unknown }, crs: Crs): { type: string; coordinates: unknown } {
  if (crs === 'wgs84') return mapPositions(geometry, (p) => [p[0], p[1]])
  return mapPositions(geometry, (p) => {
    const [x, y] = gcoord.transform([p[0], p[1]] as [number, number], gcoord.GCJ02, gcoord.WGS84)
    return [x, y]
  })
}

function quantile(sorted: number[], q: number): number {
  const i = (sorted.length - 1) * q
  const lo = Math.floor(i)
  const hi = Math.ceil(i)
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (i - lo)
}

/**
 * File-level check for swapped order among coordinates that are each valid: a feature lying
 * far from the rest of the file whose swapped position lies among them was almost certainly
 * written as [lat, lon]. The "rest" is the box of the 10th–90th percentiles of the features'
 * first positions, padded by a quarter of its size (at least 0.05°). Needs 5 or more features.
 */
export function findSwappedOutliers(points: { index: number; x: number; y: number }[]): number[] {
  if (points.length < 5) return []
  const xs = points.map((p) => p.x).sort((a, b) => a - b)
  const ys = points.map((p) => p.y).sort((a, b) => a - b)
  const [x0, x1, y0, y1] = [quantile(xs, 0.1), quantile(xs, 0.9), quantile(ys, 0.1), quantile(ys, 0.9)]
  const padX = Math.max((x1 - x0) / 4, 0.05)
  const padY = Math.max((y1 - y0) / 4, 0.05)
  const inside = (x: number, y: number) => x >= x0 - padX && x <= x1 + padX && y >= y0 - padY && y <= y1 + padY
  return points.filter((p) => !inside(p.x, p.y) && inside(p.y, p.x)).map((p) => p.index)
}
