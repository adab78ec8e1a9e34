/**
 * `npm run bench:tiles` — the tile benchmark of issue 4 (a benchmark, not a test).
 *
 * For each backend (real PostgreSQL + PostGIS, embedded PGlite) it starts the real server
 * in-process (startServer), signs in as admin and, for every catalog layer the admin sees and
 * every zoom z10…z16 within the layer's range, over a fixed sample of tiles on the real city and
 * on the synthetic (scale) districts:
 *   raw     the layer's tile SQL (tiles/sql.ts: native or JS variant, whichever the server's
 *           encoder uses) with the same parameters through the server's own db handle — the floor;
 *   cold    each tile's first request over HTTP (keep-alive) to the freshly started server, whose
 *           tile cache is therefore empty (checked: X-Tile-Cache: miss) — raw and cold alternate
 *           tile by tile, so both see the same database buffer state;
 *   hit     the same tiles again, sequentially (X-Tile-Cache: hit);
 *   cached  requests/s with N connections for a fixed time (autocannon in a worker thread);
 *   static  the same tile bytes written to a temp dir and served by sirv on node:http, measured
 *           with the same client and connections — the ceiling for cached tiles;
 *   size    the largest tile of the row.
 * And /api/spatial/around at fixed points (real and synthetic grids) against around() of
 * server/spatial/service.ts — the same SQL, in the same statement-timeout transaction
 * (withTimeout) — through the server's db handle.
 *
 * Prints one table per backend and the targets with PASS/MISS; writes bench/results/tiles-<backend>.json.
 *
 * Options: --backend=postgres|embedded|both (default both) · --quick (one zoom per layer, 2 tiles, 0.5 s throughput runs in this thread,
 * no scale data: a smoke test) · --database-url=URL (or BENCH_DATABASE_URL; default
 * postgres://postgres@127.0.0.1:5432/onegrid_bench, created if missing) · --data-dir=DIR (or
 * BENCH_DATA_DIR; embedded, default data/bench/pglite) · --scale=n (synthetic districts to have;
 * default 1 on postgres, 0.1 on embedded, 0 with --quick; an already seeded database is reused) ·
 * --tiles=n per zoom (30) · --points=n around-incident points (30) · --duration=s per throughput
 * run (2) · --connections=n (16) · --out=DIR (bench/results) · --seed-only (prepare the databases, no runs).
 * The demo accounts' password: ONEGRID_SEED_PASSWORD, default "onegrid-bench" (used when seeding).
 * ONEGRID_JOBS, ONEGRID_SIMULATE and ONEGRID_MQTT_PORT, when set, go to the server (periodic jobs,
 * simulator, embedded broker port; by default as `npm start` has them).
 */
import fs from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import autocannon from 'autocannon'
import sirv, { type RequestHandler } from 'sirv'
import { catalog, type LayerDef } from '../layers/index.ts'
import { loadConfig, projectRoot, type Config } from '../server/config.ts'
import { openDb } from '../server/db/index.ts'
import { migrate } from '../server/db/migrate.ts'
import { createLogger } from '../server/log.ts'
import { startServer, type RunningServer } from '../server/main.ts'
import { ensureSeeded, seedSettings } from '../server/seed/index.ts'
import { scaleUp } from '../server/seed/scale.ts'
import { Sessions } from '../server/auth/sessions.ts'
import { scopeFilter } from '../server/auth/scope.ts'
import { around, withTimeout } from '../server/spatial/service.ts'
import { jsTileSql, nativeTileSql } from '../tiles/sql.ts'
import { ensureDatabase, fmt, log, login, msSince, sample, SequentialClient, summarize, table, tilesOver, type Summary } from './lib.ts'

type Backend = 'postgres' | 'embedded'

interface Options {
  backends: Backend[]
  quick: boolean
  seedOnly: boolean
  databaseUrl: string
  dataDir: string
  scale: Record<Backend, number>
  tilesPerZoom: number
  points: number
  duration: number
  connections: number
  radius: number
  out: string
  password: string
  logLevel: string
}

