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
