import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { loadConfig, projectRoot } from '../../server/config.ts'
import { startServer, type RunningServer } from '../../server/main.ts'
import { createLogger } from '../../server/log.ts'

import { TEST_ANCHOR, TEST_PASSWORD, TEST_SEED } from './constants.ts'

export { TEST_PASSWORD } from './constants.ts'

export interface TestServer {
  url: string
  password: string
  server: RunningServer
  close(): Promise<void>
}

/**
 * A private copy of the seeded embedded template (tests/helpers/global-setup.ts), or memory://
 * (the server then seeds it) when there is none.
 */
export function embeddedDataDir(): { dir: string; cleanup: () => void } {
  const template = process.env.ONEGRID_TEST_TEMPLATE
  if (!template || !fs.existsSync(template)) return { dir: 'memory://', cleanup: () => {} }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-test-'))
  fs.cpSync(template, dir, { recursive: true })
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) }
}

/**
 * Starts the real server on a free port: embedded PGlite (a copy of the seeded template), or the
 * PostGIS database in `databaseUrl`. Demo users all have the password `password`; the demo city
 * has the fixed seed and anchor of tests/helpers/constants.ts.
 */
export async function startTestServer(opts: { databaseUrl?: string; env?: Record<string, string>; dataDir?: string } = {}): Promise<TestServer> {
  // dataDir: an embedded data folder of the caller's, used as it is and kept on close.
  const data = opts.databaseUrl ? { dir: 'memory://', cleanup: () => {} } : opts.dataDir ? { dir: opts.dataDir, cleanup: () => {} } : embeddedDataDir()
  // Uploaded photos go to a folder of this server's own, removed when it closes.
  const attachments = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-attachments-'))
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ONEGRID_DATA_DIR: data.dir,
    ONEGRID_SEED_PASSWORD: TEST_PASSWORD,
    ONEGRID_DEMO_SEED: String(TEST_SEED),
    ONEGRID_DEMO_ANCHOR: TEST_ANCHOR,
    ONEGRID_WEB_DIR: path.join(projectRoot, 'dist', 'web'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // No embedded MQTT broker on a fixed port, no simulator and no periodic jobs (an offline
    // alarm or reminder would land in the middle of another test's events), unless the test asks.
    ONEGRID_MQTT_PORT: 'off',
    ONEGRID_SIMULATE: 'off',
    ONEGRID_JOBS: 'off',
    ONEGRID_ATTACHMENTS_DIR: attachments,
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
    ...opts.env,
  })
  const server = await startServer(config, createLogger(config.LOG_LEVEL))
  return {
    url: server.url,
    password: TEST_PASSWORD,
    server,
    close: async () => {
      await server.close()
      data.cleanup()
      fs.rmSync(attachments, { recursive: true, force: true })
    },
  }
}

/** The backends an integration suite runs on: embedded always, PostGIS when TEST_DATABASE_URL is set. */
export function backends(): { name: 'embedded' | 'postgres'; databaseUrl?: string }[] {
  const url = process.env.TEST_DATABASE_URL
  if (!url && process.env.CI === 'true') throw new Error('CI=true but TEST_DATABASE_URL is not set: the suite must run on a real PostGIS')
  return [{ name: 'embedded' }, ...(url ? [{ name: 'postgres' as const, databaseUrl: url }] : [])]
}

/** Logs in and returns the session cookie header value. */
export async function login(url: string, username: string, password = TEST_PASSWORD): Promise<string> {
  const res = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  })
  if (res.status !== 200) throw new Error(`login ${username} failed: ${res.status} ${await res.text()}`)
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('onegrid_session='))
  if (!cookie) throw new Error('no session cookie')
  return cookie.split(';')[0]
}
