import type { Socket } from 'socket.io-client'

/** A domain event as the server sends it (server/realtime/events.ts DomainEvent). */
export interface DomainEvent {
  seq: number
  at: string
  type: string
  scope: string | null
  payload: Record<string, unknown>
}

type ReplayAnswer = { events: DomainEvent[]; more: boolean } | { error: string }

/**
 * Every domain event the user may see, in order, once — across reconnects. It keeps the last
 * seq it handed on. A reconnect that socket.io recovered (a short drop) re-sends what was missed
 * by itself; any other (longer than the server's recovery window, a new page, a server restart)
 * asks the server to `replay` from that seq, holding live events back meanwhile. Events at or
 * below the last seq are dropped, so nothing is handed on twice.
 */
export class EventStream {
  /** The last seq handed on; null until the first hello. */
  lastSeq: number | null = null
  #replaying = false
  #held: DomainEvent[] = []

  constructor(
    private readonly socket: Socket,
    private readonly onEvent: (e: DomainEvent) => void,
    private readonly onError: (message: string) => void = (m) => console.warn(`[onegrid] ${m}`),
  ) {
    socket.on('hello', (hello: { lastSeq?: number }) => {
      if (this.lastSeq === null) {
        // A new client starts from now; the page loaded the current state over HTTP.
        this.lastSeq = typeof hello.lastSeq === 'number' ? hello.lastSeq : 0
        return
      }
      if (!socket.recovered) void this.#replay()
    })
    socket.on('event', (e: DomainEvent) => {
      if (this.#replaying) this.#held.push(e)
      else this.#deliver(e)
    })
  }

  #deliver(e: DomainEvent): void {
    if (this.lastSeq !== null && e.seq <= this.lastSeq) return
    this.lastSeq = e.seq
    this.onEvent(e)
  }

  async #replay(): Promise<void> {
    if (this.#replaying) return
    this.#replaying = true
    try {
      for (;;) {
        const answer = (await this.socket.timeout(30_000).emitWithAck('replay', { since: this.lastSeq ?? 0 })) as ReplayAnswer
        if ('error' in answer) {
          this.onError(`could not replay missed events: ${answer.error}`)
          break
        }
        for (const e of answer.events) this.#deliver(e)
        if (!answer.more) break
      }
    } catch (err) {
      this.onError(`could not replay missed events: ${(err as Error).message}`)
    } finally {
      this.#replaying = false
      const held = this.#held.sort((a, b) => a.seq - b.seq)
      this.#held = []
      for (const e of held) this.#deliver(e)
    }
  }
}
