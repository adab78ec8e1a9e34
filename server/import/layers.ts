/**
 * The import registry: every layer a file can be imported into, declared once — accepted
 * geometry types, target table, the properties (zod schema per property, the column it fills,
 * its default) and where the external id comes from. The import service, the HTTP routes
 * (`GET /api/import/layers`), the CLI, the export and the admin page all read it.
 *
 * Identifiers here end up in SQL (server/import/sql.ts assembles it): `validateImportLayer`
 * checks that each is a plain name, and the registry is built only from checked entries.
 */
import { z } from 'zod'

export type GeometryKind = 'point' | 'line' | 'polygon'
export type GeoJsonType = 'Point' | 'LineString' | 'MultiLineString' | 'Polygon' | 'MultiPolygon'
/** SQL type of a property column (used for `jsonb_to_recordset`). */
export type SqlType = 'text' | 'double precision' | 'integer' | 'bigint' | 'date' | 'jsonb' | 'boolean'

export interface PropSpec {
  /** Property name in the file (GeoJSON `properties` key or CSV column), also the export name. */
  name: string
  /** Other names accepted for it (e.g. OSM's `building:levels`). */
  aliases?: string[]
  /** Target column. */
  column: string
  sqlType: SqlType
  /** Value schema (zod); absent values never reach it (see `required` and `default`). */
  schema: z.ZodType
  required?: boolean
  /** Used when the property is absent (the column is NOT NULL or has a meaningful default). */
  default?: unknown
  /** Short type name shown to people: text, number, integer, date, enum, object. */
  type: string
  enum?: readonly string[]
  note?: string
}

/** How a `code` column (NOT NULL UNIQUE) is filled when the file has none. */
export type CodeStrategy =
  /** GB/T 30428.2 part code: county 6 (district of the containing grid) + class 4 + sequence 6. */
  | 'part16'
  /** The external id itself. */
  | 'external_id'

export interface ImportLayer {
  id: string
  title: { 'zh-CN': string; en: string }
  table: string
  geometry: GeometryKind
  /** GeoJSON geometry types accepted for this layer. */
  geometryTypes: readonly GeoJsonType[]
  /** Property names (in order of preference) holding the external id; the GeoJSON feature `id` is the last resort. */
  externalIdProps: readonly string[]
  properties: readonly PropSpec[]
  /** The table has a `grid_code` column assigned by spatial join after the upsert. */
  gridColumn: boolean
  /** The table has a NOT NULL UNIQUE `code` column. */
  code?: CodeStrategy
  /** Checks across properties (after each one is valid); returns reasons. */
  check?: (props: Record<string, unknown>) => string[]
  /**
   * Derived columns, after validation; `areaM2` is the footprint of polygons (from PostGIS).
   * Returns extra column values and warnings.
   */
  derive?: (props: Record<string, unknown>, ctx: { areaM2: number | null }) => { values: Record<string, unknown>; warnings?: string[] }
  /** Derived columns the upsert writes besides the property columns (name → SQL type); `derive` may also overwrite property columns. */
  derivedColumns?: Record<string, SqlType>
}

// ---------------------------------------------------------------------------------------------
// Property schemas with readable messages.

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing'
  if (typeof v === 'string') return `text ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`
  if (Array.isArray(v)) return 'a list'
  if (v === null) return 'null'
  if (typeof v === 'object') return 'an object'
  return `${typeof v} ${String(v)}`
}

const expected = (what: string) => ({
  error: (iss: { input?: unknown }) => (iss.input === undefined ? 'required property is missing' : `expected ${what}, got ${describeValue(iss.input)}`),
})

/** Numbers written as text (CSV, or sloppy GeoJSON) are accepted when they are plain numbers. */
const numberFromText = (v: unknown) => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v)

export const text = (max = 500) =>
  z.preprocess(
    (v) => (typeof v === 'number' ? String(v) : v),
    z.string(expected('text')).trim().min(1, 'must not be empty').max(max, `must be at most ${max} characters`),
  )

export const number = (opts: { gt?: number; gte?: number; lt?: number; lte?: number } = {}) => {
  let s = z.number(expected('a number'))
  if (opts.gt !== undefined) s = s.gt(opts.gt, `must be greater than ${opts.gt}`)
  if (opts.gte !== undefined) s = s.gte(opts.gte, `must be at least ${opts.gte}`)
  if (opts.lt !== undefined) s = s.lt(opts.lt, `must be less than ${opts.lt}`)
  if (opts.lte !== undefined) s = s.lte(opts.lte, `must be at most ${opts.lte}`)
  return z.preprocess(numberFromText, s)
}

