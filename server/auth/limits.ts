/**
 * Sign-in rate limiting and temporary lockout (issue 10).
 *
 * - Per username: ONEGRID_LOGIN_MAX_FAILURES failed sign-ins in a row lock the username for
 *   ONEGRID_LOGIN_LOCK_MINUTES; while locked every attempt — the right password too — gets 429 with
 *   `Retry-After` and the time the lock ends, without the password being checked. A successful
 *   sign-in clears the count; a lock that has run out starts it again at the next failure. The
 *   state is in the database (login_failures, migration 019), so the lock holds across processes
 *   and restarts. Usernames that do not exist are counted and locked the same way, so the answers
 *   never tell whether an account exists.
 * - Per client address (ctx.ip; app.proxy is off, so the socket's address): once it has
 *   ONEGRID_LOGIN_IP_FAILURES failed sign-ins within a window of ONEGRID_LOGIN_LOCK_MINUTES, every
 *   sign-in from it is refused (429 with `Retry-After`) until the window ends. Successes do not
 *   count. Kept in this process's memory (rate-limiter-flexible): with several processes an address
 *   gets the budget once per process — the per-username lock, in the database, is the one that holds.
 *
 * Attempts for one username run one after another in a process, so a burst of parallel guesses
 * cannot all be checked before the lock is written; across processes at most one attempt per
 * process can slip past. An attempt counts against the address before its password is checked
 * and is given back when it succeeds, for the same reason.
 */
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible'
import type { Queryable } from '../db/index.ts'
import { HttpError } from '../http/errors.ts'

export interface LoginLimitSettings {
  /** Failed sign-ins in a row that lock a username. */
  maxFailures: number
  /** How long a lock lasts, and the per-address window, in minutes (fractions allowed). */
  lockMinutes: number
  /** Failed sign-ins per address and window before the address is refused; 0: no per-address limit. */
  ipFailures: number
}

/** The answer to a sign-in while the username or the address is refused. */
export class LoginRefused extends HttpError {
  constructor(
    message: string,
    code: 'account_locked' | 'too_many_attempts',
    /** Seconds until an attempt may succeed again (the `Retry-After` header). */
    readonly retryAfter: number,
    /** When the refusal ends. */
    readonly until: Date,
  ) {
    super(429, message, code)
  }
}

/** "3 minutes", "45 seconds": a short, rounded-up duration for messages. */
function humanSeconds(s: number): string {
  if (s >= 90) {
    const m = Math.ceil(s / 60)
    return `${m} minutes`
  }
  return s === 1 ? '1 second' : `${s} seconds`
}

interface FailureRow {
  failures: number
  locked_until: Date | string | null
  retry_after: number | null
}

export class LoginLimits {
  readonly #ip: RateLimiterMemory | null
  /** The tail of each username's queue of attempts in this process. */
  readonly #queue = new Map<string, Promise<void>>()

  constructor(
    private readonly db: Queryable,
    readonly settings: LoginLimitSettings,
  ) {
    this.#ip = settings.ipFailures > 0 ? new RateLimiterMemory({ keyPrefix: 'login-ip', points: settings.ipFailures, duration: settings.lockMinutes * 60 }) : null
  }

  /**
   * Runs `check` (which verifies the password and says whether the sign-in succeeds) unless the
   * username or the address is refused — then throws a LoginRefused (429) and sets `Retry-After`
   * through `setRetryAfter` — and records the result. Returns what `check` returned.
   */
  async attempt(username: string, address: string, check: () => Promise<boolean>, setRetryAfter: (seconds: number) => void = () => {}): Promise<boolean> {
    try {
      await this.#takeAddress(address || 'unknown')
      let counted = true
      try {
        const ok = await this.#serial(username, () => this.#attemptUser(username, check))
        if (ok) counted = false
        return ok
      } catch (err) {
        // A refused (locked) username or a failure before the password was checked costs the address nothing.
        counted = false
        throw err
      } finally {
        if (!counted) await this.#ip?.reward(address || 'unknown', 1)
      }
    } catch (err) {
      if (err instanceof LoginRefused) setRetryAfter(err.retryAfter)
      throw err
    }
  }

  /** Counts an attempt against the address; refused once the address has used up its failures. */
  async #takeAddress(address: string): Promise<void> {
    if (!this.#ip) return
    try {
      await this.#ip.consume(address, 1)
    } catch (res) {
      if (!(res instanceof RateLimiterRes)) throw res
      const seconds = Math.max(1, Math.ceil(res.msBeforeNext / 1000))
      const until = new Date(Date.now() + res.msBeforeNext)
      throw new LoginRefused(
        `too many failed sign-ins from your address (${this.settings.ipFailures} within ${this.settings.lockMinutes} minutes): sign-ins from it are refused until ${until.toISOString()}, try again in ${humanSeconds(seconds)}`,
        'too_many_attempts',
        seconds,
        until,
      )
    }
  }

  async #attemptUser(username: string, check: () => Promise<boolean>): Promise<boolean> {
    const { rows } = await this.db.query<FailureRow>(
      `SELECT failures, locked_until, ceil(extract(epoch FROM locked_until - now()))::int AS retry_after
         FROM login_failures WHERE username = $1`,
      [username],
    )
    const row = rows[0]
    if (row?.retry_after != null && row.retry_after > 0) throw this.#locked(row)
    const ok = await check()
    if (ok) {
      if (row) await this.db.query('DELETE FROM login_failures WHERE username = $1', [username])
      return true
    }
    await this.#recordFailure(username)
    return false
  }

  async #recordFailure(username: string): Promise<void> {
    // Failures restart at 1 once a lock has run out; the Nth in a row sets the lock.
    await this.db.query(
      `INSERT INTO login_failures AS f (username, failures, last_failed_at, locked_until)
       VALUES ($1, 1, now(), CASE WHEN 1 >= $2::int THEN now() + make_interval(secs => $3::float8) END)
       ON CONFLICT (username) DO UPDATE SET
         failures = CASE WHEN f.locked_until <= now() THEN 1 ELSE f.failures + 1 END,
         last_failed_at = now(),
         locked_until = CASE WHEN (CASE WHEN f.locked_until <= now() THEN 1 ELSE f.failures + 1 END) >= $2::int
                             THEN now() + make_interval(secs => $3::float8) END`,
      [username, this.settings.maxFailures, this.settings.lockMinutes * 60],
    )
    // Forgotten a day after the last failure (and never while locked): unknown usernames do not pile up.
    await this.db.query(`DELETE FROM login_failures WHERE last_failed_at < now() - interval '1 day' AND (locked_until IS NULL OR locked_until < now())`)
  }

  #locked(row: FailureRow): LoginRefused {
    const until = new Date(row.locked_until!)
    const seconds = Math.max(1, row.retry_after!)
    return new LoginRefused(
      `this account is temporarily locked after ${row.failures} failed sign-ins in a row: it is locked until ${until.toISOString()}, try again in ${humanSeconds(seconds)}`,
      'account_locked',
      seconds,
      until,
    )
  }

  /** Runs fn after every earlier attempt for the same key in this process has finished. */
  async #serial<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#queue.get(key) ?? Promise.resolve()
    let release!: () => void
    const done = new Promise<void>((resolve) => (release = resolve))
    const tail = before.then(() => done)
    this.#queue.set(key, tail)
    await before
    try {
      return await fn()
    } finally {
      release()
      if (this.#queue.get(key) === tail) this.#queue.delete(key)
    }
  }
}