export interface Row {
  layer: string
  z: number
  tiles: number
  empty: number
  raw: Summary
  cold: Summary
  /** cold p50 / raw p50 */
  coldRatio: number
  hit: Summary
  cachedRps: number
  staticRps: number
  /** cached rps / static rps */
  cachedRatio: number
  maxBytes: number
  /** Cold requests that were not cache misses, cached runs' non-2xx/errors, native raw/HTTP byte mismatches. */
  anomalies: string[]
}

export interface Target {
  name: string
  value: string
  pass: boolean | null
  note?: string
}

export interface BackendResult {
  backend: Backend
  encoder: string
  postgis: string
  at: string
  quick: boolean
  settings: { tilesPerZoom: number; points: number; duration: number; connections: number; radius: number; logLevel: string; cpus: number }
  /** 1-minute load average of the machine when the run started and ended (other work skews every figure). */
  load: { start: number; end: number }
  /** Preparing the database in this run: everything, the demo city part, the scale data part (a seeded database takes only the checks). */
  seed: { scale: number; seconds: number; demoSeconds: number; scaleSeconds: number; seededNow: boolean }
  counts: Record<string, number>
  rows: Row[]
  /** Layer/zoom rows (or the around run) that failed with an error: not in the table. */
  failures: string[]
  around: { points: number; raw: Summary; http: Summary; ratio: number; anomalies: string[] }
  targets: Target[]
}

