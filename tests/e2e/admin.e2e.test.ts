/**
 * The admin page in real Chromium against the real server: an admin uploads the Beijing
 * buildings fixture, watches the progress (socket events) finish, reads the report and the
 * stats table; a bad file shows the reason for each rejected feature and writes nothing; two
 * weights of the street assessment rule changed in the panel change the API's scores to what the
 * new rule gives, and a save over someone else's version says so and reloads.
 * Screenshots at 1920×1080 go to tests/screenshots/.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { launchBrowser } from '../helpers/browser.ts'
import { login, startTestServer } from '../helpers/server.ts'
import { TEST_ANCHOR } from '../helpers/constants.ts'
import type { Assessment } from '../../server/assessment/service.ts'
import type { Rule } from '../../server/assessment/score.ts'
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

/** 30 days of the seeded history, ending on its anchor day (local dates, `to` included). */
const PERIOD = `from=2026-10-03&to=${TEST_ANCHOR}`

/** As server/assessment/score.ts round1: to 0.1, halves up. */
const round1 = (x: number) => Math.round(Number((x * 10).toFixed(6))) / 10

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
    'two weights of the street rule changed in the panel change the scores; a stale save says who saved and reloads',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } })
      const page = await context.newPage()
      const rec = recordPage(context, page, server.url)
      const get = async <T>(p: string): Promise<T> => {
        const res = await page.request.get(`${server.url}${p}`)
        expect(res.status(), p).toBe(200)
        return (await res.json()) as T
      }
      // The scores are read by the dispatcher (stats.read): the system admin edits the rules but reads no scores.
      let dispatcher = ''
      const scores = async (): Promise<Assessment> => {
        dispatcher ||= await login(server.url, 'dispatcher', server.password)
        const res = await fetch(`${server.url}/api/stats/assessment?kind=street&${PERIOD}`, { headers: { cookie: dispatcher } })
        expect(res.status).toBe(200)
        return (await res.json()) as Assessment
      }
      const streetRule = async () => (await get<{ rules: Rule[] }>('/api/admin/assessment-rules')).rules.find((r) => r.kind === 'street')!
      const panel = page.locator('[data-testid="assessment-rules"]')
      const weight = (k: string) => page.locator(`[data-testid="weight-${k}"]`)
      let original: Rule | undefined
      try {
        await loginThroughUi(page, server.url, 'admin', server.password, '/admin')
        original = await streetRule()
        // The admin's own session reads no scores.
        expect((await page.request.get(`${server.url}/api/stats/assessment?kind=street&${PERIOD}`)).status()).toBe(403)
        const w: Record<string, number> = Object.fromEntries(original.indicators.map((i) => [i.indicator, i.weight]))
        expect([w.registration, w.satisfaction]).toEqual([10, 20])
        const before = await scores()
        expect(before.rule.version).toBe(original.version)
        expect(before.rows.length).toBeGreaterThanOrEqual(3)

        await page.locator('[data-testid="assessment-rules"][data-loaded="true"]').waitFor({ timeout: 30_000 })
        await page.locator('[data-testid="rule-kind"]').selectOption('street')
        await expect.poll(() => panel.getAttribute('data-kind')).toBe('street')
        expect(await page.locator('[data-testid="rule-version"]').getAttribute('data-version')).toBe(String(original.version))
        expect(await weight('registration').inputValue()).toBe('10')
        expect(await weight('disposal').inputValue()).toBe('') // not in the street rule
        expect(await page.locator('[data-testid="band-A"]').inputValue()).toBe(String(original.bands.A))

        // registration 10 → 5: the running sum says 95 and Save waits; satisfaction 20 → 25 makes it 100.
        await weight('registration').fill('5')
        await expect.poll(() => page.locator('[data-testid="rule-sum"]').getAttribute('data-sum')).toBe('95')
        expect(await page.locator('[data-testid="rule-save"]').isDisabled()).toBe(true)
        await weight('satisfaction').fill('25')
        await expect.poll(() => page.locator('[data-testid="rule-sum"]').getAttribute('data-sum')).toBe('100')
        await page.locator('[data-testid="rule-save"]').click()
        await page.locator('[data-testid="rule-message"][data-kind="ok"]').waitFor({ timeout: 30_000 })
        const v1 = original.version + 1
        expect(await page.locator('[data-testid="rule-message"]').innerText()).toContain(`已保存为第 ${v1} 版`)
        expect(await page.locator('[data-testid="rule-version"]').getAttribute('data-version')).toBe(String(v1))
        expect(await page.locator('[data-testid="rule-version"]').innerText()).toMatch(/admin 保存于/)
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'admin-assessment-1920x1080.png') })

        // The API scores by the new version: per street, weight × rate (× (1 − rate) where lower is
        // better) to 0.1 over the same counts as before, summed.
        const after = await scores()
        expect(after.rule.version).toBe(v1)
        expect(after.rule.updatedBy).toBe('admin')
        const newWeights: Record<string, number> = { ...w, registration: 5, satisfaction: 25 }
        expect(Object.fromEntries(after.rule.indicators.map((i) => [i.indicator, i.weight]))).toEqual(newWeights)
        let changed = 0
        for (const row of before.rows) {
          const now = after.rows.find((r) => r.code === row.code)!
          let expected = 0
          for (const c of row.components) {
            const better = original.indicators.find((i) => i.indicator === c.indicator)!.better
            const wt = newWeights[c.indicator]
            const rate = c.denominator ? c.numerator / c.denominator : null
            expected += rate === null ? wt : round1(wt * (better === 'higher' ? rate : 1 - rate))
            expect(now.components.find((x) => x.indicator === c.indicator), `${row.code} ${c.indicator}`).toMatchObject({ weight: wt, numerator: c.numerator, denominator: c.denominator })
          }
          expected = round1(expected)
          expect(now.score, `${row.name} (${row.code})`).toBe(expected)
          expect(now.grade).toBe(['A', 'B', 'C', 'D', 'E'].find((g) => expected >= after.rule.bands[g as 'A'])!)
          if (now.score !== row.score) changed++
        }
        expect(changed).toBeGreaterThan(0)

        // Someone else puts the defaults back (version v1 + 1) while the panel shows v1: the
        // panel's next save is refused, says who saved which version, and reloads it.
        const put = await page.request.put(`${server.url}/api/admin/assessment-rules/street`, {
          data: { version: v1, indicators: original.indicators.map((i) => ({ indicator: i.indicator, weight: i.weight })), bands: original.bands },
        })
        expect(put.status()).toBe(200)
        await weight('registration').fill('10')
        await weight('satisfaction').fill('20')
        await page.locator('[data-testid="rule-save"]').click()
        await page.locator('[data-testid="rule-message"][data-kind="conflict"]').waitFor({ timeout: 30_000 })
        expect(await page.locator('[data-testid="rule-message"]').innerText()).toMatch(new RegExp(`admin 已于 .+ 保存了第 ${v1 + 1} 版`))
        expect(await page.locator('[data-testid="rule-version"]').getAttribute('data-version')).toBe(String(v1 + 1))
        expect(await weight('registration').inputValue()).toBe('10')
        expect(await panel.getAttribute('data-dirty')).toBe('false')
        expect((await scores()).rows.map((r) => [r.code, r.score])).toEqual(before.rows.map((r) => [r.code, r.score]))

        expect(rec.nonLocal()).toEqual([])
        // The browser logs the 409 answer as a failed resource load; nothing else may be logged.
        expect(rec.errors.filter((e) => !/status of 409/.test(e))).toEqual([])
      } finally {
        // Put the rule back for the other tests whatever happened above (the PostGIS database outlives the run).
        if (original) {
          const cookie = await login(server.url, 'admin', server.password)
          const now = (await (await fetch(`${server.url}/api/admin/assessment-rules`, { headers: { cookie } })).json()) as { rules: Rule[] }
          const cur = now.rules.find((r) => r.kind === 'street')!
          const same = JSON.stringify([cur.indicators, cur.bands]) === JSON.stringify([original.indicators, original.bands])
          if (!same) {
            await fetch(`${server.url}/api/admin/assessment-rules/street`, {
              method: 'PUT',
              headers: { cookie, 'content-type': 'application/json' },
              body: JSON.stringify({ version: cur.version, indicators: original.indicators.map((i) => ({ indicator: i.indicator, weight: i.weight })), bands: original.bands }),
            })
          }
        }
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
  it(
    'the security admin edits the permission matrix; the audit admin reads who did it (issue 10)',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1920, height: 1080 } })
      const page = await context.newPage()
      const rec = recordPage(context, page, server.url)
      try {
        await loginThroughUi(page, server.url, 'secadmin', server.password, '/admin')
        await page.locator('[data-testid="admin-permissions"][data-loaded="true"]').waitFor({ timeout: 60_000 })
        // The other administrators' own permissions cannot be ticked for another role.
        expect(await page.locator('[data-testid="perm-security_admin-audit.read"]').isDisabled()).toBe(true)
        expect(await page.locator('[data-testid="perm-admin-cases.read"]').isChecked()).toBe(false)
        await page.locator('[data-testid="perm-leader-people.unmask"]').check()
        await page.locator('[data-testid="perm-save-leader"]').click()
        await expect.poll(() => page.locator('[data-testid="admin-perm-message"]').innerText()).toMatch(/leader/)
        const cookie = await login(server.url, 'secadmin')
        const matrix = (await (await fetch(`${server.url}/api/admin/permissions`, { headers: { cookie } })).json()) as { matrix: Record<string, string[]> }
        expect(matrix.matrix.leader).toContain('people.unmask')
        // The system admin's matrix may not take cases: the server's reason is shown as it comes.
        await page.locator('[data-testid="perm-admin-cases.read"]').check()
        await page.locator('[data-testid="perm-save-admin"]').click()
        await expect.poll(() => page.locator('[data-testid="admin-perm-message"]').innerText()).toMatch(/no cases or personal data/)
        expect(rec.errors.filter((e) => !/422/.test(e)), 'console errors').toEqual([])
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'admin-security-1920x1080.png') })
        await context.clearCookies()
        await loginThroughUi(page, server.url, 'auditor', server.password, '/admin')
        await page.locator('[data-testid="admin-audit"][data-loaded="true"]').waitFor({ timeout: 60_000 })
        await expect.poll(() => page.locator('[data-testid="admin-audit"]').innerText()).toMatch(/\/api\/admin\/permissions\/leader/)
        await page.screenshot({ path: path.join(SCREENSHOT_DIR, 'admin-audit-1920x1080.png') })
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )
})
