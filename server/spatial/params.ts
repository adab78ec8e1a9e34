/**
 * Query parameters of the spatial endpoints. Every failure is a 400 naming the parameter
 * (parseParams); nothing a client sends can reach the database unchecked.
 */
import { z } from 'zod'

export const LAYERS = ['workers', 'cameras', 'sensors', 'key_places', 'cases'] as const
export type SpatialLayer = (typeof LAYERS)[number]

/** A query string value as a finite number: required unless a default is given. */
function numberParam(min: number, max: number, what: string) {
  return z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
    z
      .number({ error: (iss) => (iss.input === undefined || iss.input === '' ? 'is required' : 'must be a number') })
      .min(min, `${what} must be between ${min} and ${max}`)
      .max(max, `${what} must be between ${min} and ${max}`),
  )
}

const point = {
  lon: numberParam(-180, 180, 'longitude'),
  lat: numberParam(-90, 90, 'latitude'),
}

export const LocateQuery = z.object(point)

export const NearestQuery = z.object({
  ...point,
  layer: z.enum(LAYERS, { error: `must be one of ${LAYERS.join(', ')}` }),
  k: z
    .preprocess(
      (v) => (v === undefined ? 10 : typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
      z.number({ error: 'must be a whole number' }).int('must be a whole number').min(1, 'k must be between 1 and 100').max(100, 'k must be between 1 and 100'),
    ),
  onDuty: z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .optional()
    .transform((v) => v === 'true'),
})

export const AroundQuery = z.object({
  ...point,
  radius: z.preprocess(
    (v) => (v === undefined ? 300 : typeof v === 'string' && v.trim() !== '' ? Number(v) : v),
    z
      .number({ error: 'must be a number of metres' })
      .gt(0, 'radius must be more than 0 and at most 5000 m')
      .max(5000, 'radius must be more than 0 and at most 5000 m'),
  ),
})

/* ---------------------------------------------------------------------------------------------
 * POST /api/spatial/within — the body (a JSON object; 422 naming each wrong field).
 * ------------------------------------------------------------------------------------------- */

/** Layers /within can count; the default is all of them. */
export const WITHIN_LAYERS = ['workers', 'cameras', 'sensors', 'parts', 'key_places', 'cases', 'buildings'] as const
export type WithinLayer = (typeof WITHIN_LAYERS)[number]

/** Most vertices a query geometry may have (more is refused before any SQL runs). */
export const MAX_VERTICES = 10_000
/** Largest circle radius / line buffer, metres. */
export const MAX_DISTANCE_M = 20_000
/**
 * Latitudes are limited to ±85° (not ±90°): the candidate search runs on the EPSG:3857
 * indexes, and Web Mercator is undefined at the poles.
 */
export const MAX_LAT = 85

const lonSchema = z.number({ error: 'longitude must be a number' }).min(-180, 'longitude must be between -180 and 180').max(180, 'longitude must be between -180 and 180')
const latSchema = z
  .number({ error: 'latitude must be a number' })
  .min(-MAX_LAT, `latitude must be between -${MAX_LAT} and ${MAX_LAT}`)
  .max(MAX_LAT, `latitude must be between -${MAX_LAT} and ${MAX_LAT}`)

/** A GeoJSON position [lon, lat] (an optional third value, the altitude, is ignored). */
const position = z
  .array(z.unknown(), { error: 'a position must be an array [lon, lat]' })
  .min(2, 'a position must be [lon, lat]')
  .max(3, 'a position must be [lon, lat] or [lon, lat, altitude]')
  .pipe(z.tuple([lonSchema, latSchema], z.unknown()))
  .transform(([lon, lat]) => [lon, lat] as [number, number])

/** A closed linear ring of at least 4 positions (RFC 7946 §3.1.6). */
const ring = z
  .array(position, { error: 'a ring must be an array of positions' })
  .min(4, 'a polygon ring needs at least 4 positions (3 corners and the first again)')
  .refine((r) => r.length < 4 || (r[0][0] === r[r.length - 1][0] && r[0][1] === r[r.length - 1][1]), 'a polygon ring must be closed (its last position equal to its first)')

const polygonCoords = z.array(ring, { error: 'polygon coordinates must be an array of rings' }).min(1, 'a polygon needs at least its outer ring')

const queryGeometry = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('Polygon'), coordinates: polygonCoords }),
    z.object({
      type: z.literal('MultiPolygon'),
      coordinates: z.array(polygonCoords, { error: 'multipolygon coordinates must be an array of polygons' }).min(1, 'a multipolygon needs at least one polygon'),
    }),
  ],
  { error: 'must be a GeoJSON Polygon or MultiPolygon' },
)