const ZOOMS = [10, 11, 12, 13, 14, 15, 16]
/** --quick: one zoom per layer, this one or the nearest the layer has. */
const QUICK_ZOOM = 15
const MAX_TILE_BYTES = 500 * 1024
const DEFAULT_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/onegrid_bench'

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string', default: 'both' },
      quick: { type: 'boolean', default: false },
      'seed-only': { type: 'boolean', default: false },
      'database-url': { type: 'string' },
      'data-dir': { type: 'string' },
      scale: { type: 'string' },
      tiles: { type: 'string' },
      points: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      radius: { type: 'string' },
      out: { type: 'string' },
    },
    strict: true,
  })
  const num = (name: string, v: string | undefined, dflt: number, min: number): number => {
    if (v === undefined) return dflt
    const n = Number(v)
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, not "${v}"`)
    return n
  }
  const backends: Backend[] =
    values.backend === 'both' ? ['postgres', 'embedded'] : values.backend === 'postgres' || values.backend === 'embedded' ? [values.backend] : []
  if (backends.length === 0) throw new Error(`--backend must be postgres, embedded or both, not "${values.backend}"`)
  const quick = values.quick
  const scale = values.scale === undefined ? undefined : num('scale', values.scale, 0, 0)
  return {
    backends,
    quick,
    seedOnly: values['seed-only'],
    databaseUrl: values['database-url'] ?? process.env.BENCH_DATABASE_URL ?? DEFAULT_DATABASE_URL,
    dataDir: values['data-dir'] ?? process.env.BENCH_DATA_DIR ?? path.join(projectRoot, 'data', 'bench', 'pglite'),
    scale: { postgres: scale ?? (quick ? 0 : 1), embedded: scale ?? (quick ? 0 : 0.1) },
    tilesPerZoom: num('tiles', values.tiles, quick ? 2 : 30, 1),
    points: num('points', values.points, quick ? 2 : 30, 1),
    duration: num('duration', values.duration, quick ? 0.5 : 2, 0.1),
    connections: num('connections', values.connections, 16, 1),
    radius: num('radius', values.radius, 300, 1),
    out: values.out ?? path.join(projectRoot, 'bench', 'results'),
    password: process.env.ONEGRID_SEED_PASSWORD || 'onegrid-bench',
    logLevel: process.env.BENCH_LOG_LEVEL ?? 'warn',
  }
}

/** Server settings the bench takes from its environment when set (otherwise the server's defaults). */
const PASSED_SETTINGS = ['ONEGRID_JOBS', 'ONEGRID_SIMULATE', 'ONEGRID_MQTT_PORT'] as const

function serverConfig(backend: Backend, opts: Options): Config {
  const passed = Object.fromEntries(PASSED_SETTINGS.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]))
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ONEGRID_SEED_PASSWORD: opts.password,
    ONEGRID_DEMO_SEED: '1',
    ONEGRID_DEMO_ANCHOR: '2026-11-01',
    ONEGRID_WEB_DIR: path.join(projectRoot, 'dist', 'web'),
    LOG_LEVEL: opts.logLevel,
    ...passed,
    ...(backend === 'postgres' ? { DATABASE_URL: opts.databaseUrl } : { ONEGRID_DATA_DIR: opts.dataDir }),
  })
}

const COUNTS_SQL = `SELECT (SELECT count(*)::int FROM grids) AS grids, (SELECT count(*)::int FROM sensors) AS sensors,
  (SELECT count(*)::int FROM cameras) AS cameras, (SELECT count(*)::int FROM workers) AS workers,
  (SELECT count(*)::int FROM admin_units WHERE level = 'district' AND synthetic) AS synthetic_districts`

/** Demo city (+ scale data) on the backend's database, once: a seeded database is only checked. */
async function prepare(backend: Backend, config: Config, opts: Options): Promise<BackendResult['seed'] & { counts: Record<string, number> }> {
  if (backend === 'postgres') await ensureDatabase(opts.databaseUrl)
  const scale = opts.scale[backend]
  const t = process.hrtime.bigint()
  const db = await openDb(config)
  try {
    await migrate(db)
    const before = await db.query<{ users: number }>(`SELECT count(*)::int AS users FROM users`)
    const beforeCounts = (await db.query<Record<string, number>>(COUNTS_SQL)).rows[0]
    await ensureSeeded(db, seedSettings(config, createLogger(opts.logLevel)))
    const demoSeconds = msSince(t) / 1000
    const t2 = process.hrtime.bigint()
    if (scale > 0) {
      await scaleUp(db, scale, (done, total) => {
        if (done === 1 || done === total || done % 10 === 0) log(`${backend}: synthetic district ${done}/${total}`)
      })
    }
    const counts = (await db.query<Record<string, number>>(COUNTS_SQL)).rows[0]
    const seededNow = before.rows[0].users === 0 || counts.synthetic_districts !== beforeCounts.synthetic_districts
    if (seededNow && backend === 'postgres') await db.exec('ANALYZE')
    const scaleSeconds = msSince(t2) / 1000
    const seconds = msSince(t) / 1000
    const took = `${seconds.toFixed(1)} s (demo ${demoSeconds.toFixed(1)} s, scale data ${scaleSeconds.toFixed(1)} s)`
    log(
      `${backend}: ${seededNow ? `seeded in ${took}` : 'database already seeded, reused'} ` +
        `(${counts.grids} grids, ${counts.sensors} sensors, ${counts.cameras} cameras, ${counts.workers} workers, ${counts.synthetic_districts} synthetic districts)`,
    )
    return { scale, seconds, demoSeconds, scaleSeconds, seededNow, counts }
  } finally {
    await db.close()
  }
}

type Tile = { z: number; x: number; y: number }
type BBox = [number, number, number, number]

/** The fixed tile sample per zoom: half over the real city's grids, half over synthetic districts. */
async function tileSample(server: RunningServer, zooms: number[], perZoom: number): Promise<Map<number, Tile[]>> {
  const bbox = (r: { w: number; s: number; e: number; n: number }): BBox => [r.w, r.s, r.e, r.n]
  const real = (
    await server.db.query<{ w: number; s: number; e: number; n: number }>(
      `SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n FROM (SELECT ST_Extent(geom)::geometry AS e FROM grids WHERE NOT synthetic) x WHERE e IS NOT NULL`,
    )
  ).rows.map(bbox)
  const synthetic = (
    await server.db.query<{ w: number; s: number; e: number; n: number }>(
      `SELECT ST_XMin(geom) AS w, ST_YMin(geom) AS s, ST_XMax(geom) AS e, ST_YMax(geom) AS n FROM admin_units WHERE level = 'district' AND synthetic ORDER BY code`,
    )
  ).rows.map(bbox)
  const key = (t: Tile) => `${t.z}/${t.x}/${t.y}`
  const out = new Map<number, Tile[]>()
  for (const z of zooms) {
    const realTiles = new Map(real.flatMap((b) => tilesOver(b, z)).map((t) => [key(t), t]))
    const synthTiles = new Map(synthetic.flatMap((b) => tilesOver(b, z)).filter((t) => !realTiles.has(key(t))).map((t) => [key(t), t]))
    const fromReal = sample([...realTiles.values()], synthTiles.size ? Math.ceil(perZoom / 2) : perZoom, key)
    const fromSynth = sample([...synthTiles.values()], perZoom - fromReal.length, key)
    out.set(z, [...fromReal, ...fromSynth])
  }
  return out
}

/** Fixed points for /around: label points of real grids and of synthetic grids, half each. */
async function aroundPoints(server: RunningServer, n: number): Promise<{ lon: number; lat: number }[]> {
  const pick = async (synthetic: boolean, k: number) =>
    (
      await server.db.query<{ lon: number; lat: number }>(
        `SELECT ST_X(label_point) AS lon, ST_Y(label_point) AS lat FROM grids WHERE synthetic = $1 ORDER BY md5(code) LIMIT $2`,
        [synthetic, k],
      )
    ).rows.map((r) => ({ lon: Number(r.lon), lat: Number(r.lat) }))
  const synth = await server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM grids WHERE synthetic`)
  const real = await pick(false, synth.rows[0].n > 0 ? Math.ceil(n / 2) : n)
  return [...real, ...(await pick(true, n - real.length))]
}

