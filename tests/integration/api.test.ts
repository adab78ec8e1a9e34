import { z } from 'zod'
import { catalog } from '../../layers/index.ts'
import { revalidate } from '../helpers/revalidate.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { io as connect } from 'socket.io-client'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'
import { decodeLayer, tileOf } from '../helpers/mvt.ts'

describe.each(backends())('API on $name', ({ name, databaseUrl }) => {
  let s: TestServer
  let cookie: string
  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    // The dispatcher sees every layer of the city (the system admin sees no cases or workers).
    cookie = await login(s.url, 'dispatcher')
  })
  afterAll(async () => {
    await s?.close()
  })
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${s.url}${path}`, { headers: { cookie, ...headers } })

  it('reports health with the backend and tile encoder', async () => {
    const res = await fetch(`${s.url}/api/health`)
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body).toMatchObject({ status: 'ok', db: name, mvt: name === 'embedded' ? 'js' : 'native' })
    expect(body.postgis).toMatch(/^3\.\d+/)
    expect(typeof body.version).toBe('string')
  })

  describe('auth', () => {
    it('logs in, tells who is signed in, and logs out', async () => {
      const c = await login(s.url, 'supervisor')
      const me = await fetch(`${s.url}/api/auth/me`, { headers: { cookie: c } })
      expect(me.status).toBe(200)
      expect((await me.json()).user).toMatchObject({ username: 'supervisor', role: 'supervisor', scope: '310101013' })
      const out = await fetch(`${s.url}/api/auth/logout`, { method: 'POST', headers: { cookie: c } })
      expect(out.status).toBe(204)
      expect((await fetch(`${s.url}/api/auth/me`, { headers: { cookie: c } })).status).toBe(401)
    })

    it('sets an HttpOnly SameSite cookie and can hand a bearer token to devices', async () => {
      const res = await fetch(`${s.url}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'wall', password: s.password, bearer: true }),
      })
      const setCookie = res.headers.getSetCookie().join('\n')
      expect(setCookie).toMatch(/onegrid_session=.*httponly/i)
      expect(setCookie).toMatch(/samesite=lax/i)
      const { token } = await res.json()
      const me = await fetch(`${s.url}/api/auth/me`, { headers: { authorization: `Bearer ${token}` } })
      expect((await me.json()).user.username).toBe('wall')
    })

    it.each([
      ['a wrong password', { username: 'admin', password: 'nope-nope' }, 401, /wrong username or password/],
      ['an unknown user', { username: 'ghost', password: 'whatever1' }, 401, /wrong username or password/],
      ['a missing password', { username: 'admin' }, 422, /password/],
      ['a number as username', { username: 5, password: 'x' }, 422, /username/],
    ])('rejects %s', async (_what, body, status, message) => {
      const res = await fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      expect(res.status).toBe(status)
      expect((await res.json()).error.message).toMatch(message)
    })

    it('rejects broken JSON with 400', async () => {
      const res = await fetch(`${s.url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username": ' })
      expect(res.status).toBe(400)
      expect((await res.json()).error.message).toMatch(/not valid JSON/)
    })

    it.each(['/api/auth/me', '/tiles/catalog.json', '/tiles/grids.json', '/tiles/grids/14/13723/6693.mvt', '/api/anything', '/ogc/collections'])(
      'needs a user for %s',
      async (path) => {
        const res = await fetch(`${s.url}${path}`)
        expect(res.status).toBe(401)
        expect((await res.json()).error.code).toBe('unauthorized')
      },
    )
  })

  it('answers unknown /api routes with JSON 404', async () => {
    const res = await get('/api/no/such/thing')
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toMatch(/json/)
    expect((await res.json()).error.message).toMatch(/no route GET \/api\/no\/such\/thing/)
  })

  describe('tiles', () => {
    it('lists the catalog with absolute TileJSON URLs', async () => {
      const body = await (await get('/tiles/catalog.json')).json()
      const grids = body.layers.find((l: { id: string }) => l.id === 'grids')
      expect(grids.tilejson).toBe(`${s.url}/tiles/grids.json`)
      expect(body.layers.map((l: { id: string }) => l.id)).toEqual(expect.arrayContaining(['buildings', 'roads', 'water', 'grid_labels']))
    })

    it('serves TileJSON 3.0.0 for the grid layer', async () => {
      const tj = await (await get('/tiles/grids.json')).json()
      expect(tj.tilejson).toBe('3.0.0')
      expect(tj.tiles).toEqual([`${s.url}/tiles/grids/{z}/{x}/{y}.mvt`])
      expect(tj.vector_layers[0]).toMatchObject({ id: 'grids', fields: { code: 'String', area_m2: 'Number' } })
      const [w, south, e, n] = tj.bounds
      expect(w).toBeGreaterThan(121.47)
      expect(e).toBeLessThan(121.53)
      expect(south).toBeGreaterThan(31.22)
      expect(n).toBeLessThan(31.26)
      expect(tj.center).toHaveLength(3)
      expect(tj.attribution).toContain('OpenStreetMap')
    })

    // TileJSON 3.0.0 (github.com/mapbox/tilejson-spec/tree/master/3.0.0): required and typed fields.
    const TileJson300 = z.object({
      tilejson: z.literal('3.0.0'),
      tiles: z.array(z.url()).min(1),
      vector_layers: z.array(z.object({ id: z.string(), fields: z.record(z.string(), z.string()), minzoom: z.number().int().optional(), maxzoom: z.number().int().optional(), description: z.string().optional() })).min(1),
      name: z.string().optional(),
      description: z.string().optional(),
      version: z.string().regex(/^\d+\.\d+\.\d+$/).optional(),
      attribution: z.string().optional(),
      scheme: z.enum(['xyz', 'tms']).optional(),
      minzoom: z.number().int().min(0).max(30),
      maxzoom: z.number().int().min(0).max(30),
      bounds: z.tuple([z.number().min(-180), z.number().min(-90), z.number().max(180), z.number().max(90)]),
      center: z.tuple([z.number(), z.number(), z.number()]),
    })

    it.each([...catalog.keys()])('serves TileJSON 3.0.0 for catalog layer %s', async (id) => {
      const tj = await (await get(`/tiles/${id}.json`)).json()
      const parsed = TileJson300.safeParse(tj)
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true)
      expect(tj.vector_layers[0].id).toBe(id)
      expect(tj.tiles[0]).toBe(`${s.url}/tiles/${id}/{z}/{x}/{y}.mvt`)
    })

    it('serves an MVT tile of grids with codes and properties', async () => {
      const { z, x, y } = tileOf(121.4995, 31.2397, 14)
      const res = await get(`/tiles/grids/${z}/${x}/${y}.mvt`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/vnd.mapbox-vector-tile')
      expect(res.headers.get('cache-control')).toMatch(/private/)
      const layer = decodeLayer(new Uint8Array(await res.arrayBuffer()), 'grids')
      expect(layer?.features.length).toBeGreaterThan(3)
      for (const f of layer!.features) {
        expect(f.type).toBe(3)
        expect(String(f.properties.code)).toMatch(/^\d{15}$/)
        expect(String(f.properties.code).startsWith(String(f.properties.community_code))).toBe(true)
        expect(typeof f.id).toBe('number')
      }
      const etag = res.headers.get('etag')
      expect(etag).toBeTruthy()
      const status = await revalidate(`${s.url}/tiles/grids/${z}/${x}/${y}.mvt`, etag!, { cookie })
      expect(status).toBe(304)
    })

    it('answers a tile with no data with 204', async () => {
      const res = await get('/tiles/grids/14/0/0.mvt')
      expect(res.status).toBe(204)
    })

    it('filters tiles by the asker’s scope', async () => {
      const { z, x, y } = tileOf(121.49, 31.235, 13)
      const all = decodeLayer(new Uint8Array(await (await get(`/tiles/grids/${z}/${x}/${y}.mvt`)).arrayBuffer()), 'grids')!
      const supervisor = await login(s.url, 'supervisor')
      const res = await fetch(`${s.url}/tiles/grids/${z}/${x}/${y}.mvt`, { headers: { cookie: supervisor } })
      const mine = decodeLayer(new Uint8Array(await res.arrayBuffer()), 'grids')!
      expect(all.features.some((f) => !String(f.properties.code).startsWith('310101013'))).toBe(true)
      expect(mine.features.length).toBeGreaterThan(0)
      expect(mine.features.every((f) => String(f.properties.code).startsWith('310101013'))).toBe(true)
    })

    it.each([
      ['z above 22', '/tiles/grids/23/0/0.mvt', 400, /z must be between 0 and 22/],
      ['x out of range', '/tiles/grids/3/8/1.mvt', 400, /x is out of range/],
      ['y out of range', '/tiles/grids/3/1/8.mvt', 400, /y is out of range/],
      ['a negative number', '/tiles/grids/3/-1/1.mvt', 400, /x must be a non-negative integer/],
      ['a non-number', '/tiles/grids/a/1/1.mvt', 400, /z must be a non-negative integer/],
      ['a huge number', '/tiles/grids/99999999999/1/1.mvt', 400, /z must be a non-negative integer/],
      ['an unknown layer', '/tiles/nope/1/1/1.mvt', 404, /unknown layer "nope"/],
      ['an unknown TileJSON', '/tiles/nope.json', 404, /unknown layer "nope"/],
      ['a malformed tile path', '/tiles/grids/1/2.mvt', 404, /no route/],
    ])('rejects %s', async (_what, path, status, message) => {
      const res = await get(path)
      expect(res.status).toBe(status)
      expect((await res.json()).error.message).toMatch(message)
    })
  })

  describe('styles', () => {
    it.each(['night', 'day', 'contrast'])('serves the %s style built on our own sources only', async (name) => {
      const res = await fetch(`${s.url}/styles/${name}.json`)
      expect(res.status).toBe(200)
      const style = await res.json()
      expect(style.version).toBe(8)
      expect(style.sources.grids.url).toBe(`${s.url}/tiles/grids.json`)
      expect(JSON.stringify(style)).not.toMatch(/https?:\/\/(?!127\.0\.0\.1)/)
    })
    it.each(['nope', 'toString', '__proto__'])('answers an unknown style (%s) with 404', async (name) => {
      const res = await fetch(`${s.url}/styles/${name}.json`)
      expect(res.status).toBe(404)
      expect((await res.json()).error.message).toMatch(/unknown style/)
    })
  })

  describe('socket.io', () => {
    it('greets a signed-in client with hello and the server time', async () => {
      const socket = connect(s.url, { path: '/socket.io', extraHeaders: { cookie }, transports: ['websocket'] })
      try {
        const hello = await new Promise<{ serverTime: string; version: string; user: string }>((resolve, reject) => {
          socket.on('hello', resolve)
          socket.on('connect_error', reject)
        })
        expect(Math.abs(Date.parse(hello.serverTime) - Date.now())).toBeLessThan(60_000)
        expect(hello.user).toBe('dispatcher')
      } finally {
        socket.close()
      }
    })
    it('refuses a client without a session', async () => {
      const socket = connect(s.url, { path: '/socket.io', transports: ['websocket'], reconnection: false })
      try {
        const err = await new Promise<Error>((resolve) => socket.on('connect_error', resolve))
        expect(err.message).toBe('unauthorized')
      } finally {
        socket.close()
      }
    })
  })
})
