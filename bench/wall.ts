/**
 * `npm run bench:wall` — the wall's frame time against a bare MapLibre + deck.gl page drawing the
 * same map, in the same run (issue 7; a benchmark, not a test: it exits 0 whatever the ratio).
 *
 * Starts the OneGrid server in this process (the embedded database in data/bench/wall, seeded with
 * the demo city on the first start; DATABASE_URL or --database-url: that PostgreSQL, created and
 * seeded when missing) with the simulator, periodic jobs and MQTT off, so the data is the demo
 * data and nothing moves by itself. Builds bench/wall-bare/ (plain MapLibre + deck.gl: the same
 * style /styles/night.json, the same tiles, map options and kinds of deck.gl layers as the wall)
 * with Vite into a temp folder, and serves it and the server from one origin through a small
 * proxy (the session cookie covers both; both pages go through it, so neither gets a shorter path).
 *
 * In headless Chromium (SwiftShader: software WebGL, as on this kind of machine), at --size
 * (1920x1080), signed in as the kiosk account `wall`, it alternates the two pages — wall, bare,
 * wall, bare… (--rounds) to cancel drift — and on each: opens it and waits until the map is idle,
 * jumps to the same camera (the wall's own overview as the first wall run opens, or --zoom and
 * --pitch over the centre of the demo area), runs the camera path once to load every tile it shows
 * (warm-up), waits for the map to settle, then runs it again measured, recording the intervals
 * between animation frames (requestAnimationFrame) — a full turn of the bearing while the centre
 * goes round --pan-m metres away:
 *   --motion=ease (default)  four 90° `map.easeTo` legs, linear, --seconds in all: MapLibre animates
 *                            and 'moveend' fires once a leg, as in a tour or a fly to an alarm;
 *   --motion=jump            --frames `map.jumpTo` steps, one per animation frame: every step is a
 *                            whole move ('moveend' each frame), so the wall's on-move work (reloading
 *                            its live data, telling the server its viewport) runs every frame too.
 * Both pages are driven through the same hook (`window.__onegridMap`, the wall's ?debug=1 hook).
 *
 * Prints each run, the pooled median and p95 frame time of each page, the ratio wall ÷ bare and
 * the target (≤ 1.3) as PASS/MISS; the machine's load; writes bench/results/wall.json.
 *
 * Options: --size=WxH (1920x1080) · --rounds=n (2) · --motion=ease|jump · --seconds=s (24) ·
 * --frames=n (48) · --zoom=z and --pitch=deg (default the wall's own) · --pan-m=m (250) · --database-url=URL · --data-dir=DIR · --out=DIR (bench/results).
 * ONEGRID_WEB_DIR: serve that build of the web app instead of dist/web (built when stale).
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import type { Browser, Page } from 'playwright-core'
import { build } from 'vite'
import { projectRoot } from '../server/config.ts'
import type { RunningServer } from '../server/main.ts'
import { launchBrowser } from '../tests/helpers/browser.ts'
import { fmt, log, percentile, table } from './lib.ts'
import { BENCH_PASSWORD, DEFAULT_DATA_DIR, numberOption, openWall, parseSize, signedInContext, sleep, startProxy, startWallServer, webDir, type Proxy, type Size } from './wall-common.ts'

const TARGET_RATIO = 1.3
const BARE_PREFIX = '/__bench/wall-bare/'

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    size: { type: 'string', default: '1920x1080' },
    rounds: { type: 'string' },
    motion: { type: 'string', default: 'ease' },
    seconds: { type: 'string' },
    frames: { type: 'string' },
    zoom: { type: 'string' },
    pitch: { type: 'string' },
    'pan-m': { type: 'string' },
    'database-url': { type: 'string' },
    'data-dir': { type: 'string' },
    out: { type: 'string' },
  },
  strict: true,
})
const opts = {
  size: parseSize(values.size),
  rounds: Math.round(numberOption('rounds', values.rounds, 2, 1)),
  motion: values.motion === 'ease' || values.motion === 'jump' ? values.motion : fail(`--motion must be ease or jump, not "${values.motion}"`),
  seconds: numberOption('seconds', values.seconds, 24, 2),
  frames: Math.round(numberOption('frames', values.frames, 48, 4)),
  zoom: values.zoom === undefined ? undefined : numberOption('zoom', values.zoom, 0, 0),
  pitch: values.pitch === undefined ? undefined : numberOption('pitch', values.pitch, 0, 0),
  panM: numberOption('pan-m', values['pan-m'], 250, 0),
  databaseUrl: values['database-url'] ?? process.env.DATABASE_URL ?? undefined,
  dataDir: values['data-dir'] ?? process.env.BENCH_DATA_DIR ?? DEFAULT_DATA_DIR,
  out: values.out ?? path.join(projectRoot, 'bench', 'results'),
}

function fail(message: string): never {
  throw new Error(message)
}

type Kind = 'wall' | 'bare'

interface Camera {
  center: [number, number]
  zoom: number
  pitch: number
  bearing: number
}

interface PassResult {
  /** Intervals between consecutive animation frames (ms). */
  intervals: number[]
  /** MapLibre 'render' events during the pass (≈ one per frame when every step was drawn). */
  renders: number
}

