/**
 * View sync (同屏推送): a seat or the cockpit pushes a view — camera, layers, a selection, a
 * briefing scene — to a wall screen; the wall, subscribed to the room `screen:<id>`, follows it
 * and shows who is in control until the view is released.
 *
 * - `screen:push {screen, view}` / `screen:release {screen}` (socket): users holding the
 *   permission screens.push only; the ack is the new ScreenState or `{error}` naming why not.
 *   Every socket in `screen:<id>` gets `screen:state`.
 * - Joining `screen:<id>` (the `subscribe` message) needs the permission wall.view and answers at
 *   once with the screen's current state, if it has one.
 * - GET /api/screens/:id (server/wall/routes.ts) gives the same state.
 *
 * The state is a row of `screens` (migration 015), not process memory: it survives a restart, and
 * a wall connected to another process behind the load balancer reads the same one (the broadcast
 * itself crosses processes through the socket.io adapter). Each state carries the database time
 * it was set (`at`); a client that may see two states out of order keeps the later one.
 */
import type { z } from 'zod'
import { can } from '../auth/permissions.ts'
import type { Actor } from '../auth/sessions.ts'
import type { Queryable } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import { describeIssues } from '../http/validate.ts'
import type { Logger } from '../log.ts'
import { SCREEN_ID, ScreenPushRequest, ScreenReleaseRequest, type ScreenAnswer, type ScreenState, type ScreenView } from './events.ts'
import type { Io } from './socket.ts'

type IoSocket = Io['sockets']['sockets'] extends Map<string, infer S> ? S : never


export const screenRoom = (id: string) => `screen:${id}`
const SCREEN_ROOM = /^screen:(.+)$/

/** When a screen was never pushed to: its state is "released" since the epoch. */
const NEVER = new Date(0).toISOString()

interface ScreenRow {
  id: string
  view: ScreenView | null
  by_username: string | null
  by_name: string | null
  at: Date | string
}

const toState = (r: ScreenRow): ScreenState => ({
  screen: r.id,
  view: r.view,
  by: r.by_username === null ? null : { username: r.by_username, name: r.by_name },
  at: new Date(r.at).toISOString(),
})

/** The stored states of the screens (table `screens`). */
export class ScreenStore {
  constructor(private readonly db: Queryable) {}

  /** The state of a screen; `view: null` when released or never pushed (then `at` is the epoch). */
  async get(id: string): Promise<ScreenState> {
    return (await this.find(id)) ?? { screen: id, view: null, by: null, at: NEVER }
  }

  /** The stored state (a released screen's too), or null when the screen was never pushed to. */
  async find(id: string): Promise<ScreenState | null> {
    const { rows } = await this.db.query<ScreenRow>('SELECT id, view, by_username, by_name, at FROM screens WHERE id = $1', [id])
    return rows[0] ? toState(rows[0]) : null
  }

  /** Sets the screen's view (null: released) as pushed by `by`. */
  async set(id: string, view: ScreenView | null, by: Actor | null): Promise<ScreenState> {
    const { rows } = await this.db.query<ScreenRow>(
      `INSERT INTO screens (id, view, by_username, by_name, at) VALUES ($1, $2::jsonb, $3, $4, clock_timestamp())
       ON CONFLICT (id) DO UPDATE SET view = excluded.view, by_username = excluded.by_username, by_name = excluded.by_name, at = excluded.at
       RETURNING id, view, by_username, by_name, at`,
      [id, view === null ? null : JSON.stringify(view), by?.username ?? null, by?.displayName ?? null],
    )
    return toState(rows[0]!)
  }

  /** Why the actor may not push to or release screens (permission screens.push), or null when they may. */
  pushDenied(actor: Actor): string | null {
    return can(actor, 'screens.push') ? null : `pushing a view to a screen needs the permission screens.push, which the ${actor.role} role does not hold`
  }
}

/** Why the actor may not join these rooms (screen rooms need the permission wall.view), or null. */
export function screenRoomsDenied(actor: Actor, rooms: readonly string[]): string | null {
  if (can(actor, 'wall.view')) return null
  const screens = rooms.filter((r) => SCREEN_ROOM.test(r))
  return screens.length ? `watching a screen needs the permission wall.view, which the ${actor.role} role does not hold (${screens.join(', ')})` : null
}

/** A screen id from a request path; 400 naming the rule when it is not one. */
export function parseScreenId(id: string): string {
  if (!SCREEN_ID.test(id)) throw new HttpError(400, `"${id.slice(0, 80)}" is not a screen id: lower-case letters, digits, - and _ (at most 64, starting with a letter or digit)`)
  return id
}

/** The socket side of view sync: one per server process, handlers added to each socket by socket.ts. */
export class ScreenSync {
  readonly store: ScreenStore

  constructor(
    private readonly opts: {
      db: Queryable
      io: Io
      log: Logger
      /** socket.ts's counters of refused client messages: bad shape, and not allowed. */
      refused: { screen: number; screenDenied: number }
    },
  ) {
    this.store = new ScreenStore(opts.db)
  }

  /** Handles `screen:push` and `screen:release` on this socket. */
  attach(socket: IoSocket): void {
    const actor = socket.data.actor
    const { log, refused } = this.opts
    const handle = <T extends { screen: string }>(event: 'screen:push' | 'screen:release', schema: z.ZodType<T>, view: (req: T) => ScreenView | null) =>
      socket.on(event, (req, ack) => {
        const answer = typeof ack === 'function' ? ack : () => {}
        const parsed = schema.safeParse(req)
        if (!parsed.success) {
          refused.screen++
          log.warn({ user: actor.username, issues: parsed.error.issues }, `bad ${event} request`)
          return answer({ error: `bad ${event} request: ${describeIssues(parsed.error)}` })
        }
        this.#apply(actor, parsed.data.screen, view(parsed.data)).then(answer, (err: unknown) => {
          if (err instanceof HttpError && err.status === 403) {
            refused.screenDenied++
            log.warn({ user: actor.username, role: actor.role, screen: parsed.data.screen }, `${event} refused`)
            answer({ error: err.message })
          } else {
            log.error({ err }, `${event} failed`)
            answer({ error: `${event} failed; try again` })
          }
        })
      })
    handle('screen:push', ScreenPushRequest, (r) => r.view)
    handle('screen:release', ScreenReleaseRequest, () => null)
  }

  /** After the socket joined `rooms`: the current state of each screen among them that has one. */
  async joined(socket: IoSocket, rooms: readonly string[]): Promise<void> {
    for (const room of rooms) {
      const id = SCREEN_ROOM.exec(room)?.[1]
      if (!id) continue
      const state = await this.store.find(id)
      if (state) socket.emit('screen:state', state)
    }
  }

  async #apply(actor: Actor, screen: string, view: ScreenView | null): Promise<ScreenAnswer> {
    const denied = this.store.pushDenied(actor)
    if (denied) throw new HttpError(403, denied)
    const state = await this.store.set(screen, view, view === null ? null : actor)
    this.opts.io.to(screenRoom(screen)).emit('screen:state', state)
    return state
  }
}
