/**
 * Realtime events, typed end to end: names and payload schemas shared by server and web.
 * The server validates every client message against these.
 */
import { z } from 'zod'
import type { TelemetryItem } from './telemetry.ts'

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

/**
 * Client → server: what the client's map shows, so it gets the live values there (telemetry.ts);
 * `bbox: null` stops them. Until a client says, it gets none.
 */
const Lon = z.number().min(-180).max(180)
const Lat = z.number().min(-90).max(90)
export const ViewportRequest = z.strictObject({
  bbox: z
    .tuple([Lon, Lat, Lon, Lat], { error: 'bbox must be [west, south, east, north] in degrees (WGS84), or null' })
    .refine(([w, s, e, n]) => w <= e && s <= n, 'bbox must be [west, south, east, north] with west ≤ east and south ≤ north')
    .nullable(),
  kinds: z.array(z.enum(['sensor', 'worker'])).min(1, 'name at least one kind (sensor, worker)').max(2).optional(),
})
export type ViewportRequest = z.infer<typeof ViewportRequest>
export type ViewportAnswer = { bbox: [number, number, number, number] | null; kinds: ('sensor' | 'worker')[] } | { error: string }

/** Server → client: the latest live values in the client's viewport and scope (at most one message per interval). */
export interface TelemetryPayload {
  items: TelemetryItem[]
}

/**
 * A case task for the signed-in user's devices (room `user:<id>`): dispatched to them (`assigned`;
 * the phone acknowledges with POST /api/cases/:id/actions/ack_dispatch), or urged / supervised
 * (催办/督办). The case itself also changes through the event log (case:changed).
 */
export const TaskPayload = z.object({
  kind: z.enum(['assigned', 'urge', 'supervise']),
  caseId: z.number().int(),
  code: z.string(),
  stage: z.string(),
  version: z.number().int(),
  categoryCode: z.string(),
  description: z.string(),
  address: z.string().nullable(),
  lon: z.number(),
  lat: z.number(),
  stageDeadlineAt: z.string().nullable(),
  comment: z.string().nullable(),
  by: z.string(),
  at: z.string(),
})
export type TaskPayload = z.infer<typeof TaskPayload>

