/**
 * Sign-in flow in real Chromium against the real server: a wrong password shows the server's
 * message and stays on /login; a face without a session redirects to /login?next=…; signing
 * out returns to /login and the session is gone.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { launchBrowser } from '../helpers/browser.ts'
import { startTestServer } from '../helpers/server.ts'
import { describeWithChromium, loginThroughUi, recordPage, serverOptions, TEST_TIMEOUT } from './support.ts'

describeWithChromium('login (e2e)')('login', () => {
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
    'a wrong password shows the server message and stays on /login',
    async () => {
      // What the server says to a wrong password, in the language the UI asks for (zh-CN).
      const res = await fetch(`${server.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-language': 'zh-CN' },
        body: JSON.stringify({ username: 'wall', password: 'not-the-password' }),
      })
      expect(res.status).toBe(401)
      const body = (await res.json()) as { error: { code: string; message: string } }
      expect(body.error.message).toBeTruthy()

      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
      const page = await context.newPage()
      const rec = recordPage(context, page, server.url)
      try {
        await page.goto(`${server.url}/login`)
        await page.locator('[data-testid="login-username"]').fill('wall')
        await page.locator('[data-testid="login-password"]').fill('not-the-password')
        await page.locator('[data-testid="login-submit"]').click()
        const error = page.locator('[data-testid="login-error"]')
        await error.waitFor({ timeout: 30_000 })
        expect((await error.innerText()).trim()).toBe(body.error.message)
        expect(new URL(page.url()).pathname).toBe('/login')
        expect(rec.nonLocal()).toEqual([])
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )

  it(
    '/wall without a session redirects to /login with next=/wall',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
      const page = await context.newPage()
      const rec = recordPage(context, page, server.url)
      try {
        await page.goto(`${server.url}/wall`)
        await page.waitForURL((url) => url.pathname === '/login', { timeout: 30_000 })
        expect(new URL(page.url()).searchParams.get('next')).toBe('/wall')
        await expect.poll(() => page.locator('[data-testid="login-submit"]').isVisible()).toBe(true)
        // the map never started: nothing from /tiles was requested
        expect(rec.requests.some((u) => new URL(u).pathname.startsWith('/tiles/'))).toBe(false)
        expect(rec.nonLocal()).toEqual([])
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )

  it(
    'signs in to the next page, switches language, signs out',
    async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 720 } })
      const page = await context.newPage()
      const rec = recordPage(context, page, server.url)
      try {
        await loginThroughUi(page, server.url, 'dispatcher', server.password, '/cockpit')
        expect(new URL(page.url()).pathname).toBe('/cockpit')
        const cockpit = page.locator('[data-testid="cockpit-view"]')
        await expect.poll(() => cockpit.locator('h1').innerText()).toBe('领导驾驶舱')

        await page.locator('[data-testid="language-switch"] select').selectOption('en')
        await expect.poll(() => cockpit.locator('h1').innerText()).toBe('Leader Cockpit')
        expect(await page.evaluate(() => localStorage.getItem('onegrid.locale'))).toBe('en')
        await page.reload()
        await expect.poll(() => page.locator('[data-testid="cockpit-view"] h1').innerText()).toBe('Leader Cockpit')
        // the cockpit itself, in English: its KPI cards have loaded
        await page.locator('[data-testid="cockpit-kpis"][data-state="ok"]').waitFor({ timeout: 60_000 })
        await expect.poll(() => page.locator('[data-testid="kpi-closure"] .wall-kpi__label').innerText()).toBe('Closure rate')

        await page.locator('[data-testid="logout"]').click()
        await page.waitForURL((url) => url.pathname === '/login', { timeout: 30_000 })
        const me = await page.evaluate(() => fetch('/api/auth/me').then((r) => r.status))
        expect(me).toBe(401)
        expect(rec.nonLocal()).toEqual([])
        expect(rec.errors.filter((e) => !/status of 401/.test(e))).toEqual([])
      } finally {
        await context.close()
      }
    },
    TEST_TIMEOUT,
  )
})
