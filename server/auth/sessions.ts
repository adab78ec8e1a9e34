import crypto from 'node:crypto'
import type { Db } from '../db/index.ts'
import { scopePrefix } from './scope.ts'

/** The columns of a user row an Actor is made of (`u` users, `a` the scope's admin unit). */
export const USER_COLUMNS = `u.id, u.username, u.display_name, u.role, u.scope_code, a.parent_code IS NULL AS scope_is_root,
  ARRAY(SELECT permission FROM role_permissions rp WHERE rp.role = u.role ORDER BY 1) AS permissions`

/** Who is asking: every request, tile and socket carries one. */
export interface Actor {
  userId: number
  username: string
  displayName: string
  role: string
  scopeCode: string
  /** Code prefix that every object this actor may see starts with. */
  scopePrefix: string
  /** The scope is the top of the hierarchy: the actor also sees objects outside every grid. */
  unrestricted: boolean
  /** What the role may do (table role_permissions; server/auth/permissions.ts). */
  permissions: ReadonlySet<string>
}

export const SESSION_COOKIE = 'onegrid_session'

const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex')

export interface UserRow {
  id: number
  username: string
  display_name: string
  role: string
  scope_code: string
  scope_is_root: boolean
  permissions: string[]
}

export function toActor(u: UserRow): Actor {
  return {
    userId: u.id,
    username: u.username,
    displayName: u.display_name,
    role: u.role,
    scopeCode: u.scope_code,
    scopePrefix: scopePrefix(u.scope_code),
    unrestricted: u.scope_is_root,
    permissions: new Set(u.permissions),
  }
}

export function publicUser(a: Actor) {
  return { username: a.username, displayName: a.displayName, role: a.role, scope: a.scopeCode, permissions: [...a.permissions].sort() }
}

/** How long a looked-up session is trusted without asking the database again. */
export const SESSION_RECHECK_MS = 5_000
const RECENT_MAX = 10_000

export class Sessions {
  /**
   * Sessions looked up in the last SESSION_RECHECK_MS, by token hash (null: no such session).
   * Every tile request needs its asker, and a database round trip each was most of what a cached
   * tile cost. Ended here (logout), a session is forgotten at once; ended elsewhere (another
   * process, an expiry, a disabled user) it is honoured for at most SESSION_RECHECK_MS more.
   */
  readonly #recent = new Map<string, { actor: Actor | null; until: number }>()

  constructor(
    private readonly db: Db,
    private readonly hours: number,
    /** A session not used for this many minutes ends (0: only `hours` ends it). Use is noted at most every SESSION_RECHECK_MS. */
    private readonly idleMinutes = 0,
  ) {}

  /** Creates a session and returns its token (only its hash is stored). */
  async create(userId: number, userAgent: string | undefined): Promise<{ token: string; expires: Date }> {
    const token = crypto.randomBytes(32).toString('base64url')
    const expires = new Date(Date.now() + this.hours * 3600_000)
    await this.db.query('INSERT INTO sessions (token_hash, user_id, expires_at, user_agent) VALUES ($1, $2, $3, $4)', [
      sha256(token),
      userId,
      expires.toISOString(),
      userAgent?.slice(0, 300) ?? null,
    ])
    // Expired sessions are cleared as new ones are made; no timer needed.
    await this.db.query('DELETE FROM sessions WHERE expires_at < now()')
    return { token, expires }
  }

  async lookup(token: string | undefined | null): Promise<Actor | null> {
    if (!token || token.length > 200) return null
    const hash = sha256(token)
    const now = Date.now()
    const hit = this.#recent.get(hash)
    if (hit && hit.until > now) return hit.actor
    const actor = await this.#load(hash)
    this.#recent.delete(hash)
    // Oldest first out (a Map keeps insertion order).
    if (this.#recent.size >= RECENT_MAX) this.#recent.delete(this.#recent.keys().next().value!)
    this.#recent.set(hash, { actor, until: now + SESSION_RECHECK_MS })
    return actor
  }

  async #load(hash: string): Promise<Actor | null> {
    if (this.idleMinutes > 0 && !(await this.#touch(hash))) return null
    const { rows } = await this.db.query<UserRow>(
      `SELECT ${USER_COLUMNS}
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN admin_units a ON a.code = u.scope_code
        WHERE s.token_hash = $1 AND s.expires_at > now() AND NOT u.disabled`,
      [hash],
    )
    return rows[0] ? toActor(rows[0]) : null
  }

  /** With an idle timeout: notes the use of a session not idle for too long; false when it is (or is gone). */
  async #touch(hash: string): Promise<boolean> {
    const { rows } = await this.db.query(
      `UPDATE sessions SET last_seen_at = now()
        WHERE token_hash = $1 AND expires_at > now() AND last_seen_at > now() - make_interval(secs => $2::float8)
       RETURNING 1`,
      [hash, this.idleMinutes * 60],
    )
    return rows.length > 0
  }

  /**
   * Ends every session of a user ("sign out everywhere"); returns how many there were. This
   * process forgets them at once; other processes honour them for at most SESSION_RECHECK_MS more.
   */
  async destroyAll(userId: number): Promise<number> {
    for (const [hash, hit] of this.#recent) if (hit.actor?.userId === userId) this.#recent.delete(hash)
    const { rows } = await this.db.query<{ n: number }>('WITH d AS (DELETE FROM sessions WHERE user_id = $1 RETURNING 1) SELECT count(*)::int AS n FROM d', [userId])
    for (const fn of this.#allEnded) fn(userId)
    return rows[0].n
  }

  readonly #allEnded: ((userId: number) => void)[] = []

  /** Called after every session of a user has ended (destroyAll): the app disconnects the user's sockets. */
  onAllEnded(fn: (userId: number) => void): void {
    this.#allEnded.push(fn)
  }

  async destroy(token: string): Promise<void> {
    const hash = sha256(token)
    this.#recent.delete(hash)
    await this.db.query('DELETE FROM sessions WHERE token_hash = $1', [hash])
  }
}

/** The session token of a request: the cookie, or `Authorization: Bearer …` for devices. */
export function tokenFrom(cookieValue: string | undefined, authorization: string | undefined): string | undefined {
  const m = authorization?.match(/^Bearer\s+([A-Za-z0-9_-]+)$/)
  return m?.[1] ?? cookieValue
}
