/**
 * `npm run soak:wall -- --minutes=60` — the wall under the simulator at load for a long time, in
 * headless Chromium (SwiftShader), sampled for leaks (issue 7; a benchmark, not a test: it exits 0
 * whatever the growth, 1 only when something broke).
 *
 * Starts the OneGrid server in this process (the embedded database in data/bench/wall, seeded
 * with the demo city on the first start; DATABASE_URL or --database-url: that PostgreSQL) with the
 * simulator on at --sim-rate readings/s (10 × the demo's 50) and --reports-per-hour citizen
 * reports, its own MQTT broker and the periodic jobs — or uses an already running server (--url,
 * whose simulator is whatever it runs). Opens /wall?debug=1 as --user (the kiosk account `wall`)
 * at --size and every --interval-s seconds samples, through the Chrome DevTools Protocol after a
 * forced garbage collection (so every sample compares live objects only): JS heap used, DOM nodes
 * and event listeners; in the page, the event-loop lag (a 100 ms timer's lateness: median and
 * worst since the previous sample); the socket.io events the page received (WebSocket frames, by
 * event name: proof the simulator's load reaches it); the freshness indicator's level.
 *
 * Prints a row per sample and at the end the growth of heap and DOM nodes from the first sample
 * after --warmup-s to the last, against the target (< 10 % each) as PASS/FAIL. Ctrl-C stops early
 * and still prints the summary.
 *
 * Options: --minutes=m (60) · --interval-s=s (60) · --warmup-s=s (a third of the run, at most 600; the baseline sample, once the bounded caches
 * have filled) · samples are taken at the overview (never while an alarm card holds the map) ·
 * --url=URL · --user=NAME (wall) · --password=PW (ONEGRID_SEED_PASSWORD, default onegrid-bench) ·
 * --size=WxH (1920x1080) · --sim-rate=n (500) · --reports-per-hour=n (120) · --database-url=URL ·
 * --data-dir=DIR · --heap-diff (heap snapshots at the baseline and the end: which constructors grew). ONEGRID_WEB_DIR: serve that build of the web app instead of dist/web.
 */
import os from 'node:os'
import { parseArgs } from 'node:util'
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core'
import type { RunningServer } from '../server/main.ts'
import { launchBrowser } from '../tests/helpers/browser.ts'
import { growers, heapSummary, newRetainers, type HeapSummary } from './heap-diff.ts'
import { fmt, log, table } from './lib.ts'
import { BENCH_PASSWORD, DEFAULT_DATA_DIR, numberOption, openWall, parseSize, signedInContext, sleep, startWallServer, webDir } from './wall-common.ts'

const TARGET_GROWTH = 10 // %

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    minutes: { type: 'string' },
    'interval-s': { type: 'string' },
    'warmup-s': { type: 'string' },
    url: { type: 'string' },
    user: { type: 'string', default: 'wall' },
    password: { type: 'string' },
    size: { type: 'string', default: '1920x1080' },
    'sim-rate': { type: 'string' },
    'reports-per-hour': { type: 'string' },
    'database-url': { type: 'string' },
    'data-dir': { type: 'string' },
    'heap-diff': { type: 'boolean', default: false },
  },
  strict: true,
})
const opts = {
  minutes: numberOption('minutes', values.minutes, 60, 0.1),
  intervalS: numberOption('interval-s', values['interval-s'], 60, 1),
  // The baseline comes after the bounded caches have filled: the first alarm flights fill MapLibre's
  // tile cache (up to 40 tiles per source, MapView.vue) and the worker trails hold 10 minutes.
  warmupS: numberOption('warmup-s', values['warmup-s'], Math.min(600, (Number(values.minutes ?? 60) * 60) / 3), 0),
  url: values.url?.replace(/\/+$/, ''),
  user: values.user,
  password: values.password ?? BENCH_PASSWORD,
  size: parseSize(values.size),
  simRate: numberOption('sim-rate', values['sim-rate'], 500, 0),
  reportsPerHour: numberOption('reports-per-hour', values['reports-per-hour'], 120, 0),
  databaseUrl: values['database-url'] ?? process.env.DATABASE_URL ?? undefined,
  dataDir: values['data-dir'] ?? process.env.BENCH_DATA_DIR ?? DEFAULT_DATA_DIR,
  heapDiff: values['heap-diff'],
}