interface Drawn {
  /** MapLibre style layers shown (visibility not none). */
  styleLayers: number
  /** deck.gl layers drawn (visible), with their feature counts when their data is an array. */
  deckLayers: string[]
  /** The bare page's own account of its data (null on the wall). */
  bare: { counts: Record<string, number> } | null
}

interface Run {
  round: number
  kind: Kind
  openSeconds: number
  drawn: Drawn
  pass: PassResult
  /** Requests the page made during the measured pass, by kind (the proxy counts them): work the camera path caused. */
  requests: Record<string, number>
}

/** Builds the bare page with Vite into a temp folder (about 3 s); its URLs live under BARE_PREFIX. */
async function buildBare(): Promise<string> {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-wall-bare-'))
  await build({
    configFile: false,
    root: path.join(projectRoot, 'bench', 'wall-bare'),
    base: BARE_PREFIX,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 4000 },
  })
  return outDir
}

/** Waits until the map has its style and every tile of the view, three checks in a row (animations may keep it from ever being 'idle'). */
async function waitSettled(page: Page, timeoutMs = 120_000): Promise<void> {
  await page.waitForFunction(
    () => {
      const m = window.__onegridMap
      const w = window as unknown as { __benchSettled?: number }
      const ok = !!m && m.isStyleLoaded() && m.areTilesLoaded() && !m.isMoving()
      w.__benchSettled = ok ? (w.__benchSettled ?? 0) + 1 : 0
      return w.__benchSettled >= 3
    },
    undefined,
    { polling: 500, timeout: timeoutMs },
  )
}

/**
 * One pass of the camera path — a full turn of the bearing while the centre goes round a circle —
 * recording every animation frame's interval until it is done (see --motion).
 */