export const integer = (min: number, max: number) =>
  z.preprocess(
    numberFromText,
    z.number(expected('an integer')).int('must be a whole number').gte(min, `must be at least ${min}`).lte(max, `must be at most ${max}`),
  )

export const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, {
    error: (iss: { input?: unknown }) =>
      iss.input === undefined ? 'required property is missing' : `must be one of ${values.join(', ')}; got ${describeValue(iss.input)}`,
  })

export const boolean = () =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^(true|false|1|0)$/i.test(v.trim()) ? /^(true|1)$/i.test(v.trim()) : v),
    z.boolean(expected('true or false')),
  )

export const isoDate = () => z.iso.date({ error: (iss: { input?: unknown }) => `expected a date like 2024-05-31, got ${describeValue(iss.input)}` })

/** An object, or its JSON text (CSV cells). */
export const jsonObject = <T extends z.ZodType>(inner: T) =>
  z.preprocess((v) => {
    if (typeof v !== 'string') return v
    try {
      return JSON.parse(v) as unknown
    } catch {
      return v
    }
  }, inner)

// ---------------------------------------------------------------------------------------------
// Building heights.

/** Storey height used for `levels × 3.2 m` and the defaults below. */
export const STOREY_M = 3.2

/**
 * Default height (m) by building kind (OSM `building=*` values) when neither height nor levels
 * is given: small structures one storey, houses two, warehouses/industry a tall single hall.
 */
export const HEIGHT_BY_KIND: Readonly<Record<string, number>> = {
  garage: 3.2,
  garages: 3.2,
  shed: 3.2,
  hut: 3.2,
  kiosk: 3.2,
  roof: 3.2,
  toilets: 3.2,
  carport: 3.2,
  house: 6.4,
  detached: 6.4,
  semidetached_house: 6.4,
  terrace: 6.4,
  bungalow: 3.2,
  farm: 6.4,
  warehouse: 9.6,
  industrial: 9.6,
  retail: 6.4,
  supermarket: 6.4,
}

/**
 * Otherwise by footprint area: the bigger the footprint, the more storeys a city building has.
 * (< 100 m² → 2 storeys, < 500 → 4, < 2 000 → 6, < 10 000 → 8, else 10.)
 */
export const HEIGHT_BY_AREA: readonly { maxAreaM2: number; heightM: number }[] = [
  { maxAreaM2: 100, heightM: 2 * STOREY_M },
  { maxAreaM2: 500, heightM: 4 * STOREY_M },
  { maxAreaM2: 2000, heightM: 6 * STOREY_M },
  { maxAreaM2: 10000, heightM: 8 * STOREY_M },
  { maxAreaM2: Infinity, heightM: 10 * STOREY_M },
]

const round1 = (v: number) => Math.round(v * 10) / 10

/**
 * Height of a building: given height (an estimate only if the file says so, as our own export
 * does), else levels × 3.2 m, else the default by kind, else by footprint area.
 */
export function buildingHeight(
  p: { height?: number; height_estimated?: boolean; levels?: number; kind?: string },
  areaM2: number | null,
): { heightM: number; estimated: boolean } {
  if (p.height !== undefined) return { heightM: p.height, estimated: p.height_estimated === true }
  if (p.levels !== undefined) return { heightM: round1(p.levels * STOREY_M), estimated: true }
  const byKind = p.kind ? HEIGHT_BY_KIND[p.kind.toLowerCase()] : undefined
  if (byKind !== undefined) return { heightM: byKind, estimated: true }
  const a = areaM2 ?? 0
  return { heightM: round1(HEIGHT_BY_AREA.find((b) => a < b.maxAreaM2)!.heightM), estimated: true }
}

// ---------------------------------------------------------------------------------------------
// The layers.

const EXTERNAL_ID = ['external_id', 'id'] as const

