/**
 * `npm run soak -- --minutes=60` — the server soak of issue 10 (run by hand; exit code 1 when a
 * bound is broken).
 *
 * Starts the real server as a CHILD process (`node --import tsx server/main.ts`, so its memory is
 * its own and /proc/<pid> is the server) with the demo simulator on at load and the periodic jobs
 * on, its own MQTT broker on a free port:
 *
 *   database  embedded (default): a copy of --data-dir (default data/bench/soak; seeded with the
 *             demo city on the first run, a minute or more, then reused as the template, never
 *             written by a soak) in a temporary folder removed at the end — every soak starts from
 *             the same state. --database-url=postgres://…: that PostgreSQL database as it is
 *             (created and seeded by the server when missing; the soak's readings stay in it).
 *   load      --sim-rate readings/s (500) over MQTT from the demo fleet (~1.2 k sensors: each
 *             reading every ~2.5 s, a busy time's rate and 10 × the demo's 50/s, as soak:wall), every
 *             worker on duty walking and posting positions every 10 s, --reports-per-hour citizen
 *             reports (120) through Open311, and the periodic jobs (offline detection, reminders,
 *             deadlines, dispatch acknowledgements).
 *   screens   --screens socket.io clients (6: wall, dispatcher, wall, supervisor, wall, dispatcher —
 *             the kiosk and seats of the whole city, one street's supervisor) connected as the web
 *             app connects: the scope rooms the server joins them to, the wall kiosks their screen
 *             room `screen:soak-<n>`, a viewport of their scope's extent for live telemetry; they read
 *             every event for the whole run (reconnecting like the web app, re-joining if not
 *             recovered), and a dispatcher pushes and releases a view on screen soak-1 every 30 s.
 *             Every --poll-s (5) one screen in turn polls what a wall polls: GET /api/wall/summary,
 *             /api/wall/live for its extent, and tiles of the live layers (sensors, workers, cases)
 *             over its extent at z13 (those the simulator's moves and alarms invalidate).
 *   samples   every --sample-s (5): the child's RSS (/proc/<pid>/status VmRSS; elsewhere the
 *             server's own figure), and from GET /api/health its JS heap, readings stored, and the
 *             event-loop delay of each 10 s window (`process.eventLoop`, server/http/process-health.ts:
 *             a 10 ms timer's lateness, perf_hooks monitorEventLoopDelay, read per window by seq).
 *
 * Prints a line per minute (RSS, heap, lag p50/p99/max, events received by the screens, readings
 * stored, HTTP polls), then the verdict against the bounds, with figures; writes
 * bench/results/soak.json (--out). The bounds (each a flag):
 *
 *   RSS        over the second half of the run (the first is warm-up: caches fill, V8 sizes its
 *              heap) the Theil–Sen slope of RSS (median of pairwise slopes: GC sawtooth and single
 *              outliers do not move it), times the second half's length, must be at most
 *              max(--rss-floor-mb 20, --rss-mb-per-hour 40 × that length): a 60-minute soak
 *              allows 20 MB over its last 30 minutes (40 MB/h — a leak that would take weeks to
 *              double the process), a short one the noise floor.
 *   lag        after a warm-up of --lag-warmup-s (a fifth of the run, at most 120 s: JIT, first
 *              tile encodes, the jobs' first runs, a first start's seeding garbage), p99 <
 *              --lag-p99-ms (200) in every 10 s window (the worst window's p99 bounds the run's
 *              p99 from above), and max < --lag-max-ms (1000). The minute lines show every window.
 *   screens    no screen goes --stall-s (30) without an event (telemetry comes every second while
 *              the fleet reads) and none is disconnected.
 *   HTTP       every poll answered 200/204.
 *   load       readings stored ≥ 50 % of --sim-rate per second (else the soak proved nothing).
 *
 * --report-only prints the same verdict and exits 0 whatever it says (the test suite's 30 s run
 * on a busy machine). Ctrl-C ends the run early with the summary. The demo accounts' password:
 * --password, else ONEGRID_SEED_PASSWORD, default onegrid-bench (used when seeding).
 * Options: --minutes=m (60; decimals allowed) · --screens=n (6) · --sim-rate=n (500) ·
 * --reports-per-hour=n (120) · --sample-s=s (5) · --poll-s=s (5) · --database-url=URL ·
 * --data-dir=DIR · --out=DIR (bench/results) · the bounds above · --report-only.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import type { EventLoopWindow as LagWindow } from '../server/http/process-health.ts'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import type { Socket } from 'socket.io-client'
import { projectRoot } from '../server/config.ts'
import { BENCH_PASSWORD, connectSocket, ensureDatabase, fmt, log, login, median, numberOption, percentile, sample, SequentialClient, sleep, table, theilSen, tilesOver, waitFor } from './lib.ts'

// ─── options ──────────────────────────────────────────────────────────────────────────────────

export interface Bounds {
  rssMbPerHour: number
  rssFloorMb: number
  lagP99Ms: number
  lagMaxMs: number
  /** Lag windows ending before this many seconds into the run are warm-up, not judged. */
  lagWarmupS: number
  stallS: number
  /** Readings stored per second, at least this share of the simulator's rate. */
  minLoadShare: number
}

