/**
 * Helpers of the benchmarks: percentiles and trends, a keep-alive HTTP client for sequential
 * timing, deterministic sampling, plain-text tables, the benchmark database, signing in and
 * socket.io screens, number options.
 */
import http from 'node:http'
import pg from 'pg'
import { io as connectSio, type Socket } from 'socket.io-client'

export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** The demo accounts' password of a database the benches seed (as bench:tiles). */
export const BENCH_PASSWORD = process.env.ONEGRID_SEED_PASSWORD || 'onegrid-bench'

/** A number option: its value, or `dflt` when not given; an error naming the flag when not a number ≥ min. */
export function numberOption(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt
  const n = Number(v)
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, not "${v}"`)
  return n
}

/** Polls `check` every 100 ms until it is true; an error naming `what` after `ms`. */
export async function waitFor(check: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const start = Date.now()
  while (!(await check())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** Creates the database of a postgres:// URL on its server when it does not exist yet (the server then seeds it on start). */
export async function ensureDatabase(url: string): Promise<void> {
  const probe = new pg.Client({ connectionString: url })
  try {
    await probe.connect()
    await probe.end()
    return
  } catch (err) {
    await probe.end().catch(() => {})
    if ((err as { code?: string }).code !== '3D000') throw err
  }
  const u = new URL(url)
  const name = decodeURIComponent(u.pathname.slice(1))
  u.pathname = '/postgres'
  const admin = new pg.Client({ connectionString: u.toString() })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`)
    log(`created database ${name}; the server seeds the demo city on start (about a minute)`)
  } finally {
    await admin.end()
  }
}

/** Signs in as a demo account (default the dispatcher, who sees every layer of the whole city); the session cookie. */
export async function login(url: string, password: string, username = 'dispatcher'): Promise<string> {
  const res = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) })
  if (res.status !== 200) throw new Error(`signing in as ${username} failed (${res.status}): set ONEGRID_SEED_PASSWORD to the demo accounts' password of this database`)
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('onegrid_session='))
  if (!cookie) throw new Error('no session cookie')
  return cookie.split(';')[0]!
}

/** The q-quantile (0…1) of the values, nearest rank; NaN for none. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.ceil(q * sorted.length)
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]
}

/** The median of the values; NaN for none. */
export const median = (values: readonly number[]): number => percentile(values, 0.5)

/**
 * The Theil–Sen slope of y over x: the median of the slopes between every two points. Unlike a
 * least-squares fit it ignores up to ~29 % of wild points, and a sawtooth (garbage collections)
 * around a level adds no slope of its own. NaN for fewer than two distinct x.
 */
export function theilSen(points: readonly { x: number; y: number }[]): number {
  const slopes: number[] = []
  for (let i = 0; i < points.length; i++)
    for (let j = i + 1; j < points.length; j++) {
      const dx = points[j]!.x - points[i]!.x
      if (dx !== 0) slopes.push((points[j]!.y - points[i]!.y) / dx)
    }
  return median(slopes)
}

export interface Summary {
  n: number
  p50: number
  p95: number
}

export const summarize = (ms: readonly number[]): Summary => ({ n: ms.length, p50: percentile(ms, 0.5), p95: percentile(ms, 0.95) })

/** Milliseconds since `start` (from process.hrtime.bigint()). */
export const msSince = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6

export interface HttpResult {
  status: number
  headers: http.IncomingHttpHeaders
  body: Buffer
  ms: number
}

/**
 * One connection kept alive, requests one at a time: the time of each is from writing the
 * request to the last byte of the body.
 */
