/**
 * The admin page in real Chromium against the real server: an admin uploads the Beijing
 * buildings fixture, watches the progress (socket events) finish, reads the report and the
 * stats table; a bad file shows the reason for each rejected feature and writes nothing.
 * Screenshots at 1920×1080 go to tests/screenshots/.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser } from '../helpers/browser.ts'
import { startTestServer } from '../helpers/server.ts'
import { describeWithChromium, loginThroughUi, recordPage, serverOptions, TEST_TIMEOUT } from './support.ts'

const here = path.dirname(fileURLToPath(import.meta.url))
const SCREENSHOT_DIR = path.resolve(here, '..', 'screenshots')
const FIXTURE = path.resolve(here, '..', 'fixtures', 'beijing-buildings.geojson')

/** Three bad features and one good one: nothing of it may be written. */
const BAD_FILE = JSON.stringify({
  type: 'FeatureCollection',
  features: [
    { type: 'Feature', properties: { external_id: 'e2e-bad-ok', name: '好的' }, geometry: { type: 'Polygon', coordinates: [[[116.48, 39.93], [116.481, 39.93], [116.481, 39.931], [116.48, 39.93]]] } },
    { type: 'Feature', properties: { external_id: 'e2e-bad-line' }, geometry: { type: 'LineString', coordinates: [[116.48, 39.93], [116.49, 39.93]] } },
    { type: 'Feature', properties: { external_id: 'e2e-bad-open' }, geometry: { type: 'Polygon', coordinates: [[[116.48, 39.93], [116.481, 39.93], [116.481, 39.931], [116.4801, 39.931]]] } },
    { type: 'Feature', properties: { name: 'no id' }, geometry: { type: 'Polygon', coordinates: [[[116.48, 39.93], [116.481, 39.93], [116.481, 39.931], [116.48, 39.93]]] } },
  ],
})

