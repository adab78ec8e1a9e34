/**
 * View sync (同屏推送): a seat or the cockpit pushes a view — camera, layers, a selection, a
 * briefing scene — to a wall screen; the wall, subscribed to the room `screen:<id>`, follows it
 * and shows who is in control until the view is released.
 *
 * - `screen:push {screen, view}` / `screen:release {screen}` (socket): admins, dispatchers,
 *   leaders and shift leaders (值班长, users.duties) only; the ack is the new ScreenState or
 *   `{error}` naming why not. Every socket in `screen:<id>` gets `screen:state`.
 * - Joining `screen:<id>` (the `subscribe` message) is for the roles that watch the wall's layers
 *   (layers/objects.ts COMMAND) and answers at once with the screen's current state, if it has one.
 * - GET /api/screens/:id (server/wall/routes.ts) gives the same state.
 *
 * The state is a row of `screens` (migration 015), not process memory: it survives a restart, and
 * a wall connected to another process behind the load balancer reads the same one (the broadcast
 * itself crosses processes through the socket.io adapter). Each state carries the database time
 * it was set (`at`); a client that may see two states out of order keeps the later one.
 */
import type { z } from 'zod'
import { COMMAND } from '../../layers/objects.ts'
import type { Actor } from '../auth/sessions.ts'
import type { Queryable } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'
import { describeIssues } from '../http/validate.ts'
import type { Logger } from '../log.ts'
import { SCREEN_ID, ScreenPushRequest, ScreenReleaseRequest, type ScreenAnswer, type ScreenState, type ScreenView } from './events.ts'
import type { Io } from './socket.ts'

type IoSocket = Io['sockets']['sockets'] extends Map<string, infer S> ? S : never

/** Roles that may push and release views (besides users holding the shift-leader duty). */
export const PUSH_ROLES: readonly string[] = ['admin', 'dispatcher', 'leader']
/** The workflow duty (users.duties, migration 011) that may push whatever the role: the shift leader. */
export const PUSH_DUTY = 'shift_leader'
/** Roles that may watch a screen (join its room, read its state): those that see the command layers. */
export const WATCH_ROLES: readonly string[] = COMMAND

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

  /** Why the actor may not push to or release screens, or null when they may. */
  async pushDenied(actor: Actor): Promise<string | null> {
    if (PUSH_ROLES.includes(actor.role)) return null
    const { rows } = await this.db.query<{ shift_leader: boolean }>('SELECT $2::text = ANY(duties) AS shift_leader FROM users WHERE id = $1', [actor.userId, PUSH_DUTY])
    if (rows[0]?.shift_leader) return null
    return `only ${PUSH_ROLES.join(', ')} users or shift leaders (值班长) may push a view to a screen; you are signed in as ${actor.role}`
  }
}

/** Why the actor may not join these rooms (screen rooms are for the roles that watch the wall), or null. */
export function screenRoomsDenied(actor: Actor, rooms: readonly string[]): string | null {
  if (WATCH_ROLES.includes(actor.role)) return null
  const screens = rooms.filter((r) => SCREEN_ROOM.test(r))
  return screens.length ? `only ${WATCH_ROLES.join(', ')} users may watch a screen; you are signed in as ${actor.role} (${screens.join(', ')})` : null
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
    const denied = await this.store.pushDenied(actor)
    if (denied) throw new HttpError(403, denied)
    const state = await this.store.set(screen, view, view === null ? null : actor)
    this.opts.io.to(screenRoom(screen)).emit('screen:state', state)
    return state
  }
}
