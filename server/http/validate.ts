import { z } from 'zod'
import { HttpError } from './errors.ts'

/** Readable one-line summary of what is wrong with an input. */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')
}

/** Validates a JSON body; 422 naming each wrong field, 400 when there is no JSON object. */
export function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.infer<T> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError(400, 'expected a JSON object body (Content-Type: application/json)')
  }
  const r = schema.safeParse(body)
  if (!r.success) throw new HttpError(422, describeIssues(r.error))
  return r.data
}

/** A path parameter `id`: a positive integer (of a serial column). */
export const IdParam = z.object({ id: z.string().regex(/^\d{1,9}$/, 'id must be a positive integer').transform(Number) })

/** Validates path or query parameters; 400 naming each wrong one. */
export function parseParams<T extends z.ZodType>(schema: T, params: unknown): z.infer<T> {
  const r = schema.safeParse(params)
  if (!r.success) throw new HttpError(400, describeIssues(r.error))
  return r.data
}
