/**
 * Helpers of the benchmarks: percentiles, a keep-alive HTTP client for sequential timing,
 * deterministic sampling, plain-text tables, the benchmark database and signing in.
 */
import http from 'node:http'
import pg from 'pg'

export const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`)

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

/** Signs in as the demo dispatcher (who sees every layer of the whole city); the session cookie. */
export async function login(url: string, password: string): Promise<string> {
  const res = await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'dispatcher', password }) })
  if (res.status !== 200) throw new Error(`signing in as dispatcher failed (${res.status}): set ONEGRID_SEED_PASSWORD to the demo accounts' password of this database`)
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