/** A static file server over dir (sirv, production mode: it lists the files when made). */
class StaticServer {
  #handler: RequestHandler = (_req, res) => res.writeHead(404).end()
  readonly #server = http.createServer((req, res) =>
    this.#handler(req, res, () => {
      res.writeHead(404).end()
    }),
  )
  url = ''

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.#server.address() as { port: number }).port}`
  }

  serve(dir: string): void {
    this.#handler = sirv(dir, { dev: false, etag: true })
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}

/** Requests/s over `paths` (round robin per connection) with autocannon (in a worker thread, but for --quick). */
async function throughput(base: string, paths: string[], headers: Record<string, string>, opts: Options): Promise<{ rps: number; bad: number; badWhy: string }> {
  const r = await autocannon({
    url: base,
    connections: opts.connections,
    duration: opts.duration,
    // Quick mode is a smoke test: autocannon in this thread, since on a busy machine starting a
    // worker thread could take the whole short window and leave 0 requests measured.
    ...(opts.quick ? {} : { workers: 1 }),
    headers,
    requests: paths.map((p) => ({ method: 'GET' as const, path: p })),
  })
  const bad = r.non2xx + r.errors + r.timeouts
  return { rps: r.requests.total / r.duration, bad, badWhy: `${r.non2xx} non-2xx, ${r.errors} errors, ${r.timeouts} timeouts` }
}

