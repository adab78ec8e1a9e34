/**
 * Scale-out (docs/scale-out.md): with REDIS_URL, socket.io shares broadcasts between server
 * processes through the Redis streams adapter, which also keeps connection-state recovery
 * working across processes (missed packets are read back from the stream, sessions are kept in
 * Redis). Without REDIS_URL socket.io keeps its in-memory adapter (one process).
 *
 * Redis going away must not stop OneGrid: the client reconnects on its own (node-redis retries
 * forever), /api/health says whether it is connected, and while it is away broadcasts still
 * reach this process's own sockets at once (the publishing client refuses commands instead of
 * queueing them, so the adapter does not wait for Redis before delivering locally). Screens on
 * other processes catch up by replay from the event log.
 */
import { createAdapter } from '@socket.io/redis-streams-adapter'
import { createClient } from 'redis'
import type { Logger } from '../log.ts'

export interface RedisStats {
  connected: boolean
  /** Where (without credentials) and under which key prefix. */
  url: string
  prefix: string
  /** Times a connection was lost since start. */
  disconnects: number
  lastError: string | null
  /** When the current state (connected or not) began. */
  since: string
}

/** How long start-up waits for a first connection before going on without it. */
const FIRST_CONNECT_MS = 5_000
/** How long close() lets commands in flight answer (the adapter blocks on its stream 2 s at a time). */
const CLOSE_WAIT_MS = 5_000

/** What this module needs of a node-redis client, whatever its modules and protocol version. */
interface Tracked {
  readonly isReady: boolean
  readonly isOpen: boolean
  on(event: 'error', listener: (err: Error) => void): unknown
  on(event: 'ready' | 'end' | 'reconnecting', listener: () => void): unknown
  destroy(): void
  close(): Promise<unknown>
}

function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.hostname}:${u.port || 6379}${u.pathname === '/' ? '' : u.pathname}`
  } catch {
    return 'the given URL'
  }
}

export class RedisLink {
  readonly adapter: ReturnType<typeof createAdapter>
  readonly #clients: Tracked[] = []
  readonly #connect: () => Promise<unknown>
  readonly #stats: RedisStats
  readonly #log: Logger

  private constructor(url: string, prefix: string, log: Logger) {
    this.#log = log
    this.#stats = { connected: false, url: describeUrl(url), prefix, disconnects: 0, lastError: null, since: new Date().toISOString() }
    const main = createClient({
      url,
      // Named, so an operator (or a test) can tell OneGrid's connections apart in CLIENT LIST.
      name: `${prefix}:onegrid`,
      // Broadcasts fail fast while Redis is away (delivered locally anyway) instead of piling up.
      // RESP2: the reply shapes the adapter was written for.
      RESP: 2,
      disableOfflineQueue: true,
      socket: { connectTimeout: 5_000, reconnectStrategy: (retries) => Math.min(200 * 2 ** retries, 2_000) },
    })
    this.#track(main)
    this.#connect = () => main.connect()
    // The adapter's own clients (stream reader, pub/sub) are duplicates of this one; they keep the
    // offline queue, so a stream read waits for Redis to come back instead of failing in a loop.
    const duplicate = main.duplicate.bind(main)
    main.duplicate = ((overrides?: Parameters<typeof duplicate>[0]) => this.#track(duplicate({ disableOfflineQueue: false, ...overrides }))) as typeof main.duplicate
    this.adapter = createAdapter(main as unknown as Parameters<typeof createAdapter>[0], {
      streamName: `${prefix}:socket.io`,
      channelPrefix: `${prefix}:socket.io`,
      sessionKeyPrefix: `${prefix}:sio:session:`,
      blockTimeInMs: 2_000,
    })
  }

  /** Connects (waiting up to a few seconds: a Redis that is down is reported and retried, not fatal). */
  static async open(url: string, opts: { prefix: string; log: Logger }): Promise<RedisLink> {
    const link = new RedisLink(url, opts.prefix, opts.log)
    const connected = link.#connect().then(
      () => true,
      () => false,
    )
    const ready = await Promise.race([connected, new Promise<false>((resolve) => setTimeout(() => resolve(false), FIRST_CONNECT_MS).unref())])
    if (ready) opts.log.info({ redis: link.#stats.url, prefix: opts.prefix }, 'socket.io shares events through Redis')
    else opts.log.error({ redis: link.#stats.url, err: link.#stats.lastError }, 'Redis is not reachable; going on and retrying — until it connects, events reach only the sockets of this process')
    return link
  }

  #track<T extends Tracked>(client: T): T {
    this.#clients.push(client)
    client.on('error', (err: Error) => {
      this.#stats.lastError = err.message
    })
    client.on('ready', () => this.#update())
    client.on('end', () => this.#update())
    client.on('reconnecting', () => this.#update())
    return client
  }

  /** Connected only while every client is (the publisher, the stream reader and the pub/sub one). */
  #update(): void {
    const connected = this.#clients.length > 0 && this.#clients.every((c) => c.isReady)
    if (connected === this.#stats.connected) return
    this.#stats.connected = connected
    this.#stats.since = new Date().toISOString()
    if (connected) this.#log.info({ redis: this.#stats.url }, 'Redis connected')
    else {
      this.#stats.disconnects++
      this.#log.warn({ redis: this.#stats.url, err: this.#stats.lastError }, 'Redis connection lost; reconnecting')
    }
  }

  get stats(): RedisStats {
    return { ...this.#stats }
  }

  /**
   * After io.close() (which closes the adapter): ends every Redis connection once its commands in
   * flight have answered — the adapter's blocking stream read returns within its block time
   * (destroying the client instead rejects that read, an unhandled rejection in the adapter's
   * loop). A connection that has not closed after CLOSE_WAIT_MS is destroyed.
   */
  async close(): Promise<void> {
    await Promise.all(
      this.#clients.map(async (c) => {
        if (!c.isOpen) return
        let timer: NodeJS.Timeout | undefined
        const gaveUp = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), CLOSE_WAIT_MS)))
        const how = await Promise.race([c.close().then(() => 'closed' as const), gaveUp])
        clearTimeout(timer)
        if (how === 'timeout') c.destroy()
      }),
    )
  }
}
