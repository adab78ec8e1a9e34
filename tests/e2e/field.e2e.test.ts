/**
 * The field page (/field) in real Chromium at phone size (390×844, touch, zh-CN), as the demo
 * `worker` (a grid worker of 外滩街道): a case dispatched to that worker through the API appears in
 * "my tasks" (pushed over the socket), and the worker acknowledges, starts and reports the result
 * with a photo and the phone's GPS fix — the case reaches 'handled' with the photo and the place on
 * record. Screenshots at 390×844 and 1024×1366 go to tests/screenshots/.
 *
 * Runs on the embedded database: the demo worker account is created with the seeded city (a
 * long-lived shared PostGIS database seeded before the account existed does not have it).
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { launchBrowser } from '../helpers/browser.ts'
import { login, startTestServer } from '../helpers/server.ts'
import { describeWithChromium, loginThroughUi, MAP_IDLE_TIMEOUT, recordPage, TEST_TIMEOUT } from './support.ts'

const here = path.dirname(fileURLToPath(import.meta.url))
const SCREENSHOT_DIR = path.resolve(here, '..', 'screenshots')

interface CaseBody {
  id: number
  code: string
  stage: string
  version: number
}

describeWithChromium('field (e2e)')('field page', () => {
  let server: Awaited<ReturnType<typeof startTestServer>>
  let browser: Browser
  let worker: { id: number; gridCode: string; lon: number; lat: number }
  const cookies: Record<string, string> = {}

  async function api<T>(who: string, method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${server.url}${url}`, {
      method,
      headers: { cookie: cookies[who]!, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as T }
  }

  beforeAll(async () => {
    fs.mkdirSync(SCREENSHOT_DIR, { recursive: true })
    browser = await launchBrowser()
    server = await startTestServer()
    for (const u of ['worker', 'supervisor', 'dispatcher']) cookies[u] = await login(server.url, u)
    // The worker the demo account is linked to, and a point inside its grid.
    const { rows } = await server.server.db.query<{ id: number; grid_code: string; lon: number; lat: number }>(
      `SELECT w.id, w.grid_code, ST_X(ST_PointOnSurface(g.geom)) AS lon, ST_Y(ST_PointOnSurface(g.geom)) AS lat
         FROM workers w JOIN users u ON u.id = w.user_id JOIN grids g ON g.code = w.grid_code
        WHERE u.username = 'worker'`,
    )
    expect(rows, 'the demo worker account is linked to one seeded worker').toHaveLength(1)
    worker = { id: rows[0]!.id, gridCode: rows[0]!.grid_code, lon: rows[0]!.lon, lat: rows[0]!.lat }
    expect(worker.gridCode.startsWith('310101013')).toBe(true)
  }, TEST_TIMEOUT)

  afterAll(async () => {
    await browser?.close()
    await server?.close()
  })

  it(
    'a dispatched task appears live; ack, start and handle with photo and GPS reach handled',
    async () => {
      const context = await browser.newContext({
        viewport: { width: 390, height: 844 },
        deviceScaleFactor: 2,
        isMobile: true,
        hasTouch: true,
        locale: 'zh-CN',
        permissions: ['geolocation'],
        geolocation: { longitude: worker.lon, latitude: worker.lat, accuracy: 8 },
      })
      const page = await context.newPage()
      const rec = recordPage(context, page, server.url)
      try {
        await loginThroughUi(page, server.url, 'worker', server.password, '/field')
        expect(new URL(page.url()).pathname).toBe('/field')
        const list = page.locator('[data-testid="field-tasks"]')
        await list.waitFor({ timeout: 30_000 })
        // zh-CN by default
        await expect.poll(() => page.locator('.field-view__title').innerText()).toBe('网格员移动端')
        await expect.poll(() => page.locator('[data-testid="field-gps"], [data-testid="field-patrol"]').first().isVisible()).toBe(true)

        // The seat: a supervisor's report (counts as verified), registered and dispatched to the worker.
        const services = (await (await fetch(`${server.url}/open311/v2/services.json`)).json()) as { service_code: string }[]
        const reported = await api<{ case: CaseBody }>('supervisor', 'POST', '/api/cases', {
          categoryCode: services[0]!.service_code,
          source: 'patrol',
          description: `e2e 现场任务 ${Date.now()}：人行道井盖破损`,
          lon: worker.lon,
          lat: worker.lat,
        })
        expect(reported.status, JSON.stringify(reported.body)).toBe(201)
        let c = reported.body.case
        expect(c.stage).toBe('verified')
        const reg = await api<{ case: CaseBody }>('dispatcher', 'POST', `/api/cases/${c.id}/actions/register`, { version: c.version })
        expect(reg.status, JSON.stringify(reg.body)).toBe(200)
        c = reg.body.case
        const sentAt = Date.now()
        const dispatched = await api<{ case: CaseBody }>('dispatcher', 'POST', `/api/cases/${c.id}/actions/dispatch`, { version: c.version, workerId: worker.id })
        expect(dispatched.status, JSON.stringify(dispatched.body)).toBe(200)

        // Pushed to the phone (task:assigned), no reload.
        const card = page.locator(`[data-testid="field-task"][data-case-id="${c.id}"]`)
        await card.waitFor({ timeout: 10_000 })
        console.log(`[field e2e] dispatched task shown on the phone after ${Date.now() - sentAt} ms`)
        await expect.poll(() => page.locator('[data-testid="field-toast"]').innerText()).toContain(c.code)
        expect(await card.locator('[data-testid="field-countdown"]').innerText()).toMatch(/剩|超时|无时限/)
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'field-tasks-390x844.png') })

        // Detail: the place on the map, then the actions the workflow allows me.
        await card.tap()
        const detail = page.locator(`[data-testid="field-detail"][data-case-id="${c.id}"]`)
        await detail.waitFor({ timeout: 30_000 })
        await page.locator('[data-testid="field-map"][data-map-state="idle"]').waitFor({ state: 'attached', timeout: MAP_IDLE_TIMEOUT })
        const canvas = await page.locator('[data-testid="field-map"] canvas').boundingBox()
        expect(canvas?.width ?? 0).toBeGreaterThan(300)
        expect(canvas?.height ?? 0).toBeGreaterThan(150)
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'field-detail-390x844.png') })

        await page.locator('[data-testid="field-action-ack_dispatch"]').tap()
        await page.locator('[data-testid="field-action-start"]').waitFor({ timeout: 30_000 })
        await expect.poll(() => page.locator('[data-testid="field-action-ack_dispatch"]').count(), { timeout: 30_000 }).toBe(0)
        await page.locator('[data-testid="field-action-start"]').tap()
        await expect.poll(() => detail.getAttribute('data-stage'), { timeout: 30_000 }).toBe('in_progress')

        await page.locator('[data-testid="field-outcome"]').fill('已更换井盖，现场恢复通行')
        // A real PNG as the photo: the page itself.
        const photo = await page.screenshot({ type: 'png' })
        await page.locator('[data-testid="field-photo-input"]').setInputFiles({ name: 'scene.png', mimeType: 'image/png', buffer: photo })
        await page.locator('[data-testid="field-photo-preview"]').waitFor({ timeout: 30_000 })
        await expect.poll(() => page.locator('.field-photo').first().getAttribute('data-uploading')).toBe('no')
        await expect.poll(() => page.locator('[data-testid="field-gps"]').innerText()).toContain(worker.lat.toFixed(5))
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'field-handle-390x844.png') })
        await page.locator('[data-testid="field-action-handle"]').tap()
        await expect.poll(() => detail.getAttribute('data-stage'), { timeout: 30_000 }).toBe('handled')
        // The record on the phone shows the photo's thumbnail.
        await page.locator('[data-testid="field-timeline"] img').first().waitFor({ timeout: 30_000 })
        await expect.poll(() => page.locator('[data-testid="field-timeline"] img').first().evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0)
        await page.locator('[data-testid="field-timeline"]').scrollIntoViewIfNeeded()
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'field-handled-390x844.png') })

        // On record: handled, each field action by the worker, the result with the photo and the GPS place.
        const now = await api<CaseBody>('dispatcher', 'GET', `/api/cases/${c.id}`)
        expect(now.body.stage).toBe('handled')
        const tl = await api<{ actions: { action: string; actor: string; lon: number | null; lat: number | null; attachments: { id: string; type?: string }[]; payload: Record<string, unknown> }[] }>(
          'dispatcher', 'GET', `/api/cases/${c.id}/timeline`,
        )
        const actions = tl.body.actions.map((a) => a.action)
        expect(actions.slice(-5)).toEqual(['register', 'dispatch', 'ack_dispatch', 'start', 'handle'])
        const handle = tl.body.actions.find((a) => a.action === 'handle')!
        expect(handle.attachments).toHaveLength(1)
        expect(handle.attachments[0]!.type).toBe('image/png')
        expect(handle.payload.outcome).toBe('已更换井盖，现场恢复通行')
        expect(handle.lon).toBeCloseTo(worker.lon, 5)
        expect(handle.lat).toBeCloseTo(worker.lat, 5)
        // The photo is served to those who may see the case.
        const img = await fetch(`${server.url}/api/cases/attachments/${handle.attachments[0]!.id}`, { headers: { cookie: cookies.dispatcher! } })
        expect(img.status).toBe(200)
        expect(img.headers.get('content-type')).toBe('image/png')

        // Back to the list: the handled task has left "my tasks".
        await page.locator('[data-testid="field-back"]').tap()
        await expect.poll(() => page.locator(`[data-testid="field-task"][data-case-id="${c.id}"]`).count()).toBe(0)

        // Patrol on: the phone's fix goes over the socket (\`position\`) and is stored for the linked worker.
        const before = Date.now()
        await page.locator('[data-testid="field-patrol"]').tap()
        await expect.poll(() => page.locator('[data-testid="field-patrol"]').getAttribute('data-state')).toBe('on')
        await expect
          .poll(async () => Number(await page.locator('[data-testid="field-patrol-info"]').getAttribute('data-sent')), { timeout: 30_000 })
          .toBeGreaterThan(0)
        const { rows: fixes } = await server.server.db.query<{ lon: number; lat: number }>(
          `SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat FROM worker_positions WHERE worker_id = $1 AND ts >= $2::timestamptz - interval '1 minute'`,
          [worker.id, new Date(before).toISOString()],
        )
        expect(fixes.length).toBeGreaterThan(0)
        expect(fixes[0]!.lon).toBeCloseTo(worker.lon, 5)
        expect(fixes[0]!.lat).toBeCloseTo(worker.lat, 5)
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'field-patrol-390x844.png') })
        await page.locator('[data-testid="field-patrol"]').tap()
        await expect.poll(() => page.locator('[data-testid="field-patrol"]').getAttribute('data-state')).toBe('off')

        expect(rec.nonLocal()).toEqual([])
        expect(rec.errors).toEqual([])
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )

  it(
    'a stale action answers 409: the page reloads the case and says so; a retried key acts once',
    async () => {
      const reported = await api<{ case: CaseBody }>('supervisor', 'POST', '/api/cases', {
        categoryCode: ((await (await fetch(`${server.url}/open311/v2/services.json`)).json()) as { service_code: string }[])[0]!.service_code,
        source: 'patrol',
        description: `e2e 版本冲突 ${Date.now()}`,
        lon: worker.lon,
        lat: worker.lat,
      })
      let c = reported.body.case
      c = (await api<{ case: CaseBody }>('dispatcher', 'POST', `/api/cases/${c.id}/actions/register`, { version: c.version })).body.case
      c = (await api<{ case: CaseBody }>('dispatcher', 'POST', `/api/cases/${c.id}/actions/dispatch`, { version: c.version, workerId: worker.id })).body.case

      const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'zh-CN' })
      const page = await context.newPage()
      const rec = recordPage(context, page, server.url)
      try {
        await loginThroughUi(page, server.url, 'worker', server.password, '/field')
        await page.locator(`[data-testid="field-task"][data-case-id="${c.id}"]`).tap()
        const detail = page.locator(`[data-testid="field-detail"][data-case-id="${c.id}"]`)
        await page.locator('[data-testid="field-action-start"]').waitFor({ timeout: 30_000 })

        // Meanwhile another device of the worker starts it (with a key); its retry acts once.
        const body = { version: c.version, idempotencyKey: `e2e-${c.id}` }
        const first = await api<{ case: CaseBody; replayed: boolean }>('worker', 'POST', `/api/cases/${c.id}/actions/start`, body)
        const again = await api<{ case: CaseBody; replayed: boolean }>('worker', 'POST', `/api/cases/${c.id}/actions/start`, body)
        expect(first.status).toBe(200)
        expect(again.status).toBe(200)
        expect(again.body.replayed).toBe(true)
        expect(again.body.case.version).toBe(first.body.case.version)

        // The page still holds the old version: its ack gets 409 → reloaded, with the notice.
        await page.locator('[data-testid="field-action-ack_dispatch"]').tap()
        await expect.poll(() => page.locator('[data-testid="field-message"]').innerText(), { timeout: 30_000 }).toContain('已被他人更新')
        await expect.poll(() => detail.getAttribute('data-stage'), { timeout: 30_000 }).toBe('in_progress')
        await page.locator('[data-testid="field-action-handle"]').waitFor({ timeout: 30_000 })
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'field-stale-390x844.png') })
        expect(rec.nonLocal()).toEqual([])
        expect(rec.errors.filter((e) => !/409/.test(e))).toEqual([])
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )

  it(
    '随手拍 at 1024×1366: a new report with category, description and the map position',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1024, height: 1366 }, hasTouch: true, locale: 'zh-CN' })
      const page = await context.newPage()
      const rec = recordPage(context, page, server.url)
      try {
        await loginThroughUi(page, server.url, 'worker', server.password, '/field')
        await page.locator('[data-testid="field-tasks"]').waitFor({ timeout: 30_000 })
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'field-tasks-1024x1366.png') })
        await page.locator('[data-testid="field-tab-report"]').tap()
        const select = page.locator('[data-testid="field-report-category"]')
        await expect.poll(() => select.locator('option').count(), { timeout: 30_000 }).toBeGreaterThan(1)
        const code = await select.locator('optgroup option').first().getAttribute('value')
        await select.selectOption(code!)
        const description = `e2e 随手拍 ${Date.now()}：垃圾满溢`
        await page.locator('[data-testid="field-report-description"]').fill(description)
        // No geolocation granted here: the map opens in the worker's area; the position is its centre (the crosshair).
        await page.locator('[data-testid="field-report"][data-home="yes"]').waitFor({ timeout: 30_000 })
        await page.locator('[data-testid="field-map"][data-map-state="idle"]').waitFor({ state: 'attached', timeout: MAP_IDLE_TIMEOUT })
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'field-report-1024x1366.png') })
        await page.locator('[data-testid="field-report-submit"]').tap()
        await expect.poll(() => page.locator('[data-testid="field-report-message"]').innerText(), { timeout: 30_000 }).toContain('已上报')
        const list = await api<{ items: { description: string; source: string; categoryCode: string }[] }>('worker', 'GET', `/api/cases?limit=500&source=patrol`)
        const mine = list.body.items.find((i) => i.description === description)
        expect(mine?.categoryCode).toBe(code)

        // A phone retrying a report with the same key gets the first case back, not a second one.
        const retry = { categoryCode: code, source: 'patrol', description: `${description}（重试）`, lon: worker.lon, lat: worker.lat, idempotencyKey: `e2e-report-${Date.now()}` }
        const r1 = await api<{ case: CaseBody; created: boolean }>('worker', 'POST', '/api/cases', retry)
        const r2 = await api<{ case: CaseBody; created: boolean }>('worker', 'POST', '/api/cases', retry)
        expect(r1.status, JSON.stringify(r1.body)).toBe(201)
        expect(r2.status).toBe(200)
        expect(r2.body.created).toBe(false)
        expect(r2.body.case.id).toBe(r1.body.case.id)
        expect(rec.nonLocal()).toEqual([])
        expect(rec.errors).toEqual([])
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )
})