async function runBackend(backend: Backend, opts: Options): Promise<BackendResult> {
  const config = serverConfig(backend, opts)
  const seed = await prepare(backend, config, opts)
  const loadStart = os.loadavg()[0]
  // A fresh server: its tile cache is empty, so each tile's first request is a cold one.
  const server = await startServer(config, createLogger(opts.logLevel))
  const staticServer = new StaticServer()
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-bench-tiles-'))
  let sequential: SequentialClient | undefined
  try {
    const cookie = await login(server.url, opts.password)
    const client = (sequential = new SequentialClient(server.url, { cookie }))
    await staticServer.listen()
    const actor = await new Sessions(server.db, config.ONEGRID_SESSION_HOURS).lookup(cookie.slice(cookie.indexOf('=') + 1))
    if (!actor) throw new Error('the session cookie does not resolve to a user')
    const scope = scopeFilter(actor)
    const listed = (await client.get('/tiles/catalog.json')).body.toString('utf8')
    const ids = (JSON.parse(listed) as { layers: { id: string }[] }).layers.map((l) => l.id)
    const layers = ids.map((id) => catalog.get(id)).filter((l): l is LayerDef => l !== undefined)
    const zoomsOf = (l: LayerDef): number[] =>
      opts.quick ? [Math.min(Math.max(QUICK_ZOOM, l.minzoom), l.maxzoom)].filter((z) => ZOOMS.includes(z)) : ZOOMS.filter((z) => z >= l.minzoom && z <= l.maxzoom)
    const zooms = [...new Set(layers.flatMap(zoomsOf))].sort((a, b) => a - b)
    const tiles = await tileSample(server, zooms, opts.tilesPerZoom)
    const kind = server.caps.mvt
    log(`${backend}: server up (${server.db.kind}, tiles ${kind}); ${layers.length} layers × z${zooms[0]}–${zooms[zooms.length - 1]}, up to ${opts.tilesPerZoom} tiles per zoom`)

    // Warm-up, not measured: each layer's SQL and route once on a tile outside the sample (far
    // from the data), and /around once, so first-use costs (plans, caches, JIT) are not in a row.
    for (const layer of layers) {
      const z = zoomsOf(layer)[0]
      if (z === undefined) continue
      const sql = kind === 'native' ? nativeTileSql(layer) : jsTileSql(layer)
      await server.db.query(sql, layer.scopeColumn ? [z, 0, 0, scope] : [z, 0, 0]).catch(() => {})
      await client.get(`/tiles/${layer.id}/${z}/0/0.mvt`)
    }
    await withTimeout(server.db, (q) => around(q, { lon: 0, lat: 0 }, actor, opts.radius)).catch(() => {})
    await client.get(`/api/spatial/around?lon=0&lat=0&radius=${opts.radius}`)

    const rows: Row[] = []
    const failures: string[] = []
    for (const layer of layers) {
      const sql = kind === 'native' ? nativeTileSql(layer) : jsTileSql(layer)
      for (const z of zoomsOf(layer)) {
        const set = tiles.get(z) ?? []
        if (set.length === 0) continue
        try {
          const anomalies: string[] = []
          const raw: number[] = []
          const cold: number[] = []
          const dir = path.join(tmp, layer.id)
          let maxBytes = 0
          let empty = 0
          const paths: string[] = []
          for (const [i, t] of set.entries()) {
            const p = `/tiles/${layer.id}/${t.z}/${t.x}/${t.y}.mvt`
            paths.push(p)
            const params = layer.scopeColumn ? [t.z, t.x, t.y, scope] : [t.z, t.x, t.y]
            const runRaw = async () => {
              const s = process.hrtime.bigint()
              const { rows: r } = await server.db.query<{ tile?: Uint8Array | null }>(sql, params)
              raw.push(msSince(s))
              return kind === 'native' ? (r[0]?.tile?.byteLength ?? 0) : null
            }
            const runCold = async () => {
              const res = await client.get(p)
              cold.push(res.ms)
              return res
            }
            // Alternate which goes first, so neither always meets the other's warmed buffers.
            let rawBytes: number | null
            let res: Awaited<ReturnType<typeof runCold>>
            if (i % 2 === 0) {
              rawBytes = await runRaw()
              res = await runCold()
            } else {
              res = await runCold()
              rawBytes = await runRaw()
            }
            if (res.status !== 200 && res.status !== 204) throw new Error(`${p}: HTTP ${res.status} ${res.body.toString('utf8').slice(0, 200)}`)
            if (res.headers['x-tile-cache'] !== 'miss') anomalies.push(`${p}: cold request was a cache ${String(res.headers['x-tile-cache'])}`)
            if (rawBytes !== null && rawBytes !== res.body.length) anomalies.push(`${p}: raw SQL gave ${rawBytes} B, HTTP ${res.body.length} B`)
            if (res.body.length === 0) empty++
            maxBytes = Math.max(maxBytes, res.body.length)
            const file = path.join(dir, `${t.z}`, `${t.x}`, `${t.y}.mvt`)
            fs.mkdirSync(path.dirname(file), { recursive: true })
            fs.writeFileSync(file, res.body)
          }
          // Cached, sequential: every tile is in the cache now (a group is far below its 64 MB).
          const hit: number[] = []
          for (let pass = 0; pass < 2; pass++) {
            for (const p of paths) {
              const res = await client.get(p)
              if (res.headers['x-tile-cache'] !== 'hit') anomalies.push(`${p}: repeated request was a cache ${String(res.headers['x-tile-cache'])}`)
              hit.push(res.ms)
            }
          }
          const cached = await throughput(server.url, paths, { cookie }, opts)
          staticServer.serve(tmp)
          const stat = await throughput(staticServer.url, paths.map((p) => p.slice('/tiles'.length)), {}, opts)
          if (cached.bad) anomalies.push(`cached run: ${cached.badWhy}`)
          if (stat.bad) anomalies.push(`static run: ${stat.badWhy}`)
          const row: Row = {
            layer: layer.id,
            z,
            tiles: set.length,
            empty,
            raw: summarize(raw),
            cold: summarize(cold),
            coldRatio: summarize(cold).p50 / summarize(raw).p50,
            hit: summarize(hit),
            cachedRps: cached.rps,
            staticRps: stat.rps,
            cachedRatio: cached.rps / stat.rps,
            maxBytes,
            anomalies,
          }
          rows.push(row)
          log(
            `${backend} ${layer.id} z${z}: raw p50 ${fmt(row.raw.p50, 2)} ms, cold p50 ${fmt(row.cold.p50, 2)} ms, ` +
              `cached ${fmt(row.cachedRps, 0)}/s vs static ${fmt(row.staticRps, 0)}/s, max ${fmt(maxBytes / 1024)} KB${anomalies.length ? ` — ${anomalies.length} anomalies` : ''}`,
          )
        } catch (err) {
          const message = `${layer.id} z${z}: ${(err as Error).message.split('\n')[0]}`
          failures.push(message)
          log(`${backend} FAILED ${message}`)
        }
      }
    }

    // Around an incident: the HTTP call against around() through the same db handle.
    const points = await aroundPoints(server, opts.points)
    const aroundRaw: number[] = []
    const aroundHttp: number[] = []
    const aroundAnomalies: string[] = []
    for (const [i, p] of points.entries()) {
      const runRaw = async () => {
        const s = process.hrtime.bigint()
        await withTimeout(server.db, (q) => around(q, p, actor, opts.radius))
        aroundRaw.push(msSince(s))
      }
      const runHttp = async () => {
        const res = await client.get(`/api/spatial/around?lon=${p.lon}&lat=${p.lat}&radius=${opts.radius}`)
        if (res.status !== 200) aroundAnomalies.push(`around ${p.lon},${p.lat}: HTTP ${res.status}`)
        aroundHttp.push(res.ms)
      }
      try {
        if (i % 2 === 0) {
          await runRaw()
          await runHttp()
        } else {
          await runHttp()
          await runRaw()
        }
      } catch (err) {
        failures.push(`around ${p.lon},${p.lat}: ${(err as Error).message.split('\n')[0]}`)
      }
    }
    const aroundResult = {
      points: points.length,
      raw: summarize(aroundRaw),
      http: summarize(aroundHttp),
      ratio: summarize(aroundHttp).p50 / summarize(aroundRaw).p50,
      anomalies: aroundAnomalies,
    }
    const result: BackendResult = {
      backend,
      encoder: kind,
      postgis: server.caps.postgis,
      at: new Date().toISOString(),
      quick: opts.quick,
      settings: {
        tilesPerZoom: opts.tilesPerZoom,
        points: opts.points,
        duration: opts.duration,
        connections: opts.connections,
        radius: opts.radius,
        logLevel: opts.logLevel,
        cpus: os.availableParallelism(),
      },
      load: { start: loadStart, end: os.loadavg()[0] },
      seed: { scale: seed.scale, seconds: seed.seconds, demoSeconds: seed.demoSeconds, scaleSeconds: seed.scaleSeconds, seededNow: seed.seededNow },
      counts: seed.counts,
      rows,
      failures,
      around: aroundResult,
      targets: [],
    }
    result.targets = targets(result)
    return result
  } finally {
    sequential?.close()
    await staticServer.close()
    await server.close()
    fs.rmSync(tmp, { recursive: true, force: true })
  }
}

