import { execFileSync } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { catalog } from '../../layers/index.ts'
import { parseDatetime } from '../../server/ogc/params.ts'
import { countQuery, extentQuery, itemQuery, itemsQuery } from '../../server/ogc/sql.ts'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

interface Feature {
  type: 'Feature'
  id: number
  geometry: { type: string; coordinates: unknown }
  properties: Record<string, unknown>
}
interface Link {
  href: string
  rel: string
  type: string
}
interface FeatureCollection {
  type: 'FeatureCollection'
  features: Feature[]
  numberMatched: number
  numberReturned: number
  timeStamp: string
  links: Link[]
}

const CONF = 'http://www.opengis.net/spec/ogcapi-features-1/1.0/conf'
const SUPERVISOR_SCOPE = '310101013'

/** Every [lon, lat] of a GeoJSON geometry. */
function positions(coords: unknown): [number, number][] {
  if (Array.isArray(coords) && typeof coords[0] === 'number') return [coords as [number, number]]
  return (coords as unknown[]).flatMap(positions)
}

function hasOgrinfo(): boolean {
  try {
    execFileSync('ogrinfo', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

describe('OGC SQL builder', () => {
  const grids = catalog.get('grids')!
  const roads = catalog.get('roads')!

  it('binds every value and quotes only catalog identifiers', () => {
    const q = itemsQuery(grids, { scope: "310101013' OR 1=1 --", bbox: [121.1, 31.2, 121.5, 31.3] }, { limit: 10, offset: 20 })
    expect(q.values).toEqual(["310101013' OR 1=1 --", 121.1, 31.2, 121.5, 31.3, 10, 20])
    expect(q.text).not.toContain('OR 1=1')
    expect(q.text).not.toContain('121.1')
    expect(q.text).toContain(`t."code" LIKE $1::text || '%'`)
    expect(q.text).toContain('ST_Intersects(t."geom", ST_MakeEnvelope($2::float8, $3::float8, $4::float8, $5::float8, 4326))')
    expect(q.text).toContain('ST_AsGeoJSON(t."geom", 7)::json')
    expect(q.text).toMatch(/ORDER BY t."id"\s+LIMIT \$6::int OFFSET \$7::bigint$/)
  })

  it('adds no scope filter for an unrestricted actor or an unscoped layer', () => {
    expect(countQuery(grids, { scope: null, bbox: null })).toEqual({ text: 'SELECT count(*)::int AS n FROM "grids" t\n', values: [] })
    expect(countQuery(roads, { scope: '310101013', bbox: null }).values).toEqual([])
    expect(extentQuery(grids, '310101013').values).toEqual(['310101013'])
    const one = itemQuery(grids, 7, '310101013')
    expect(one.values).toEqual([7, '310101013'])
    expect(one.text).toContain(`WHERE t."id" = $1::bigint AND t."code" LIKE $2::text || '%'`)
  })

  it.each([
    ['2024-02-29T12:00:00Z', true],
    ['2024-02-29T12:00:00.123+08:00', true],
    ['2024-02-29', true],
    ['2024-01-01T00:00:00Z/..', true],
    ['../2024-01-01T00:00:00Z', true],
    ['2024-01-01T00:00:00Z/2024-02-01T00:00:00Z', true],
    ['2023-02-29T00:00:00Z', false],
    ['2024-13-01T00:00:00Z', false],
    ['2024-01-01T24:00:00Z', false],
    ['2024-01-01T00:00:00', false],
    ['yesterday', false],
    ['../..', false],
    ['2024-02-01T00:00:00Z/2024-01-01T00:00:00Z', false],
    ['a/b/c', false],
  ])('datetime %s valid: %s', (value, ok) => {
    expect(typeof parseDatetime(value) !== 'string').toBe(ok)
  })
})

describe.each(backends())('OGC API – Features on $name', ({ databaseUrl }) => {
  let s: TestServer
  /** The city-wide dispatcher sees every collection (the system admin no cases or workers). */
  let dispatcher: string
  let admin: string
  let supervisor: string
  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    dispatcher = await login(s.url, 'dispatcher')
    admin = await login(s.url, 'admin')
    supervisor = await login(s.url, 'supervisor')
  })
  afterAll(async () => {
    await s?.close()
  })
  const get = (path: string, cookie = dispatcher) => fetch(path.startsWith('http') ? path : `${s.url}${path}`, { headers: { cookie } })
  const json = async <T = Record<string, unknown>>(path: string, cookie = dispatcher): Promise<T> => {
    const res = await get(path, cookie)
    expect(res.status, `${path}: ${res.status}`).toBe(200)
    return (await res.json()) as T
  }

  /** Every feature of a collection, following `next` links; checks each page on the way. */
  async function allItems(first: string, cookie = dispatcher): Promise<{ features: Feature[]; pages: FeatureCollection[] }> {
    const features: Feature[] = []
    const pages: FeatureCollection[] = []
    let next: string | undefined = `${s.url}${first}`
    while (next) {
      const res = await get(next, cookie)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^application\/geo\+json/)
      const page = (await res.json()) as FeatureCollection
      expect(page.type).toBe('FeatureCollection')
      expect(page.numberReturned).toBe(page.features.length)
      expect(page.links.find((l) => l.rel === 'self')?.href).toMatch(/^http:\/\//)
      pages.push(page)
      features.push(...page.features)
      next = page.links.find((l) => l.rel === 'next')?.href
      expect(pages.length).toBeLessThan(1000)
    }
    return { features, pages }
  }

  it('serves the landing page with self, conformance, data and service-desc links', async () => {
    const body = await json<{ title: string; links: Link[] }>('/ogc')
    const rels = Object.fromEntries(body.links.map((l) => [l.rel, l.href]))
    expect(rels).toEqual({
      self: `${s.url}/ogc`,
      conformance: `${s.url}/ogc/conformance`,
      data: `${s.url}/ogc/collections`,
      'service-desc': `${s.url}/api/openapi.json`,
    })
    expect(body.links.find((l) => l.rel === 'service-desc')?.type).toMatch(/openapi/)
  })

  it('declares core, geojson and oas30 conformance', async () => {
    const body = await json<{ conformsTo: string[] }>('/ogc/conformance?f=json')
    expect(body.conformsTo).toEqual(expect.arrayContaining([`${CONF}/core`, `${CONF}/geojson`, `${CONF}/oas30`]))
  })

  it('lists every catalog layer drawing its table’s geometry as a collection with a CRS84 extent and an items link', async () => {
    const body = await json<{ collections: { id: string; title: string; itemType: string; extent: { spatial: { bbox: number[][]; crs: string } }; links: Link[] }[] }>('/ogc/collections')
    // grid_labels draws the grids table's label points: the grids collection already serves it.
    expect(body.collections.map((c) => c.id)).toEqual([...catalog.values()].filter((l) => l.geomColumn === 'geom_3857' && l.ogc !== false).map((l) => l.id))
    expect(body.collections.map((c) => c.id)).not.toContain('grid_labels')
    for (const c of body.collections) {
      expect(c.itemType).toBe('feature')
      expect(c.title).toBe(catalog.get(c.id)!.title.en)
      expect(c.extent.spatial.crs).toBe('http://www.opengis.net/def/crs/OGC/1.3/CRS84')
      const [w, south, e, n] = c.extent.spatial.bbox[0]
      expect(w).toBeGreaterThanOrEqual(-180)
      expect(w).toBeLessThanOrEqual(e)
      expect(south).toBeLessThanOrEqual(n)
      expect(c.links.find((l) => l.rel === 'items')).toEqual({ href: `${s.url}/ogc/collections/${c.id}/items`, rel: 'items', type: 'application/geo+json', title: expect.any(String) })
    }
    const grids = await json<{ id: string; extent: { spatial: { bbox: number[][] } } }>('/ogc/collections/grids')
    expect(grids.id).toBe('grids')
    const [w, south, e, n] = grids.extent.spatial.bbox[0]
    expect(w).toBeGreaterThan(121.4)
    expect(e).toBeLessThan(121.6)
    expect(south).toBeGreaterThan(31.2)
    expect(n).toBeLessThan(31.3)
    // The system admin sees the base and object collections, not cases or workers.
    const theirs = (await json<{ collections: { id: string }[] }>('/ogc/collections', admin)).collections.map((c) => c.id)
    expect(theirs).toContain('grids')
    expect(theirs).toContain('buildings')
    expect(theirs).not.toContain('cases')
    expect(theirs).not.toContain('workers')
    const refused = await get('/ogc/collections/cases/items', admin)
    expect(refused.status).toBe(403)
    expect((await refused.json()).error.message).toBe('collection "cases" needs the permission cases.read, which the admin role does not hold')
  })

  it('pages through all grids with next links until exhausted; numberMatched = /api/admin/stats', async () => {
    const stats = await json<{ counts: { grids: number } }>('/api/admin/stats', admin)
    const limit = Math.max(1, Math.ceil(stats.counts.grids / 4))
    const { features, pages } = await allItems(`/ogc/collections/grids/items?limit=${limit}`)
    expect(pages.length).toBeGreaterThanOrEqual(4)
    for (const p of pages) expect(p.numberMatched).toBe(stats.counts.grids)
    expect(pages.at(-1)!.links.find((l) => l.rel === 'next')).toBeUndefined()
    expect(pages[0].links.find((l) => l.rel === 'prev')).toBeUndefined()
    expect(pages[1].links.find((l) => l.rel === 'prev')?.href).toBe(`${s.url}/ogc/collections/grids/items?limit=${limit}&offset=0`)
    expect(features).toHaveLength(stats.counts.grids)
    expect(new Set(features.map((f) => f.id)).size).toBe(features.length)
    expect(Date.parse(pages[0].timeStamp)).not.toBeNaN()
    const f = features[0]
    expect(typeof f.id).toBe('number')
    expect(f.geometry.type).toBe('MultiPolygon')
    expect(Object.keys(f.properties).sort()).toEqual(Object.keys(catalog.get('grids')!.properties).sort())
    // a valid datetime is accepted and ignored: no layer has a temporal extent
    const timed = await json<FeatureCollection>('/ogc/collections/grids/items?limit=1&datetime=2024-01-01T00:00:00Z/..')
    expect(timed.numberMatched).toBe(stats.counts.grids)
    // the default page is 100
    const first = await json<FeatureCollection>('/ogc/collections/grids/items')
    expect(first.numberReturned).toBe(Math.min(100, stats.counts.grids))
  })

  it('filters by bbox: everything returned intersects it, and nothing touching it is left out', async () => {
    const bbox = [121.485, 31.235, 121.495, 31.245] as const
    const [w, south, e, n] = bbox
    const all = (await allItems('/ogc/collections/grids/items?limit=10000')).features
    const { features, pages } = await allItems(`/ogc/collections/grids/items?limit=5&bbox=${bbox.join(',')}`)
    expect(pages[0].links.find((l) => l.rel === 'next')?.href ?? '').toContain(`bbox=${encodeURIComponent(bbox.join(','))}`)
    expect(features.length).toBeGreaterThan(0)
    expect(features.length).toBeLessThan(all.length)
    const ids = new Set(features.map((f) => f.id))
    for (const f of all) {
      const pts = positions(f.geometry.coordinates)
      const xs = pts.map((p) => p[0])
      const ys = pts.map((p) => p[1])
      const boxOverlaps = Math.min(...xs) <= e && Math.max(...xs) >= w && Math.min(...ys) <= n && Math.max(...ys) >= south
      const vertexInside = pts.some(([x, y]) => x >= w && x <= e && y >= south && y <= n)
      if (ids.has(f.id)) expect(boxOverlaps, `grid ${f.id} returned but its box is outside`).toBe(true)
      if (vertexInside) expect(ids.has(f.id), `grid ${f.id} has a vertex inside but was not returned`).toBe(true)
    }
  })

  it('serves a single item as GeoJSON, and 404 for a missing one', async () => {
    const page = await json<FeatureCollection>('/ogc/collections/grids/items?limit=1&offset=3')
    const f = page.features[0]
    const res = await get(`/ogc/collections/grids/items/${f.id}`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^application\/geo\+json/)
    const one = (await res.json()) as Feature & { links: Link[] }
    expect({ ...one, links: undefined }).toEqual({ ...f, links: undefined })
    expect(one.links.find((l) => l.rel === 'self')?.href).toBe(`${s.url}/ogc/collections/grids/items/${f.id}`)
    for (const bad of ['999999999', 'abc', '-1']) {
      const r = await get(`/ogc/collections/grids/items/${bad}`)
      expect(r.status).toBe(404)
      expect((await r.json()).error.code).toBe('not_found')
    }
  })

  it('scopes a supervisor to their street, like tiles', async () => {
    const own = (await allItems('/ogc/collections/grids/items?limit=10000', supervisor)).features
    expect(own.length).toBeGreaterThan(0)
    for (const f of own) expect(String(f.properties.code)).toMatch(new RegExp(`^${SUPERVISOR_SCOPE}`))
    const everything = (await allItems('/ogc/collections/grids/items?limit=10000')).features
    const other = everything.find((f) => !String(f.properties.code).startsWith(SUPERVISOR_SCOPE))!
    expect(other).toBeDefined()
    expect(own.length).toBeLessThan(everything.length)
    expect(own.length).toBe(everything.filter((f) => String(f.properties.code).startsWith(SUPERVISOR_SCOPE)).length)
    expect((await get(`/ogc/collections/grids/items/${other.id}`, supervisor)).status).toBe(404)
    expect((await get(`/ogc/collections/grids/items/${own[0].id}`, supervisor)).status).toBe(200)
    // buildings are scoped by their grid code too
    const buildings = (await allItems('/ogc/collections/buildings/items?limit=10000', supervisor)).features
    for (const b of buildings) expect(String(b.properties.grid_code)).toMatch(new RegExp(`^${SUPERVISOR_SCOPE}`))
  })

  it.each([
    ['limit=0', 'limit'],
    ['limit=10001', 'limit'],
    ['limit=abc', 'limit'],
    ['limit=1&limit=2', 'limit'],
    ['offset=-1', 'offset'],
    ['offset=1.5', 'offset'],
    ['bbox=1,2,3', 'bbox'],
    ['bbox=1,2,3,x', 'bbox'],
    ['bbox=-181,0,0,1', 'bbox'],
    ['bbox=0,-91,1,0', 'bbox'],
    ['bbox=0,2,1,1', 'bbox'],
    ['bbox=170,0,-170,1', 'bbox'],
    ['datetime=yesterday', 'datetime'],
    ['datetime=2024-13-01T00:00:00Z', 'datetime'],
    ['datetime=../..', 'datetime'],
    ['datetime=2024-02-01T00:00:00Z/2024-01-01T00:00:00Z', 'datetime'],
    ['f=html', 'f'],
    ['colour=red', 'colour'],
  ])('rejects ?%s with 400 naming %s', async (query, name) => {
    const res = await get(`/ogc/collections/grids/items?${query}`)
    expect(res.status).toBe(400)
    expect((await res.json()).error.message).toContain(name)
  })

  it('rejects f other than json on every resource', async () => {
    for (const path of ['/ogc', '/ogc/conformance', '/ogc/collections', '/ogc/collections/grids']) {
      const res = await get(`${path}?f=html`)
      expect(res.status, path).toBe(400)
      expect((await res.json()).error.message).toMatch(/^f:/)
    }
  })

  it('answers an unknown collection with JSON 404', async () => {
    for (const path of ['/ogc/collections/nope', '/ogc/collections/nope/items', '/ogc/collections/nope/items/1']) {
      const res = await get(path)
      expect(res.status, path).toBe(404)
      expect(res.headers.get('content-type')).toMatch(/json/)
      expect((await res.json()).error.message).toContain('unknown collection "nope"')
    }
  })

  it.skipIf(!hasOgrinfo())('is readable by GDAL (ogrinfo OAPIF)', async () => {
    const out = execFileSync('ogrinfo', ['-ro', '-so', `OAPIF:${s.url}/ogc`, 'grids', '--config', 'GDAL_HTTP_HEADERS', `Cookie: ${dispatcher}`], { encoding: 'utf8' })
    expect(out).toMatch(/Layer name: grids/)
  })
})
