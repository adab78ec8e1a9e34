/**
 * The command wall in real Chromium (SwiftShader WebGL) against the real server: sign in through
 * the login page, wait for the MapLibre map to be idle with the grid tiles loaded, and prove
 * from canvas pixels that the grid layers and the deck.gl demo-area frame were drawn.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { catalog } from '../../layers/index.ts'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser } from '../helpers/browser.ts'
import { startTestServer } from '../helpers/server.ts'
import { blend, colorDistance, colorsIn, countNear, decodePng, parseCssColor, pixelAt, type Rgb } from './pixels.ts'
import {
  describeWithChromium,
  expectSocketConnected,
  loginThroughUi,
  recordPage,
  serverOptions,
  TEST_TIMEOUT,
  waitForMapIdle,
} from './support.ts'

const SCREENSHOT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'screenshots')
/** Same as DEMO_AREA_FRAME_RGB in web/map/demoAreaFrame.ts. */
const FRAME_RGB: Rgb = [34, 211, 238]
const FRAME_GLOW_ALPHA = 60 / 255

interface StyleJson {
  layers: Array<{ id: string; type: string; paint?: Record<string, unknown> }>
}

interface GridColors {
  background: Rgb
  fills: Rgb[]
  lines: Rgb[]
}

/** Expected on-screen colours of the grid layers: style colours composited over the background. */
function gridColors(style: StyleJson): GridColors {
  const bgLayer = style.layers.find((l) => l.type === 'background')
  const background = parseCssColor(String(bgLayer?.paint?.['background-color'] ?? '#000'))?.rgb ?? [0, 0, 0]
  const opacity = (v: unknown) => (typeof v === 'number' ? v : 1)
  const grids = style.layers.filter((l) => l.id.startsWith('grids-'))
  const fills = grids
    .filter((l) => l.type === 'fill')
    .flatMap((l) => colorsIn(l.paint?.['fill-color']).map((c) => blend(background, c.rgb, c.alpha * opacity(l.paint?.['fill-opacity']))))
  const lines = grids
    .filter((l) => l.type === 'line')
    .flatMap((l) =>
      colorsIn(l.paint?.['line-color']).flatMap((c) =>
        [background, ...fills].map((under) => blend(under, c.rgb, c.alpha * opacity(l.paint?.['line-opacity']))),
      ),
    )
  return { background, fills, lines }
}

