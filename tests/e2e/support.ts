/**
 * Shared pieces of the browser tests: skip-or-fail when there is no Chromium, a recorder for
 * requests and console errors, and the login flow through the real login page.
 */
import { describe, expect } from 'vitest'
import type { BrowserContext, Page, Request } from 'playwright-core'
import { ensureWebBuilt } from '../../server/build-web.ts'
import { findChromium } from '../helpers/browser.ts'

/** Generous: SwiftShader renders a few frames per second. */
export const TEST_TIMEOUT = 180_000
export const MAP_IDLE_TIMEOUT = 120_000

/**
 * `describe` when Chromium is available. Without it: on CI (`CI=true`) still `describe`, so the
 * suite's `beforeAll` fails loudly; elsewhere `describe.skip` with the reason printed.
 */
export function describeWithChromium(suite: string): typeof describe | typeof describe.skip {
  // The server serves dist/web: rebuild it when the web sources changed, or the browser would
  // test yesterday's app (no-op when it is fresh, as after `npm run build` on CI).
  if (findChromium() && !ensureWebBuilt((msg) => console.log(`[e2e]${msg}`))) throw new Error('the web app does not build')
  if (findChromium()) return describe
  if (process.env.CI === 'true') return describe
  console.warn(`[e2e] skipping "${suite}": no Chromium found (install Debian's chromium or set CHROMIUM_PATH)`)
  return describe.skip
}

/** Options for startTestServer: the real PostGIS when TEST_DATABASE_URL is set, else embedded. */
export function serverOptions(): { databaseUrl?: string } {
  const databaseUrl = process.env.TEST_DATABASE_URL
  return databaseUrl ? { databaseUrl } : {}
}

export interface PageRecorder {
  /** Every request URL the context made (pages and workers). */
  requests: string[]
  /**
   * console.error messages, uncaught page errors, Content-Security-Policy violations and app
   * documents served without an enforced CSP: every e2e test that expects none of these runs its
   * face under the server's policy (issue 10).
   */
  errors: string[]
  /** Requests that went anywhere but the test server's own origin. */
  nonLocal: () => string[]
}

/** Records requests and errors of `context` and `page`; call before navigating. */
export function recordPage(context: BrowserContext, page: Page, serverUrl: string): PageRecorder {
  const server = new URL(serverUrl)
  const requests: string[] = []
  const errors: string[] = []
  // page.on('request') sees the page's requests; context.on('request') adds its workers'
  // (MapLibre fetches tiles from a web worker). Count each request object once.
  const seen = new WeakSet<Request>()
  const onRequest = (req: Request): void => {
    if (seen.has(req)) return
    seen.add(req)
    requests.push(req.url())
  }
  page.on('request', onRequest)
  context.on('request', onRequest)
  page.on('console', (msg) => {
    if (msg.type() === 'error') {
      const where = msg.location()?.url ? ` (${msg.location().url})` : ''
      errors.push(`console.error: ${msg.text()}${where}`)
    }
  })
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`))
  page.on('crash', () => errors.push('page crashed'))
  // A violation is also a console error in Chromium; the event names the directive and what it blocked.
  void page.exposeFunction('__ogCspViolation', (v: string) => errors.push(`csp violation: ${v}`)).catch(() => {})
  void page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      void (window as unknown as { __ogCspViolation: (v: string) => void }).__ogCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`)
    })
  })
  page.on('response', (res) => {
    if (res.request().resourceType() !== 'document' || !res.ok()) return
    const csp = res.headers()['content-security-policy']
    if (!csp || !csp.includes("default-src 'self'")) errors.push(`document without an enforced Content-Security-Policy: ${res.url()}`)
  })

  const isLocal = (raw: string): boolean => {
    if (raw.startsWith('data:') || raw.startsWith('about:')) return true
    // blob: URLs carry the origin that created them
    const url = new URL(raw.startsWith('blob:') ? raw.slice(5) : raw)
    return (
      (url.hostname === '127.0.0.1' || url.hostname === 'localhost') &&
      url.port === server.port &&
      (url.protocol === 'http:' || url.protocol === 'ws:' || url.protocol === 'https:' || url.protocol === 'wss:')
    )
  }
  return { requests, errors, nonLocal: () => requests.filter((r) => !isLocal(r)) }
}

/** Signs in through the login page UI and waits until the app has left /login. */
export async function loginThroughUi(
  page: Page,
  serverUrl: string,
  username: string,
  password: string,
  next?: string,
): Promise<void> {
  const query = next ? `?next=${encodeURIComponent(next)}` : ''
  await page.goto(`${serverUrl}/login${query}`, { waitUntil: 'domcontentloaded' })
  await page.locator('[data-testid="login-username"]').fill(username)
  await page.locator('[data-testid="login-password"]').fill(password)
  await page.locator('[data-testid="login-submit"]').click()
  await page.waitForURL((url) => url.pathname !== '/login', { timeout: 30_000 })
}

/** Waits for the wall map to report idle with the grids source loaded. */
export async function waitForMapIdle(page: Page, timeout = MAP_IDLE_TIMEOUT): Promise<void> {
  await page.locator('[data-testid="wall-map"][data-map-state="idle"]').waitFor({ state: 'attached', timeout })
}

/** Waits until the status bar shows the socket as connected. */
export async function expectSocketConnected(page: Page): Promise<void> {
  const status = page.locator('[data-testid="socket-status"]')
  await expect.poll(() => status.getAttribute('data-state'), { timeout: 30_000 }).toBe('connected')
}

/**
 * Runs `change` in the page (it uses the wall map's ?debug=1 hook) and waits for the map to
 * settle after it: its next `idle`, or 20 s at most (a pulsing overlay can keep a
 * software-rendered map from ever going idle; the caller then judges what is drawn by then).
 */
export async function changeMapAndSettle(page: Page, change: () => void): Promise<void> {
  // Listen first, then change: an idle between the two cannot be missed.
  await page.evaluate(() => {
    const w = window as unknown as { __onegridSettled?: Promise<void> }
    w.__onegridSettled = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 20_000)
      window.__onegridMap!.once('idle', () => {
        clearTimeout(timer)
        resolve()
      })
    })
  })
  await page.evaluate(change)
  await page.evaluate(() => {
    window.__onegridMap!.triggerRepaint()
    return (window as unknown as { __onegridSettled?: Promise<void> }).__onegridSettled
  })
}
