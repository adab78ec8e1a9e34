import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

interface WithinResponse {
  counts: Record<string, number>
  features: Record<string, { type: 'Feature'; id: number; geometry: { type: string; coordinates: unknown }; properties: Record<string, unknown> }[]>
}

const ALL_LAYERS = ['workers', 'cameras', 'sensors', 'parts', 'key_places', 'cases', 'buildings']
/** A square in the middle of nowhere (nothing seeded within kilometres). */
const LONELY_SQUARE = { type: 'Polygon', coordinates: [[[121.2, 31.05], [121.201, 31.05], [121.201, 31.051], [121.2, 31.051], [121.2, 31.05]]] }

describe.each(backends())('spatial within and choropleth on $name', ({ databaseUrl }) => {
  let s: TestServer
  /** The city-wide dispatcher: every layer, workers and cases included. */
  let dispatcher: string
  let supervisor: string
  /** A valid grid with objects in it, its GeoJSON and label point. */
  let grid: { code: string; geojson: string; lon: number; lat: number }

  const db = () => s.server.db
  const post = (body: unknown, cookie = dispatcher) =>
    fetch(`${s.url}/api/spatial/within`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  const within = async (body: unknown, cookie = dispatcher): Promise<WithinResponse> => {
    const res = await post(body, cookie)
    expect(res.status, await res.clone().text()).toBe(200)
    return res.json()
  }
  const get = (path: string, cookie = dispatcher) => fetch(`${s.url}${path}`, { headers: { cookie } })

  /** Direct SQL count of a layer's rows matching `match` (over t.geom; $1.. are params). */
  async function sqlCount(table: string, match: string, params: unknown[], scopePrefix: string | null = null): Promise<number> {
    const n = params.length + 1
    const { rows } = await db().query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${table} t WHERE t.geom IS NOT NULL AND ${match} AND ($${n}::text IS NULL OR t.grid_code LIKE $${n}::text || '%')`,
      [...params, scopePrefix],
    )
    return rows[0].n
  }

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    dispatcher = await login(s.url, 'dispatcher')
    supervisor = await login(s.url, 'supervisor')
    // The supervisor's street (外滩街道 310101013): the grid there with the most cameras + sensors + workers.
    const { rows } = await db().query<{ code: string; geojson: string; lon: number; lat: number }>(
      `SELECT g.code, ST_AsGeoJSON(g.geom, 15) AS geojson, ST_X(ST_PointOnSurface(g.geom)) AS lon, ST_Y(ST_PointOnSurface(g.geom)) AS lat
         FROM grids g
        WHERE g.code LIKE '310101013%' AND ST_IsValid(g.geom) AND ST_NPoints(g.geom) < 2000
        ORDER BY (SELECT count(*) FROM cameras c WHERE ST_Intersects(c.geom, g.geom))
               + (SELECT count(*) FROM sensors c WHERE ST_Intersects(c.geom, g.geom))
               + (SELECT count(*) FROM workers c WHERE ST_Intersects(c.geom, g.geom)) DESC, g.code
        LIMIT 1`,
    )
    grid = rows[0]
    expect(grid).toBeDefined()
  })
  afterAll(async () => {
    await s?.close()
  })

  describe('POST /api/spatial/within', () => {
    it('counts the objects inside a grid polygon like a direct SQL count', async () => {
      const body = await within({ geometry: JSON.parse(grid.geojson), limit: 200 })
      expect(Object.keys(body.counts).sort()).toEqual([...ALL_LAYERS].sort())
      const match = 'ST_Intersects(t.geom, (SELECT geom FROM grids WHERE code = $1))'
      for (const layer of ['workers', 'cameras', 'sensors', 'parts', 'cases'] as const) {
        expect(body.counts[layer], layer).toBe(await sqlCount(layer, match, [grid.code]))
      }
      expect(body.counts.workers + body.counts.cameras + body.counts.sensors).toBeGreaterThan(0)
      // The features: the first ones by id, GeoJSON points, no more than the count.
      for (const layer of ALL_LAYERS) {
        const f = body.features[layer]
        expect(f.length, layer).toBe(Math.min(body.counts[layer], 200))
        expect(f.map((x) => x.id)).toEqual([...f.map((x) => x.id)].sort((a, b) => a - b))
        for (const x of f) expect(x.type).toBe('Feature')
      }
      for (const x of body.features.sensors) expect(x.geometry.type).toBe('Point')
      for (const x of body.features.buildings) expect(['Polygon', 'MultiPolygon']).toContain(x.geometry.type)
    })

    it('limits the features to `limit`, first by id, and only the layers asked', async () => {
      const all = await within({ geometry: JSON.parse(grid.geojson), layers: ['parts', 'buildings'], limit: 200 })
      expect(Object.keys(all.counts).sort()).toEqual(['buildings', 'parts'])
      const two = await within({ geometry: JSON.parse(grid.geojson), layers: ['parts', 'buildings'], limit: 2 })
      expect(two.counts).toEqual(all.counts)
      for (const layer of ['parts', 'buildings']) {
        expect(two.features[layer].map((f) => f.id)).toEqual(all.features[layer].slice(0, 2).map((f) => f.id))
      }
    })

    it('accepts a MultiPolygon and finds nothing in an empty square', async () => {
      const g = JSON.parse(grid.geojson) as { type: string; coordinates: unknown[] }
      const multi = g.type === 'MultiPolygon' ? g : { type: 'MultiPolygon', coordinates: [g.coordinates] }
      const a = await within({ geometry: multi, layers: ['sensors'] })
      const b = await within({ geometry: { type: 'MultiPolygon', coordinates: [...multi.coordinates, LONELY_SQUARE.coordinates] }, layers: ['sensors'] })
      expect(b.counts).toEqual(a.counts)
      const empty = await within({ geometry: LONELY_SQUARE })
      for (const layer of ALL_LAYERS) expect(empty.counts[layer]).toBe(0)
    })

    it('counts within a circle (geodesic metres) like ST_DWithin on geography', async () => {
      const body = await within({ circle: { lon: grid.lon, lat: grid.lat, radius_m: 400 } })
      const match = 'ST_DWithin(t.geom::geography, ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326)::geography, 400)'
      for (const layer of ['workers', 'cameras', 'sensors', 'key_places', 'cases'] as const) {
        expect(body.counts[layer], layer).toBe(await sqlCount(layer, match, [grid.lon, grid.lat]))
      }
      expect(body.counts.cameras + body.counts.sensors).toBeGreaterThan(0)
      for (const f of body.features.cameras) {
        const [lon, lat] = f.geometry.coordinates as [number, number]
        const { rows } = await db().query<{ d: number }>(
          'SELECT ST_Distance(ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326)::geography, ST_SetSRID(ST_MakePoint($3::float8, $4::float8), 4326)::geography) AS d',
          [lon, lat, grid.lon, grid.lat],
        )
        expect(rows[0].d).toBeLessThanOrEqual(400.01)
      }
    })

    it('counts along a buffered line like ST_DWithin on geography', async () => {
      const line = { type: 'LineString', coordinates: [[grid.lon - 0.004, grid.lat - 0.002], [grid.lon, grid.lat], [grid.lon + 0.004, grid.lat + 0.001]] }
      const body = await within({ line, buffer_m: 150 })
      const match = `ST_DWithin(t.geom::geography, ST_SetSRID(ST_GeomFromGeoJSON($1::text), 4326)::geography, 150)`
      for (const layer of ['workers', 'cameras', 'sensors', 'parts', 'cases', 'buildings'] as const) {
        expect(body.counts[layer], layer).toBe(await sqlCount(layer, match, [JSON.stringify(line)]))
      }
      expect(body.counts.parts + body.counts.cameras + body.counts.sensors).toBeGreaterThan(0)
    })

    it('finds objects near the bulge of a long geodesic line (the index box follows the great circle)', async () => {
      // A 1000 km line along latitude 60 through nothing; the great circle between its ends bulges
      // ~0.3° (34 km) north. A camera on the geodesic's midpoint must be found although it lies far
      // outside the box of the two vertices.
      const line = { type: 'LineString', coordinates: [[100, 60], [118, 60]] }
      await db().query(
        `INSERT INTO cameras (code, name, kind, heading_deg, fov_deg, range_m, status, geom)
         VALUES ('TEST-WITHIN-GC', 'TEST-WITHIN-GC', 'fixed', 0, 90, 50, 'online',
                 ST_LineInterpolatePoint(ST_Segmentize(ST_GeomFromText('LINESTRING(100 60, 118 60)', 4326)::geography, 1000)::geometry, 0.5))`,
      )
      try {
        const body = await within({ line, buffer_m: 100, layers: ['cameras'] })
        expect(body.counts.cameras).toBe(1)
        expect(body.features.cameras[0].properties.code).toBe('TEST-WITHIN-GC')
        expect((body.features.cameras[0].geometry.coordinates as number[])[1]).toBeGreaterThan(60.2)
      } finally {
        await db().query(`DELETE FROM cameras WHERE code = 'TEST-WITHIN-GC'`)
      }
    })

    it('keeps a street supervisor to their street', async () => {
      const circle = { lon: grid.lon, lat: grid.lat, radius_m: 5000 }
      const mine = await within({ circle, limit: 200 }, supervisor)
      const all = await within({ circle, limit: 200 })
      const match = 'ST_DWithin(t.geom::geography, ST_SetSRID(ST_MakePoint($1::float8, $2::float8), 4326)::geography, 5000)'
      let fewer = false
      for (const layer of ['workers', 'cameras', 'sensors', 'cases'] as const) {
        expect(mine.counts[layer], layer).toBe(await sqlCount(layer, match, [grid.lon, grid.lat], '310101013'))
        if (mine.counts[layer] < all.counts[layer]) fewer = true
        for (const f of mine.features[layer]) expect(String(f.properties.grid_code)).toMatch(/^310101013/)
      }
      expect(fewer).toBe(true)
      const lonely = await within({ geometry: LONELY_SQUARE }, supervisor)
      for (const layer of ALL_LAYERS) expect(lonely.counts[layer]).toBe(0)
    })

    const square = (x: number, y: number, d = 0.001) => [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]
    const manyVertices = () => {
      const ring: number[][] = []
      for (let i = 0; i < 10_050; i++) {
        const a = (2 * Math.PI * i) / 10_050
        ring.push([121.49 + 0.01 * Math.cos(a), 31.23 + 0.01 * Math.sin(a)])
      }
      ring.push(ring[0])
      return { type: 'Polygon', coordinates: [ring] }
    }
    it.each([
      ['not JSON', '{"geometry": ', 400, /not valid JSON/],
      ['a JSON array', '[1, 2]', 400, /JSON object/],
      ['no area', {}, 422, /exactly one of geometry, circle or line/],
      ['two areas', { geometry: LONELY_SQUARE, circle: { lon: 121.2, lat: 31.05, radius_m: 10 } }, 422, /exactly one/],
      ['a Point geometry', { geometry: { type: 'Point', coordinates: [121.2, 31.05] } }, 422, /geometry(\.type)?: must be a GeoJSON Polygon or MultiPolygon/],
      ['an open ring', { geometry: { type: 'Polygon', coordinates: [square(121.2, 31.05).slice(0, 4)] } }, 422, /closed/],
      ['a ring of 3 positions', { geometry: { type: 'Polygon', coordinates: [[[121.2, 31.05], [121.201, 31.05], [121.2, 31.05]]] } }, 422, /at least 4 positions/],
      [
        'a self-intersecting polygon (bow tie)',
        { geometry: { type: 'Polygon', coordinates: [[[121.2, 31.05], [121.201, 31.051], [121.201, 31.05], [121.2, 31.051], [121.2, 31.05]]] } },
        422,
        /geometry is not valid: Self-intersection/,
      ],
      ['more than 10,000 vertices', { geometry: manyVertices() }, 413, /more than 10000 vertices/],
      ['a longitude out of range', { geometry: { type: 'Polygon', coordinates: [square(179.9995, 31.05)] } }, 422, /longitude must be between -180 and 180/],
      ['a latitude out of range', { circle: { lon: 121.2, lat: 91, radius_m: 100 } }, 422, /circle.lat: latitude must be between -85 and 85/],
      ['a coordinate that is not a number', { geometry: { type: 'Polygon', coordinates: [[[121.2, '31'], [121.201, 31.05], [121.201, 31.051], [121.2, 31.05]]] } }, 422, /latitude must be a number/],
      ['a radius of 0', { circle: { lon: 121.2, lat: 31.05, radius_m: 0 } }, 422, /radius_m must be more than 0/],
      ['a radius over 20 km', { circle: { lon: 121.2, lat: 31.05, radius_m: 20_001 } }, 422, /radius_m must be more than 0 and at most 20000 m/],
      ['a negative buffer', { line: { type: 'LineString', coordinates: [[121.2, 31.05], [121.21, 31.05]] }, buffer_m: -5 }, 422, /buffer_m must be more than 0/],
      ['a buffer over 20 km', { line: { type: 'LineString', coordinates: [[121.2, 31.05], [121.21, 31.05]] }, buffer_m: 1e9 }, 422, /buffer_m/],
      ['a line without buffer', { line: { type: 'LineString', coordinates: [[121.2, 31.05], [121.21, 31.05]] } }, 422, /buffer_m: is required with line/],
      [
        'a line whose geodesic passes near the pole',
        { line: { type: 'LineString', coordinates: [[0, 84], [180, 84]] }, buffer_m: 10 },
        422,
        /line: its geodesic path passes beyond latitude ±85/,
      ],
      ['a one-point line', { line: { type: 'LineString', coordinates: [[121.2, 31.05]] }, buffer_m: 10 }, 422, /at least 2 positions/],
      ['an unknown layer', { geometry: LONELY_SQUARE, layers: ['workers', 'ufos'] }, 422, /layers.1: unknown layer/],
      ['an empty layer list', { geometry: LONELY_SQUARE, layers: [] }, 422, /layers: name at least one layer/],
      ['a limit of 0', { geometry: LONELY_SQUARE, limit: 0 }, 422, /limit must be between 1 and 200/],
      ['a limit of 201', { geometry: LONELY_SQUARE, limit: 201 }, 422, /limit must be between 1 and 200/],
      ['an unknown field', { geometry: LONELY_SQUARE, radius: 3 }, 422, /radius/],
    ] as const)('refuses %s', async (_what, body, status, message) => {
      const res = await post(body)
      const text = await res.text()
      expect(res.status, text).toBe(status)
      expect(JSON.parse(text).error.message).toMatch(message)
    })

    it('needs a session', async () => {
      const res = await fetch(`${s.url}/api/spatial/within`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ geometry: LONELY_SQUARE }) })
      expect(res.status).toBe(401)
    })
  })

  describe('GET /api/stats/choropleth', () => {
    const choropleth = async (level: string, indicator: string, cookie = dispatcher) => {
      const res = await get(`/api/stats/choropleth?level=${level}&indicator=${indicator}`, cookie)
      expect(res.status, await res.clone().text()).toBe(200)
      return (await res.json()) as { level: string; indicator: string; values: { code: string; name: string; value: number }[] }
    }
    const sum = (vs: { value: number }[]) => vs.reduce((a, v) => a + v.value, 0)

    it('sums cases_total to the same total at every level, equal to the cases in a grid', async () => {
      const district = await choropleth('district', 'cases_total')
      expect(district.level).toBe('district')
      expect(district.indicator).toBe('cases_total')
      expect(district.values.length).toBeGreaterThan(0)
      const { rows } = await db().query<{ n: number }>('SELECT count(*)::int AS n FROM cases WHERE grid_code IS NOT NULL')
      expect(sum(district.values)).toBe(rows[0].n)
      for (const level of ['street', 'community', 'grid']) {
        const body = await choropleth(level, 'cases_total')
        expect(sum(body.values), level).toBe(rows[0].n)
        for (const v of body.values) expect(v).toEqual({ code: expect.any(String), name: expect.any(String), value: expect.any(Number) })
      }
    })

    it('counts each indicator per unit like SQL, with units without any at 0', async () => {
      const grids = await choropleth('grid', 'sensors_alarm')
      const { rows } = await db().query<{ n: number }>('SELECT count(*)::int AS n FROM grids')
      expect(grids.values).toHaveLength(rows[0].n)
      const streets = await choropleth('street', 'workers_on_duty')
      for (const v of streets.values) {
        const r = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM workers WHERE duty_status = 'on_duty' AND grid_code LIKE $1 || '%'`, [v.code])
        expect(v.value, v.code).toBe(r.rows[0].n)
      }
      for (const indicator of ['cases_open', 'cases_overdue', 'sensors_offline']) {
        const body = await choropleth('community', indicator)
        expect(body.values.length).toBeGreaterThan(0)
      }
    })

    it('lists only the units inside a supervisor’s scope', async () => {
      const communities = await choropleth('community', 'cases_total', supervisor)
      expect(communities.values.length).toBeGreaterThan(0)
      for (const v of communities.values) expect(v.code).toMatch(/^310101013/)
      const { rows } = await db().query<{ n: number }>(`SELECT count(*)::int AS n FROM cases WHERE grid_code LIKE '310101013%'`)
      expect(sum(communities.values)).toBe(rows[0].n)
      expect((await choropleth('district', 'cases_total', supervisor)).values).toEqual([])
    })

    it.each([
      ['level=county&indicator=cases_total', /level: unknown level "county"/],
      ['level=grid&indicator=trees', /indicator: unknown indicator "trees"/],
      ['indicator=cases_total', /level: is required/],
      ['level=grid', /indicator: is required/],
    ])('?%s → 400 naming it', async (q, message) => {
      const res = await get(`/api/stats/choropleth?${q}`)
      expect(res.status).toBe(400)
      expect((await res.json()).error.message).toMatch(message)
    })
  })
})