interface Sample {
  /** Seconds since the wall was open. */
  t: number
  heapMb: number
  nodes: number
  listeners: number
  lag: { p50: number; max: number; n: number }
  /** socket.io events received since the previous sample, by name. */
  events: Record<string, number>
  fresh: string
  /** Readings the server's MQTT ingest received per second since the previous sample (its /api/health): the simulator's load. */
  ingestPerS: number
}

/** Counts socket.io EVENT packets (`42[...]`, optionally with a namespace and ack id) arriving at the page, by event name. */
class SocketCounter {
  counts = new Map<string, number>()
  total = 0
  watch(page: Page): void {
    page.on('websocket', (ws) =>
      ws.on('framereceived', ({ payload }) => {
        if (typeof payload !== 'string') return
        const m = /^42(?:\/[^,]*,)?\d*(\[.*)$/s.exec(payload)
        if (!m) return
        let name = '?'
        try {
          const [event, arg] = JSON.parse(m[1]!) as [unknown, { type?: unknown } | undefined]
          // domain events all come as 'event': tell them apart by their type
          name = event === 'event' && typeof arg?.type === 'string' ? `event[${arg.type}]` : String(event)
        } catch {
          // a frame that is not JSON counts under '?'
        }
        this.counts.set(name, (this.counts.get(name) ?? 0) + 1)
        this.total++
      }),
    )
  }
  take(): Record<string, number> {
    const out = Object.fromEntries(this.counts)
    this.counts.clear()
    return out
  }
}

/** A 100 ms timer in the page; how late each tick comes is the event-loop lag (rendering frames included). */
async function installLagProbe(page: Page): Promise<void> {
  await page.evaluate(() => {
    const w = window as unknown as { __soakLag?: number[] }
    const lags: number[] = (w.__soakLag = [])
    const period = 100
    let due = performance.now() + period
    const tick = () => {
      const now = performance.now()
      // bounded: a sample reads and empties it; a stalled reader keeps at most the last 10 minutes
      if (lags.length >= 6000) lags.shift()
      lags.push(Math.max(0, now - due))
      due = now + period
      setTimeout(tick, period)
    }
    setTimeout(tick, period)
  })
}

/** Readings received so far by the server's MQTT ingest (public GET /api/health); NaN when it has none or does not say. */
async function ingested(base: string): Promise<number> {
  try {
    const health = (await (await fetch(`${base}/api/health`)).json()) as { mqtt?: { received?: number } }
    return health.mqtt?.received ?? NaN
  } catch {
    return NaN
  }
}

async function sample(page: Page, cdp: CDPSession, sockets: SocketCounter, t: number, ingestPerS: number): Promise<Sample> {
  const lag = await page.evaluate(() => {
    const lags = (window as unknown as { __soakLag: number[] }).__soakLag
    const sorted = lags.splice(0).sort((a, b) => a - b)
    return { p50: sorted[Math.floor(sorted.length / 2)] ?? NaN, max: sorted[sorted.length - 1] ?? NaN, n: sorted.length }
  })
  const fresh = (await page.locator('[data-testid="wall-freshness"]').first().getAttribute('data-level', { timeout: 1000 }).catch(() => null)) ?? '–'
  await cdp.send('HeapProfiler.collectGarbage')
  const { metrics } = await cdp.send('Performance.getMetrics')
  const metric = (name: string) => metrics.find((m) => m.name === name)?.value ?? NaN
  return { t, heapMb: metric('JSHeapUsedSize') / 1024 / 1024, nodes: metric('Nodes'), listeners: metric('JSEventListeners'), lag, events: sockets.take(), fresh, ingestPerS }
}

const growth = (from: number, to: number) => (100 * (to - from)) / from

function row(s: Sample, base: Sample | undefined): string[] {
  const events = Object.entries(s.events).sort((a, b) => b[1] - a[1])
  const total = events.reduce((a, [, n]) => a + n, 0)
  return [
    fmt(s.t / 60, 1),
    fmt(s.heapMb, 1),
    base ? `${growth(base.heapMb, s.heapMb) >= 0 ? '+' : ''}${fmt(growth(base.heapMb, s.heapMb), 1)}%` : '–',
    String(s.nodes),
    base ? `${growth(base.nodes, s.nodes) >= 0 ? '+' : ''}${fmt(growth(base.nodes, s.nodes), 1)}%` : '–',
    String(s.listeners),
    fmt(s.lag.p50, 0),
    fmt(s.lag.max, 0),
    s.fresh,
    fmt(s.ingestPerS, 0),
    String(total),
    events
      .slice(0, 4)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ') || '–',
  ]
}
const HEADER = ['min', 'heap MB', 'Δheap', 'DOM nodes', 'Δnodes', 'listeners', 'lag p50 ms', 'lag max ms', 'freshness', 'ingest/s', 'socket events', 'most frequent']
/** A row as it comes (lib's table() needs every row first): right-aligned under the header, the last column (event names) left. */
const line = (cells: string[]) =>
  cells
    .map((c, k) => (k === cells.length - 1 ? c : c.padStart(HEADER[k]!.length)))
    .join('  ')
    .trimEnd()

async function main(): Promise<void> {
  let server: RunningServer | null = null
  let browser: Browser | null = null
  let context: BrowserContext | null = null
  let stopping = false
  process.once('SIGINT', () => {
    log('stopping after this sample (Ctrl-C again to quit at once)')
    stopping = true
    process.once('SIGINT', () => process.exit(130))
  })
  try {
    let base = opts.url
    if (!base) {
      server = await startWallServer({
        databaseUrl: opts.databaseUrl,
        dataDir: opts.dataDir,
        webDir: webDir(),
        // the simulator at load, through the server's own broker (any free port); the periodic jobs as in production
        env: {
          ONEGRID_SIMULATE: 'on',
          ONEGRID_SIM_RATE: String(opts.simRate),
          ONEGRID_SIM_REPORTS_PER_HOUR: String(opts.reportsPerHour),
          ONEGRID_MQTT_PORT: '0',
          MQTT_URL: '',
          ONEGRID_JOBS: 'on',
        },
      })
      base = server.url
      log(`server ${base} (${server.db.kind}), simulator ${opts.simRate} readings/s, ${opts.reportsPerHour} citizen reports/h`)
    }
    // the first sample's rate covers the time the wall took to open
    let received = { n: await ingested(base), at: Date.now() }
    browser = await launchBrowser()
    context = await signedInContext(browser, base, opts.user, opts.password, opts.size)
    const sockets = new SocketCounter()
    const pageErrors: string[] = []
    context.on('page', (p) => {
      sockets.watch(p)
      p.on('pageerror', (e) => pageErrors.push(e.message))
    })
    const page = await openWall(context, base)
    let crashed = false
    page.on('crash', () => (crashed = true))
    const cdp = await context.newCDPSession(page)
    await cdp.send('Performance.enable')
    await installLagProbe(page)
    const started = Date.now()
    const end = started + opts.minutes * 60_000
    log(`wall open at ${opts.size.width}×${opts.size.height} as ${opts.user}; sampling every ${opts.intervalS} s for ${opts.minutes} min (baseline: the first sample after ${opts.warmupS} s); load ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} cores`)
    console.log(`\nWall soak: ${base}/wall as ${opts.user}, ${opts.size.width}×${opts.size.height}, ${opts.minutes} min, a sample every ${opts.intervalS} s (after a forced GC)\n`)
    console.log(line(HEADER) + '\n' + line(HEADER.map((h) => '-'.repeat(h.length))))
    const samples: Sample[] = []
    let baseline: Sample | undefined
    let baseHeap: HeapSummary | undefined
    for (let i = 0; ; i++) {
      // Like with like: sample at the overview, not while a critical alarm holds the map zoomed in
      // (MapLibre then holds 3–4× the overview's tiles; they go when it returns).
      await page.locator('[data-testid="wall-alarm-card"]').waitFor({ state: 'detached', timeout: 60_000 }).catch(() => {})
      const now = { n: await ingested(base), at: Date.now() }
      const s = await sample(page, cdp, sockets, (Date.now() - started) / 1000, (now.n - received.n) / ((now.at - received.at) / 1000))
      received = now
      samples.push(s)
      if (!baseline && s.t >= opts.warmupS) {
        baseline = s
        if (opts.heapDiff) {
          baseHeap = await heapSummary(cdp)
          delete baseHeap.snapshot // only its ids are needed later
        }
      }
      console.log(line(row(s, baseline)))
      if (crashed || stopping || new URL(page.url()).pathname !== '/wall') break
      const next = started + (i + 1) * opts.intervalS * 1000
      if (next > end + 500) break
      await sleep(Math.max(0, next - Date.now()))
    }

    const last = samples[samples.length - 1]!
    console.log(`\nsocket.io events received by the page: ${sockets.total} in ${fmt(last.t / 60, 1)} min`)
    if (pageErrors.length) console.log(`page errors (${pageErrors.length}): ${[...new Set(pageErrors)].slice(0, 5).join(' | ')}`)
    if (crashed) console.log('FAIL: the page crashed')
    else if (new URL(page.url()).pathname !== '/wall') console.log(`FAIL: the page left the wall for ${page.url()}`)
    console.log(`machine: ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)} at the end`)
    if (!baseline || baseline === last) {
      console.log(`\nno growth figure: the run ended before a sample after the warm-up (${opts.warmupS} s) and a later one`)
      return
    }
    if (baseHeap) {
      const kb = (n: number) => fmt(n / 1024, 0)
      const endHeap = await heapSummary(cdp)
      const grown = growers(baseHeap, endHeap)
      console.log(`\nheap growth by constructor (self size, KB; snapshots at the baseline and now):`)
      console.log(
        table(
          ['constructor', 'from KB', 'to KB', 'Δ KB', 'objects from', 'objects to'],
          grown.map((g) => [g.name.slice(0, 60), kb(g.from), kb(g.to), kb(g.to - g.from), String(g.countFrom), String(g.countTo)]),
        ),
      )
      // What keeps the new objects of the three object constructors that grew most alive.
      for (const g of grown.filter((x) => !x.name.startsWith('[') && !x.name.startsWith('(') && x.countTo > x.countFrom).slice(0, 3)) {
        console.log(`\nnew ${g.name} objects (${g.countTo - g.countFrom} more than at the baseline), by retainer chain:`)
        for (const r of newRetainers(baseHeap, endHeap, g.name)) console.log(`  ${String(r.count).padStart(6)}  ${r.chain}`)
      }
    }
    const heap = growth(baseline.heapMb, last.heapMb)
    const nodes = growth(baseline.nodes, last.nodes)
    // One sample swings by a few MB with what the moment holds (an alarm's card and flight, a
    // burst of events, V8's compiled code): the medians of the first and the last five samples
    // after the warm-up say whether the heap climbs, beside the two single samples.
    const after = samples.filter((x) => x.t >= baseline!.t)
    if (after.length >= 10) {
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
      const m0 = median(after.slice(0, 5).map((x) => x.heapMb))
      const m1 = median(after.slice(-5).map((x) => x.heapMb))
      console.log(`\nheap, median of the first 5 samples after the warm-up → of the last 5: ${fmt(m0, 1)} → ${fmt(m1, 1)} MB (${growth(m0, m1) >= 0 ? '+' : ''}${fmt(growth(m0, m1), 1)} %); min ${fmt(Math.min(...after.map((x) => x.heapMb)), 1)}, max ${fmt(Math.max(...after.map((x) => x.heapMb)), 1)} MB`)
    }
    const verdict = (g: number) => (g < TARGET_GROWTH ? 'PASS' : 'FAIL')
    console.log(
      `\n` +
        table(
          ['growth (minute ' + fmt(baseline.t / 60, 1) + ' → ' + fmt(last.t / 60, 1) + ')', 'from', 'to', 'growth', `target < ${TARGET_GROWTH} %`],
          [
            ['JS heap used (MB)', fmt(baseline.heapMb, 1), fmt(last.heapMb, 1), `${fmt(heap, 1)}%`, verdict(heap)],
            ['DOM nodes', String(baseline.nodes), String(last.nodes), `${fmt(nodes, 1)}%`, verdict(nodes)],
            ['event listeners (info)', String(baseline.listeners), String(last.listeners), `${fmt(growth(baseline.listeners, last.listeners), 1)}%`, '–'],
          ],
        ),
    )
  } finally {
    await context?.close().catch(() => {})
    await browser?.close().catch(() => {})
    await server?.close().catch(() => {})
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`soak:wall: ${(err as Error).stack ?? String(err)}`)
    process.exit(1)
  },
)