export interface ServerToClientEvents {
  hello: (p: HelloPayload) => void
  telemetry: (p: TelemetryPayload) => void
  event: (e: DomainEvent) => void
  'import:progress': (p: ImportProgressPayload) => void
  'tiles:invalidate': (p: TilesInvalidatePayload) => void
  'task:assigned': (p: TaskPayload) => void
  'task:notice': (p: TaskPayload) => void
  /** View sync: the state of a screen whose room the socket joined. */
  'screen:state': (p: ScreenState) => void
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

/** Most fixes one `position` message or POST /api/positions carries. */
export const MAX_POSITIONS = 1000

/**
 * One position fix from the field: `ts` with its offset; lon/lat in the report's `crs`;
 * accuracy in metres, speed in m/s, heading in degrees clockwise from north. `workerId` is
 * needed only when one sender reports for several workers (a terminal platform, the simulator).
 */
export const PositionFix = z
  .strictObject({
    workerId: z.number().int().positive().max(2_147_483_647).optional(),
    ts: z.iso.datetime({ offset: true, error: 'ts must be an ISO 8601 date-time with its offset, e.g. 2026-11-21T09:30:00+08:00' }),
    lon: z.number({ error: 'lon must be a number' }).min(-180, 'lon must be within -180…180').max(180, 'lon must be within -180…180'),
    lat: z.number({ error: 'lat must be a number' }).min(-90, 'lat must be within -90…90').max(90, 'lat must be within -90…90'),
    accuracy: z.number().min(0).max(100_000, 'accuracy is in metres (at most 100 km)').optional(),
    speed: z.number().min(0).max(150, 'speed is in m/s (at most 150)').optional(),
    heading: z.number().min(0).max(360, 'heading is in degrees 0…360').optional(),
  })
  // 0, 0 is what receivers report before they have a fix.
  .refine((p) => p.lon !== 0 || p.lat !== 0, { message: 'lon 0, lat 0 is a receiver without a fix, not a position', path: ['lon'] })
export type PositionFix = z.infer<typeof PositionFix>

/** Client → server `position` (and the body of POST /api/positions): fixes, GCJ-02 converted when `crs` says so. */
export const PositionReport = z.strictObject({
  crs: z.enum(['wgs84', 'gcj02'], { error: 'crs must be wgs84 or gcj02' }).default('wgs84'),
  positions: z.array(PositionFix).min(1, 'send at least one position').max(MAX_POSITIONS, `at most ${MAX_POSITIONS} positions at once`),
})
export type PositionReport = z.infer<typeof PositionReport>
export type PositionAnswer = { accepted: number; duplicates: number; events: number } | { error: string }

/** Domain events of the geofence (event log, scope = the worker's grid). */
export const WORKER_OUT_OF_GRID = 'worker:out_of_grid'
export const WORKER_BACK_IN_GRID = 'worker:back_in_grid'
/** Their payload: where and when the fix that changed the state was, and how far outside (+) or inside (−) the fence edge. */
export const WorkerFencePayload = z.object({
  workerId: z.number().int(),
  code: z.string(),
  name: z.string(),
  gridCode: z.string().nullable(),
  lon: z.number(),
  lat: z.number(),
  at: z.string(),
  distanceM: z.number(),
  /** Out of grid only: the first fix of the run beyond the band (the worker has been out since then). */
  since: z.string().optional(),
})
export type WorkerFencePayload = z.infer<typeof WorkerFencePayload>

/**
 * View sync (同屏推送): what one screen (a seat, the cockpit) pushes to a wall screen's room
 * `screen:<id>` — a camera, optionally the layers to show, a selection, a briefing scene.
 */
export const SCREEN_ID = /^[a-z0-9][a-z0-9_-]{0,63}$/
export const MapCamera = z.strictObject({
  center: z.tuple([Lon, Lat]),
  zoom: z.number().min(0).max(24),
  bearing: z.number().min(-360).max(360).default(0),
  pitch: z.number().min(0).max(85).default(0),
})
export type MapCamera = z.infer<typeof MapCamera>
export const ScreenView = z.strictObject({
  camera: MapCamera,
  /** 2.5D (MapLibre + deck.gl) or the 3D city (Cesium). */
  mode: z.enum(['2d', '3d']).default('2d'),
  /** Catalog layer ids to show (the others hidden); absent: leave the wall's own choice. */
  layers: z.array(z.string().max(64)).max(64).optional(),
  /** A feature to highlight and show a card for. */
  selection: z.strictObject({ kind: z.string().max(32), id: z.union([z.string().max(64), z.number().int()]) }).nullable().optional(),
  /** A briefing scene (issue 9): the wall shows /briefing/<caseId> at this scene. */
  briefing: z.strictObject({ caseId: z.number().int().positive(), scene: z.number().int().min(0).max(20) }).nullable().optional(),
})
export type ScreenView = z.infer<typeof ScreenView>
/** Client → server `screen:push`: show this view on screen `screen`. */
export const ScreenPushRequest = z.strictObject({
  screen: z.string().regex(SCREEN_ID, 'a screen id is lower-case letters, digits, - and _ (at most 64)'),
  view: ScreenView,
})
export type ScreenPushRequest = z.infer<typeof ScreenPushRequest>
/** Client → server `screen:release`: give the screen back to its own mode. */
export const ScreenReleaseRequest = z.strictObject({ screen: z.string().regex(SCREEN_ID, 'a screen id is lower-case letters, digits, - and _ (at most 64)') })
export type ScreenReleaseRequest = z.infer<typeof ScreenReleaseRequest>
/** Server → room `screen:<id>` (and GET /api/screens/:id): who controls the screen and what it shows; view null = released, its own mode. */
export interface ScreenState {
  screen: string
  view: ScreenView | null
  /** Who pushed (username and display name); null when released. */
  by: { username: string; name: string | null } | null
  at: string
}
export type ScreenAnswer = ScreenState | { error: string }

/** What clients may send; each message is checked against its zod schema before use. */
export interface ClientToServerEvents {
  replay: (req: unknown, ack: (a: ReplayAnswer) => void) => void
  subscribe: (req: unknown, ack: (a: SubscribeAnswer) => void) => void
  unsubscribe: (req: unknown, ack: (a: SubscribeAnswer) => void) => void
  /** The signed-in worker's own position fixes (field page). */
  position: (req: unknown, ack: (a: PositionAnswer) => void) => void
  /** What the client's map shows (telemetry); the ack is optional. */
  viewport: (req: unknown, ack?: (a: ViewportAnswer) => void) => void
  /** View sync: push a view to a screen / release it (roles that may: see server/realtime/screens.ts). */
  'screen:push': (req: unknown, ack: (a: ScreenAnswer) => void) => void
  'screen:release': (req: unknown, ack: (a: ScreenAnswer) => void) => void
}

/** Between server processes (io.serverSideEmit, with the Redis adapter). */
export interface InterServerEvents {
  /** The live values one process took in during its last tick, for the others' sockets. */
  telemetry: (items: TelemetryItem[]) => void
  /** A change on one process: the others drop their cached tiles of the layer inside bbox (their sockets were told through the adapter). */
  'tiles:changed': (p: TilesInvalidatePayload) => void
}
