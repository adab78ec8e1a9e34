import type http from 'node:http'
import { parse as parseCookie } from 'cookie'
import { Server } from 'socket.io'
import type { Logger } from '../log.ts'
import { SESSION_COOKIE, tokenFrom, type Actor, type Sessions } from '../auth/sessions.ts'
import type { EventLog } from './event-log.ts'
import { ReplayRequest, scopeRoom, UNRESTRICTED_ROOM, userRoom, type ClientToServerEvents, type ServerToClientEvents } from './events.ts'

export type Io = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { actor: Actor }>

/** socket.io on the same HTTP server; a connection needs a session like any request. */
export function attachSocket(server: http.Server, opts: { sessions: Sessions; log: Logger; version: string; events: EventLog }): Io {
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

    // What the client missed: the events after the last seq it saw, within its scope.
    socket.on('replay', (req, ack) => {
      if (typeof ack !== 'function') return
      const parsed = ReplayRequest.safeParse(req)
      if (!parsed.success) {
        opts.log.warn({ user: actor.username, issues: parsed.error.issues }, 'bad replay request')
        ack({ error: `bad replay request: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`).join('; ')}` })
        return
      }
      opts.events.replay(actor, parsed.data.since, parsed.data.limit).then(ack, (err: unknown) => {
        opts.log.error({ err }, 'replay failed')
        ack({ error: 'replay failed; try again' })
      })
    })
  })
  return io
}