interface Options {
  minutes: number
  screens: number
  simRate: number
  reportsPerHour: number
  sampleS: number
  pollS: number
  databaseUrl?: string
  dataDir: string
  out: string
  password: string
  reportOnly: boolean
  bounds: Bounds
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string' },
      screens: { type: 'string' },
      'sim-rate': { type: 'string' },
      'reports-per-hour': { type: 'string' },
      'sample-s': { type: 'string' },
      'poll-s': { type: 'string' },
      'database-url': { type: 'string' },
      'data-dir': { type: 'string' },
      out: { type: 'string' },
      password: { type: 'string' },
      'report-only': { type: 'boolean', default: false },
      'rss-mb-per-hour': { type: 'string' },
      'rss-floor-mb': { type: 'string' },
      'lag-p99-ms': { type: 'string' },
      'lag-max-ms': { type: 'string' },
      'lag-warmup-s': { type: 'string' },
      'stall-s': { type: 'string' },
    },
    strict: true,
  })
  const minutes = numberOption('minutes', values.minutes, 60, 0.05)
  return {
    minutes,
    screens: Math.round(numberOption('screens', values.screens, 6, 1)),
    simRate: numberOption('sim-rate', values['sim-rate'], 500, 0),
    reportsPerHour: numberOption('reports-per-hour', values['reports-per-hour'], 120, 0),
    sampleS: numberOption('sample-s', values['sample-s'], 5, 1),
    pollS: numberOption('poll-s', values['poll-s'], 5, 1),
    databaseUrl: values['database-url'] || undefined,
    dataDir: path.resolve(values['data-dir'] ?? process.env.BENCH_DATA_DIR ?? path.join(projectRoot, 'data', 'bench', 'soak')),
    out: values.out ?? path.join(projectRoot, 'bench', 'results'),
    password: values.password ?? BENCH_PASSWORD,
    reportOnly: values['report-only'],
    bounds: {
      rssMbPerHour: numberOption('rss-mb-per-hour', values['rss-mb-per-hour'], 40, 0),
      rssFloorMb: numberOption('rss-floor-mb', values['rss-floor-mb'], 20, 0),
      lagP99Ms: numberOption('lag-p99-ms', values['lag-p99-ms'], 200, 1),
      lagMaxMs: numberOption('lag-max-ms', values['lag-max-ms'], 1000, 1),
      lagWarmupS: numberOption('lag-warmup-s', values['lag-warmup-s'], Math.min(120, (minutes * 60) / 5), 0),
      stallS: numberOption('stall-s', values['stall-s'], 30, 1),
      minLoadShare: 0.5,
    },
  }
}

// ─── the server child process ─────────────────────────────────────────────────────────────────

interface ServerProcess {
  child: ChildProcess
  url: string
  /** Errors and warnings the server logged (pino level ≥ 50, = 40), the last few errors' messages, and its stderr (lines; the last 30). */
  logged: { errors: number; warnings: number; lastErrors: string[]; stderrLines: number; stderrTail: string[] }
  /** Set when the child exited (code or signal). */
  exited: string | null
  stop(): Promise<void>
}

/**
 * Starts `node --import tsx server/main.ts` with `env` over ours; resolves with its URL once it
 * prints that it is running (the first start of an empty database seeds it first: up to
 * `timeoutMs`). Its log (pino JSON on stdout) is counted, errors also shown.
 */
