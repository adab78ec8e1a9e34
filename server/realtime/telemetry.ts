/**
 * High-rate telemetry (sensor readings, worker positions): not domain events — they are not
 * written to the event log (their tables hold them) — but pushed live, coalesced per client
 * (latest value per object per interval) and filtered to what the client may see (scope) and
 * looks at (its viewport), so a wall gets a steady, bounded stream however fast devices report.
 *
 * The interface (TelemetryItem, TelemetrySink) is what ingest, positions and the simulator use;
 * the class Telemetry below is the real sink bound to socket.io.
 */
import KDBush from 'kdbush'
import { z } from 'zod'
import type { Logger } from '../log.ts'
import type { Io } from './socket.ts'

/** One live value: the latest reading of a sensor, or the latest position of a worker. */
export interface TelemetryItem {
  kind: 'sensor' | 'worker'
  /** The object's id in its table (sensors.id, workers.id). */
  id: number
  lon: number
  lat: number
  /** The grid/admin code the object is in (decides who may see it); null: outside every grid. */
  scope: string | null
  /** ISO 8601 time of the reading or fix. */
  ts: string
  /** Kind-specific values, e.g. { value, status } for a sensor, { speed, heading, outOfGrid } for a worker. */
  data: Record<string, unknown>
}

export const TelemetryItemSchema = z.object({
  kind: z.enum(['sensor', 'worker']),
  id: z.number().int(),
  lon: z.number(),
  lat: z.number(),
  scope: z.string().nullable(),
  ts: z.string(),
  data: z.record(z.string(), z.unknown()),
})

export interface TelemetrySink {
  /** Hands one live value on; never throws, never waits. */
  offer(item: TelemetryItem): void
}

/** Goes nowhere (the CLI, tests without sockets). */
export const noTelemetry: TelemetrySink = { offer() {} }

// ─── the implementation: coalescing, scope and viewport filter, cross-process fan-out ─────────

/** What a client looks at (client message `viewport`, events.ts ViewportRequest). */
export interface Viewport {
  /** [west, south, east, north], WGS84. */
  bbox: [number, number, number, number]
  kinds: TelemetryItem['kind'][]
}

export interface TelemetryStats {
  /** Items handed to offer() here. */
  offered: number
  /** Items replaced by a newer value of the same object before they were sent (the point of coalescing). */
  coalesced: number
  /** Item deliveries: one item to one socket. */
  sent: number
  /** `telemetry` messages written to sockets. */
  messages: number
  dropped: {
    /** Offers without a usable id or position. */
    invalid: number
    /** Pending values dropped because too many distinct objects waited (oldest first). */
    pending: number
    /** Values a slow client had not taken yet, dropped oldest first past its bound. */
    slowClient: number
  }
  /** Items received from other processes / sent to them (Redis adapter). */
  fromPeers: number
  toPeers: number
  /** Sockets with a viewport, and the (scope, viewport) groups they form. */
  clients: number
  groups: number
  intervalMs: number
}

export interface TelemetryOptions {
  /** Coalescing interval (ONEGRID_TELEMETRY_MS); 0: every item is sent at once, uncoalesced. */
  intervalMs: number
  /** Items per message at most; the rest goes in the next one. */
  maxItemsPerMessage?: number
  /** Values kept for one slow client at most (latest per object; oldest dropped past it). */
  maxBacklog?: number
  /** Distinct objects waiting for the next tick at most. */
  maxPending?: number
  log?: Logger
}

/** Viewports are widened to this grid (degrees, ~100 m) so screens showing about the same place share one group. */
const SNAP = 1e-3
/** Uncoalesced mode: a socket with more packets than this waiting in its buffer is treated as slow. */
const MAX_WRITE_BUFFER = 1000
/** Indexing the items of a tick spatially pays off from about this many items. */
const INDEX_FROM = 256

const keyOf = (kind: string, id: number) => `${kind}:${id}`
const tsOf = (item: TelemetryItem) => Date.parse(item.ts)

/** Sockets sharing a scope and a (snapped) viewport: the items they get are filtered and serialised once. */
interface Group {
  key: string
  room: string
  /** Scope code prefix; null for unrestricted sockets (who also see objects outside every grid). */
  prefix: string | null
  bbox: [number, number, number, number]
  kinds: Set<TelemetryItem['kind']>
  sockets: Set<string>
  /** Items over the per-message cap, sent in the next tick (latest per object). */
  carry: Map<string, TelemetryItem>
}