/** The issue's targets; the latency ones need the scale data and are for the PostgreSQL server. */
export function targets(r: BackendResult): Target[] {
  const pooledCold = r.rows.map((x) => x.coldRatio).filter(Number.isFinite)
  const worst = <T>(xs: T[], by: (t: T) => number, lowest = false) => [...xs].sort((a, b) => (lowest ? by(a) - by(b) : by(b) - by(a)))[0]
  const worstCold = worst(r.rows, (x) => x.coldRatio)
  const worstCached = worst(r.rows, (x) => x.cachedRatio, true)
  const biggest = worst(r.rows, (x) => x.maxBytes)
  const z14 = r.rows.filter((x) => x.z === 14)
  const worstZ14 = worst(z14, (x) => x.cold.p95)
  const hasScale = (r.counts.synthetic_districts ?? 0) > 0
  const overCold = r.rows.filter((x) => !(x.coldRatio <= 1.2))
  // An HTTP request costs a fixed fraction of a millisecond whatever the tile: on tiles whose SQL
  // takes under 1 ms (mostly empty ones) that alone passes 1.2×, so the rows of real work are told apart.
  const heavy = r.rows.filter((x) => x.raw.p50 >= 1)
  const worstHeavy = worst(heavy, (x) => x.coldRatio)
  const overhead = median(r.rows.map((x) => x.cold.p50 - x.raw.p50))
  const underCached = r.rows.filter((x) => !(x.cachedRatio >= 0.5))
  const name = (x: Row | undefined) => (x ? `${x.layer} z${x.z}` : '–')
  const list: Target[] = [
    {
      name: 'cold tile p50 ≤ 1.2 × raw SQL (every layer/zoom)',
      value:
        `worst ${fmt(worstCold?.coldRatio, 2)}× (${name(worstCold)}); ${overCold.length}/${r.rows.length} rows over; median row ${fmt(median(pooledCold), 2)}×; ` +
        `rows with raw p50 ≥ 1 ms: ${heavy.filter((x) => !(x.coldRatio <= 1.2)).length}/${heavy.length} over, worst ${fmt(worstHeavy?.coldRatio, 2)}× (${name(worstHeavy)}); ` +
        `median HTTP overhead (cold − raw p50) ${fmt(overhead, 2)} ms`,
      pass: r.rows.length ? overCold.length === 0 : null,
    },
    {
      name: 'cached throughput ≥ 0.5 × static (every layer/zoom)',
      value: `worst ${fmt(worstCached?.cachedRatio, 2)}× (${name(worstCached)}); ${underCached.length}/${r.rows.length} rows under; median row ${fmt(median(r.rows.map((x) => x.cachedRatio)), 2)}×`,
      pass: r.rows.length ? underCached.length === 0 : null,
    },
    {
      name: 'every tile ≤ 500 KB',
      value: `largest ${fmt((biggest?.maxBytes ?? 0) / 1024)} KB (${name(biggest)}); ${r.rows.filter((x) => x.maxBytes > MAX_TILE_BYTES).length} rows over`,
      pass: r.rows.length ? r.rows.every((x) => x.maxBytes <= MAX_TILE_BYTES) : null,
    },
    {
      name: 'z14 cold tile p95 < 50 ms (every layer, scale data)',
      value: worstZ14 ? `worst ${fmt(worstZ14.cold.p95)} ms (${name(worstZ14)})` : 'no z14 rows',
      pass: hasScale && worstZ14 ? z14.every((x) => x.cold.p95 < 50) : null,
      note: hasScale ? undefined : 'no scale data',
    },
    {
      name: 'around-incident p95 < 30 ms (scale data)',
      value: `${fmt(r.around.http.p95)} ms over HTTP (raw ${fmt(r.around.raw.p95)} ms)`,
      pass: hasScale ? r.around.http.p95 < 30 : null,
      note: hasScale ? undefined : 'no scale data',
    },
  ]
  if (r.backend !== 'postgres') for (const t of list) t.note = [t.note, 'info only: the targets are for PostgreSQL'].filter(Boolean).join('; ')
  return list
}

