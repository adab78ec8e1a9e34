import type http from 'node:http'
import { parse as parseCookie } from 'cookie'
import { Server } from 'socket.io'
import type { Logger } from '../log.ts'
import { SESSION_COOKIE, tokenFrom, type Actor, type Sessions } from '../auth/sessions.ts'
import { scopeRoom, UNRESTRICTED_ROOM, userRoom, type ClientToServerEvents, type ServerToClientEvents } from './events.ts'

export type Io = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, { actor: Actor }>

/** socket.io on the same HTTP server; a connection needs a session like any request. */
export function attachSocket(server: http.Server, opts: { sessions: Sessions; log: Logger; version: string }): Io {
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
    socket.emit('hello', { serverTime: new Date().toISOString(), version: opts.version, user: actor.username })
  })
  return io
}