function cameraPass(page: Page, start: Camera): Promise<PassResult> {
  return page.evaluate(
    ({ start, motion, seconds, frames, panM }) =>
      new Promise<PassResult>((resolve) => {
        const m = window.__onegridMap!
        const intervals: number[] = []
        let renders = 0
        const onRender = () => renders++
        m.on('render', onRender)
        // metres → degrees at this latitude
        const dLat = panM / 111_320
        const dLon = dLat / Math.cos((start.center[1] * Math.PI) / 180)
        /** The camera at fraction f (0…1) of the path. */
        const at = (f: number) => {
          const a = 2 * Math.PI * f
          return { center: [start.center[0] + dLon * Math.sin(a), start.center[1] + dLat * (1 - Math.cos(a))] as [number, number], zoom: start.zoom, pitch: start.pitch, bearing: start.bearing + 360 * f }
        }
        let done = false
        let step = 0
        const LEGS = 4
        const onMoveEnd = () => {
          if (step === LEGS) {
            done = true
            return
          }
          step++
          // MapLibre turns the short way: 90° legs keep the direction; linear, so the speed is even
          m.easeTo({ ...at(step / LEGS), duration: (seconds * 1000) / LEGS, easing: (t) => t })
        }
        let last = 0
        const tick = (t: number) => {
          if (last) intervals.push(t - last)
          last = t
          if (motion === 'jump') {
            if (step > frames) done = true
            else m.jumpTo(at(step++ / frames))
          }
          if (done) {
            m.off('render', onRender)
            m.off('moveend', onMoveEnd)
            resolve({ intervals, renders })
            return
          }
          requestAnimationFrame(tick)
        }
        if (motion === 'ease') {
          m.on('moveend', onMoveEnd)
          onMoveEnd()
        }
        requestAnimationFrame(tick)
      }),
    { start, motion: opts.motion, seconds: opts.seconds, frames: opts.frames, panM: opts.panM },
  )
}

async function drawn(page: Page): Promise<Drawn> {
  return page.evaluate(() => {
    const m = window.__onegridMap!
    const shown = m.getLayersOrder().filter((id) => m.getLayer(id)?.type !== 'custom' && m.getLayoutProperty(id, 'visibility') !== 'none')
    // @deck.gl/mapbox keeps the interleaved Deck on the map (one MapLibre custom layer per beforeId group, not per layer)
    type DeckLayer = { id: string; props: { data?: unknown; visible?: boolean } }
    const deck = (m as unknown as { __deck?: { props: { layers?: unknown[] } } }).__deck
    const deckLayers = ((deck?.props.layers ?? []).flat(Infinity) as (DeckLayer | null | false)[])
      .filter((l): l is DeckLayer => !!l && l.props.visible !== false)
      .map((l) => (Array.isArray(l.props.data) ? `${l.id}(${l.props.data.length})` : l.id))
    const bare = window.__bare ? { counts: window.__bare.counts } : null
    return { styleLayers: shown.length, deckLayers, bare }
  })
}

async function openBare(browser: Browser, proxy: Proxy, size: Size, camera: Camera): Promise<Page> {
  const context = await signedInContext(browser, proxy.url, 'wall', BENCH_PASSWORD, size)
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  const query = new URLSearchParams({ lon: String(camera.center[0]), lat: String(camera.center[1]), zoom: String(camera.zoom), pitch: String(camera.pitch), bearing: String(camera.bearing) })
  await page.goto(`${proxy.url}${BARE_PREFIX}?${query}`)
  try {
    await page.waitForFunction(() => window.__bare?.state !== 'loading', undefined, { timeout: 180_000 })
  } catch (err) {
    throw new Error(`the bare page did not load: ${(err as Error).message.split('\n')[0]} ${errors.join(' | ')}`)
  }
  const state = await page.evaluate(() => window.__bare!)
  if (state.state === 'error') throw new Error(`the bare page failed: ${state.error}`)
  return page
}

/** The camera of the first wall run: the wall's own overview (centre, zoom, pitch), --zoom/--pitch replacing its zoom and pitch; bearing 0. */
async function chooseCamera(page: Page): Promise<Camera> {
  const own = await page.evaluate(() => {
    const m = window.__onegridMap!
    const c = m.getCenter()
    return { center: [c.lng, c.lat] as [number, number], zoom: m.getZoom(), pitch: m.getPitch(), bearing: m.getBearing() }
  })
  return { ...own, zoom: opts.zoom ?? own.zoom, pitch: opts.pitch ?? own.pitch, bearing: 0 }
}

