/**
 * Nothing missed: domain events are written to `event_log` in the transaction of the change
 * they describe, numbered in commit order (migration 006), and pushed to the sockets that may
 * see them only after that transaction commits, in seq order (write). A client keeps the last
 * `seq` it saw; socket.io's connection-state recovery covers a short drop, and `replay { since }`
 * anything longer, from the log.
 */
import type { Actor } from '../auth/sessions.ts'
import { scopeFilter } from '../auth/scope.ts'
import type { Db, Queryable } from '../db/index.ts'
import { DomainEvent, roomsSeeing } from './events.ts'
import type { Io } from './socket.ts'

/** The most events one replay answer carries; the client asks again from the last one. */
export const REPLAY_LIMIT = 2000

export interface NewEvent {
  type: string
  /** The admin/grid code the event is about (decides who sees it); null: outside every grid. */
  scope: string | null
  payload: Record<string, unknown>
}

/** An event_log row as the drivers return it (seq is a bigint: a string from pg). */
export interface EventRow {
  seq: string | number
  at: Date | string
  type: string
  scope: string | null
  payload: Record<string, unknown>
}

export const toEvent = (r: EventRow): DomainEvent => ({
  seq: Number(r.seq),
  at: new Date(r.at).toISOString(),
  type: r.type,
  scope: r.scope,
  payload: r.payload,
})

export class EventLog {
  #io: Io | null = null
  /** Seqs appended by this process's transactions that have not ended yet. */
  readonly #open = new Set<number>()
  /** Committed events waiting for an open transaction with a lower seq to end. */
  #ready: DomainEvent[] = []

  constructor(private readonly db: Db) {}

  /** The HTTP app is built before socket.io is attached; main binds it. Until then nothing is pushed. */
  bind(io: Io): void {
    this.#io = io
  }

  /**
   * Runs `work` in one transaction; the events it appends are stored with the change and pushed
   * once the transaction has committed (none if it rolls back).
   *
   * Pushed in seq order: a transaction's locks are released when it commits, a moment before its
   * client hears so, and under load a later transaction (its seq taken as the lock came free) can
   * commit and be answered first. Its events wait until every transaction of this process holding
   * a lower seq has ended (pushed or rolled back). Otherwise a client would get seq n+1 before n —
   * and drop n as already seen, or miss it for good if the process died before pushing it (a
   * client replays only after the last seq it saw). Another process's seqs are not waited for.
   */
  async write<T>(work: (tx: Queryable, append: (e: NewEvent) => Promise<DomainEvent>) => Promise<T>): Promise<T> {
    const written: DomainEvent[] = []
    try {
      const result = await this.db.transaction((tx) => work(tx, async (e) => {
        const event = await appendEvent(tx, e)
        // Known before this transaction commits, so before any later seq can be taken.
        this.#open.add(event.seq)
        written.push(event)
        return event
      }))
      this.#ready.push(...written)
      return result
    } finally {
      for (const e of written) this.#open.delete(e.seq)
      this.#pushReady()
    }
  }

  /** Pushes the committed events below the lowest seq still open, in seq order. */
  #pushReady(): void {
    if (!this.#ready.length) return
    let lowest = Infinity
    for (const seq of this.#open) if (seq < lowest) lowest = seq
    this.#ready.sort((a, b) => a.seq - b.seq)
    let n = 0
    while (n < this.#ready.length && this.#ready[n]!.seq < lowest) this.push(this.#ready[n++]!)
    this.#ready = this.#ready.slice(n)
  }

  /** Sends a committed event to the sockets that may see it. */
  push(e: DomainEvent): void {
    this.#io?.to(roomsSeeing(e.scope)).emit('event', e)
  }

  /** The events after `since` the actor may see, in order; `more` when there are further ones. */
  async replay(actor: Actor, since: number, limit = REPLAY_LIMIT): Promise<{ events: DomainEvent[]; more: boolean }> {
    const n = Math.min(Math.max(1, limit), REPLAY_LIMIT)
    const { rows } = await this.db.query<EventRow>(
      `SELECT seq, at, type, scope, payload FROM event_log
        WHERE seq > $1::bigint AND ($2::text IS NULL OR scope LIKE $2::text || '%')
        ORDER BY seq
        LIMIT $3`,
      [since, scopeFilter(actor), n + 1],
    )
    return { events: rows.slice(0, n).map(toEvent), more: rows.length > n }
  }

  /** The last seq committed (a client that starts now has seen everything up to it). */
  async last(): Promise<number> {
    const { rows } = await this.db.query<{ last: string | number }>('SELECT last FROM event_seq WHERE id = 1')
    return Number(rows[0]?.last ?? 0)
  }
}

/**
 * Appends one event inside the caller's transaction. Taking the number locks the counter row
 * until that transaction ends, which is what makes seq follow commit order.
 */
export async function appendEvent(tx: Queryable, e: NewEvent): Promise<DomainEvent> {
  const { rows } = await tx.query<EventRow>(
    `WITH n AS (UPDATE event_seq SET last = last + 1 WHERE id = 1 RETURNING last)
     INSERT INTO event_log (seq, type, scope, payload)
     SELECT n.last, $1, $2, $3::jsonb FROM n
     RETURNING seq, at, type, scope, payload`,
    [e.type, e.scope, JSON.stringify(e.payload)],
  )
  return DomainEvent.parse(toEvent(rows[0]!))
}
