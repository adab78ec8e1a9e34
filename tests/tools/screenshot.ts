/**
 * Screenshots of a running OneGrid, for the README and for looking at screens by hand:
 *   npx tsx tests/tools/screenshot.ts <base-url> <user> <password> <path> <out.png> [width] [height]
 * Signs in through the API, opens the page, waits for the map to be idle when there is one.
 * SHOT_AT=lon,lat,zoom jumps the map there first (through the ?debug=1 map hook).
 */
import { launchBrowser } from '../helpers/browser.ts'

const [base, user, password, pagePath, out, width = '1920', height = '1080'] = process.argv.slice(2)
if (!out) {
  console.error('usage: screenshot.ts <base-url> <user> <password> <path> <out.png> [width] [height]')
  process.exit(2)
}
const browser = await launchBrowser()
try {
  const context = await browser.newContext({ viewport: { width: Number(width), height: Number(height) } })
  const login = await context.request.post(`${base}/api/auth/login`, { data: { username: user, password } })
  if (!login.ok()) throw new Error(`login failed: ${login.status()} ${await login.text()}`)
  const page = await context.newPage()
  const at = process.env.SHOT_AT?.split(',').map(Number)
  await page.goto(`${base}${pagePath}${at ? `${pagePath.includes('?') ? '&' : '?'}debug=1` : ''}`)
  // The page mounts after the script loads: give a map a moment to appear before deciding there is none.
  const hasMap = await page.locator('[data-map-state]').waitFor({ timeout: 15_000 }).then(() => true, () => false)
  if (hasMap) await page.locator('[data-map-state="idle"]').waitFor({ timeout: 120_000 })
  if (at) {
    await page.evaluate(
      ([lon, lat, zoom]) =>
        new Promise<void>((resolve) => {
          const m = window.__onegridMap!
          m.once('idle', () => resolve())
          m.jumpTo({ center: [lon, lat], zoom })
        }),
      at as [number, number, number],
    )
    // deck.gl layers that load on moveend (camera cones) need a moment and another frame
    await page.waitForTimeout(4000)
  }
  await page.waitForTimeout(1500)
  await page.screenshot({ path: out })
  console.log(`saved ${out}`)
} finally {
  await browser.close()
}