const SENSOR_TYPES = ['smoke', 'gas', 'noise', 'dust', 'water_level', 'cover_tilt', 'structural', 'air_quality'] as const
const KEY_PLACE_KINDS = ['school', 'kindergarten', 'hospital', 'market', 'hazardous', 'construction', 'transport_hub', 'venue', 'government', 'religious', 'other'] as const
const RISK_COLORS = ['red', 'orange', 'yellow', 'blue', 'green'] as const
const PART_STATES = ['intact', 'damaged', 'lost', 'occupied'] as const
const CAMERA_KINDS = ['ptz', 'fixed'] as const

const buildings: ImportLayer = {
  id: 'buildings',
  title: { 'zh-CN': '建筑', en: 'Buildings' },
  table: 'buildings',
  geometry: 'polygon',
  geometryTypes: ['Polygon', 'MultiPolygon'],
  externalIdProps: EXTERNAL_ID,
  gridColumn: true,
  properties: [
    { name: 'name', column: 'name', sqlType: 'text', schema: text(300), type: 'text' },
    { name: 'name_en', aliases: ['name:en'], column: 'name_en', sqlType: 'text', schema: text(300), type: 'text' },
    { name: 'kind', column: 'kind', sqlType: 'text', schema: text(64), type: 'text', note: 'OSM building=* value, e.g. apartments, office, house' },
    { name: 'use', column: 'use', sqlType: 'text', schema: text(64), type: 'text' },
    { name: 'address', aliases: ['addr:full'], column: 'address', sqlType: 'text', schema: text(500), type: 'text' },
    { name: 'height', aliases: ['height_m'], column: 'height_m', sqlType: 'double precision', schema: number({ gt: 0, lte: 1000 }), type: 'number', note: 'metres above ground' },
    { name: 'levels', aliases: ['building:levels'], column: 'levels', sqlType: 'integer', schema: integer(1, 200), type: 'integer', note: 'storeys; height = levels × 3.2 m when no height' },
    { name: 'osm_id', column: 'osm_id', sqlType: 'bigint', schema: integer(1, Number.MAX_SAFE_INTEGER), type: 'integer' },
    {
      name: 'height_estimated',
      column: 'height_estimated',
      sqlType: 'boolean',
      schema: boolean(),
      type: 'boolean',
      note: 'true when the given height is itself an estimate; set on import when there is no height',
    },
  ],
  derive(p, { areaM2 }) {
    const h = buildingHeight(p as { height?: number; height_estimated?: boolean; levels?: number; kind?: string }, areaM2)
    return { values: { height_m: h.heightM, height_estimated: h.estimated } }
  },
}

const parts: ImportLayer = {
  id: 'parts',
  title: { 'zh-CN': '城市部件', en: 'City parts' },
  table: 'parts',
  geometry: 'point',
  geometryTypes: ['Point'],
  externalIdProps: EXTERNAL_ID,
  gridColumn: true,
  code: 'part16',
  properties: [
    {
      name: 'class_code',
      column: 'class_code',
      sqlType: 'text',
      schema: z.preprocess((v) => (typeof v === 'number' ? String(v).padStart(4, '0') : v), z.string(expected('a 4-digit class code')).regex(/^[0-9]{4}$/, 'must be 4 digits (major 2 + minor 2), e.g. 0101')),
      required: true,
      type: 'text',
      note: 'GB/T 30428.2 class (major 2 + minor 2) that exists in part_classes',
    },
    { name: 'name', column: 'name', sqlType: 'text', schema: text(200), required: true, type: 'text' },
    { name: 'code', column: 'code', sqlType: 'text', schema: z.string(expected('a 16-digit part code')).regex(/^[0-9]{16}$/, 'must be 16 digits: county 6 + class 4 + sequence 6'), type: 'text', note: 'generated when absent' },
    { name: 'state', column: 'state', sqlType: 'text', schema: oneOf(PART_STATES), default: 'intact', type: 'enum', enum: PART_STATES },
    { name: 'property_unit', column: 'property_unit', sqlType: 'text', schema: text(200), type: 'text' },
    { name: 'first_date', column: 'first_date', sqlType: 'date', schema: isoDate(), type: 'date' },
    { name: 'changed_at', column: 'changed_at', sqlType: 'date', schema: isoDate(), type: 'date' },
    { name: 'source', column: 'source', sqlType: 'text', schema: text(200), type: 'text' },
    { name: 'note', column: 'note', sqlType: 'text', schema: text(1000), type: 'text' },
  ],
  check(p) {
    if (typeof p.code === 'string' && typeof p.class_code === 'string' && p.code.slice(6, 10) !== p.class_code) {
      return [`code: digits 7–10 (${p.code.slice(6, 10)}) must equal class_code ${p.class_code}`]
    }
    return []
  },
}

