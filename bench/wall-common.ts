/**
 * What `bench:wall` (bench/wall.ts) and `soak:wall` (bench/soak-wall.ts) share: the web app to
 * serve, the OneGrid server started in this process, a same-origin proxy, and the wall opened in
 * headless Chromium (Debian's, SwiftShader WebGL: tests/helpers/browser.ts) as the kiosk account.
 */
import http from 'node:http'
import net from 'node:net'
import path from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import sirv from 'sirv'
import { ensureWebBuilt } from '../server/build-web.ts'
import { loadConfig, projectRoot } from '../server/config.ts'
import { createLogger } from '../server/log.ts'
import { startServer, type RunningServer } from '../server/main.ts'
import { BENCH_PASSWORD, ensureDatabase, log } from './lib.ts'

// Moved to lib.ts (bench/soak.ts uses them too); the wall benches keep importing them from here.
export { BENCH_PASSWORD, numberOption, sleep } from './lib.ts'
/** The embedded database of the wall benches: the demo city only (bench:tiles adds scale data to its own). */
export const DEFAULT_DATA_DIR = path.join(projectRoot, 'data', 'bench', 'wall')

export interface Size {
  width: number
  height: number
}

/** "1920x1080" → { width, height }. */
export function parseSize(v: string): Size {
  const m = /^(\d{3,5})[x×](\d{3,5})$/.exec(v)
  if (!m) throw new Error(`--size must be WIDTHxHEIGHT such as 1920x1080, not "${v}"`)
  return { width: Number(m[1]), height: Number(m[2]) }
}


/** The web app's folder: ONEGRID_WEB_DIR as given, else dist/web, built first when older than its sources (as `npm start`). */
export function webDir(): string {
  if (process.env.ONEGRID_WEB_DIR) return process.env.ONEGRID_WEB_DIR
  if (!ensureWebBuilt((msg) => log(msg.trim()))) throw new Error('building the web app failed (see above)')
  return path.join(projectRoot, 'dist', 'web')
}

export interface ServerOptions {
  /** PostgreSQL (created and seeded when missing); undefined: the embedded database in dataDir. */
  databaseUrl?: string
  dataDir: string
  webDir: string
  /** Extra configuration (simulator, jobs, broker). */
  env: Record<string, string>
}

/** The OneGrid server in this process on a free port; seeds the demo city on the first start (a minute or two). */
export async function startWallServer(opts: ServerOptions): Promise<RunningServer> {
  if (opts.databaseUrl) await ensureDatabase(opts.databaseUrl)
  log(`starting OneGrid on ${opts.databaseUrl ? opts.databaseUrl.replace(/\/\/[^@]*@/, '//…@') : `the embedded database in ${opts.dataDir}`} (the first start seeds the demo city)`)
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ONEGRID_SEED_PASSWORD: BENCH_PASSWORD,
    ONEGRID_WEB_DIR: opts.webDir,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
    ONEGRID_TZ: process.env.ONEGRID_TZ,
    ...(opts.databaseUrl ? { DATABASE_URL: opts.databaseUrl } : { ONEGRID_DATA_DIR: opts.dataDir }),
    ...opts.env,
  })
  return startServer(config, createLogger(config.LOG_LEVEL))
}

export interface Proxy {
  url: string
  /** Requests forwarded to the server so far, by kind: `tiles`, `tiles/json`, `ogc`, `api/<first segment>`, `styles`, `socket.io`, `other`. */
  requests: Map<string, number>
  close(): Promise<void>
}

/** The kind of a forwarded request, for Proxy.requests. */
function requestKind(url: string): string {
  const pathname = url.split('?')[0]!
  const [a, b] = pathname.split('/').slice(1)
  if (a === 'api') return `api/${b ?? ''}`
  // tiles apart from the TileJSON and catalog documents beside them
  if (a === 'tiles' && pathname.endsWith('.json')) return 'tiles/json'
  return a === 'tiles' || a === 'ogc' || a === 'styles' || a === 'socket.io' ? a : 'other'
}

/**
 * A same-origin front for the server: paths under `mount.prefix` are files of `mount.dir`, every
 * other request (and WebSocket upgrade) goes to `target` unchanged — Host included, so the
 * server's absolute URLs (TileJSON) point back here and the session cookie covers both.
 */
export async function startProxy(target: string, mount: { prefix: string; dir: string }): Promise<Proxy> {
  const t = new URL(target)
  const files = sirv(mount.dir, { dev: false, etag: true })
  const requests = new Map<string, number>()
  const server = http.createServer((req, res) => {
    if (req.url?.startsWith(mount.prefix)) {
      req.url = req.url.slice(mount.prefix.length - 1)
      files(req, res, () => {
        res.statusCode = 404
        res.end('not found')
      })
      return
    }
    const kind = requestKind(req.url ?? '/')
    requests.set(kind, (requests.get(kind) ?? 0) + 1)
    const up = http.request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers)
      ur.pipe(res)
    })
    up.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502)
      res.end(`proxy: ${err.message}`)
    })
    req.pipe(up)
  })
  const sockets = new Set<net.Socket>()
  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const up = net.connect(Number(t.port), t.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`]
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`)
      up.write(lines.join('\r\n') + '\r\n\r\n')
      if (head.length) up.write(head)
      socket.pipe(up).pipe(socket)
    })
    for (const s of [socket, up]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        socket.destroy()
        up.destroy()
      })
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/** A browser context at the size, signed in (session cookie) as `user`. */
export async function signedInContext(browser: Browser, base: string, user: string, password: string, size: Size): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: size, deviceScaleFactor: 1 })
  // tsx compiles this file keeping function names (`__name(fn, "fn")`), and functions passed to
  // page.evaluate carry that call into the page: give the page the helper.
  await context.addInitScript({ content: 'globalThis.__name ??= (fn) => fn' })
  const res = await context.request.post(`${base}/api/auth/login`, { data: { username: user, password } })
  if (!res.ok()) {
    await context.close()
    throw new Error(`signing in as ${user} failed (HTTP ${res.status()}: ${(await res.text()).slice(0, 200)}); the demo accounts' password is ONEGRID_SEED_PASSWORD (default onegrid-bench) or --password`)
  }
  return context
}

/**
 * Opens /wall?debug=1 and waits until its map says idle (tiles of the first view loaded) and the
 * debug hook is there. Tries twice: the wall may be rebuilt meanwhile (its lazily loaded chunks
 * change names), and a page that failed to start says so in its console, which is quoted.
 */
export async function openWall(context: BrowserContext, base: string, timeoutMs = 180_000): Promise<Page> {
  let lastError: Error | null = null
  for (let attempt = 1; attempt <= 2; attempt++) {
    const page = await context.newPage()
    const errors: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text())
    })
    page.on('pageerror', (e) => errors.push(e.message))
    try {
      await page.goto(`${base}/wall?debug=1`)
      if (new URL(page.url()).pathname !== '/wall') throw new Error(`the wall sent the browser to ${page.url()} (not signed in?)`)
      await page.locator('[data-testid="wall-map"][data-map-state="idle"]').waitFor({ timeout: timeoutMs })
      await page.waitForFunction(() => window.__onegridMap !== undefined, undefined, { timeout: 10_000 })
      return page
    } catch (err) {
      lastError = new Error(`${(err as Error).message.split('\n')[0]}${errors.length ? ` — page errors: ${errors.slice(0, 3).join(' | ')}` : ''}`)
      log(`opening the wall failed (attempt ${attempt}): ${lastError.message}`)
      await page.close().catch(() => {})
    }
  }
  throw lastError ?? new Error('the wall did not open')
}