function startServerProcess(env: Record<string, string>, timeoutMs: number): Promise<ServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(projectRoot, 'server', 'main.ts')], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group: Ctrl-C at the terminal stops the soak (which then stops the server
    // after its summary), not the server in the middle of being measured.
    detached: true,
  })
  // Never leave it behind, whatever ends this process.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  let stopping = false
  const logged = { errors: 0, warnings: 0, lastErrors: [] as string[], stderrLines: 0, stderrTail: [] as string[] }
  const server: ServerProcess = {
    child,
    url: '',
    logged,
    exited: null,
    stop: async () => {
      stopping = true
      if (server.exited === null) {
        const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()))
        child.kill('SIGTERM')
        const force = setTimeout(() => child.kill('SIGKILL'), 20_000)
        await gone
        clearTimeout(force)
      }
      process.off('exit', killOnExit)
    },
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the server did not start within ${timeoutMs / 1000} s`))
    }, timeoutMs)
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(new Error(`starting the server failed: ${err.message}`))
    })
    child.once('exit', (code, signal) => {
      server.exited = signal ?? `exit code ${code}`
      clearTimeout(timer)
      // Why it died (a stack on stderr), unless we stopped it.
      if (!stopping && logged.stderrTail.length) process.stderr.write(logged.stderrTail.map((l) => `[server] ${l}\n`).join(''))
      reject(new Error(`the server exited (${server.exited}) before it was running${logged.lastErrors.length ? `: ${logged.lastErrors.join(' | ')}` : ''}`))
    })
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      const running = /OneGrid is running: (http:\/\/\S+?)\/wall/.exec(line)
      if (running) {
        server.url = running[1]!
        clearTimeout(timer)
        resolve(server)
        return
      }
      if (!line.startsWith('{')) return
      try {
        const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string } }
        if ((entry.level ?? 0) >= 50) {
          logged.errors++
          const msg = `${entry.msg ?? ''}${entry.err?.message ? `: ${entry.err.message}` : ''}`
          logged.lastErrors = [...logged.lastErrors.slice(-4), msg]
          if (logged.errors <= 20) log(`server error: ${msg}`)
        } else if (entry.level === 40) logged.warnings++
      } catch {
        // not a log entry
      }
    })
    // Kept, not shown: shown when the server dies (debug output would drown the minute lines).
    readline.createInterface({ input: child.stderr! }).on('line', (line) => {
      logged.stderrLines++
      logged.stderrTail = [...logged.stderrTail.slice(-29), line]
    })
  })
}

/** The server's settings for a soak, or for seeding the template (nothing running but the server). */
function serverEnv(opts: Options, database: { url?: string; dir?: string }, attachments: string, seedOnly: boolean): Record<string, string> {
  return {
    PORT: '0',
    HOST: '127.0.0.1',
    // One or the other (an empty DATABASE_URL is unset; ONEGRID_DATA_DIR must not be empty).
    DATABASE_URL: database.url ?? '',
    ...(database.dir ? { ONEGRID_DATA_DIR: database.dir } : {}),
    ONEGRID_SEED_PASSWORD: opts.password,
    ONEGRID_ATTACHMENTS_DIR: attachments,
    ONEGRID_WEB_DIR: process.env.ONEGRID_WEB_DIR ?? path.join(projectRoot, 'dist', 'web'),
    // Its own broker on any free port (MQTT_URL from our environment would send the load elsewhere), one process.
    MQTT_URL: '',
    REDIS_URL: '',
    ONEGRID_MQTT_PORT: seedOnly ? 'off' : '0',
    ONEGRID_SIMULATE: seedOnly ? 'off' : 'on',
    ONEGRID_SIM_RATE: String(opts.simRate),
    ONEGRID_SIM_REPORTS_PER_HOUR: String(opts.reportsPerHour),
    ONEGRID_JOBS: seedOnly ? 'off' : 'on',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
  }
}

/** The embedded template: seeded once by a server started on it with nothing else running (into a side folder, renamed when done). */
async function ensureTemplate(opts: Options, attachments: string): Promise<void> {
  if (fs.existsSync(opts.dataDir) && fs.readdirSync(opts.dataDir).length > 0) return
  const seeding = `${opts.dataDir}.seeding`
  fs.rmSync(seeding, { recursive: true, force: true })
  fs.mkdirSync(path.dirname(seeding), { recursive: true })
  log(`seeding the embedded template ${path.relative(projectRoot, opts.dataDir)} with the demo city (once; a minute or more)`)
  const started = Date.now()
  const server = await startServerProcess(serverEnv(opts, { dir: seeding }, attachments, true), 30 * 60_000)
  await server.stop()
  fs.rmSync(opts.dataDir, { recursive: true, force: true })
  fs.renameSync(seeding, opts.dataDir)
  log(`seeded in ${((Date.now() - started) / 1000).toFixed(0)} s`)
}

/** The child's resident set in MB (/proc/<pid>/status VmRSS and VmHWM, Linux); null elsewhere. */
function procMemory(pid: number): { rssMb: number; hwmMb: number } | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN)
    const rss = kb('VmRSS')
    return Number.isFinite(rss) ? { rssMb: rss / 1024, hwmMb: kb('VmHWM') / 1024 } : null
  } catch {
    return null
  }
}

// ─── what the server says ─────────────────────────────────────────────────────────────────────

interface Health {
  mqtt?: { connected: boolean; received: number; stored: number; dropped: Record<string, number>; writeFailed?: number }
  telemetry: { sent: number; messages: number; dropped: { slowClient: number; pending: number } }
  process?: { rssMb: number; heapUsedMb: number; heapTotalMb: number; eventLoop: LagWindow | null }
}

async function health(url: string): Promise<Health> {
  const res = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(10_000) })
  if (res.status !== 200) throw new Error(`GET /api/health: ${res.status}`)
  return (await res.json()) as Health
}

// ─── screens ──────────────────────────────────────────────────────────────────────────────────

/** Who the screens are, in turn: wall kiosks of the whole city, dispatcher seats, one street supervisor. */
const SCREEN_USERS = ['wall', 'dispatcher', 'wall', 'supervisor', 'wall', 'dispatcher'] as const
type BBox = [number, number, number, number]

class Screen {
  socket: Socket | null = null
  readonly counts = new Map<string, number>()
  events = 0
  telemetryItems = 0
  /** Events since the last minute line. */
  eventsInPeriod = 0
  lastEventAt = 0
  maxGapMs = 0
  disconnects: string[] = []
  rejoinErrors = 0
  /** Until the run ends: what comes later (the summary's own requests, the last release) is not the soak. */
  #counting = true

  constructor(
    readonly n: number,
    readonly user: string,
    readonly cookie: string,
    readonly bbox: BBox,
    readonly rooms: string[],
  ) {}

  async connect(url: string): Promise<void> {
    const viewport = { bbox: this.bbox, kinds: ['sensor', 'worker'] as ('sensor' | 'worker')[] }
    let connectedOnce = false
    this.socket = await connectSocket(url, {
      cookie: this.cookie,
      reconnection: true,
      rooms: this.rooms,
      viewport,
      listen: (s) => {
        s.onAny((event: string, payload: { items?: unknown[] } | undefined) => {
          if (!this.#counting) return
          const now = Date.now()
          if (this.lastEventAt) this.maxGapMs = Math.max(this.maxGapMs, now - this.lastEventAt)
          this.lastEventAt = now
          this.events++
          this.eventsInPeriod++
          this.counts.set(event, (this.counts.get(event) ?? 0) + 1)
          if (event === 'telemetry' && Array.isArray(payload?.items)) this.telemetryItems += payload.items.length
        })
        s.on('disconnect', (reason) => {
          if (this.#counting) this.disconnects.push(`${new Date().toISOString()} ${reason}`)
        })
        // As the web app: a reconnect socket.io could not recover lost the rooms and the viewport.
        s.on('connect', () => {
          if (connectedOnce && !s.recovered) {
            const again = async () => {
              if (this.rooms.length) await s.timeout(10_000).emitWithAck('subscribe', { rooms: this.rooms })
              await s.timeout(10_000).emitWithAck('viewport', viewport)
            }
            again().catch(() => this.rejoinErrors++)
          }
          connectedOnce = true
        })
      },
    })
  }

  /** Starts the gap clock (events before the soak began do not count). */
  startClock(at: number): void {
    this.lastEventAt = at
    this.maxGapMs = 0
  }

  /** Ends the counting at `at` (the end of the run), the gap still open then included. */
  stopCounting(at: number): void {
    this.#counting = false
    this.maxGapMs = this.gapMs(at)
  }

  /** The longest gap so far, counting the one still open at `now`. */
  gapMs(now: number): number {
    return this.#counting ? Math.max(this.maxGapMs, now - this.lastEventAt) : this.maxGapMs
  }

  close(): void {
    this.socket?.close()
  }
}

// ─── measurements ─────────────────────────────────────────────────────────────────────────────

interface Sample {
  /** Seconds since the soak began. */
  t: number
  rssMb: number
  hwmMb: number
  heapUsedMb: number
  stored: number
  received: number
}

interface Poll {
  t: number
  path: string
  status: number
  ms: number
}

interface MinuteRow {
  minute: number
  rssMb: number
  heapMb: number
  lagP50: number
  lagP99: number
  lagMax: number
  screenEvents: number
  stored: number
  storedPerS: number
  polls: number
  pollP95: number
  pollFailures: number
}

export interface Check {
  name: string
  value: string
  bound: string
  /** null: not enough data to judge (too short a run). */
  pass: boolean | null
}

export interface RssTrend {
  /** Theil–Sen slope over the second half, MB per hour. */
  slopeMbPerHour: number
  /** The slope times the second half's length: the fitted growth in MB. */
  growthMb: number
  allowedMb: number
  halfMinutes: number
  n: number
  medians: { firstHalf: number; secondQuarter: number; lastQuarter: number }
}

/** The RSS trend over the second half of the samples (t in seconds); null with fewer than 4 samples there. */
export function rssTrend(samples: readonly { t: number; rssMb: number }[], runS: number, bounds: Pick<Bounds, 'rssMbPerHour' | 'rssFloorMb'>): RssTrend | null {
  const half = runS / 2
  const second = samples.filter((s) => s.t >= half)
  if (second.length < 4) return null
  const slopePerS = theilSen(second.map((s) => ({ x: s.t, y: s.rssMb })))
  const halfHours = (runS - half) / 3600
  const q3 = (runS * 3) / 4
  return {
    slopeMbPerHour: slopePerS * 3600,
    growthMb: slopePerS * (runS - half),
    allowedMb: Math.max(bounds.rssFloorMb, bounds.rssMbPerHour * halfHours),
    halfMinutes: (runS - half) / 60,
    n: second.length,
    medians: {
      firstHalf: median(samples.filter((s) => s.t < half).map((s) => s.rssMb)),
      secondQuarter: median(second.filter((s) => s.t < q3).map((s) => s.rssMb)),
      lastQuarter: median(second.filter((s) => s.t >= q3).map((s) => s.rssMb)),
    },
  }
}

/** The verdict of a run against the bounds. */
export function judge(
  run: {
    runS: number
    samples: readonly { t: number; rssMb: number }[]
    lag: readonly { t: number; p99Ms: number; maxMs: number }[]
    maxGapS: number
    disconnects: number
    polls: number
    pollFailures: number
    storedPerS: number
    simRate: number
    serverExited: string | null
  },
  bounds: Bounds,
): { checks: Check[]; trend: RssTrend | null } {
  const trend = rssTrend(run.samples, run.runS, bounds)
  const judged = run.lag.filter((w) => w.t >= bounds.lagWarmupS)
  const p99 = judged.length ? Math.max(...judged.map((w) => w.p99Ms)) : NaN
  const max = judged.length ? Math.max(...judged.map((w) => w.maxMs)) : NaN
  const after = `${judged.length} window${judged.length === 1 ? '' : 's'} after ${fmt(bounds.lagWarmupS, 0)} s`
  const known = (v: number, ok: boolean) => (Number.isFinite(v) ? ok : null)
  const sign = (v: number) => (v >= 0 ? '+' : '')
  const checks: Check[] = [
    {
      name: 'RSS growth over the second half (Theil–Sen fit)',
      value: trend ? `${sign(trend.growthMb)}${fmt(trend.growthMb, 1)} MB in ${fmt(trend.halfMinutes, 1)} min (${sign(trend.slopeMbPerHour)}${fmt(trend.slopeMbPerHour, 0)} MB/h)` : 'too few samples',
      bound: trend ? `≤ ${fmt(trend.allowedMb, 1)} MB = max(${bounds.rssFloorMb} MB, ${bounds.rssMbPerHour} MB/h × ${fmt(trend.halfMinutes, 1)} min)` : `≤ max(${bounds.rssFloorMb} MB, ${bounds.rssMbPerHour} MB/h × half)`,
      pass: trend ? trend.growthMb <= trend.allowedMb : null,
    },
    { name: 'event-loop lag p99 (worst 10 s window)', value: `${fmt(p99, 1)} ms (${after})`, bound: `< ${bounds.lagP99Ms} ms`, pass: known(p99, p99 < bounds.lagP99Ms) },
    { name: 'event-loop lag max', value: `${fmt(max, 0)} ms (${after})`, bound: `< ${bounds.lagMaxMs} ms`, pass: known(max, max < bounds.lagMaxMs) },
    { name: 'longest gap between events at a screen', value: `${fmt(run.maxGapS, 1)} s`, bound: `< ${bounds.stallS} s`, pass: run.maxGapS < bounds.stallS },
    { name: 'screen disconnects', value: String(run.disconnects), bound: '0', pass: run.disconnects === 0 },
    { name: 'HTTP polls failed (not 200/204)', value: `${run.pollFailures} of ${run.polls}`, bound: '0', pass: run.polls > 0 && run.pollFailures === 0 },
    {
      name: 'load: readings stored per second',
      value: `${fmt(run.storedPerS, 0)}/s`,
      bound: `≥ ${fmt(bounds.minLoadShare * run.simRate, 0)}/s (${bounds.minLoadShare * 100} % of --sim-rate)`,
      pass: run.storedPerS >= bounds.minLoadShare * run.simRate,
    },
    { name: 'server process ran to the end', value: run.serverExited ?? 'yes', bound: 'yes', pass: run.serverExited === null },
  ]
  return { checks, trend }
}

// ─── the run ──────────────────────────────────────────────────────────────────────────────────

const MINUTE_HEADER = ['min', 'RSS MB', 'heap MB', 'lag p50 ms', 'lag p99 ms', 'lag max ms', 'screen events', 'readings stored', 'stored/s', 'HTTP polls', 'poll p95 ms', 'poll errors']
/** A row as it comes (lib's table() needs every row first): right-aligned under the header. */
const line = (cells: string[]) =>
  cells
    .map((c, k) => c.padStart(MINUTE_HEADER[k]!.length))
    .join('  ')
    .trimEnd()

function minuteCells(r: MinuteRow): string[] {
  return [fmt(r.minute, 1), fmt(r.rssMb, 1), fmt(r.heapMb, 1), fmt(r.lagP50, 1), fmt(r.lagP99, 1), fmt(r.lagMax, 0), String(r.screenEvents), String(r.stored), fmt(r.storedPerS, 0), String(r.polls), fmt(r.pollP95, 0), String(r.pollFailures)]
}

/** The extent of a layer the user sees (TileJSON bounds, scoped); the whole-city fallback when it has none. */
async function extentOf(client: SequentialClient, layer: string): Promise<BBox | null> {
  const res = await client.get(`/tiles/${layer}.json`)
  if (res.status !== 200) throw new Error(`GET /tiles/${layer}.json: ${res.status}`)
  return ((JSON.parse(res.body.toString('utf8')) as { bounds?: BBox }).bounds ?? null) as BBox | null
}

const LIVE_LAYERS = ['sensors', 'workers', 'cases']
const TILE_ZOOM = 13
const TILES_PER_LAYER = 6

async function main(): Promise<number> {
  let opts: Options
  try {
    opts = parseOptions(process.argv.slice(2))
  } catch (err) {
    console.error(`soak: ${(err as Error).message}`)
    return 2
  }
  const attachments = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-soak-attachments-'))
  let runDir: string | null = null
  let server: ServerProcess | null = null
  const screens: Screen[] = []
  const clients: SequentialClient[] = []
  let stopping = false
  // Killed (a test's timeout, kill): the 'exit' hooks still stop the server and remove the copy.
  process.once('SIGTERM', () => process.exit(143))
  process.once('exit', () => {
    if (runDir) fs.rmSync(runDir, { recursive: true, force: true })
  })
  process.once('SIGINT', () => {
    log('stopping: the summary follows (Ctrl-C again to quit at once)')
    stopping = true
    process.once('SIGINT', () => process.exit(130))
  })
  try {
    // ── the database and the server ──
    let database: { url?: string; dir?: string }
    if (opts.databaseUrl) {
      await ensureDatabase(opts.databaseUrl)
      database = { url: opts.databaseUrl }
    } else {
      await ensureTemplate(opts, attachments)
      runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-soak-db-'))
      fs.cpSync(opts.dataDir, runDir, { recursive: true })
      database = { dir: runDir }
    }
    const where = opts.databaseUrl ? opts.databaseUrl.replace(/\/\/[^@]*@/, '//…@') : `a copy of ${path.relative(process.cwd(), opts.dataDir) || opts.dataDir}`
    log(`starting the server (${where}); simulator ${opts.simRate} readings/s, ${opts.reportsPerHour} citizen reports/h, periodic jobs on`)
    server = await startServerProcess(serverEnv(opts, database, attachments, false), 30 * 60_000)
    const base = server.url
    const pid = server.child.pid!
    const proc = procMemory(pid) !== null
    await waitFor(async () => (await health(base)).mqtt?.connected === true, 'the server’s MQTT ingest to connect to its broker', 60_000)

    // ── screens ──
    const users = Array.from({ length: opts.screens }, (_, i) => SCREEN_USERS[i % SCREEN_USERS.length]!)
    const cookies = new Map<string, string>()
    for (const u of new Set(users)) cookies.set(u, await login(base, opts.password, u))
    const extents = new Map<string, BBox>()
    for (const u of new Set(users)) {
      const c = new SequentialClient(base, { cookie: cookies.get(u)! })
      const bbox = (await extentOf(c, 'sensors')) ?? (await extentOf(c, 'grids'))
      c.close()
      if (!bbox) throw new Error(`no sensors or grids in ${u}'s scope: is the database seeded with the demo city?`)
      extents.set(u, bbox)
    }
    let walls = 0
    for (let i = 0; i < users.length; i++) {
      const u = users[i]!
      const rooms = u === 'wall' ? [`screen:soak-${++walls}`] : []
      screens.push(new Screen(i + 1, u, cookies.get(u)!, extents.get(u)!, rooms))
    }
    await Promise.all(screens.map((s) => s.connect(base)))
    const pusher = screens.find((s) => s.user === 'dispatcher')
    // The wall polls of each screen's user: summary, live state, the live layers' tiles over its extent.
    const pollPaths = new Map<string, string[]>()
    for (const [u, bbox] of extents) {
      const tiles = sample(tilesOver(bbox, TILE_ZOOM), TILES_PER_LAYER, (t) => `${t.x}/${t.y}`)
      pollPaths.set(u, [
        '/api/wall/summary',
        `/api/wall/live?bbox=${bbox.map((v) => v.toFixed(5)).join(',')}`,
        ...LIVE_LAYERS.flatMap((layer) => tiles.map((t) => `/tiles/${layer}/${t.z}/${t.x}/${t.y}.mvt`)),
      ])
    }
    for (const s of screens) clients.push(new SequentialClient(base, { cookie: s.cookie, 'accept-encoding': 'br, gzip' }))
    // The fleet, as the wall's summary counts it (the whole city's).
    const summary = (await (await fetch(`${base}/api/wall/summary`, { headers: { cookie: screens[0]!.cookie } })).json()) as { sensors?: { total: { online: number; offline: number } }; workers?: { total: number; onDuty: number } }
    const fleet = { sensors: (summary.sensors?.total.online ?? 0) + (summary.sensors?.total.offline ?? 0), workers: summary.workers?.total ?? NaN, onDuty: summary.workers?.onDuty ?? NaN }

    // ── the soak ──
    const t0 = Date.now()
    const runMs = opts.minutes * 60_000
    const end = t0 + runMs
    const since = (at: number) => (at - t0) / 1000
    for (const s of screens) s.startClock(t0)
    const loadStart = os.loadavg()[0]!
    console.log(
      `\nServer soak: ${opts.minutes} min on ${opts.databaseUrl ? 'PostgreSQL' : 'the embedded database'} (server pid ${pid}); simulator ${opts.simRate} readings/s over ` +
        `${fleet.sensors} sensors, ${fleet.onDuty} of ${fleet.workers} workers on duty, ${opts.reportsPerHour} citizen reports/h, periodic jobs on; ` +
        `${screens.length} screens (${screens.map((s) => s.user).join(', ')}); a sample every ${opts.sampleS} s, a wall poll every ${opts.pollS} s; ` +
        `RSS from ${proc ? '/proc/<pid>/status' : '/api/health'}; machine ${os.cpus().length} cores, load ${loadStart.toFixed(2)}\n`,
    )
    console.log(line(MINUTE_HEADER) + '\n' + line(MINUTE_HEADER.map((h) => '-'.repeat(h.length))))

    const samples: Sample[] = []
    const windows = new Map<number, LagWindow & { t: number }>()
    const polls: Poll[] = []
    const rows: MinuteRow[] = []
    let sampleErrors = 0
    let pushes = 0
    let pushErrors = 0

    const takeSample = async () => {
      try {
        const h = await health(base)
        const mem = procMemory(pid)
        const at = Date.now()
        samples.push({
          t: since(at),
          rssMb: mem?.rssMb ?? h.process?.rssMb ?? NaN,
          hwmMb: mem?.hwmMb ?? NaN,
          heapUsedMb: h.process?.heapUsedMb ?? NaN,
          stored: h.mqtt?.stored ?? NaN,
          received: h.mqtt?.received ?? NaN,
        })
        const w = h.process?.eventLoop
        // Windows that began after the soak did: start-up is not the soak.
        if (w && !windows.has(w.seq) && Date.parse(w.at) - w.windowMs >= t0) windows.set(w.seq, { ...w, t: since(Date.parse(w.at)) })
        return h
      } catch (err) {
        sampleErrors++
        log(`sample failed: ${(err as Error).message}`)
        return null
      }
    }
    const first = await takeSample()
    const baseline = { stored: first?.mqtt?.stored ?? 0, received: first?.mqtt?.received ?? 0, slowClient: first?.telemetry.dropped.slowClient ?? 0 }

    let pollTurn = 0
    const pollOnce = async () => {
      const k = pollTurn++ % screens.length
      for (const p of pollPaths.get(screens[k]!.user)!) {
        const at = Date.now()
        try {
          const res = await clients[k]!.get(p)
          polls.push({ t: since(at), path: p, status: res.status, ms: res.ms })
        } catch (err) {
          polls.push({ t: since(at), path: p, status: 0, ms: Date.now() - at })
          log(`GET ${p}: ${(err as Error).message}`)
        }
      }
    }
    const push = async (release: boolean) => {
      if (!pusher?.socket) return
      const body = release ? { screen: 'soak-1' } : { screen: 'soak-1', view: { camera: { center: [(pusher.bbox[0] + pusher.bbox[2]) / 2, (pusher.bbox[1] + pusher.bbox[3]) / 2], zoom: 14, bearing: 0, pitch: 45 } } }
      try {
        const answer = (await pusher.socket.timeout(10_000).emitWithAck(release ? 'screen:release' : 'screen:push', body)) as { error?: string }
        if (answer.error) throw new Error(answer.error)
        pushes++
      } catch (err) {
        pushErrors++
        log(`screen ${release ? 'release' : 'push'} failed: ${(err as Error).message}`)
      }
    }

    const minuteRow = (from: number, to: number, prevStored: number): MinuteRow => {
      const inP = <T extends { t: number }>(xs: Iterable<T>) => [...xs].filter((x) => x.t > from && x.t <= to)
      const ss = inP(samples)
      const ws = inP(windows.values())
      const ps = inP(polls)
      const lastStored = ss.length ? ss[ss.length - 1]!.stored : prevStored
      const stored = lastStored - prevStored
      return {
        minute: to / 60,
        rssMb: median(ss.map((s) => s.rssMb)),
        heapMb: median(ss.map((s) => s.heapUsedMb)),
        lagP50: median(ws.map((w) => w.p50Ms)),
        lagP99: ws.length ? Math.max(...ws.map((w) => w.p99Ms)) : NaN,
        lagMax: ws.length ? Math.max(...ws.map((w) => w.maxMs)) : NaN,
        screenEvents: screens.reduce((a, s) => a + s.eventsInPeriod, 0),
        stored,
        storedPerS: stored / Math.max(1, to - from),
        polls: ps.length,
        pollP95: percentile(
          ps.map((p) => p.ms),
          0.95,
        ),
        pollFailures: ps.filter((p) => p.status !== 200 && p.status !== 204).length,
      }
    }

    // Three clocks: samples, polls, view pushes; a minute line after each whole minute.
    let nextSample = t0 + opts.sampleS * 1000
    let nextPoll = t0
    let nextPush = t0 + 30_000
    let pushed = false
    let nextMinute = t0 + 60_000
    let periodFrom = 0
    let prevStored = baseline.stored
    const flushMinute = (toS: number) => {
      const row = minuteRow(periodFrom, toS, prevStored)
      for (const s of screens) s.eventsInPeriod = 0
      prevStored += row.stored
      periodFrom = toS
      rows.push(row)
      console.log(line(minuteCells(row)))
    }
    let polling: Promise<void> = Promise.resolve()
    let pollBusy = false
    while (!stopping && server.exited === null) {
      const now = Date.now()
      if (now >= end) break
      if (now >= nextSample) {
        nextSample += opts.sampleS * 1000
        await takeSample()
      }
      // Polls run beside the samples (one at a time: a slow answer delays the next poll, as in a wall).
      if (now >= nextPoll && !pollBusy) {
        nextPoll = now + opts.pollS * 1000
        pollBusy = true
        polling = pollOnce().finally(() => (pollBusy = false))
      }
      if (now >= nextPush) {
        nextPush += 30_000
        void push(pushed)
        pushed = !pushed
      }
      if (Date.now() >= nextMinute && nextMinute <= end) {
        // The minute's last sample first, so the line has its figures.
        if (samples.length === 0 || samples[samples.length - 1]!.t < since(nextMinute) - opts.sampleS / 2) await takeSample()
        flushMinute(since(nextMinute))
        nextMinute += 60_000
      }
      // At most half a second: Ctrl-C and a server that exits are noticed soon.
      await sleep(Math.max(10, Math.min(nextSample, nextMinute, nextPoll, nextPush, end, Date.now() + 500) - Date.now()))
    }
    await polling
    await takeSample()
    const endAt = Date.now()
    for (const s of screens) s.stopCounting(endAt)
    if (pushed) await push(true)
    const endS = since(endAt)
    // A last, partial period (a run of 0.5 min has only this one): when it holds more than a few seconds.
    if (endS - periodFrom >= Math.min(10, endS / 2)) flushMinute(endS)
    const loadEnd = os.loadavg()[0]!

    // ── summary ──
    const runS = samples.length ? samples[samples.length - 1]!.t : endS
    const last = samples[samples.length - 1]
    const storedTotal = (last?.stored ?? baseline.stored) - baseline.stored
    const receivedTotal = (last?.received ?? baseline.received) - baseline.received
    const lag = [...windows.values()]
    const maxGapS = Math.max(...screens.map((s) => s.gapMs(endAt))) / 1000
    const disconnects = screens.reduce((a, s) => a + s.disconnects.length, 0)
    const pollFailures = polls.filter((p) => p.status !== 200 && p.status !== 204).length
    const finalHealth = await health(base).catch(() => null)
    const serverExited = server.exited
    const { checks, trend } = judge(
      { runS, samples, lag, maxGapS, disconnects, polls: polls.length, pollFailures, storedPerS: storedTotal / Math.max(1, runS), simRate: opts.simRate, serverExited },
      opts.bounds,
    )
    const byName = new Map<string, number>()
    for (const s of screens) for (const [k, v] of s.counts) byName.set(k, (byName.get(k) ?? 0) + v)
    const events = screens.reduce((a, s) => a + s.events, 0)
    const pollMs = polls.filter((p) => p.status === 200 || p.status === 204).map((p) => p.ms)
    const slowDropped = (finalHealth?.telemetry.dropped.slowClient ?? baseline.slowClient) - baseline.slowClient

    console.log(`\nscreens: ${events} events in ${fmt(runS / 60, 1)} min (${[...byName].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}); telemetry items ${screens.reduce((a, s) => a + s.telemetryItems, 0)}; dropped for slow clients ${slowDropped}`)
    console.log(
      table(
        ['screen', 'user', 'events', 'telemetry items', 'longest gap s', 'disconnects'],
        screens.map((s) => [String(s.n), s.user, String(s.events), String(s.telemetryItems), fmt(s.gapMs(endAt) / 1000, 1), String(s.disconnects.length)]),
      ),
    )
    console.log(`readings: ${receivedTotal} received by the ingest, ${storedTotal} stored (${fmt(storedTotal / Math.max(1, runS), 0)}/s; simulator at ${opts.simRate}/s)`)
    // By kind: on the embedded database a query runs on the server's event loop, so the slowest answers are also its lag.
    const kindOf = (p: string) => (p.startsWith('/api/wall/summary') ? 'summary' : p.startsWith('/api/wall/live') ? 'live' : 'tiles')
    const byKind = Object.fromEntries(
      ['summary', 'live', 'tiles'].map((k) => {
        const ms = polls.filter((p) => kindOf(p.path) === k && (p.status === 200 || p.status === 204)).map((p) => p.ms)
        return [k, { n: ms.length, p50: percentile(ms, 0.5), p95: percentile(ms, 0.95), max: percentile(ms, 1) }]
      }),
    ) as Record<string, { n: number; p50: number; p95: number; max: number }>
    console.log(
      `HTTP polls: ${polls.length} (${pollFailures} failed), p50 ${fmt(percentile(pollMs, 0.5), 0)} ms, p95 ${fmt(percentile(pollMs, 0.95), 0)} ms, max ${fmt(percentile(pollMs, 1), 0)} ms ` +
        `(${Object.entries(byKind).map(([k, v]) => `${k} p50/p95/max ${fmt(v.p50, 0)}/${fmt(v.p95, 0)}/${fmt(v.max, 0)}`).join(', ')}); view pushes ${pushes} (${pushErrors} failed)`,
    )
    console.log(
      `server log: ${server.logged.errors} errors, ${server.logged.warnings} warnings${server.logged.lastErrors.length ? ` (last: ${server.logged.lastErrors.join(' | ')})` : ''}; ` +
        `${server.logged.stderrLines} lines on stderr${server.logged.stderrTail.length ? ` (last: ${server.logged.stderrTail.slice(-3).join(' | ').slice(0, 300)})` : ''}`,
    )
    if (trend) console.log(`RSS: median ${fmt(trend.medians.firstHalf, 1)} MB in the first half, ${fmt(trend.medians.secondQuarter, 1)} → ${fmt(trend.medians.lastQuarter, 1)} MB in the third → last quarter; peak ${fmt(Math.max(...samples.map((s) => s.hwmMb)), 1)} MB`)
    console.log(`event loop: ${lag.length} windows of 10 s (the first ${fmt(opts.bounds.lagWarmupS, 0)} s are warm-up); p50 ${fmt(median(lag.map((w) => w.p50Ms)), 1)} ms (median window), p99 ≤ ${fmt(Math.max(...lag.map((w) => w.p99Ms)), 1)} ms, max ${fmt(Math.max(...lag.map((w) => w.maxMs)), 0)} ms`)
    console.log(`machine: ${os.cpus().length} cores, load ${loadStart.toFixed(2)} at the start, ${loadEnd.toFixed(2)} at the end${sampleErrors ? `; ${sampleErrors} samples failed` : ''}`)
    const verdict = (c: Check) => (c.pass === null ? 'n/a' : c.pass ? 'PASS' : 'FAIL')
    console.log(`\n${table(['check', 'value', 'bound', 'result'], checks.map((c) => [c.name, c.value, c.bound, verdict(c)]))}`)
    const failed = checks.filter((c) => c.pass === false)
    const pass = failed.length === 0
    console.log(
      `\nverdict: ${pass ? 'PASS' : `FAIL (${failed.map((c) => c.name).join('; ')})`}` + (opts.reportOnly ? ' — report only (--report-only): not enforced' : ''),
    )

    fs.mkdirSync(opts.out, { recursive: true })
    const file = path.join(opts.out, 'soak.json')
    const result = {
      at: new Date(t0).toISOString(),
      settings: { minutes: opts.minutes, screens: screens.map((s) => s.user), simRate: opts.simRate, reportsPerHour: opts.reportsPerHour, sampleS: opts.sampleS, pollS: opts.pollS, database: opts.databaseUrl ? 'postgres' : 'embedded', reportOnly: opts.reportOnly, bounds: opts.bounds },
      machine: { cpus: os.cpus().length, load: { start: loadStart, end: loadEnd } },
      fleet,
      runS,
      rssSource: proc ? 'proc' : 'health',
      minutes: rows,
      samples,
      lagWindows: lag,
      screens: screens.map((s) => ({ n: s.n, user: s.user, rooms: s.rooms, events: s.events, telemetryItems: s.telemetryItems, byName: Object.fromEntries(s.counts), maxGapS: s.gapMs(endAt) / 1000, disconnects: s.disconnects, rejoinErrors: s.rejoinErrors })),
      readings: { received: receivedTotal, stored: storedTotal, storedPerS: storedTotal / Math.max(1, runS) },
      polls: { n: polls.length, failures: pollFailures, p50: percentile(pollMs, 0.5), p95: percentile(pollMs, 0.95), max: percentile(pollMs, 1), byKind, failed: polls.filter((p) => p.status !== 200 && p.status !== 204).slice(0, 20) },
      pushes: { ok: pushes, failed: pushErrors },
      serverLog: server.logged,
      rss: trend,
      checks,
      pass,
    }
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`)
    console.log(`(results: ${path.relative(process.cwd(), file) || file})`)
    return pass || opts.reportOnly ? 0 : 1
  } finally {
    for (const s of screens) s.close()
    for (const c of clients) c.close()
    await server?.stop().catch(() => {})
    if (runDir) fs.rmSync(runDir, { recursive: true, force: true })
    fs.rmSync(attachments, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(`soak: ${(err as Error).stack ?? String(err)}`)
      process.exit(1)
    },
  )
}
