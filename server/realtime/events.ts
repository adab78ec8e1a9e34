/**
 * Realtime events, typed end to end: names and payload schemas shared by server and web.
 * The server validates every client message against these.
 */
import { z } from 'zod'

export const HelloPayload = z.object({ serverTime: z.string(), version: z.string(), user: z.string() })
export type HelloPayload = z.infer<typeof HelloPayload>

/** Progress of a data import, sent to the importing user's sockets (room `user:<id>`). */
export const ImportProgressPayload = z.object({
  /** The id the client gave with `?importId=` (or the server made one), also in the report. */
  importId: z.string(),
  layer: z.string(),
  phase: z.enum(['receive', 'parse', 'validate', 'write', 'grids', 'done', 'failed']),
  /** Units done and total in this phase: bytes for receive, features for the others. */
  done: z.number(),
  total: z.number(),
})
export type ImportProgressPayload = z.infer<typeof ImportProgressPayload>

export interface ServerToClientEvents {
  hello: (p: HelloPayload) => void
  'import:progress': (p: ImportProgressPayload) => void
}

/** The room of one user's sockets (every tab and device they are signed in on). */
export const userRoom = (userId: number) => `user:${userId}`

// Nothing is accepted from clients yet; each message added here gets a zod schema.
export type ClientToServerEvents = Record<string, never>
