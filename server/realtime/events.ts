/**
 * Realtime events, typed end to end: names and payload schemas shared by server and web.
 * The server validates every client message against these.
 */
import { z } from 'zod'

export const HelloPayload = z.object({ serverTime: z.string(), version: z.string(), user: z.string() })
export type HelloPayload = z.infer<typeof HelloPayload>

export interface ServerToClientEvents {
  hello: (p: HelloPayload) => void
}

// Nothing is accepted from clients yet; each message added here gets a zod schema.
export type ClientToServerEvents = Record<string, never>
