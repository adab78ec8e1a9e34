/**
 * Cesium's prebuilt library at /cesium/<version>/ (server/http/cesium.ts): served from the
 * installed package, immutable, only the installed version, nothing outside its folder, and
 * index.js patched so it loads under a CSP without 'unsafe-eval'.
 */
import fs from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import Koa from 'koa'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { CESIUM_DIR, CESIUM_VERSION, cesiumStatic } from '../../server/http/cesium.ts'
import { errorHandler } from '../../server/http/errors.ts'
import { createLogger } from '../../server/log.ts'

describe('/cesium/<version>/', () => {
  let server: http.Server
  let base: string

  beforeAll(async () => {
    const app = new Koa()
    app.use(errorHandler(createLogger('silent')))
    app.use(cesiumStatic())
    app.use((ctx) => {
      ctx.body = 'next'
    })
    server = http.createServer(app.callback())
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

  it('is the installed package’s version (pinned in package.json)', () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve('package.json'), 'utf8')) as { dependencies: Record<string, string> }
    expect(CESIUM_VERSION).toBe(pkg.dependencies.cesium)
    expect(CESIUM_VERSION).toBe('1.140.0')
  })

  it('serves the ESM build without the evals of Knockout (the global object) and protobuf.js (inquire), as JavaScript, immutable', async () => {
    const res = await fetch(`${base}/cesium/${CESIUM_VERSION}/index.js`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/javascript/)
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    const body = await res.text()
    const original = fs.readFileSync(path.join(CESIUM_DIR, 'index.js'), 'utf8')
    expect(original).toContain('this||(0,eval)("this")')
    expect(body).not.toContain('(0,eval)("this")')
    // nothing else changed
    expect(original).toContain('eval("quire".replace(/^/,"re"))')
    expect(body).not.toContain('eval("quire"')
    expect(body.length).toBe(original.length - '(0,eval)("this")'.length + 'globalThis'.length - 'eval("quire".replace(/^/,"re"))'.length + '(null)'.length)
  })

  it('serves its workers, assets and CSS', async () => {
    const worker = fs.readdirSync(path.join(CESIUM_DIR, 'Workers')).find((f) => f.endsWith('.js'))!
    for (const file of [`Workers/${worker}`, 'Widgets/CesiumWidget/CesiumWidget.css', 'Assets/approximateTerrainHeights.json']) {
      const res = await fetch(`${base}/cesium/${CESIUM_VERSION}/${file}`)
      expect(res.status, file).toBe(200)
      expect(res.headers.get('cache-control'), file).toContain('immutable')
    }
  })

  it('answers 404 with a message for another version or a missing file, and refuses paths out of its folder', async () => {
    const other = await fetch(`${base}/cesium/1.0.0/index.js`)
    expect(other.status).toBe(404)
    expect(((await other.json()) as { error: { message: string } }).error.message).toContain(`/cesium/${CESIUM_VERSION}/`)
    const missing = await fetch(`${base}/cesium/${CESIUM_VERSION}/nope.js`)
    expect(missing.status).toBe(404)
    expect(((await missing.json()) as { error: { message: string } }).error.message).toContain('nope.js')
    // Sent as is (fetch would normalise the dots away before the server sees them).
    const rawStatus = (p: string) =>
      new Promise<number>((resolve, reject) => {
        const { hostname, port } = new URL(base)
        http.get({ hostname, port, path: p }, (res) => {
          res.resume()
          resolve(res.statusCode ?? 0)
        }).on('error', reject)
      })
    for (const escape of ['../../../package.json', '..%2f..%2f..%2fpackage.json', '%2e%2e/%2e%2e/%2e%2e/package.json']) {
      expect([403, 404], escape).toContain(await rawStatus(`/cesium/${CESIUM_VERSION}/${escape}`))
    }
    expect((await fetch(`${base}/cesium/${CESIUM_VERSION}/index.js`, { method: 'POST' })).status).toBe(405)
  })

  it('leaves every other path to the next middleware', async () => {
    expect(await (await fetch(`${base}/cesiumx`)).text()).toBe('next')
  })
})