interface Client {
  socket: TelemetrySocket
  group: Group
  /** Values this socket missed while it was slow (latest per object), sent once it drains. */
  backlog: Map<string, TelemetryItem> | null
}

type TelemetrySocket = Io['sockets']['sockets'] extends Map<string, infer S> ? S : never

/**
 * The live stream of sensor readings and worker positions to screens.
 *
 * offer() keeps the latest value per object; every `intervalMs` each socket that said what it
 * looks at (`viewport`) gets ONE `telemetry` message with the values it may see (its scope) inside
 * its viewport — a bounded stream however fast devices report. A socket without a viewport gets
 * nothing: a page that shows no map (dispatch lists, the field app, …) should not carry the whole
 * city's stream, and for a root-scope user "everything in scope" would be every reading of the
 * city. Sockets with the same scope and viewport form a group whose message is built and
 * serialised once and written to all of them (a room broadcast, `volatile` so socket.io's
 * recovery buffer does not keep stale telemetry for two minutes). A socket whose previous message
 * has not left yet is slow: it is skipped and its values wait in a per-socket map, latest per
 * object, bounded — never an unbounded queue.
 *
 * Several processes (Redis adapter): each tick, the values offered here go to the other processes
 * (io.serverSideEmit); each merges what its peers sent into its own tick before fanning out to its
 * own sockets, so a reading ingested by process A reaches a wall connected to process B.
 *
 * intervalMs 0 (benchmarks, like-for-like against a raw broadcast): no coalescing, each item is
 * sent at once as its own message.
 */
export class Telemetry implements TelemetrySink {
  readonly stats: TelemetryStats
  readonly #intervalMs: number
  readonly #maxItems: number
  readonly #maxBacklog: number
  readonly #maxPending: number
  readonly #log: Logger | undefined
  #io: Io | null = null
  /** Offered here since the last tick: fanned out locally and forwarded to peers. */
  #local = new Map<string, TelemetryItem>()
  /** Received from peers since the last tick: fanned out locally only. */
  #remote = new Map<string, TelemetryItem>()
  readonly #groups = new Map<string, Group>()
  readonly #clients = new Map<string, Client>()
  readonly #hooked = new WeakSet<TelemetrySocket>()
  #timer: NodeJS.Timeout | null = null
  #peerTimer: NodeJS.Timeout | null = null
  #hasPeers = false
  /** Uncoalesced mode: items waiting to go to peers (sent together on the next turn of the event loop). */
  #toPeers: TelemetryItem[] = []
  #peerFlush: NodeJS.Immediate | null = null

  constructor(opts: TelemetryOptions) {
    this.#intervalMs = opts.intervalMs
    this.#maxItems = opts.maxItemsPerMessage ?? 5000
    this.#maxBacklog = opts.maxBacklog ?? 20_000
    this.#maxPending = opts.maxPending ?? 200_000
    this.#log = opts.log
    this.stats = {
      offered: 0,
      coalesced: 0,
      sent: 0,
      messages: 0,
      dropped: { invalid: 0, pending: 0, slowClient: 0 },
      fromPeers: 0,
      toPeers: 0,
      clients: 0,
      groups: 0,
      intervalMs: opts.intervalMs,
    }
  }

