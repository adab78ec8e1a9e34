import type http from 'node:http'
import { parse as parseCookie } from 'cookie'
import { Server, type ServerOptions } from 'socket.io'
import type { z } from 'zod'
import type { Logger } from '../log.ts'
import type { Queryable } from '../db/index.ts'
import { inScope, scopeFilter } from '../auth/scope.ts'
import { can } from '../auth/permissions.ts'
import { describeIssues } from '../http/validate.ts'
import { SESSION_COOKIE, tokenFrom, type Actor, type Sessions } from '../auth/sessions.ts'
import type { EventLog } from './event-log.ts'
import {
  PositionReport,
  ReplayRequest,
  scopeRoom,
  SubscribeRequest,
  UNRESTRICTED_ROOM,
  userRoom,
  ViewportRequest,
  type ClientToServerEvents,
  type InterServerEvents,
  type ServerToClientEvents,
} from './events.ts'
import type { Telemetry, Viewport } from './telemetry.ts'
import type { PositionService } from '../positions/service.ts'
import { HttpError } from '../http/errors.ts'
import { byCookie, crossSiteReason } from '../http/csrf.ts'
import { ScreenSync, screenRoomsDenied } from './screens.ts'

/** The largest message a client may send. */
export const MAX_MESSAGE_BYTES = 512 * 1024

/** Client messages refused (bad shape, rooms outside the scope, screen rooms and pushes the role may not use), by reason: also in /api/health. */
export const refused = { replay: 0, subscribe: 0, unsubscribe: 0, viewport: 0, position: 0, outOfScope: 0, screen: 0, screenDenied: 0, crossSite: 0 }

export type Io = Server<ClientToServerEvents, ServerToClientEvents, InterServerEvents, { actor: Actor; viewport?: Viewport }>