const sensors: ImportLayer = {
  id: 'sensors',
  title: { 'zh-CN': '物联感知设备', en: 'Sensors' },
  table: 'sensors',
  geometry: 'point',
  geometryTypes: ['Point'],
  externalIdProps: EXTERNAL_ID,
  gridColumn: true,
  code: 'external_id',
  properties: [
    { name: 'type', column: 'type', sqlType: 'text', schema: oneOf(SENSOR_TYPES), required: true, type: 'enum', enum: SENSOR_TYPES },
    { name: 'name', column: 'name', sqlType: 'text', schema: text(200), required: true, type: 'text' },
    { name: 'unit', column: 'unit', sqlType: 'text', schema: text(32), required: true, type: 'text', note: 'e.g. µg/m³, dB, m' },
    {
      name: 'thresholds',
      column: 'thresholds',
      sqlType: 'jsonb',
      schema: jsonObject(z.record(z.string(), z.number(), expected('an object of numbers such as {"warn": 75, "alarm": 115}'))),
      default: {},
      type: 'object',
      note: '{ "warn": n, "alarm": n } in the sensor unit',
    },
    { name: 'code', column: 'code', sqlType: 'text', schema: text(64), type: 'text', note: 'the external id when absent' },
    { name: 'installed_on', column: 'installed_on', sqlType: 'date', schema: isoDate(), type: 'date' },
  ],
}

const cameras: ImportLayer = {
  id: 'cameras',
  title: { 'zh-CN': '视频监控', en: 'Cameras' },
  table: 'cameras',
  geometry: 'point',
  geometryTypes: ['Point'],
  externalIdProps: EXTERNAL_ID,
  gridColumn: true,
  code: 'external_id',
  properties: [
    { name: 'name', column: 'name', sqlType: 'text', schema: text(200), required: true, type: 'text' },
    { name: 'kind', column: 'kind', sqlType: 'text', schema: oneOf(CAMERA_KINDS), required: true, type: 'enum', enum: CAMERA_KINDS },
    { name: 'heading_deg', column: 'heading_deg', sqlType: 'double precision', schema: number({ gte: 0, lt: 360 }), default: 0, type: 'number', note: 'clockwise from north; default 0' },
    { name: 'fov_deg', column: 'fov_deg', sqlType: 'double precision', schema: number({ gt: 0, lte: 360 }), default: 90, type: 'number', note: 'default 90' },
    { name: 'range_m', column: 'range_m', sqlType: 'double precision', schema: number({ gt: 0, lte: 10000 }), default: 100, type: 'number', note: 'default 100' },
    { name: 'stream_url', column: 'stream_url', sqlType: 'text', schema: text(1000), type: 'text' },
    { name: 'code', column: 'code', sqlType: 'text', schema: text(64), type: 'text', note: 'the external id when absent' },
  ],
}

const keyPlaces: ImportLayer = {
  id: 'key_places',
  title: { 'zh-CN': '重点场所', en: 'Key places' },
  table: 'key_places',
  geometry: 'point',
  geometryTypes: ['Point'],
  externalIdProps: EXTERNAL_ID,
  gridColumn: true,
  properties: [
    { name: 'name', column: 'name', sqlType: 'text', schema: text(200), required: true, type: 'text' },
    { name: 'kind', column: 'kind', sqlType: 'text', schema: oneOf(KEY_PLACE_KINDS), required: true, type: 'enum', enum: KEY_PLACE_KINDS },
    { name: 'risk_color', column: 'risk_color', sqlType: 'text', schema: oneOf(RISK_COLORS), default: 'green', type: 'enum', enum: RISK_COLORS },
  ],
}

const organizations: ImportLayer = {
  id: 'organizations',
  title: { 'zh-CN': '社会组织', en: 'Organizations' },
  table: 'organizations',
  geometry: 'point',
  geometryTypes: ['Point'],
  externalIdProps: EXTERNAL_ID,
  gridColumn: true,
  properties: [
    { name: 'name', column: 'name', sqlType: 'text', schema: text(200), required: true, type: 'text' },
    { name: 'kind', column: 'kind', sqlType: 'text', schema: text(64), required: true, type: 'text' },
    { name: 'address', column: 'address', sqlType: 'text', schema: text(500), type: 'text' },
    { name: 'contact', column: 'contact', sqlType: 'text', schema: text(200), type: 'text' },
  ],
}