  /** Starts the ticks on socket.io (main binds it once attached); until then offers only wait. */
  bind(io: Io): void {
    this.#io = io
    // A socket that socket.io recovered (short drop) keeps its data, viewport included.
    io.on('connection', (socket) => {
      if (socket.recovered && socket.data.viewport) this.watch(socket, socket.data.viewport)
    })
    io.on('telemetry', (items: unknown) => this.#fromPeer(items))
    const checkPeers = () => {
      io.of('/')
        .adapter.serverCount()
        .then((n) => (this.#hasPeers = n > 1))
        .catch(() => {})
    }
    checkPeers()
    this.#peerTimer = setInterval(checkPeers, 2000)
    this.#peerTimer.unref()
    if (this.#intervalMs > 0) {
      this.#timer = setInterval(() => this.flush(), this.#intervalMs)
      this.#timer.unref()
    }
  }

  /** Hands one live value on: kept until the next tick (latest per object wins). Never throws. */
  offer(item: TelemetryItem): void {
    this.stats.offered++
    if (!Number.isFinite(item?.lon) || !Number.isFinite(item?.lat) || !Number.isInteger(item?.id)) {
      this.stats.dropped.invalid++
      return
    }
    if (this.#intervalMs === 0) {
      if (this.#io) this.#fanOut([item])
      this.#forwardNow(item)
      return
    }
    this.#keep(this.#local, item)
  }

  /** Merges a value into a pending map: the newer of the two per object stays. */
  #keep(into: Map<string, TelemetryItem>, item: TelemetryItem): void {
    const key = keyOf(item.kind, item.id)
    const had = into.get(key)
    if (had) {
      this.stats.coalesced++
      if (tsOf(had) > tsOf(item)) return
      into.delete(key)
    } else if (into.size >= this.#maxPending) {
      // Oldest first out (a Map keeps insertion order; a re-offered object moves to the end).
      into.delete(into.keys().next().value!)
      this.stats.dropped.pending++
    }
    into.set(key, item)
  }

  #fromPeer(items: unknown): void {
    if (!Array.isArray(items)) return
    for (const raw of items) {
      const parsed = TelemetryItemSchema.safeParse(raw)
      if (!parsed.success) continue
      this.stats.fromPeers++
      if (this.#intervalMs === 0) this.#fanOut([parsed.data])
      else this.#keep(this.#remote, parsed.data)
    }
  }

  #forwardNow(item: TelemetryItem): void {
    if (!this.#hasPeers || !this.#io) return
    this.#toPeers.push(item)
    this.#peerFlush ??= setImmediate(() => {
      this.#peerFlush = null
      const batch = this.#toPeers
      this.#toPeers = []
      this.#sendToPeers(batch)
    })
  }

  #sendToPeers(items: TelemetryItem[]): void {
    if (!items.length || !this.#hasPeers || !this.#io) return
    try {
      this.#io.serverSideEmit('telemetry', items)
      this.stats.toPeers += items.length
    } catch (err) {
      this.#log?.warn({ err }, 'telemetry to other processes failed')
    }
  }

  /**
   * The socket looks at this viewport from now on (null: at nothing; it gets no telemetry).
   * Called by the `viewport` client message once it is checked.
   */
  watch(socket: TelemetrySocket, viewport: Viewport | null): void {
    this.forget(socket.id)
    socket.data.viewport = viewport ?? undefined
    if (!viewport || socket.disconnected) return
    const actor = socket.data.actor
    const prefix = actor.unrestricted ? null : actor.scopePrefix
    const bbox: Group['bbox'] = [
      Math.floor(viewport.bbox[0] / SNAP) * SNAP,
      Math.floor(viewport.bbox[1] / SNAP) * SNAP,
      Math.ceil(viewport.bbox[2] / SNAP) * SNAP,
      Math.ceil(viewport.bbox[3] / SNAP) * SNAP,
    ].map((v) => Math.round(v * 1e6) / 1e6) as Group['bbox']
    const kinds = [...new Set(viewport.kinds)].sort()
    const key = `${prefix ?? '*'}|${bbox.join(',')}|${kinds.join(',')}`
    let group = this.#groups.get(key)
    if (!group) {
      group = { key, room: `telemetry:${key}`, prefix, bbox, kinds: new Set(kinds), sockets: new Set(), carry: new Map() }
      this.#groups.set(key, group)
    }
    group.sockets.add(socket.id)
    void socket.join(group.room)
    this.#clients.set(socket.id, { socket, group, backlog: null })
    if (!this.#hooked.has(socket)) {
      this.#hooked.add(socket)
      socket.once('disconnect', () => this.forget(socket.id))
    }
    this.#count()
  }

  /** The socket gets no more telemetry (it left, or looks elsewhere). */
  forget(socketId: string): void {
    const client = this.#clients.get(socketId)
    if (!client) return
    this.#clients.delete(socketId)
    client.group.sockets.delete(socketId)
    void client.socket.leave(client.group.room)
    if (client.group.sockets.size === 0) this.#groups.delete(client.group.key)
    this.#count()
  }

  #count(): void {
    this.stats.clients = this.#clients.size
    this.stats.groups = this.#groups.size
  }