/** socket.io on the same HTTP server; a connection needs a session like any request. */
export function attachSocket(
  server: http.Server,
  opts: { sessions: Sessions; log: Logger; version: string; events: EventLog; db: Queryable; telemetry?: Telemetry; positions?: PositionService; adapter?: ServerOptions['adapter']; publicUrl?: string },
): Io {
  // adapter: with REDIS_URL the Redis streams adapter (realtime/scale.ts), which keeps recovery working across processes.
  // A client message larger than MAX_MESSAGE_BYTES (the largest legitimate one, 1000 position fixes, is ~150 KB) ends that connection.
  const io: Io = new Server(server, {
    path: '/socket.io',
    serveClient: false,
    maxHttpBufferSize: MAX_MESSAGE_BYTES,
    // A recovered connection is signed in again (skipMiddlewares: false): the session may have ended
    // meanwhile (logout-all, idle timeout, a role change), and the actor the adapter kept for it has
    // been through serialization (its permission set arrives as a plain object through Redis).
    connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000, skipMiddlewares: false },
    ...(opts.adapter ? { adapter: opts.adapter } : {}),
  })
  // View sync: screen:push / screen:release, and a screen's state for sockets that join its room (screens.ts).
  const screens = new ScreenSync({ db: opts.db, io, log: opts.log, refused })
  io.use(async (socket, next) => {
    try {
      const cookies = parseCookie(socket.handshake.headers.cookie ?? '')
      const given = typeof socket.handshake.auth?.token === 'string' ? `Bearer ${socket.handshake.auth.token}` : undefined
      // Signed in by the cookie: only from our own pages (cross-site WebSocket hijacking; http/csrf.ts).
      if (byCookie(cookies[SESSION_COOKIE], given)) {
        const h = socket.handshake.headers
        const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v)
        const why = crossSiteReason({ origin: one(h.origin), secFetchSite: one(h['sec-fetch-site']), host: one(h.host), secure: socket.handshake.secure }, opts.publicUrl)
        if (why) {
          refused.crossSite++
          return next(new Error(`cross-site connection refused: ${why}`))
        }
      }
      const actor = await opts.sessions.lookup(tokenFrom(cookies[SESSION_COOKIE], given))
      if (!actor) return next(new Error('unauthorized'))
      socket.data.actor = actor
      next()
    } catch (err) {
      opts.log.error({ err }, 'socket auth failed')
      next(new Error('unavailable'))
    }
  })
  io.on('connection', (socket) => {
    const actor = socket.data.actor
    // The scope's domain events (cases, alarms, workers, sensors) are operations data: for those who
    // read cases, not the three administrators; everyone gets their own user room (imports, tasks).
    const operations = can(actor, 'cases.read')
    void socket.join([userRoom(actor.userId), ...(operations ? [scopeRoom(actor.scopePrefix), ...(actor.unrestricted ? [UNRESTRICTED_ROOM] : [])] : [])])
    void opts.events
      .last()
      .then((lastSeq) => socket.emit('hello', { serverTime: new Date().toISOString(), version: opts.version, user: actor.username, lastSeq }))
      .catch((err: unknown) => opts.log.error({ err }, 'socket hello failed'))

    /** A client message checked against its schema; refused (logged, counted, answered with the reason) when it does not fit. */
    function check<T>(schema: z.ZodType<T>, req: unknown, what: 'replay' | 'subscribe' | 'unsubscribe' | 'viewport' | 'position', ack: (a: { error: string }) => void): T | null {
      const parsed = schema.safeParse(req)
      if (parsed.success) return parsed.data
      refused[what]++
      opts.log.warn({ user: actor.username, issues: parsed.error.issues }, `bad ${what} request`)
      ack({ error: `bad ${what} request: ${describeIssues(parsed.error)}` })
      return null
    }

    screens.attach(socket)

    // What the client missed: the events after the last seq it saw, within its scope.
    socket.on('replay', (req, ack) => {
      if (typeof ack !== 'function') return
      const asked = check(ReplayRequest, req, 'replay', ack)
      if (!asked) return
      opts.events.replay(actor, asked.since, asked.limit).then(ack, (err: unknown) => {
        opts.log.error({ err }, 'replay failed')
        ack({ error: 'replay failed; try again' })
      })
    })

    // The field page: the signed-in worker's own fixes, stored and judged like POST /api/positions.
    socket.on('position', (req, ack) => {
      const answer = typeof ack === 'function' ? ack : () => {}
      const asked = check(PositionReport, req, 'position', answer)
      if (!asked) return
      if (!opts.positions) return answer({ error: 'this server takes no positions' })
      opts.positions.ingest(actor, asked, { ownOnly: true }).then(answer, (err: unknown) => {
        if (err instanceof HttpError && err.status < 500) {
          refused.position++
          opts.log.warn({ user: actor.username, reason: err.message }, 'positions refused')
          answer({ error: err.message })
        } else {
          opts.log.error({ err }, 'storing positions failed')
          answer({ error: 'storing positions failed; send them again' })
        }
      })
    })

    // More rooms: only inside the user's scope (a room outside it is refused, none joined).
    socket.on('subscribe', (req, ack) => {
      if (typeof ack !== 'function') return
      const asked = check(SubscribeRequest, req, 'subscribe', ack)
      if (!asked) return
      const denied =
        screenRoomsDenied(actor, asked.rooms) ??
        (!can(actor, 'cases.read') && asked.rooms.some((r) => /^(scope|case):/.test(r)) ? `scope and case rooms need the permission cases.read, which the ${actor.role} role does not hold` : null)
      if (denied) {
        refused.screenDenied++
        opts.log.warn({ user: actor.username, rooms: asked.rooms }, 'room refused by permission')
        return ack({ error: denied })
      }
      outsideScope(actor, asked.rooms, opts.db).then(
        (outside) => {
          if (outside.length) {
            refused.outOfScope++
            opts.log.warn({ user: actor.username, rooms: outside }, 'room outside the user’s scope refused')
            ack({ error: `outside your scope (${actor.unrestricted ? 'all' : actor.scopePrefix}): ${outside.join(', ')}` })
            return
          }
          void socket.join(asked.rooms)
          ack({ rooms: asked.rooms })
          // A wall that (re)joins its screen room follows a view pushed before it came.
          screens.joined(socket, asked.rooms).catch((err: unknown) => opts.log.error({ err }, 'screen state on join failed'))
        },
        (err: unknown) => {
          opts.log.error({ err }, 'subscribe failed')
          ack({ error: 'subscribe failed; try again' })
        },
      )
    })
    // What the client's map shows: it gets the live values there (telemetry.ts), none before it says.
    socket.on('viewport', (req, ack) => {
      const answer = typeof ack === 'function' ? ack : () => {}
      const asked = check(ViewportRequest, req, 'viewport', answer)
      if (!asked) return
      // Only what the actor's permissions show: sensor readings (map.objects), worker positions (workers.read).
      const kinds = (asked.kinds ?? ['sensor', 'worker']).filter((k) => can(actor, k === 'worker' ? 'workers.read' : 'map.objects'))
      opts.telemetry?.watch(socket, asked.bbox && kinds.length ? { bbox: asked.bbox, kinds } : null)
      answer({ bbox: asked.bbox, kinds })
    })
    socket.on('unsubscribe', (req, ack) => {
      if (typeof ack !== 'function') return
      const asked = check(SubscribeRequest, req, 'unsubscribe', ack)
      if (!asked) return
      for (const room of asked.rooms) void socket.leave(room)
      ack({ rooms: asked.rooms })
    })
  })
  return io
}

/** The rooms of the list the actor may not join: scope rooms outside their scope, cases outside it or unknown. */
async function outsideScope(actor: Actor, rooms: string[], db: Queryable): Promise<string[]> {
  const outside: string[] = []
  const caseIds: number[] = []
  for (const room of rooms) {
    const [kind, id] = room.split(':') as [string, string]
    if (kind === 'scope' && !actor.unrestricted && !inScope(actor.scopePrefix, id)) outside.push(room)
    if (kind === 'case') caseIds.push(Number(id))
  }
  if (caseIds.length) {
    const { rows } = await db.query<{ id: number }>(
      `SELECT id FROM cases WHERE id = ANY($1::bigint[]) AND ($2::text IS NULL OR grid_code LIKE $2::text || '%')`,
      [caseIds, scopeFilter(actor)],
    )
    const seen = new Set(rows.map((r) => r.id))
    for (const id of caseIds) if (!seen.has(id)) outside.push(`case:${id}`)
  }
  return outside
}