function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN
}

export function report(r: BackendResult): string {
  const pair = (s: Summary, d = 1) => `${fmt(s.p50, d)}/${fmt(s.p95, d)}`
  const header = ['layer', 'z', 'tiles', 'raw ms p50/p95', 'cold ms p50/p95', 'cold÷raw', 'hit ms p50/p95', 'cached rps', 'static rps', 'cached÷static', 'max KB']
  const rows = r.rows.map((x) => [
    x.layer,
    String(x.z),
    x.empty ? `${x.tiles} (${x.empty}∅)` : String(x.tiles),
    pair(x.raw, 2),
    pair(x.cold, 2),
    fmt(x.coldRatio, 2),
    pair(x.hit, 2),
    fmt(x.cachedRps, 0),
    fmt(x.staticRps, 0),
    fmt(x.cachedRatio, 2),
    `${fmt(x.maxBytes / 1024)}${x.maxBytes > MAX_TILE_BYTES ? '!' : ''}`,
  ])
  const c = r.counts
  const lines = [
    `== ${r.backend} (${r.encoder} MVT, PostGIS ${r.postgis}) — ${c.grids.toLocaleString('en')} grids, ${c.sensors.toLocaleString('en')} sensors, ` +
      `${c.cameras.toLocaleString('en')} cameras, ${c.workers.toLocaleString('en')} workers (${c.synthetic_districts} synthetic districts)${r.quick ? ' — QUICK' : ''}`,
    `   ${r.settings.tilesPerZoom} tiles/zoom max, cached runs ${r.settings.duration} s × ${r.settings.connections} connections, ${r.settings.cpus} CPUs, ` +
      `load average ${fmt(r.load.start, 2)} → ${fmt(r.load.end, 2)}, LOG_LEVEL=${r.settings.logLevel}; ∅ = empty tiles (204)`,
    ...(Math.max(r.load.start, r.load.end) > r.settings.cpus / 2 ? ['   WARNING: the machine was busy with other work during this run; the figures are skewed.'] : []),
    '',
    table(header, rows),
    '',
    table(
      ['around-incident', 'points', 'raw ms p50/p95', 'HTTP ms p50/p95', 'HTTP÷raw p50'],
      [[`radius ${r.settings.radius} m`, String(r.around.points), pair(r.around.raw, 2), pair(r.around.http, 2), fmt(r.around.ratio, 2)]],
    ),
    '',
    'targets:',
    ...r.targets.map((t) => `  ${t.pass === null ? ' n/a' : t.pass ? 'PASS' : 'MISS'}  ${t.name}: ${t.value}${t.note ? `  (${t.note})` : ''}`),
  ]
  if (r.failures.length) lines.push('', `FAILED (${r.failures.length}), not in the table:`, ...r.failures.map((f) => `  ${f}`))
  const anomalies = [...r.rows.flatMap((x) => x.anomalies), ...r.around.anomalies]
  if (anomalies.length) lines.push('', `anomalies (${anomalies.length}):`, ...anomalies.slice(0, 20).map((a) => `  ${a}`))
  return lines.join('\n')
}

async function main(): Promise<void> {
  let opts: Options
  try {
    opts = parseOptions(process.argv.slice(2))
  } catch (err) {
    console.error(`bench:tiles: ${(err as Error).message}`)
    process.exit(2)
  }
  fs.mkdirSync(opts.out, { recursive: true })
  for (const backend of opts.backends) {
    if (opts.seedOnly) {
      await prepare(backend, serverConfig(backend, opts), opts)
      continue
    }
    const result = await runBackend(backend, opts)
    const file = path.join(opts.out, `tiles-${backend}.json`)
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
    console.log(`\n${report(result)}\n\n(results: ${path.relative(process.cwd(), file) || file})\n`)
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main()
