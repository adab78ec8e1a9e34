import type { Socket } from 'socket.io-client'
import type { TelemetryItem } from '../../server/realtime/telemetry.ts'
import type { ViewportAnswer } from '../../server/realtime/events.ts'

export type { TelemetryItem }
export type TelemetryKind = TelemetryItem['kind']
/** [west, south, east, north], WGS84. */
export type BBox = [number, number, number, number]

/** The part of a socket.io client this service uses (a fake in unit tests). */
export type TelemetrySocket = Pick<Socket, 'connected' | 'on' | 'off' | 'emit'>

export interface LiveTelemetryOptions {
  /** Fewest milliseconds between two `viewport` messages while the map moves; default 500. */
  throttleMs?: number
  /** Called after each `telemetry` message with the items that changed. */
  onChange?: (changed: TelemetryItem[]) => void
  onError?: (message: string) => void
  /** Clock, for tests. */
  now?: () => number
}

const keyOf = (kind: string, id: number) => `${kind}:${id}`

/**
 * The live values (sensor readings, worker positions) of what the map shows: keeps the latest
 * item per (kind, id) from the server's `telemetry` messages, and tells the server the viewport
 * (`viewport`, throttled while the map moves: at once, then at most once per throttleMs with the
 * last bbox) — the server sends nothing before it knows. The viewport is said again after every
 * reconnect; items that left the viewport are forgotten, so the map stays bounded.
 */
export class LiveTelemetry {
  /** Latest item per `${kind}:${id}` (not reactive; pair with onChange). */
  readonly items = new Map<string, TelemetryItem>()
  #bbox: BBox | null = null
  #kinds: TelemetryKind[] = ['sensor', 'worker']
  #lastSent = -Infinity
  #timer: ReturnType<typeof setTimeout> | null = null
  readonly #throttleMs: number
  readonly #now: () => number
  readonly #onTelemetry = (p: { items?: TelemetryItem[] }) => this.#receive(p)
  readonly #onConnect = () => {
    if (this.#bbox) this.#send()
  }

  constructor(
    private readonly socket: TelemetrySocket,
    private readonly opts: LiveTelemetryOptions = {},
  ) {
    this.#throttleMs = opts.throttleMs ?? 500
    this.#now = opts.now ?? (() => Date.now())
    socket.on('telemetry', this.#onTelemetry)
    socket.on('connect', this.#onConnect)
  }

  /** The map now shows this box (null: nothing; no more telemetry). */
  setViewport(bbox: BBox | null, kinds?: TelemetryKind[]): void {
    this.#bbox = bbox ? [...bbox] : null
    if (kinds) this.#kinds = [...kinds]
    this.#prune()
    if (this.#timer) return
    const wait = this.#lastSent + this.#throttleMs - this.#now()
    if (wait <= 0) this.#send()
    else
      this.#timer = setTimeout(() => {
        this.#timer = null
        this.#send()
      }, wait)
  }

  #send(): void {
    this.#lastSent = this.#now()
    if (!this.socket.connected) return
    this.socket.emit('viewport', { bbox: this.#bbox, kinds: this.#kinds }, (answer: ViewportAnswer) => {
      if ('error' in answer) (this.opts.onError ?? ((m: string) => console.warn(`[onegrid] ${m}`)))(answer.error)
    })
  }

  #receive(p: { items?: TelemetryItem[] }): void {
    if (!Array.isArray(p?.items)) return
    const changed: TelemetryItem[] = []
    for (const item of p.items) {
      const key = keyOf(item.kind, item.id)
      const had = this.items.get(key)
      // Latest wins: a value older than the one held (a late message) is ignored.
      if (had && Date.parse(had.ts) > Date.parse(item.ts)) continue
      this.items.set(key, item)
      changed.push(item)
    }
    if (changed.length) this.opts.onChange?.(changed)
  }

  /** Forgets items outside the viewport or of kinds no longer shown. */
  #prune(): void {
    const bbox = this.#bbox
    for (const [key, item] of this.items) {
      const inside = bbox && item.lon >= bbox[0] && item.lon <= bbox[2] && item.lat >= bbox[1] && item.lat <= bbox[3]
      if (!inside || !this.#kinds.includes(item.kind)) this.items.delete(key)
    }
  }

  /** Items of one kind (e.g. for a deck.gl layer's data). */
  list(kind: TelemetryKind): TelemetryItem[] {
    return [...this.items.values()].filter((i) => i.kind === kind)
  }

  dispose(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = null
    this.socket.off('telemetry', this.#onTelemetry)
    this.socket.off('connect', this.#onConnect)
  }
}
