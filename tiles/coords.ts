import { z } from 'zod'

const int = (name: string) => z.string().regex(/^\d{1,8}$/, `${name} must be a non-negative integer`).transform(Number)

/** Validates z/x/y of a tile URL: z in 0–22, x and y in 0 … 2^z − 1. */
export const TileCoords = z
  .object({ z: int('z'), x: int('x'), y: int('y') })
  .refine((c) => c.z <= 22, { message: 'z must be between 0 and 22', path: ['z'] })
  .refine((c) => c.z > 22 || c.x < 2 ** c.z, { message: 'x is out of range for this zoom (0 … 2^z − 1)', path: ['x'] })
  .refine((c) => c.z > 22 || c.y < 2 ** c.z, { message: 'y is out of range for this zoom (0 … 2^z − 1)', path: ['y'] })
