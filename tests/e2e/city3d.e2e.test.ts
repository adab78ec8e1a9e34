/**
 * The 3D city (CityView3D, Cesium) in real Chromium (SwiftShader WebGL) against the real server:
 * Cesium is served by the server itself and loads under the app's CSP, the buildings primitive
 * is drawn (pixels change when it is hidden), the live overlays draw and follow their source,
 * the camera hands over to and from the 2.5D convention, nothing is fetched from another host,
 * and unmounting gives the WebGL context back.
 *
 * The view is mounted alone at /dev/city3d with an in-memory live source the test fills, so each
 * colour is known; tests/e2e/wall.e2e.test.ts switches the wall itself to 3D and back.
 */
import distance from '@turf/distance'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { STATUS } from '../../styles/palette.ts'
import { STAGE_COLORS } from '../../web/map/liveLayers.ts'
import type { MapCamera } from '../../web/map/view.ts'
import { launchBrowser } from '../helpers/browser.ts'
import { startTestServer } from '../helpers/server.ts'
import { colorDistance, decodePng, parseCssColor, pixelAt, type DecodedImage, type Rgb } from './pixels.ts'
import { describeWithChromium, loginThroughUi, recordPage, serverOptions, TEST_TIMEOUT, waitForMapIdle } from './support.ts'

/** Lujiazui from the west bank, tilted and turned, as the 2.5D wall hands it over. */
const START: MapCamera = { center: [121.5, 31.238], zoom: 15, bearing: -20, pitch: 55 }
const READY_TIMEOUT = 120_000

const rgb = (css: string): Rgb => parseCssColor(css)!.rgb

/** Resolves after Cesium has drawn a frame (it renders on change only). */
async function nextFrame(page: Page): Promise<void> {
  await page.evaluate(
    () =>
      new Promise<void>((resolve) => {
        const scene = window.__onegridCesium!.scene
        const off = scene.postRender.addEventListener(() => {
          off()
          resolve()
        })
        scene.requestRender()
      }),
  )
}

/** Pixels whose colour differs by more than `threshold` (max channel) between two screenshots, and how many of those are bluish in `a`. */
function diff(a: DecodedImage, b: DecodedImage, threshold = 24): { changed: number; bluish: number } {
  let changed = 0
  let bluish = 0
  for (let i = 0; i < a.data.length; i += 4) {
    const d = Math.max(Math.abs(a.data[i] - b.data[i]), Math.abs(a.data[i + 1] - b.data[i + 1]), Math.abs(a.data[i + 2] - b.data[i + 2]))
    if (d <= threshold) continue
    changed++
    // the night buildings: lit blue-grey, blue above red
    if (a.data[i + 2] > 80 && a.data[i + 2] > a.data[i] + 30) bluish++
  }
  return { changed, bluish }
}