export class SequentialClient {
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: 1 })

  constructor(
    private readonly base: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  get(path: string): Promise<HttpResult> {
    return this.#request(path).catch((err: Error & { reusedSocket?: boolean; code?: string }) => {
      // The server may close an idle kept-alive socket just as the next request goes out on it
      // (its keep-alive timeout is 5 s and a throughput run can idle this client longer): that
      // request never reached the server, so it is sent once more on a fresh socket, as the
      // Node documentation advises for reused sockets.
      if (err.reusedSocket && err.code === 'ECONNRESET') return this.#request(path)
      throw err
    })
  }

  #request(path: string): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const start = process.hrtime.bigint()
      const req = http.get(`${this.base}${path}`, { agent: this.#agent, headers: this.headers }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), ms: msSince(start) }))
        res.on('error', reject)
      })
      req.on('error', (err: Error & { reusedSocket?: boolean }) => {
        err.reusedSocket = req.reusedSocket
        reject(err)
      })
    })
  }

  close(): void {
    this.#agent.destroy()
  }
}

/**
 * A socket.io client as the web app connects (WebSocket transport, the session cookie), resolved
 * once the server said hello. `listen` adds handlers before anything can arrive; then the socket
 * joins `rooms` (subscribe) and sends its `viewport` (live telemetry), each answer checked.
 * `reconnection`: as the web app (on) or not at all (off, the default).
 */
export async function connectSocket(
  url: string,
  opts: { cookie?: string; listen?: (s: Socket) => void; rooms?: string[]; viewport?: { bbox: [number, number, number, number]; kinds: ('sensor' | 'worker')[] }; reconnection?: boolean },
): Promise<Socket> {
  const s = connectSio(url, { path: '/socket.io', transports: ['websocket'], extraHeaders: { cookie: opts.cookie ?? '' }, reconnection: opts.reconnection ?? false })
  opts.listen?.(s)
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('hello', () => resolve())
      s.once('connect_error', reject)
    })
    const ask = async (event: 'subscribe' | 'viewport', body: unknown) => {
      const answer = (await s.timeout(10_000).emitWithAck(event, body)) as { error?: string }
      if (answer.error) throw new Error(`${event}: ${answer.error}`)
    }
    if (opts.rooms?.length) await ask('subscribe', { rooms: opts.rooms })
    if (opts.viewport) await ask('viewport', opts.viewport)
    return s
  } catch (err) {
    s.close()
    throw err
  }
}

/** FNV-1a of a string: a fixed pseudo-random order that needs no seed state. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return h
}

/** Up to n items in a fixed order that spreads over the list (by hash of their key). */
export function sample<T>(items: readonly T[], n: number, key: (t: T) => string): T[] {
  return [...items].sort((a, b) => fnv1a(key(a)) - fnv1a(key(b)) || key(a).localeCompare(key(b))).slice(0, n)
}

/** Tile x/y containing lon/lat at zoom z (Web Mercator, y grows southwards). */
export function tileOf(lon: number, lat: number, z: number): { x: number; y: number } {
  const n = 2 ** z
  const r = (Math.max(-85.0511, Math.min(85.0511, lat)) * Math.PI) / 180
  const x = Math.floor(((lon + 180) / 360) * n)
  const y = Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)
  return { x: Math.min(n - 1, Math.max(0, x)), y: Math.min(n - 1, Math.max(0, y)) }
}

/** Every tile at zoom z that a lon/lat box touches. */
export function tilesOver(bbox: [number, number, number, number], z: number): { z: number; x: number; y: number }[] {
  const [w, s, e, n] = bbox
  const nw = tileOf(w, n, z)
  const se = tileOf(e, s, z)
  const out: { z: number; x: number; y: number }[] = []
  for (let x = nw.x; x <= se.x; x++) for (let y = nw.y; y <= se.y; y++) out.push({ z, x, y })
  return out
}

/** A number for a table cell: '–' for none, else with the given decimals. */
export function fmt(v: number | null | undefined, decimals = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  return v.toFixed(decimals)
}

/** A plain-text table: header row, a rule, rows; numbers (cells starting with a digit or '–') right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((r) => /^([-–+]?[0-9.]+[×%]?|–|[0-9.]+!?)$/.test(r[i] ?? '')))
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd()
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n')
}
