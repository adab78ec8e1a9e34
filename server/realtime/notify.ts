import { userRoom, type ServerToClientEvents } from './events.ts'
import type { Io } from './socket.ts'

/**
 * Sends typed events to one user's sockets (room `user:<id>`). The HTTP app is built before
 * socket.io is attached to the server, so routes get this and main binds it to the io server;
 * until then (or without sockets, e.g. the CLI) events go nowhere.
 */
export class UserNotifier {
  #io: Io | null = null

  bind(io: Io): void {
    this.#io = io
  }

  /** Closes every socket of a user, in every process (signed out everywhere); they may reconnect only with a new session. */
  disconnectUser(userId: number): void {
    this.#io?.in(userRoom(userId)).disconnectSockets(true)
  }

  toUser<E extends keyof ServerToClientEvents>(userId: number, event: E, ...args: Parameters<ServerToClientEvents[E]>): void {
    this.#io?.to(userRoom(userId)).emit(event, ...args)
  }
}
