import type http from 'node:http'
import { parse as parseCookie } from 'cookie'
import { Server } from 'socket.io'
import type { z } from 'zod'
import type { Logger } from '../log.ts'
import type { Queryable } from '../db/index.ts'
import { inScope, scopeFilter } from '../auth/scope.ts'
import { describeIssues } from '../http/validate.ts'
import { SESSION_COOKIE, tokenFrom, type Actor, type Sessions } from '../auth/sessions.ts'
import type { EventLog } from './event-log.ts'
import { ReplayRequest, scopeRoom, SubscribeRequest, UNRESTRICTED_ROOM, userRoom, type ClientToServerEvents, type ServerToClientEvents } from './events.ts'

/** Client messages refused (bad shape, rooms outside the scope), by reason: also in /api/health. */
export const refused = { replay: 0, subscribe: 0, unsubscribe: 0, outOfScope: 0 }

export type Io = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { actor: Actor }>

/** socket.io on the same HTTP server; a connection needs a session like any request. */
export function attachSocket(server: http.Server, opts: { sessions: Sessions; log: Logger; version: string; events: EventLog; db: Queryable }): Io {
  const io: Io = new Server(server, { path: '/socket.io', serveClient: false, connectionStateRecovery: { maxDisconnectionDuration: 2 * 60_000 } })
  io.use(async (socket, next) => {
    try {
      const cookies = parseCookie(socket.handshake.headers.cookie ?? '')
      const given = typeof socket.handshake.auth?.token === 'string' ? `Bearer ${socket.handshake.auth.token}` : undefined
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
    void socket.join([scopeRoom(actor.scopePrefix), userRoom(actor.userId), ...(actor.unrestricted ? [UNRESTRICTED_ROOM] : [])])
    void opts.events
      .last()
      .then((lastSeq) => socket.emit('hello', { serverTime: new Date().toISOString(), version: opts.version, user: actor.username, lastSeq }))
      .catch((err: unknown) => opts.log.error({ err }, 'socket hello failed'))

    /** A client message checked against its schema; refused (logged, counted, answered with the reason) when it does not fit. */
    function check<T>(schema: z.ZodType<T>, req: unknown, what: 'replay' | 'subscribe' | 'unsubscribe', ack: (a: { error: string }) => void): T | null {
      const parsed = schema.safeParse(req)
      if (parsed.success) return parsed.data
      refused[what]++
      opts.log.warn({ user: actor.username, issues: parsed.error.issues }, `bad ${what} request`)
      ack({ error: `bad ${what} request: ${describeIssues(parsed.error)}` })
      return null
    }

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

    // More rooms: only inside the user's scope (a room outside it is refused, none joined).
    socket.on('subscribe', (req, ack) => {
      if (typeof ack !== 'function') return
      const asked = check(SubscribeRequest, req, 'subscribe', ack)
      if (!asked) return
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
        },
        (err: unknown) => {
          opts.log.error({ err }, 'subscribe failed')
          ack({ error: 'subscribe failed; try again' })
        },
      )
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
