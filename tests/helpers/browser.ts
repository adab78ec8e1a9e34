/**
 * Real Chromium for end-to-end tests: Debian's package (or CHROMIUM_PATH), software WebGL
 * through SwiftShader, and every host name resolved to nothing except 127.0.0.1/localhost —
 * so a page that tries to reach another host fails loudly instead of leaking a request.
 * See docs: headless-webgl.md (flags measured on this kind of machine).
 */
import { execSync } from 'node:child_process'
import fs from 'node:fs'
import { chromium, type Browser } from 'playwright-core'

/** Path of a Chromium executable: CHROMIUM_PATH, else `command -v chromium`; null when none. */
export function findChromium(): string | null {
  const fromEnv = process.env.CHROMIUM_PATH
  if (fromEnv) return fs.existsSync(fromEnv) ? fromEnv : null
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const found = execSync(`command -v ${name}`, { shell: '/bin/sh', stdio: ['ignore', 'pipe', 'ignore'] })
        .toString()
        .trim()
      if (found) return found
    } catch {
      // not on PATH: try the next name
    }
  }
  return null
}

/** Launches headless Chromium with SwiftShader WebGL; throws when no Chromium is installed. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = findChromium()
  if (!executablePath) {
    throw new Error('No Chromium found: install Debian\'s `chromium` package or set CHROMIUM_PATH')
  }
  // Don't pass ignoreDefaultArgs (launch hangs) or our own --disable-features (it replaces Playwright's).
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
      // Chromium tries to reach Google's hosts even headless; keep every lookup local.
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
    ],
  })
}
