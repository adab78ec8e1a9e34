/**
 * Realtime events, typed end to end: names and payload schemas shared by server and web.
 * The server validates every client message against these.
 */
import { z } from 'zod'

export const HelloPayload = z.object({
  serverTime: z.string(),
  version: z.string(),
  user: z.string(),
  /** The last event seq committed when the socket connected: a new client has seen everything up to it. */
  lastSeq: z.number().int().nonnegative(),
})
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

/**
 * Cached tiles of a layer changed inside bbox ([w, s, e, n], WGS84): refetch the tiles of that
 * layer touching it. Sent only to sockets whose scope can see the changed object.
 */
export const TilesInvalidatePayload = z.object({
  layer: z.string(),
  bbox: z.tuple([z.number().min(-180).max(180), z.number().min(-90).max(90), z.number().min(-180).max(180), z.number().min(-90).max(90)]),
})
export type TilesInvalidatePayload = z.infer<typeof TilesInvalidatePayload>

/**
 * A domain event from the event log (server/realtime/event-log.ts): `seq` numbers events in
 * commit order, so a client that keeps the last seq it saw can ask for exactly what it missed.
 */
export const DomainEvent = z.object({
  seq: z.number().int().positive(),
  at: z.string(),
  type: z.string().min(1),
  /** The admin/grid code the event is about; null: outside every grid. */
  scope: z.string().nullable(),
  payload: z.record(z.string(), z.unknown()),
})
export type DomainEvent = z.infer<typeof DomainEvent>

/** Client → server: the events after `since` (the last seq the client saw), at most `limit`. */
export const ReplayRequest = z.strictObject({
  since: z.number({ error: 'since must be the last event seq you saw (0 for all)' }).int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  limit: z.number().int().min(1).max(2000).optional(),
})
export type ReplayRequest = z.infer<typeof ReplayRequest>

/** The answer to `replay`: events in seq order; `more` when the client should ask again from the last. */
export type ReplayAnswer = { events: DomainEvent[]; more: boolean } | { error: string }

export interface ServerToClientEvents {
  hello: (p: HelloPayload) => void
  event: (e: DomainEvent) => void
  'import:progress': (p: ImportProgressPayload) => void
  'tiles:invalidate': (p: TilesInvalidatePayload) => void
}

/** The room of one user's sockets (every tab and device they are signed in on). */
export const userRoom = (userId: number) => `user:${userId}`

/** The room of sockets whose scope has this code prefix (room `scope:<prefix>`). */
export const scopeRoom = (prefix: string) => `scope:${prefix}`

/** Sockets of unrestricted users, who also see objects outside every grid. */
export const UNRESTRICTED_ROOM = 'scope:*'

/**
 * The rooms whose sockets may see an object with this scope code: every `scope:<prefix>` of
 * the code, plus the unrestricted room (the only one for an object outside every grid).
 */
export function roomsSeeing(code: string | null): string[] {
  const rooms = [UNRESTRICTED_ROOM]
  if (code) for (let i = 1; i <= code.length; i++) rooms.push(scopeRoom(code.slice(0, i)))
  return rooms
}

/**
 * Rooms a client may ask for beyond the ones it joins on connect: a part of its scope
 * (`scope:<code>`, e.g. one grid a seat watches), one case (`case:<id>`), one screen (`screen:<id>`,
 * for view sync).
 */
export const ROOM = /^(scope:\d{6,15}|case:\d{1,12}|screen:[a-z0-9][a-z0-9_-]{0,63})$/
export const SubscribeRequest = z.strictObject({
  rooms: z
    .array(z.string().max(80).regex(ROOM, 'a room is scope:<code>, case:<id> or screen:<id>'))
    .min(1, 'name at least one room')
    .max(50, 'at most 50 rooms at once'),
})
export type SubscribeRequest = z.infer<typeof SubscribeRequest>
export type SubscribeAnswer = { rooms: string[] } | { error: string }

/** What clients may send; each message is checked against its zod schema before use. */
export interface ClientToServerEvents {
  replay: (req: unknown, ack: (a: ReplayAnswer) => void) => void
  subscribe: (req: unknown, ack: (a: SubscribeAnswer) => void) => void
  unsubscribe: (req: unknown, ack: (a: SubscribeAnswer) => void) => void
}