  /** One tick: forwards local values to peers, then sends every group its share. Public for tests. */
  flush(): void {
    const local = this.#local
    const remote = this.#remote
    this.#local = new Map()
    this.#remote = new Map()
    if (local.size) this.#sendToPeers([...local.values()])
    if (!this.#io) return
    // Peers' values first, then ours: the newer per object wins either way.
    for (const item of local.values()) this.#keep(remote, item)
    this.#fanOut([...remote.values()])
  }

  /** Sends the items to every local socket that may see them, each group's message built once. */
  #fanOut(items: TelemetryItem[]): void {
    if (!this.#io || (items.length === 0 && !this.#hasWaiting())) return
    const index = items.length >= INDEX_FROM && this.#groups.size > 1 ? spatialIndex(items) : null
    for (const group of this.#groups.values()) {
      const candidates = index ? index.range(...group.bbox).map((i) => items[i]!) : items
      const mine: TelemetryItem[] = []
      for (const item of candidates) if (this.#sees(group, item)) mine.push(item)
      this.#sendGroup(group, mine)
    }
  }

  #hasWaiting(): boolean {
    for (const g of this.#groups.values()) if (g.carry.size) return true
    for (const c of this.#clients.values()) if (c.backlog?.size) return true
    return false
  }

  #sees(group: Group, item: TelemetryItem): boolean {
    if (!group.kinds.has(item.kind)) return false
    if (group.prefix !== null && (item.scope === null || !item.scope.startsWith(group.prefix))) return false
    const [w, s, e, n] = group.bbox
    return item.lon >= w && item.lon <= e && item.lat >= s && item.lat <= n
  }

  /** Whether a socket cannot take another message now (its last one has not left). */
  #slow(socket: TelemetrySocket): boolean {
    const conn = socket.conn as unknown as { transport?: { writable?: boolean }; writeBuffer?: unknown[] }
    if (this.#intervalMs === 0) return (conn.writeBuffer?.length ?? 0) > MAX_WRITE_BUFFER
    return conn.transport?.writable === false
  }

  #sendGroup(group: Group, fresh: TelemetryItem[]): void {
    const io = this.#io!
    let items = fresh
    if (group.carry.size) {
      for (const item of fresh) this.#keep(group.carry, item)
      items = [...group.carry.values()]
      group.carry.clear()
    }
    if (items.length > this.#maxItems) {
      for (const item of items.slice(this.#maxItems)) group.carry.set(keyOf(item.kind, item.id), item)
      items = items.slice(0, this.#maxItems)
    }
    // Sockets that are slow, or catching up on what they missed, get their own message (or none).
    const apart: string[] = []
    for (const id of group.sockets) {
      const client = this.#clients.get(id)!
      if (this.#slow(client.socket)) {
        apart.push(id)
        client.backlog ??= new Map()
        for (const item of items) this.#keepBacklog(client.backlog, item)
      } else if (client.backlog?.size) {
        apart.push(id)
        for (const item of items) this.#keepBacklog(client.backlog, item)
        this.#sendBacklog(client)
      }
    }
    const recipients = group.sockets.size - apart.length
    if (items.length === 0 || recipients === 0) return
    const payload = { items }
    const to = io.local.to(group.room).except(apart)
    if (this.#intervalMs === 0) to.emit('telemetry', payload)
    else to.volatile.emit('telemetry', payload)
    this.stats.messages += recipients
    this.stats.sent += recipients * items.length
  }

  #keepBacklog(backlog: Map<string, TelemetryItem>, item: TelemetryItem): void {
    const key = keyOf(item.kind, item.id)
    if (backlog.has(key)) {
      this.stats.coalesced++
      backlog.delete(key)
    } else if (backlog.size >= this.#maxBacklog) {
      backlog.delete(backlog.keys().next().value!)
      this.stats.dropped.slowClient++
    }
    backlog.set(key, item)
  }

  #sendBacklog(client: Client): void {
    const backlog = client.backlog!
    const items: TelemetryItem[] = []
    for (const [key, item] of backlog) {
      if (items.length >= this.#maxItems) break
      items.push(item)
      backlog.delete(key)
    }
    if (backlog.size === 0) client.backlog = null
    if (this.#intervalMs === 0) client.socket.emit('telemetry', { items })
    else client.socket.volatile.emit('telemetry', { items })
    this.stats.messages++
    this.stats.sent += items.length
  }

  /** Stops the ticks (values still pending are not sent). */
  close(): void {
    if (this.#timer) clearInterval(this.#timer)
    if (this.#peerTimer) clearInterval(this.#peerTimer)
    if (this.#peerFlush) clearImmediate(this.#peerFlush)
    this.#timer = this.#peerTimer = this.#peerFlush = null
  }
}

/** The items' positions in a static k-d tree, built once per tick, queried once per group. */
function spatialIndex(items: TelemetryItem[]): KDBush {
  const index = new KDBush(items.length)
  for (const item of items) index.add(item.lon, item.lat)
  index.finish()
  return index
}