describeWithChromium('3D city (e2e)')('3D city', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  let browser: Browser

  beforeAll(async () => {
    browser = await launchBrowser()
    server = await startTestServer(serverOptions())
  }, TEST_TIMEOUT)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it(
    'draws the batched buildings and live overlays, keeps the camera, loads only from this server, and releases WebGL',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1, reducedMotion: 'reduce' })
      const page = await context.newPage()
      const rec = recordPage(context, page, server.url)
      try {
        const q = new URLSearchParams({ debug: '1', lon: String(START.center[0]), lat: String(START.center[1]), zoom: String(START.zoom), bearing: String(START.bearing), pitch: String(START.pitch) })
        const t0 = Date.now()
        await loginThroughUi(page, server.url, 'wall', server.password, `/dev/city3d?${q}`)
        const view = page.locator('[data-testid="city-3d"]')
        await page.locator('[data-testid="city-3d"][data-state="ready"]').waitFor({ state: 'attached', timeout: READY_TIMEOUT })
        console.log(`[e2e] 3D city ready ${Date.now() - t0} ms after sign-in started`)
        expect(await view.boundingBox()).toMatchObject({ width: 1280, height: 720 })

        // Cesium came from this server, lazily (its ESM build, workers and CSS), and nothing from its cloud.
        expect(rec.requests.some((u) => /\/cesium\/\d+\.\d+\.\d+\/index\.js$/.test(u))).toBe(true)
        expect(rec.requests.some((u) => /\/cesium\/[\d.]+\/Workers\//.test(u))).toBe(true)
        expect(rec.requests.some((u) => u.includes('/ogc/collections/buildings/items?bbox='))).toBe(true)

        // The camera handed over from 2.5D reads back the same (within a metre, a thousandth of a zoom step).
        const back = await page.evaluate(() => window.__onegridCity3d!.getCamera())
        expect(distance(back.center, START.center, { units: 'meters' })).toBeLessThan(1)
        expect(back.zoom).toBeCloseTo(START.zoom, 3)
        expect(back.bearing).toBeCloseTo(START.bearing, 2)
        expect(back.pitch).toBeCloseTo(START.pitch, 2)

        // One batched primitive for all buildings (not entities): hiding it changes many pixels, bluish ones.
        const scene = await page.evaluate(() => {
          const w = window.__onegridCesium!
          return { entities: w.entities.values.length, primitives: w.scene.primitives.length }
        })
        expect(scene.entities).toBe(0)
        await nextFrame(page)
        const withBuildings = decodePng(await view.screenshot())
        const all = await page.evaluate(() => window.__onegridCity3d!.visibleLayers!())
        expect(all).toContain('buildings')
        await page.evaluate((ids) => window.__onegridCity3d!.setVisibleLayers!(ids.filter((id) => id !== 'buildings')), all)
        await nextFrame(page)
        const without = decodePng(await view.screenshot())
        const buildings = diff(withBuildings, without)
        const total = 1280 * 720
        console.log(`[e2e] buildings cover ${((100 * buildings.changed) / total).toFixed(1)}% of the view (${buildings.bluish} bluish px)`)
        expect(buildings.changed / total).toBeGreaterThan(0.05)
        expect(buildings.bluish / buildings.changed).toBeGreaterThan(0.8)
        await page.evaluate((ids) => window.__onegridCity3d!.setVisibleLayers!(ids), all)

        // Live overlays: a dispatched case, an alarm and a worker where the source puts them, drawn on
        // top; a change in the source redraws them.
        const spots = { case: [121.5, 31.238], alarm: [121.497, 31.2355], worker: [121.503, 31.2395] } as const
        const setLive = (stage: string) =>
          page.evaluate(
            ({ s, stage }) => {
              const now = new Date().toISOString()
              window.__onegridCity3dLive!.set({
                cases: [{ id: 1, code: 'T1', stage, urgency: 'normal', categoryCode: 'x', lon: s.case[0], lat: s.case[1], reportedAt: now, stageStartedAt: null, stageDeadlineAt: null, overdue: false }],
                alarms: [{ id: 2, sensorId: 3, code: 'S3', name: 'smoke', sensorType: 'smoke', kind: 'threshold', lon: s.alarm[0], lat: s.alarm[1], raisedAt: now, acked: false }],
                workers: [{ id: 4, code: 'W4', name: 'w', lon: s.worker[0], lat: s.worker[1], dutyStatus: 'on_duty', outOfGrid: false, trail: [] }],
              })
            },
            { s: spots, stage },
          )
        const colourAt = async (img: DecodedImage, where: readonly [number, number]) => {
          const px = await page.evaluate(([lon, lat]) => window.__onegridCity3d!.project(lon, lat), where)
          expect(px).not.toBeNull()
          return pixelAt(img, px!.x, px!.y)
        }
        await setLive('dispatched')
        await nextFrame(page)
        let img = decodePng(await view.screenshot())
        const seen = { case: await colourAt(img, spots.case), alarm: await colourAt(img, spots.alarm), worker: await colourAt(img, spots.worker) }
        console.log(`[e2e] live colours: case ${seen.case}, alarm ${seen.alarm}, worker ${seen.worker}`)
        expect(colorDistance(seen.case, rgb(STAGE_COLORS.dispatched))).toBeLessThan(40)
        expect(colorDistance(seen.alarm, rgb(STATUS.sensor.alarm))).toBeLessThan(40)
        expect(colorDistance(seen.worker, rgb(STATUS.duty.on_duty))).toBeLessThan(40)
        await setLive('handled')
        await nextFrame(page)
        img = decodePng(await view.screenshot())
        expect(colorDistance(await colourAt(img, spots.case), rgb(STAGE_COLORS.handled))).toBeLessThan(40)

        // Focus on an alarm and back to a 2.5D camera: the view goes exactly there.
        await page.evaluate(([lon, lat]) => window.__onegridCity3d!.focus(lon, lat, { zoom: 17 }), spots.alarm)
        const focused = await page.evaluate(() => window.__onegridCity3d!.getCamera())
        expect(focused.zoom).toBeCloseTo(17, 3)
        expect(Math.abs(focused.center[0] - spots.alarm[0])).toBeLessThan(2e-5)
        expect(Math.abs(focused.center[1] - spots.alarm[1])).toBeLessThan(2e-5)
        const other: MapCamera = { center: [121.49, 31.241], zoom: 16.2, bearing: 75, pitch: 30 }
        await page.evaluate((c) => window.__onegridCity3d!.setCamera(c), other)
        const there = await page.evaluate(() => window.__onegridCity3d!.getCamera())
        expect(there.zoom).toBeCloseTo(other.zoom, 3)
        expect(there.bearing).toBeCloseTo(other.bearing, 2)
        expect(there.pitch).toBeCloseTo(other.pitch, 2)

        // © OpenStreetMap contributors stays visible on the 3D view.
        const credits = page.locator('[data-testid="city-3d"] .cesium-widget-credits')
        await expect.poll(() => credits.innerText()).toContain('© OpenStreetMap contributors')
        expect(await credits.isVisible()).toBe(true)

        // Unmounting (the wall switching to 2.5D) destroys the scene and gives the WebGL context back.
        await page.evaluate(() => {
          ;(window as unknown as { __canvas: HTMLCanvasElement }).__canvas = window.__onegridCesium!.canvas
          window.__onegridCity3dShow!(false)
        })
        await view.waitFor({ state: 'detached' })
        const released = await page.evaluate(() => {
          const canvas = (window as unknown as { __canvas: HTMLCanvasElement }).__canvas
          const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl')
          return { hook: window.__onegridCesium === undefined, lost: gl?.isContextLost() ?? null, attached: canvas.isConnected }
        })
        expect(released).toEqual({ hook: true, lost: true, attached: false })
        // …and mounting again (back to 3D) works with the Cesium already loaded.
        await page.evaluate(() => window.__onegridCity3dShow!(true))
        await page.locator('[data-testid="city-3d"][data-state="ready"]').waitFor({ state: 'attached', timeout: READY_TIMEOUT })

        expect(rec.nonLocal(), 'requests to hosts other than the test server').toEqual([])
        expect(rec.errors, 'console errors').toEqual([])
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )

  it(
    'shows the ground where the 2.5D map shows it for the same camera',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1, reducedMotion: 'reduce' })
      const page = await context.newPage()
      try {
        // Places around Lujiazui and the Bund, all in view of START.
        const places: [number, number][] = [[121.5, 31.238], [121.49, 31.235], [121.505, 31.242], [121.51, 31.236], [121.495, 31.245]]
        await loginThroughUi(page, server.url, 'wall', server.password, '/wall?debug=1')
        await waitForMapIdle(page)
        const flat = await page.evaluate(
          ({ cam, places }) => {
            const m = window.__onegridMap!
            m.jumpTo(cam)
            return places.map((p) => m.project(p)).map((q) => [q.x, q.y])
          },
          { cam: START, places },
        )
        const q = new URLSearchParams({ debug: '1', lon: String(START.center[0]), lat: String(START.center[1]), zoom: String(START.zoom), bearing: String(START.bearing), pitch: String(START.pitch) })
        await page.goto(`${server.url}/dev/city3d?${q}`)
        await page.locator('[data-testid="city-3d"][data-state="ready"]').waitFor({ state: 'attached', timeout: READY_TIMEOUT })
        const city = await page.evaluate((places) => places.map(([lon, lat]) => window.__onegridCity3d!.project(lon, lat)), places)
        const off = places.map((_, i) => Math.hypot(flat[i][0] - city[i]!.x, flat[i][1] - city[i]!.y))
        console.log(`[e2e] 2.5D vs 3D screen positions differ by ${off.map((d) => d.toFixed(1)).join(', ')} px`)
        // Same scale at the centre; the fields of view differ slightly (MapLibre 36.9° vertical, Cesium 60° across).
        for (const d of off) expect(d).toBeLessThan(12)
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )
})
