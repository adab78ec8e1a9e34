import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { login, startTestServer, type TestServer } from '../helpers/server.ts'

interface OpenApi {
  openapi: string
  info: { title: string; version: string }
  paths: Record<string, Record<string, { parameters?: { name: string; in: string; required?: boolean; schema?: { enum?: string[]; minimum?: number } }[]; responses: Record<string, unknown> }>>
}

describe('GET /api/openapi.json', () => {
  let s: TestServer
  /** The seats that together hold every permission: the dispatcher, then the three administrators. */
  const SEATS = ['dispatcher', 'admin', 'secadmin', 'auditor'] as const
  const cookies = {} as Record<(typeof SEATS)[number], string>
  let doc: OpenApi
  /** Real ids to put into path templates. */
  const ids: Record<string, string> = {}

  beforeAll(async () => {
    s = await startTestServer()
    for (const who of SEATS) cookies[who] = await login(s.url, who)
    const res = await fetch(`${s.url}/api/openapi.json`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/openapi\+json|application\/json/)
    doc = await res.json()
    const catalog = await (await fetch(`${s.url}/tiles/catalog.json`, { headers: { cookie: cookies.dispatcher } })).json()
    ids.tileLayer = (catalog.layers ?? catalog)[0]?.id ?? 'grids'
    const collections = await (await fetch(`${s.url}/ogc/collections`, { headers: { cookie: cookies.dispatcher } })).json()
    ids.collection = collections.collections[0].id
  })
  afterAll(async () => {
    await s?.close()
  })

  it('is served without a session and looks like OpenAPI 3.0', () => {
    expect(doc.openapi).toMatch(/^3\.0\.\d+$/)
    expect(doc.info.title).toBeTruthy()
    expect(doc.info.version).toBeTruthy()
    expect(Object.keys(doc.paths).length).toBeGreaterThan(10)
    for (const [path, ops] of Object.entries(doc.paths)) {
      expect(path.startsWith('/'), path).toBe(true)
      for (const [method, op] of Object.entries(ops)) {
        expect(['get', 'post', 'put', 'delete', 'patch'], `${method} ${path}`).toContain(method)
        expect(Object.keys(op.responses).length, `${method} ${path}`).toBeGreaterThan(0)
        for (const name of path.match(/\{(\w+)\}/g) ?? []) {
          expect(op.parameters?.some((p) => p.in === 'path' && `{${p.name}}` === name), `${method} ${path} declares ${name}`).toBe(true)
        }
      }
    }
  })

  it('lists the known routes', () => {
    for (const path of [
      '/api/health',
      '/api/auth/login',
      '/api/auth/me',
      '/tiles/{layer}/{z}/{x}/{y}.mvt',
      '/ogc/collections/{collectionId}/items',
      '/api/locate',
      '/api/spatial/nearest',
      '/api/spatial/around',
      '/api/spatial/within',
      '/api/stats/choropleth',
      '/api/export/{layer}.geojson',
      '/api/admin/stats',
    ]) {
      expect(doc.paths, path).toHaveProperty([path])
    }
    expect(doc.paths['/api/spatial/within']).toHaveProperty('post')
  })

  it('is linked from the OGC landing page as service-desc', async () => {
    const landing = await (await fetch(`${s.url}/ogc`, { headers: { cookie: cookies.dispatcher } })).json()
    const link = landing.links.find((l: { rel: string }) => l.rel === 'service-desc')
    expect(link.href).toBe(`${s.url}/api/openapi.json`)
  })

  it('has a route for every path it lists', async () => {
    const example = (name: string, path: string): string => {
      if (name === 'layer') return path.startsWith('/tiles') ? ids.tileLayer : 'workers'
      if (name === 'collectionId') return ids.collection
      if (name === 'name') return 'wall'
      if (name === 'featureId') return '1'
      return '0'
    }
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        // Would end the sessions the other requests use.
        if (path === '/api/auth/logout' || path === '/api/auth/logout-all') continue
        const url = new URL(path.replace(/\{(\w+)\}/g, (_, n: string) => example(n, path)), s.url)
        for (const p of op.parameters ?? []) {
          if (p.in !== 'query' || !p.required) continue
          url.searchParams.set(p.name, p.schema?.enum?.[0] ?? (p.name === 'lat' ? '31.23' : p.name === 'lon' ? '121.49' : '1'))
        }
        // Asked by the first seat holding the route's permission (a refusal by permission: the next seat).
        let res: Response | undefined
        let text = ''
        for (const who of SEATS) {
          res = await fetch(url, {
            method: method.toUpperCase(),
            headers: { cookie: cookies[who], 'content-type': 'application/json' },
            body: method === 'get' ? undefined : '{}',
          })
          text = await res.text()
          if (!(res.status === 403 && /needs the permission/.test(text))) break
        }
        const what = `${method.toUpperCase()} ${url.pathname}${url.search}: ${text.slice(0, 200)}`
        expect(res!.status, what).toBeLessThan(500)
        // Some demo seat may use every route listed.
        expect(res!.status === 403 && /needs the permission/.test(text), what).toBe(false)
        expect(res!.status, what).not.toBe(401)
        if (res!.status === 404) expect(text, `${method.toUpperCase()} ${url.pathname}`).not.toMatch(/no route/)
      }
    }
  })
})