const lineString = z.object(
  {
    type: z.literal('LineString', { error: 'must be a GeoJSON LineString' }),
    coordinates: z.array(position, { error: 'line coordinates must be an array of positions' }).min(2, 'a line needs at least 2 positions'),
  },
  { error: 'must be a GeoJSON LineString' },
)

const distance = (what: string) =>
  z
    .number({ error: `${what} must be a number of metres` })
    .gt(0, `${what} must be more than 0 and at most ${MAX_DISTANCE_M} m`)
    .max(MAX_DISTANCE_M, `${what} must be more than 0 and at most ${MAX_DISTANCE_M} m`)

/** Counts the positions of a (not yet validated) coordinates array, stopping past the limit. */
export function countVertices(coords: unknown, limit = MAX_VERTICES): number {
  let n = 0
  const walk = (c: unknown): void => {
    if (n > limit || !Array.isArray(c)) return
    if (c.length > 0 && typeof c[0] === 'number') {
      n++
      return
    }
    for (const x of c) walk(x)
  }
  walk(coords)
  return n
}

export const WithinBody = z
  .strictObject({
    geometry: queryGeometry.optional(),
    circle: z.strictObject({ lon: lonSchema, lat: latSchema, radius_m: distance('radius_m') }, { error: 'must be an object { lon, lat, radius_m }' }).optional(),
    line: lineString.optional(),
    buffer_m: distance('buffer_m').optional(),
    layers: z
      .array(z.enum(WITHIN_LAYERS, { error: `unknown layer; layers: ${WITHIN_LAYERS.join(', ')}` }), { error: 'must be an array of layer names' })
      .min(1, 'name at least one layer (or leave layers out for all)')
      .optional(),
    limit: z
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(1, 'limit must be between 1 and 200')
      .max(200, 'limit must be between 1 and 200')
      .default(20),
  })
  .superRefine((b, ctx) => {
    const given = (['geometry', 'circle', 'line'] as const).filter((k) => b[k] !== undefined)
    if (given.length !== 1) {
      ctx.addIssue({ code: 'custom', message: `give exactly one of geometry, circle or line (got ${given.length ? given.join(', ') : 'none'})` })
    }
    if (b.line !== undefined && b.buffer_m === undefined) ctx.addIssue({ code: 'custom', path: ['buffer_m'], message: 'is required with line' })
    if (b.line === undefined && b.buffer_m !== undefined) ctx.addIssue({ code: 'custom', path: ['buffer_m'], message: 'applies only to line' })
  })
export type WithinBody = z.infer<typeof WithinBody>

/* GET /api/stats/choropleth */
export const CHORO_LEVELS = ['district', 'street', 'community', 'grid'] as const
export const CHORO_INDICATORS = ['cases_open', 'cases_total', 'cases_overdue', 'sensors_alarm', 'sensors_offline', 'workers_on_duty'] as const
export type ChoroLevel = (typeof CHORO_LEVELS)[number]
export type ChoroIndicator = (typeof CHORO_INDICATORS)[number]

export const ChoroplethQuery = z.object({
  level: z.enum(CHORO_LEVELS, { error: (iss) => (iss.input === undefined ? 'is required' : `unknown level "${String(iss.input)}"; levels: ${CHORO_LEVELS.join(', ')}`) }),
  indicator: z.enum(CHORO_INDICATORS, {
    error: (iss) => (iss.input === undefined ? 'is required' : `unknown indicator "${String(iss.input)}"; indicators: ${CHORO_INDICATORS.join(', ')}`),
  }),
})