async function measure(browser: Browser, proxy: Proxy, kind: Kind, round: number, chosen: Camera | null): Promise<Run & { camera: Camera }> {
  const t0 = Date.now()
  if (kind === 'bare' && !chosen) throw new Error('the bare page needs the camera of a wall run first')
  const page = kind === 'wall' ? await openWall(await signedInContext(browser, proxy.url, 'wall', BENCH_PASSWORD, opts.size), proxy.url) : await openBare(browser, proxy, opts.size, chosen!)
  try {
    const openSeconds = (Date.now() - t0) / 1000
    const camera = chosen ?? (await chooseCamera(page))
    await page.evaluate((c) => window.__onegridMap!.jumpTo(c), camera)
    await waitSettled(page)
    await cameraPass(page, camera) // warm-up: every tile of the path loaded
    await waitSettled(page)
    await sleep(1000)
    const before = new Map(proxy.requests)
    const pass = await cameraPass(page, camera)
    const requests = Object.fromEntries([...proxy.requests].map(([k, n]) => [k, n - (before.get(k) ?? 0)]).filter(([, n]) => n !== 0))
    const result = { round, kind, openSeconds, drawn: await drawn(page), pass, requests, camera }
    const s = stats(pass.intervals)
    log(`round ${round} ${kind}: median ${fmt(s.median)} ms, p95 ${fmt(s.p95)} ms over ${pass.intervals.length} frames (${pass.renders} renders); opened in ${fmt(openSeconds)} s`)
    return result
  } finally {
    await page.context().close()
  }
}

function pathText(): string {
  const turn = `a full turn with ${opts.panM} m pan`
  return opts.motion === 'ease' ? `${turn} in four easeTo legs over ${opts.seconds} s` : `${turn} in ${opts.frames} jumpTo steps (one a frame)`
}

function stats(ms: number[]) {
  const total = ms.reduce((a, b) => a + b, 0)
  return { n: ms.length, median: percentile(ms, 0.5), p95: percentile(ms, 0.95), fps: ms.length / (total / 1000) }
}