describeWithChromium('wall (e2e)')('wall', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  let browser: Browser

  beforeAll(async () => {
    browser = await launchBrowser() // throws without Chromium: on CI that fails the suite
    server = await startTestServer(serverOptions())
  }, TEST_TIMEOUT)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it(
    'signs in as wall, renders grid tiles and the deck.gl frame, and loads nothing from other hosts',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 }, deviceScaleFactor: 1 })
      const page = await context.newPage()
      const rec = recordPage(context, page, server.url)
      try {
        await loginThroughUi(page, server.url, 'wall', server.password, '/wall?debug=1')
        expect(new URL(page.url()).pathname).toBe('/wall')
        await expect.poll(() => page.locator('[data-testid="wall-title"]').textContent()).toBe('城市运行一网统管 · 指挥大屏')

        await waitForMapIdle(page)
        await expectSocketConnected(page)

        const map = page.locator('[data-testid="wall-map"]')
        const box = await map.boundingBox()
        expect(box?.width).toBe(1280)
        expect(box?.height).toBe(720)

        // The style and TileJSON as the page sees them (same origin, session cookie).
        const style = await page.evaluate(() => fetch('/styles/night.json').then((r) => r.json()))
        const tileJson = await page.evaluate(() => fetch('/tiles/grids.json').then((r) => r.json()))
        const colors = gridColors(style as StyleJson)
        expect(colors.fills.length + colors.lines.length).toBeGreaterThan(0)

        // The legend comes from the one catalog: a row for every layer (shapes, heat, labels,
        // icons), titled in the UI language (zh-CN by default).
        const drawn = [...catalog.values()]
        const legend = await page.locator('[data-testid="map-legend"] li').allInnerTexts()
        for (const layer of drawn) expect(legend, layer.id).toContain(layer.title['zh-CN'])

        // A layer declared hidden starts off; its legend row switches it on.
        const partsRow = page.locator('[data-testid="map-legend"] li[data-layer="parts"]')
        expect(await partsRow.getAttribute('aria-pressed')).toBe('false')
        await partsRow.click()
        await expect.poll(() => partsRow.getAttribute('aria-pressed')).toBe('true')
        expect(await page.evaluate(() => window.__onegridMap!.getLayoutProperty('parts-dot', 'visibility'))).toBe('visible')

        // Where the demo area is on screen (debug hook, enabled by ?debug=1).
        const [w, s, e, n] = (tileJson as { bounds: [number, number, number, number] }).bounds
        const frame = await page.evaluate(
          ([west, south, east, north]) => {
            const m = window.__onegridMap
            if (!m) return null
            const sw = m.project([west, south])
            const ne = m.project([east, north])
            return {
              left: sw.x,
              right: ne.x,
              top: ne.y,
              bottom: sw.y,
              // deck.gl 9.4 (interleaved) inserts its layers as MapLibre custom layer groups
              hasDeckLayer: m.getLayersOrder().some((id) => id.startsWith('deck-layer-group')),
            }
          },
          [w, s, e, n] as const,
        )
        expect(frame, 'window.__onegridMap should exist with ?debug=1').not.toBeNull()
        if (!frame) return
        expect(frame.hasDeckLayer).toBe(true)

        // Judge the grid and the frame alone: points, heat and labels (circles, symbols, heat
        // maps) may sit over the frame's edge, so they are switched off for this screenshot.
        await page.evaluate(() => {
          const m = window.__onegridMap!
          for (const l of m.getStyle().layers) if (['circle', 'symbol', 'heatmap'].includes(l.type)) m.setLayoutProperty(l.id, 'visibility', 'none')
        })
        await waitForMapIdle(page)
        const img = decodePng(await map.screenshot())
        const inside = { left: frame.left + 12, right: frame.right - 12, top: frame.top + 12, bottom: frame.bottom - 12 }
        const fillPx = countNear(img, colors.fills, 10, inside)
        const linePx = countNear(img, colors.lines, 24, inside)
        const bgPx = countNear(img, [colors.background], 4)
        console.log(`[e2e] wall pixels: grid fill ${fillPx}, grid line ${linePx} (inside the demo area), background ${bgPx}`)
        expect(fillPx).toBeGreaterThan(500)
        expect(linePx).toBeGreaterThan(500)

        // deck.gl frame: just outside the demo area there are no grid features, only the
        // background; the frame's glow must tint it cyan along every edge.
        const glow = blend(colors.background, FRAME_RGB, FRAME_GLOW_ALPHA)
        const samples: { x: number; y: number }[] = []
        for (let i = 1; i < 20; i++) {
          const fx = frame.left + ((frame.right - frame.left) * i) / 20
          const fy = frame.top + ((frame.bottom - frame.top) * i) / 20
          samples.push({ x: fx, y: frame.top - 5 }, { x: fx, y: frame.bottom + 5 }, { x: frame.left - 5, y: fy }, { x: frame.right + 5, y: fy })
        }
        // HUD panels (status bar, legend) sit over the map: only judge samples they don't cover.
        const covers = await Promise.all(
          ['wall-status-bar', 'map-legend'].map((id) => page.locator(`[data-testid="${id}"]`).boundingBox()),
        )
        const visible = samples.filter(
          ({ x, y }) => !covers.some((b) => b && x >= b.x - 2 && x <= b.x + b.width + 2 && y >= b.y - 2 && y <= b.y + b.height + 2),
        )
        expect(visible.length).toBeGreaterThan(samples.length / 2)
        const glowing = visible.filter(({ x, y }) => colorDistance(pixelAt(img, x, y), glow) <= 24)
        console.log(`[e2e] demo-area frame glow: ${glowing.length}/${visible.length} visible samples near rgb(${glow.join(',')})`)
        expect(glowing.length / visible.length).toBeGreaterThan(0.8)

        // The attribution must be visible on the map.
        await expect.poll(() => page.locator('.maplibregl-ctrl-attrib').innerText()).toContain('© OpenStreetMap contributors')
        expect(await page.locator('.maplibregl-ctrl-attrib').isVisible()).toBe(true)

        // Tiles were fetched (by MapLibre's worker) from this server.
        expect(rec.requests.some((u) => /\/tiles\/grids\/\d+\/\d+\/\d+\.mvt/.test(u))).toBe(true)
        // Signing out leaves the wall cleanly (map, deck.gl overlay and socket torn down).
        await page.locator('[data-testid="logout"]').click()
        await page.waitForURL((url) => url.pathname === '/login', { timeout: 30_000 })
        expect(await page.evaluate(() => window.__onegridMap)).toBeUndefined()

        expect(rec.nonLocal(), 'requests to hosts other than the test server').toEqual([])
        expect(rec.errors, 'console errors').toEqual([])
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )

  for (const size of [
    { width: 3840, height: 1080 },
    { width: 1920, height: 1080 },
  ]) {
    it(
      `screenshot at ${size.width}×${size.height}`,
      async () => {
        const context = await browser.newContext({ viewport: size, deviceScaleFactor: 1 })
        const page: Page = await context.newPage()
        const rec = recordPage(context, page, server.url)
        try {
          await loginThroughUi(page, server.url, 'wall', server.password, '/wall')
          await waitForMapIdle(page)
          await expectSocketConnected(page)
          const box = await page.locator('[data-testid="wall-map"]').boundingBox()
          expect(box?.width).toBe(size.width)
          expect(box?.height).toBe(size.height)

          fs.mkdirSync(SCREENSHOT_DIR, { recursive: true })
          const file = path.join(SCREENSHOT_DIR, `wall-${size.width}x${size.height}.png`)
          await page.screenshot({ path: file })
          console.log(`[e2e] screenshot: ${file}`)

          expect(rec.nonLocal(), 'requests to hosts other than the test server').toEqual([])
          expect(rec.errors, 'console errors').toEqual([])
        } finally {
          await context.close()
        }
      },
      TEST_TIMEOUT,
    )
  }
})
