/**
 * Leader election: of all server processes on one database, one runs the periodic jobs.
 *
 * On PostgreSQL the leader is the process holding a session-level advisory lock on a dedicated
 * connection (not the pool's: a pooled connection would hand the lock to whoever borrows it next).
 * The others try again every few seconds. The lock lives exactly as long as that connection: when
 * the connection drops (or a periodic check on it fails), leadership is lost here at once and the
 * server frees the lock for another process. The embedded database serves one process only: it is
 * always the leader.
 */
import pg from 'pg'
import type { Logger } from '../log.ts'

export interface Leader {
  /** Whether this process may run the jobs now. */
  readonly isLeader: boolean
  start(): void
  /** Gives leadership up (another process takes over) and stops trying. */
  stop(): Promise<void>
}

/** The advisory-lock key of the jobs' leader (the 71420xx keys are OneGrid's, see migrate.ts). */
export const LEADER_LOCK_KEY = 7142100

/** One process only (embedded PGlite): always the leader. */
export class SoleLeader implements Leader {
  readonly isLeader = true
  start(): void {}
  async stop(): Promise<void> {}
}

export class PgLeader implements Leader {
  #client: pg.Client | null = null
  #leader = false
  #stopped = true
  #timer: NodeJS.Timeout | null = null
  #busy: Promise<void> = Promise.resolve()

  constructor(
    private readonly opts: {
      url: string
      log: Logger
      /** Advisory-lock key: processes with the same key compete. */
      key?: number
      /** How often a follower tries to become leader, and a leader checks its connection. */
      retryMs?: number
    },
  ) {}

  get isLeader(): boolean {
    return this.#leader
  }

  start(): void {
    if (!this.#stopped) return
    this.#stopped = false
    this.#tick()
  }

  #tick(): void {
    this.#busy = this.#attempt().finally(() => {
      if (!this.#stopped) this.#timer = setTimeout(() => this.#tick(), this.opts.retryMs ?? 5_000)
    })
  }

  async #attempt(): Promise<void> {
    try {
      if (!this.#client) {
        const client = new pg.Client({ connectionString: this.opts.url, connectionTimeoutMillis: 5_000, application_name: 'onegrid-leader' })
        client.on('error', (err) => this.#lost(client, err.message))
        client.on('end', () => this.#lost(client, 'connection closed'))
        await client.connect()
        this.#client = client
      }
      if (this.#leader) {
        // A connection the server has dropped silently is found out here.
        await this.#client.query('SELECT 1')
        return
      }
      const { rows } = await this.#client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [this.opts.key ?? LEADER_LOCK_KEY])
      if (rows[0]?.locked && !this.#stopped) {
        this.#leader = true
        this.opts.log.info({ pid: process.pid }, 'this process is now the leader: it runs the periodic jobs')
      }
    } catch (err) {
      const client = this.#client
      if (client) this.#lost(client, (err as Error).message)
      else this.opts.log.debug({ err: (err as Error).message }, 'leader election: cannot reach the database; trying again')
    }
  }

  #lost(client: pg.Client, why: string): void {
    if (this.#client !== client) return
    this.#client = null
    if (this.#leader) this.opts.log.warn({ why }, 'leadership lost: periodic jobs stop until it is won again')
    this.#leader = false
    client.end().catch(() => {})
  }

  async stop(): Promise<void> {
    this.#stopped = true
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    await this.#busy
    const client = this.#client
    this.#client = null
    this.#leader = false
    // Ending the session releases its advisory lock.
    if (client) await client.end().catch(() => {})
  }
}