async function main(): Promise<void> {
  const t0 = Date.now()
  const web = webDir()
  const bareDir = await buildBare()
  let server: RunningServer | null = null
  let proxy: Proxy | null = null
  let browser: Browser | null = null
  try {
    server = await startWallServer({
      databaseUrl: opts.databaseUrl,
      dataDir: opts.dataDir,
      webDir: web,
      // the demo data as seeded: nothing simulated, no periodic jobs (offline detection would raise events), no broker
      env: { ONEGRID_SIMULATE: 'off', ONEGRID_JOBS: 'off', ONEGRID_MQTT_PORT: 'off', MQTT_URL: '' },
    })
    proxy = await startProxy(server.url, { prefix: BARE_PREFIX, dir: bareDir })
    log(`server ${server.url} (${server.db.kind}), both pages through ${proxy.url}`)
    browser = await launchBrowser()

    const loadStart = os.loadavg()[0]
    log(`${pathText()} at ${opts.size.width}×${opts.size.height}; load ${loadStart.toFixed(2)} on ${os.cpus().length} cores`)

    // The same camera for every run: the first wall run chooses it.
    let camera: Camera | null = null
    const runs: Run[] = []
    for (let round = 1; round <= opts.rounds; round++) {
      for (const kind of ['wall', 'bare'] as const) {
        const { camera: used, ...run } = await measure(browser, proxy, kind, round, camera)
        if (!camera) log(`camera ${used.center.map((v) => v.toFixed(5)).join(',')} z${fmt(used.zoom, 2)} pitch ${fmt(used.pitch, 0)}°`)
        camera ??= used
        runs.push(run)
      }
    }
    if (!camera) throw new Error('no run')
    const loadEnd = os.loadavg()[0]

    const pooled = (kind: Kind) => stats(runs.filter((r) => r.kind === kind).flatMap((r) => r.pass.intervals))
    const wall = pooled('wall')
    const bare = pooled('bare')
    const ratio = wall.median / bare.median
    const ratioP95 = wall.p95 / bare.p95

    console.log(`\nWall frame time vs bare MapLibre + deck.gl (same style, tiles, camera path; SwiftShader software WebGL)`)
    console.log(`${opts.size.width}×${opts.size.height}, camera z${fmt(camera.zoom, 2)} pitch ${fmt(camera.pitch, 0)}°, ${pathText()}, ${opts.rounds} rounds`)
    console.log(`machine: ${os.cpus().length} cores, load ${loadStart.toFixed(2)} at start, ${loadEnd.toFixed(2)} at end${loadStart > 1 ? ' — a busy machine skews frame times' : ''}\n`)
    console.log(
      table(
        ['round', 'page', 'frames', 'renders', 'median ms', 'p95 ms', 'fps', 'opened in s', 'style layers', 'deck.gl layers', 'requests during the pass'],
        runs.map((r) => {
          const s = stats(r.pass.intervals)
          return [String(r.round), r.kind, String(s.n), String(r.pass.renders), fmt(s.median), fmt(s.p95), fmt(s.fps, 2), fmt(r.openSeconds), String(r.drawn.styleLayers), String(r.drawn.deckLayers.length), Object.entries(r.requests).map(([k, n]) => `${k} ${n}`).join(', ') || 'none']
        }),
      ),
    )
    // What each page drew, from its last run (a layer's feature count in brackets): they should match.
    for (const kind of ['wall', 'bare'] as const) {
      const last = runs.filter((r) => r.kind === kind).at(-1)
      if (last) console.log(`${kind} deck.gl layers: ${last.drawn.deckLayers.join(' ') || '–'}`)
    }
    const ids = (kind: Kind) => new Set(runs.filter((r) => r.kind === kind).flatMap((r) => r.drawn.deckLayers.map((l) => l.replace(/\(\d+\)$/, ''))))
    const onlyWall = [...ids('wall')].filter((id) => !ids('bare').has(id))
    const onlyBare = [...ids('bare')].filter((id) => !ids('wall').has(id))
    if (onlyWall.length || onlyBare.length) {
      console.log(`note: the pages drew different deck.gl layers (only the wall: ${onlyWall.join(' ') || '–'}; only the bare page: ${onlyBare.join(' ') || '–'}) — the ratio compares unlike work`)
    }
    console.log(
      '\n' +
        table(
          ['page', 'frames', 'median ms', 'p95 ms', 'fps'],
          [
            ['wall', String(wall.n), fmt(wall.median), fmt(wall.p95), fmt(wall.fps, 2)],
            ['bare (floor)', String(bare.n), fmt(bare.median), fmt(bare.p95), fmt(bare.fps, 2)],
          ],
        ),
    )
    console.log(`\nwall ÷ bare: median ${fmt(ratio, 2)}×, p95 ${fmt(ratioP95, 2)}×`)
    console.log(`target: wall frame time ≤ ${TARGET_RATIO} × bare (median) — ${ratio <= TARGET_RATIO ? 'PASS' : 'FAIL'}`)
    console.log(`\n(${((Date.now() - t0) / 1000).toFixed(0)} s in all)`)

    fs.mkdirSync(opts.out, { recursive: true })
    const file = path.join(opts.out, 'wall.json')
    fs.writeFileSync(
      file,
      JSON.stringify(
        {
          at: new Date().toISOString(),
          settings: { ...opts, databaseUrl: opts.databaseUrl ? 'set' : undefined, cpus: os.cpus().length },
          camera,
          load: { start: loadStart, end: loadEnd },
          runs,
          pooled: { wall, bare },
          ratio: { median: ratio, p95: ratioP95 },
          target: { ratio: TARGET_RATIO, pass: ratio <= TARGET_RATIO },
        },
        null,
        2,
      ),
    )
    log(`wrote ${path.relative(projectRoot, file)}`)
  } finally {
    await browser?.close().catch(() => {})
    await proxy?.close().catch(() => {})
    await server?.close().catch(() => {})
    fs.rmSync(bareDir, { recursive: true, force: true })
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(`bench:wall: ${(err as Error).stack ?? String(err)}`)
    process.exit(1)
  },
)
