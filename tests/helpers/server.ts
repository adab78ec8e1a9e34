import path from 'node:path'
import { loadConfig, projectRoot } from '../../server/config.ts'
import { startServer, type RunningServer } from '../../server/main.ts'
import { createLogger } from '../../server/log.ts'

export const TEST_PASSWORD = 'password'

export interface TestServer {
  url: string
  password: string
  server: RunningServer
  close(): Promise<void>
}

/**
 * Starts the real server on a free port: embedded PGlite in memory, or the PostGIS database
 * in `databaseUrl`. Demo users all have the password `password`.
 */
export async function startTestServer(opts: { databaseUrl?: string; env?: Record<string, string> } = {}): Promise<TestServer> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ONEGRID_DATA_DIR: 'memory://',
    ONEGRID_SEED_PASSWORD: TEST_PASSWORD,
    ONEGRID_WEB_DIR: path.join(projectRoot, 'dist', 'web'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : {}),
    ...opts.env,
  })
  const server = await startServer(config, createLogger(config.LOG_LEVEL))
  return { url: server.url, password: TEST_PASSWORD, server, close: () => server.close() }
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