describeWithChromium('admin (e2e)')('admin', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  let browser: Browser

  const cleanup = async () => {
    await server.server.db.query(`DELETE FROM buildings WHERE external_id LIKE 'fixture-bj-%' OR external_id LIKE 'e2e-bad-%'`)
  }
  const statsCount = (page: Page, kind: string) =>
    page.locator(`[data-testid="admin-stats-row"][data-kind="${kind}"] [data-col="count"]`).innerText().then((s) => Number(s.replace(/[^\d]/g, '')))

  beforeAll(async () => {
    browser = await launchBrowser()
    server = await startTestServer(serverOptions())
    await cleanup()
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true })
  }, TEST_TIMEOUT)

  afterAll(async () => {
    await browser?.close()
    if (server) await cleanup()
    await server?.close()
  })

  it(
    'uploads the fixture, watches the progress finish, reads the report and the stats',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } })
      const page = await context.newPage()
      const rec = recordPage(context, page, server.url)
      // Socket frames, to prove progress came over socket.io while the upload was open.
      const frames: string[] = []
      page.on('websocket', (ws) => ws.on('framereceived', (f) => frames.push(String(f.payload))))
      try {
        await loginThroughUi(page, server.url, 'admin', server.password, '/admin')
        expect(new URL(page.url()).pathname).toBe('/admin')
        await expect.poll(() => page.title()).toMatch(/系统管理/)
        await page.locator('[data-testid="admin-layer"] option[value="buildings"]').waitFor({ state: 'attached', timeout: 30_000 })
        await page.locator('[data-testid="admin-layer"]').selectOption('buildings')
        await page.locator('[data-testid="admin-stats"][data-loaded="true"]').waitFor({ timeout: 30_000 })
        const before = await statsCount(page, 'buildings')
        const outsideBefore = Number((await page.locator('[data-testid="admin-stats-row"][data-kind="buildings"] [data-col="outside"]').innerText()).replace(/[^\d]/g, ''))

        await page.locator('[data-testid="admin-file"]').setInputFiles(FIXTURE)
        await expect.poll(() => page.locator('[data-testid="admin-file-info"]').innerText()).toMatch(/beijing-buildings\.geojson · 9\.\d KB · GEOJSON/)
        await page.locator('[data-testid="admin-import-submit"]').click()

        await page.locator('[data-testid="admin-report"][data-status="done"]').waitFor({ timeout: 60_000 })
        await expect.poll(() => page.locator('[data-testid="admin-progress"]').getAttribute('data-phase')).toBe('done')
        expect(await page.locator('[data-kpi="total"] .admin-report__kpi-value').innerText()).toBe('20')
        expect(await page.locator('[data-kpi="inserted"] .admin-report__kpi-value').innerText()).toBe('20')
        expect(await page.locator('[data-kpi="outside"] .admin-report__kpi-value').innerText()).toBe('20')
        expect(await page.locator('[data-testid="admin-report-banner"]').innerText()).toMatch(/导入完成：建筑 共 20 条/)
        expect(frames.some((f) => f.includes('"import:progress"') && f.includes('"phase":"write"'))).toBe(true)
        expect(frames.some((f) => f.includes('"import:progress"') && f.includes('"phase":"done"'))).toBe(true)

        // The stats table reloads after the import.
        await expect.poll(() => statsCount(page, 'buildings'), { timeout: 30_000 }).toBe(before + 20)
        const outsideAfter = Number((await page.locator('[data-testid="admin-stats-row"][data-kind="buildings"] [data-col="outside"]').innerText()).replace(/[^\d]/g, ''))
        expect(outsideAfter).toBe(outsideBefore + 20)
        expect(await page.locator('[data-testid="admin-stats-row"]').count()).toBe(14)

        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'admin-import-1920x1080.png') })
        expect(rec.nonLocal()).toEqual([])
        expect(rec.errors).toEqual([])
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )

  it(
    'a bad file shows the reason for each rejected feature and writes nothing',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } })
      const page = await context.newPage()
      const rec = recordPage(context, page, server.url)
      try {
        await loginThroughUi(page, server.url, 'admin', server.password, '/admin')
        await page.locator('[data-testid="admin-layer"] option[value="buildings"]').waitFor({ state: 'attached', timeout: 30_000 })
        await page.locator('[data-testid="admin-layer"]').selectOption('buildings')
        await page.locator('[data-testid="admin-stats"][data-loaded="true"]').waitFor({ timeout: 30_000 })
        const before = await statsCount(page, 'buildings')

        await page.locator('[data-testid="admin-file"]').setInputFiles({ name: 'bad-buildings.geojson', mimeType: 'application/geo+json', buffer: Buffer.from(BAD_FILE) })
        await page.locator('[data-testid="admin-import-submit"]').click()
        await page.locator('[data-testid="admin-report"][data-status="rejected"]').waitFor({ timeout: 60_000 })

        expect(await page.locator('[data-testid="admin-report-banner"]').innerText()).toMatch(/文件未写入：3 条要素被拒绝/)
        const rows = page.locator('[data-testid="admin-report-row"]')
        await expect.poll(() => rows.count()).toBe(3)
        const text = await page.locator('.admin-report__table').innerText()
        expect(text).toMatch(/e2e-bad-line\s+geometry type LineString is not accepted for buildings \(expected Polygon or MultiPolygon\)/)
        expect(text).toMatch(/e2e-bad-open\s+the polygon ring 1 \(outer\) is not closed/)
        expect(text).toMatch(/missing external id/)
        expect(await page.locator('[data-kpi="rejected"] .admin-report__kpi-value').innerText()).toBe('3')
        expect(await page.locator('[data-testid="admin-progress"]').getAttribute('data-phase')).toBe('failed')
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'admin-rejected-1920x1080.png') })

        // Nothing was written, the good feature included.
        await page.locator('[data-testid="admin-stats-refresh"]').click()
        await expect.poll(() => statsCount(page, 'buildings')).toBe(before)
        const { rows: left } = await server.server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM buildings WHERE external_id LIKE 'e2e-bad-%'`)
        expect(left[0].n).toBe(0)

        // English too.
        await page.locator('[data-testid="language-switch"] select').selectOption('en')
        await expect.poll(() => page.locator('[data-testid="admin-report-banner"]').innerText()).toMatch(/Nothing was written: 3 features were rejected/)
        expect(rec.nonLocal()).toEqual([])
        // The browser logs the 422 answer as a failed resource load; nothing else may be logged.
        expect(rec.errors.filter((e) => !/status of 422/.test(e))).toEqual([])
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )

  it(
    'tells a non-admin that the page is for administrators',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
      const page = await context.newPage()
      try {
        await loginThroughUi(page, server.url, 'dispatcher', server.password, '/admin')
        await expect.poll(() => page.locator('[data-testid="admin-not-allowed"]').innerText()).toMatch(/只有系统管理员/)
        expect(await page.locator('[data-testid="admin-import"]').count()).toBe(0)
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )
})
