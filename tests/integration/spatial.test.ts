import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

interface Feature {
  id: number
  geometry: { type: 'Point'; coordinates: [number, number] }
  properties: Record<string, unknown> & { distance_m: number }
}

/** Points well away from the demo city (nothing seeded within kilometres) for constructed cameras. */
const LONELY = { lon: 121.2, lat: 31.05 }
const LONELY_WRAP = { lon: 121.21, lat: 31.06 }

describe.each(backends())('spatial queries on $name', ({ databaseUrl }) => {
  let s: TestServer
  /** The city-wide dispatcher: every layer, workers and cases included. */
  let dispatcher: string
  let supervisor: string
  /** A grid of the supervisor's street and one of another street, with their label points. */
  let own: { code: string; lon: number; lat: number }
  let other: { code: string; lon: number; lat: number }

  const get = (path: string, cookie = dispatcher) => fetch(`${s.url}${path}`, { headers: { cookie } })
  const json = async (path: string, cookie = dispatcher) => {
    const res = await get(path, cookie)
    expect(res.status, await res.clone().text()).toBe(200)
    return res.json()
  }
  const db = () => s.server.db

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    dispatcher = await login(s.url, 'dispatcher')
    supervisor = await login(s.url, 'supervisor')
    const { rows } = await db().query<{ code: string; lon: number; lat: number }>(
      `SELECT code, ST_X(label_point) AS lon, ST_Y(label_point) AS lat FROM grids
        WHERE label_point IS NOT NULL AND ST_Intersects(geom, label_point) ORDER BY code`,
    )
    own = rows.find((g) => g.code.startsWith('310101013'))!
    other = rows.find((g) => !g.code.startsWith('310101013'))!
    expect(own).toBeDefined()
    expect(other).toBeDefined()
  })
  afterAll(async () => {
    await db()?.query(`DELETE FROM cameras WHERE code LIKE 'TEST-SPATIAL-%'`)
    await s?.close()
  })

  /** Inserts a camera `distance` metres from p in direction `azimuth` (degrees); heading null = towards p. */
  async function camera(code: string, p: { lon: number; lat: number }, distance: number, azimuth: number, heading: number | null, fov: number, range: number) {
    await db().query(
      `INSERT INTO cameras (code, name, kind, heading_deg, fov_deg, range_m, status, geom)
       VALUES ($1, $1, 'fixed', coalesce($2::float8, 0), $3, $4, 'online',
               ST_Project(ST_SetSRID(ST_MakePoint($5::float8, $6::float8), 4326)::geography, $7::float8, radians($8::float8))::geometry)`,
      [code, heading, fov, range, p.lon, p.lat, distance, azimuth],
    )
    if (heading === null) {
      await db().query(
        `UPDATE cameras SET heading_deg = mod(degrees(ST_Azimuth(geom::geography, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography))::numeric, 360)
          WHERE code = $1`,
        [code, p.lon, p.lat],
      )
    }
  }

  describe('locate', () => {
    it('finds the grid, its admin units, team and party branch for a point inside a grid', async () => {
      const body = await json(`/api/locate?lon=${own.lon}&lat=${own.lat}`)
      expect(body.grid.code).toBe(own.code)
      expect(typeof body.grid.name).toBe('string')
      expect(body.community.code).toBe(own.code.slice(0, 12))
      expect(body.street.code).toBe(own.code.slice(0, 9))
      expect(body.district.code).toBe(own.code.slice(0, 6))
      expect(body.district.name.length).toBeGreaterThan(0)
      expect(Array.isArray(body.team)).toBe(true)
      for (const m of body.team) expect(Object.keys(m).sort()).toEqual(['duty_status', 'name', 'phone', 'role'])
      const { rows } = await db().query<{ n: number }>('SELECT count(*)::int AS n FROM grid_team WHERE grid_code = $1', [own.code])
      expect(body.team).toHaveLength(rows[0].n)
      expect(body).toHaveProperty('partyBranch')
      if (body.partyBranch) expect(body.partyBranch).toEqual({ name: expect.any(String), secretary: expect.any(String) })
    })

    it('answers 404 for a point outside every grid', async () => {
      const res = await get(`/api/locate?lon=${LONELY.lon}&lat=${LONELY.lat}`)
      expect(res.status).toBe(404)
      expect((await res.json()).error.message).toMatch(/no grid/)
    })
  })

  describe('nearest', () => {
    it('returns the k nearest workers sorted by geodesic distance, matching a full scan', async () => {
      const k = 7
      const body = await json(`/api/spatial/nearest?lon=${own.lon}&lat=${own.lat}&layer=workers&k=${k}`)
      const features: Feature[] = body.features
      expect(features).toHaveLength(k)
      const d = features.map((f) => f.properties.distance_m)
      expect(d).toEqual([...d].sort((a, b) => a - b))
      const { rows } = await db().query<{ id: number }>(
        `SELECT id FROM workers WHERE geom IS NOT NULL
          ORDER BY ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography), id LIMIT $3`,
        [own.lon, own.lat, k],
      )
      expect(features.map((f) => f.id)).toEqual(rows.map((r) => r.id))
    })

    it('filters on-duty workers and supports the other layers', async () => {
      const onDuty = await json(`/api/spatial/nearest?lon=${own.lon}&lat=${own.lat}&layer=workers&k=20&onDuty=true`)
      expect(onDuty.features.length).toBeGreaterThan(0)
      for (const f of onDuty.features) expect(f.properties.duty_status).toBe('on_duty')
      for (const layer of ['cameras', 'sensors', 'key_places', 'cases']) {
        const body = await json(`/api/spatial/nearest?lon=${own.lon}&lat=${own.lat}&layer=${layer}&k=3`)
        expect(body.features.length, layer).toBeGreaterThan(0)
        expect(body.features.length).toBeLessThanOrEqual(3)
        expect(body.features[0].geometry.type).toBe('Point')
      }
      const dflt = await json(`/api/spatial/nearest?lon=${own.lon}&lat=${own.lat}&layer=sensors`)
      expect(dflt.features).toHaveLength(10)
    })
  })

  describe('around', () => {
    it('returns the grid, its team and the nearby lists in one call', async () => {
      const body = await json(`/api/spatial/around?lon=${own.lon}&lat=${own.lat}&radius=500`)
      expect(body.grid.code).toBe(own.code)
      expect(Array.isArray(body.team)).toBe(true)
      expect(body.workers.length).toBeLessThanOrEqual(5)
      for (const w of body.workers) expect(w.properties.duty_status).toBe('on_duty')
      for (const list of ['sensors', 'keyPlaces', 'openCases'] as const) {
        const d = (body[list] as Feature[]).map((f) => f.properties.distance_m)
        expect(d).toEqual([...d].sort((a, b) => a - b))
        for (const x of d) expect(x).toBeLessThanOrEqual(500)
      }
      for (const f of body.sensors) expect(['online', 'offline', 'alarm']).toContain(f.properties.status)
      for (const f of body.openCases) expect(['closed', 'evaluated', 'cancelled']).not.toContain(f.properties.stage)
      expect(body.openCases.length + body.sensors.length).toBeGreaterThan(0)
      for (const c of body.cameras) {
        expect(typeof c.properties.covers).toBe('boolean')
        if (!c.properties.covers) expect(c.properties.distance_m).toBeLessThanOrEqual(500)
      }
      const flags = (body.cameras as Feature[]).map((c) => c.properties.covers)
      expect(flags).toEqual([...flags].sort((a, b) => Number(b) - Number(a)))
    })

    it('lists a camera facing the point first (covers) and a nearer one facing away after it', async () => {
      await camera('TEST-SPATIAL-A', LONELY, 80, 230, null, 60, 150)
      await camera('TEST-SPATIAL-B', LONELY, 20, 50, 50, 60, 150)
      const body = await json(`/api/spatial/around?lon=${LONELY.lon}&lat=${LONELY.lat}&radius=300`)
      expect(body.grid).toBeNull()
      const cams: Feature[] = body.cameras
      expect(cams.map((c) => c.properties.code)).toEqual(['TEST-SPATIAL-A', 'TEST-SPATIAL-B'])
      expect(cams[0].properties).toMatchObject({ covers: true })
      expect(cams[0].properties.distance_m).toBeCloseTo(80, 0)
      expect(cams[1].properties).toMatchObject({ covers: false })
      expect(cams[1].properties.distance_m).toBeCloseTo(20, 0)
      expect(cams[1].properties.bearing_deg as number).toBeCloseTo(230, 0)
      // Out of its range (150 m) the facing camera covers nothing; with a 50 m radius it is gone.
      const near = await json(`/api/spatial/around?lon=${LONELY.lon}&lat=${LONELY.lat}&radius=50`)
      expect(near.cameras.map((c: Feature) => [c.properties.code, c.properties.covers])).toEqual([
        ['TEST-SPATIAL-A', true],
        ['TEST-SPATIAL-B', false],
      ])
    })

    it('handles a field of view across north (heading 350, bearing 5)', async () => {
      // Both cameras 50 m from the point, which they see at bearing 5°.
      await camera('TEST-SPATIAL-WRAP40', LONELY_WRAP, 50, 185, 350, 40, 100)
      await camera('TEST-SPATIAL-WRAP20', LONELY_WRAP, 60, 185, 350, 20, 100)
      const body = await json(`/api/spatial/around?lon=${LONELY_WRAP.lon}&lat=${LONELY_WRAP.lat}&radius=100`)
      const cams: Feature[] = body.cameras
      expect(cams.map((c) => [c.properties.code, c.properties.covers])).toEqual([
        ['TEST-SPATIAL-WRAP40', true],
        ['TEST-SPATIAL-WRAP20', false],
      ])
      expect(cams[0].properties.bearing_deg as number).toBeCloseTo(5, 0)
    })

    it('treats a PTZ camera as covering everything within its range', async () => {
      const p = { lon: LONELY.lon + 0.02, lat: LONELY.lat }
      await db().query(
        `INSERT INTO cameras (code, name, kind, heading_deg, fov_deg, range_m, geom)
         VALUES ('TEST-SPATIAL-PTZ', 'ptz', 'ptz', 90, 360, 200,
                 ST_Project(ST_SetSRID(ST_MakePoint($1, $2), 4326)::geography, 120, radians(0))::geometry)`,
        [p.lon, p.lat],
      )
      const body = await json(`/api/spatial/around?lon=${p.lon}&lat=${p.lat}&radius=50`)
      expect(body.cameras.map((c: Feature) => [c.properties.code, c.properties.covers])).toEqual([['TEST-SPATIAL-PTZ', true]])
    })
  })

  describe('scope', () => {
    it('hides grids and objects of another street from a street supervisor', async () => {
      expect((await get(`/api/locate?lon=${other.lon}&lat=${other.lat}`)).status).toBe(200)
      const res = await get(`/api/locate?lon=${other.lon}&lat=${other.lat}`, supervisor)
      expect(res.status).toBe(404)
      expect((await get(`/api/locate?lon=${own.lon}&lat=${own.lat}`, supervisor)).status).toBe(200)

      const all = await json(`/api/spatial/nearest?lon=${other.lon}&lat=${other.lat}&layer=cameras&k=20`)
      expect(all.features.some((f: Feature) => !String(f.properties.grid_code).startsWith('310101013'))).toBe(true)
      for (const layer of ['workers', 'cameras', 'sensors', 'key_places', 'cases']) {
        const mine = await json(`/api/spatial/nearest?lon=${other.lon}&lat=${other.lat}&layer=${layer}&k=20`, supervisor)
        for (const f of mine.features) expect(String(f.properties.grid_code), layer).toMatch(/^310101013/)
      }
      const around = await json(`/api/spatial/around?lon=${other.lon}&lat=${other.lat}&radius=2000`, supervisor)
      expect(around.grid).toBeNull()
      expect(around.team).toEqual([])
      for (const list of ['workers', 'cameras', 'sensors', 'keyPlaces', 'openCases']) {
        for (const f of around[list]) expect(String(f.properties.grid_code), list).toMatch(/^310101013/)
      }
      // The constructed cameras lie outside every grid: only unrestricted users see them.
      const lonely = await json(`/api/spatial/around?lon=${LONELY.lon}&lat=${LONELY.lat}&radius=300`, supervisor)
      expect(lonely.cameras).toEqual([])
    })
  })

  describe('bad input', () => {
    const p = 'lon=121.49&lat=31.24'
    it.each([
      ['/api/locate?lat=31.24', 'lon'],
      ['/api/locate?lon=121.49', 'lat'],
      ['/api/locate?lon=abc&lat=31.24', 'lon'],
      ['/api/locate?lon=&lat=31.24', 'lon'],
      ['/api/locate?lon=181&lat=31.24', 'lon'],
      ['/api/locate?lon=121.49&lat=-90.5', 'lat'],
      ['/api/locate?lon=121.49&lat=1e999', 'lat'],
      ['/api/locate?lon=1&lon=2&lat=31.24', 'lon'],
      [`/api/spatial/around?${p}&radius=0`, 'radius'],
      [`/api/spatial/around?${p}&radius=-5`, 'radius'],
      [`/api/spatial/around?${p}&radius=5001`, 'radius'],
      [`/api/spatial/around?${p}&radius=far`, 'radius'],
      [`/api/spatial/around?lon=200&lat=31.24`, 'lon'],
      [`/api/spatial/nearest?${p}&layer=workers&k=0`, 'k'],
      [`/api/spatial/nearest?${p}&layer=workers&k=101`, 'k'],
      [`/api/spatial/nearest?${p}&layer=workers&k=2.5`, 'k'],
      [`/api/spatial/nearest?${p}&layer=roads`, 'layer'],
      [`/api/spatial/nearest?${p}`, 'layer'],
      [`/api/spatial/nearest?${p}&layer=workers&onDuty=yes`, 'onDuty'],
      [`/api/spatial/nearest?${p}&layer=cameras&onDuty=true`, 'onDuty'],
      [`/api/spatial/nearest?lat=31.24&layer=workers`, 'lon'],
    ])('%s → 400 naming %s', async (path, param) => {
      const res = await get(path)
      expect(res.status).toBe(400)
      expect((await res.json()).error.message).toMatch(new RegExp(`^${param}:|[ ;]${param}:`))
    })

    it('accepts the edges of the ranges and points near the poles without failing', async () => {
      expect((await get(`/api/spatial/around?lon=180&lat=90&radius=5000`)).status).toBe(200)
      expect((await get(`/api/spatial/nearest?lon=-180&lat=-90&layer=cases&k=100`)).status).toBe(200)
      expect((await get(`/api/spatial/around?${p}&radius=0.5`)).status).toBe(200)
      expect((await get(`/api/locate?lon=0&lat=0`)).status).toBe(404)
    })
  })
})