const roads: ImportLayer = {
  id: 'roads',
  title: { 'zh-CN': '道路', en: 'Roads' },
  table: 'roads',
  geometry: 'line',
  geometryTypes: ['LineString', 'MultiLineString'],
  externalIdProps: EXTERNAL_ID,
  gridColumn: false,
  properties: [
    { name: 'kind', column: 'kind', sqlType: 'text', schema: text(64), required: true, type: 'text', note: 'e.g. major_road, minor_road, path' },
    { name: 'kind_detail', column: 'kind_detail', sqlType: 'text', schema: text(64), type: 'text' },
    { name: 'name', column: 'name', sqlType: 'text', schema: text(300), type: 'text' },
  ],
}

const water: ImportLayer = {
  id: 'water',
  title: { 'zh-CN': '水系', en: 'Water' },
  table: 'water',
  geometry: 'polygon',
  geometryTypes: ['Polygon', 'MultiPolygon'],
  externalIdProps: EXTERNAL_ID,
  gridColumn: false,
  properties: [
    { name: 'kind', column: 'kind', sqlType: 'text', schema: text(64), default: 'water', type: 'text', note: 'default water' },
    { name: 'name', column: 'name', sqlType: 'text', schema: text(300), type: 'text' },
  ],
}

// ---------------------------------------------------------------------------------------------

const IDENT = /^[a-z_][a-z0-9_]*$/

/** Checks an entry: identifiers end up in SQL, so they must be plain names. */
export function validateImportLayer(l: ImportLayer): string[] {
  const errors: string[] = []
  if (!/^[a-z][a-z0-9_]*$/.test(l.id)) errors.push(`import layer id "${l.id}" must be lower-case letters, digits and _`)
  const idents = [l.table, ...l.properties.map((p) => p.column), ...Object.keys(l.derivedColumns ?? {})]
  for (const ident of idents) if (!IDENT.test(ident)) errors.push(`import layer ${l.id}: "${ident}" is not a plain SQL identifier`)
  const names = new Set<string>()
  for (const p of l.properties) {
    for (const n of [p.name, ...(p.aliases ?? [])]) {
      if (names.has(n)) errors.push(`import layer ${l.id}: property "${n}" declared twice`)
      names.add(n)
    }
    if (p.required && p.default !== undefined) errors.push(`import layer ${l.id}: "${p.name}" is required and has a default`)
  }
  if (l.code && !l.properties.some((p) => p.column === 'code')) errors.push(`import layer ${l.id}: a code strategy needs a code property`)
  return errors
}

function build(defs: ImportLayer[]): ReadonlyMap<string, ImportLayer> {
  const map = new Map<string, ImportLayer>()
  for (const d of defs) {
    const errors = validateImportLayer(d)
    if (errors.length) throw new Error(errors.join('; '))
    map.set(d.id, d)
  }
  return map
}

/** Every importable layer, by id. */
export const importLayers: ReadonlyMap<string, ImportLayer> = build([buildings, parts, sensors, cameras, keyPlaces, organizations, roads, water])

/** The zod schema of a layer's properties (absent values already removed, aliases resolved). */
export function propertiesSchema(layer: ImportLayer): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {}
  for (const p of layer.properties) shape[p.name] = p.required ? p.schema : p.schema.optional()
  return z.object(shape) as unknown as z.ZodType<Record<string, unknown>>
}

/** What `GET /api/import/layers` tells the admin page about a layer. */
export function describeLayer(l: ImportLayer) {
  return {
    id: l.id,
    title: l.title,
    geometry: l.geometry,
    geometryTypes: l.geometryTypes,
    formats: l.geometry === 'point' ? ['geojson', 'csv'] : ['geojson'],
    externalId: [...l.externalIdProps],
    properties: l.properties.map((p) => ({
      name: p.name,
      ...(p.aliases ? { aliases: p.aliases } : {}),
      type: p.type,
      required: p.required === true,
      ...(p.enum ? { enum: p.enum } : {}),
      ...(p.default !== undefined ? { default: p.default } : {}),
      ...(p.note ? { note: p.note } : {}),
    })),
  }
}
