/**
 * Import / export / stats over HTTP and the import CLI, on the embedded database and (with
 * TEST_DATABASE_URL) PostGIS. The fixture is 20 real OSM buildings moved to Beijing, outside
 * the demo area and every grid. Every bad input must get a 4xx naming the problem and leave the
 * table exactly as it was (row count and a checksum of every row).
 */
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import gcoord from 'gcoord'
import { parse as parseCsv } from 'csv-parse/sync'
import { io as connect } from 'socket.io-client'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'
import { decodeLayer, tileOf } from '../helpers/mvt.ts'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const FIXTURE = path.join(root, 'tests', 'fixtures', 'beijing-buildings.geojson')
const fixtureText = fs.readFileSync(FIXTURE, 'utf8')

interface Feature {
  type: 'Feature'
  id?: string | number
  properties: Record<string, unknown>
  geometry: { type: string; coordinates: unknown } | null
}
interface FC {
  type: 'FeatureCollection'
  features: Feature[]
}
const fixture = (): FC => JSON.parse(fixtureText) as FC

/** Ids made by these tests start with these, so reruns on a shared PostGIS can clean up. */
const TEST_IDS = ['fixture-bj-%', 'imptest-%']
const TABLES = ['buildings', 'key_places', 'parts', 'sensors', 'cameras', 'organizations', 'roads', 'water']

/** A polygon feature in Beijing (east of the fixture) with the given ring. */
function polygon(id: string, ring: number[][], props: Record<string, unknown> = {}): Feature {
  return { type: 'Feature', properties: { external_id: id, ...props }, geometry: { type: 'Polygon', coordinates: [ring] } }
}
const square = (x: number, y: number, d = 0.0003) => [
  [x, y],
  [x + d, y],
  [x + d, y + d],
  [x, y + d],
  [x, y],
]
const fc = (...features: Feature[]): string => JSON.stringify({ type: 'FeatureCollection', features })
const point = (id: string, x: number, y: number, props: Record<string, unknown>): Feature => ({
  type: 'Feature',
  properties: { id, ...props },
  geometry: { type: 'Point', coordinates: [x, y] },
})

/** Metres between two WGS84 points (haversine). */
function metres(a: [number, number], b: [number, number]): number {
  const r = Math.PI / 180
  const dLat = (b[1] - a[1]) * r
  const dLon = (b[0] - a[0]) * r
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * r) * Math.cos(b[1] * r) * Math.sin(dLon / 2) ** 2
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h))
}

async function cleanup(s: TestServer): Promise<void> {
  for (const t of TABLES) for (const p of TEST_IDS) await s.server.db.query(`DELETE FROM ${t} WHERE external_id LIKE $1`, [p])
}

/** Row count and an md5 over every row of a table, to prove a failed import wrote nothing. */
async function tableState(s: TestServer, table: string): Promise<{ n: number; sum: string }> {
  const { rows } = await s.server.db.query<{ n: number; sum: string | null }>(
    `SELECT count(*)::int AS n, md5(string_agg(t::text, '|' ORDER BY t.id)) AS sum FROM ${table} t`,
  )
  return { n: rows[0].n, sum: rows[0].sum ?? '' }
}

describe.each(backends())('import, export and stats on $name', ({ databaseUrl }) => {
  let s: TestServer
  /** The system admin: imports base geodata, reads the data statistics. */
  let cookie: string
  /** Exports layers the system admin may not read (workers, cases). */
  let dispatcher: string
  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    cookie = await login(s.url, 'admin')
    dispatcher = await login(s.url, 'dispatcher')
    await cleanup(s)
  })
  afterAll(async () => {
    if (s) await cleanup(s)
    await s?.server.db.query(`DELETE FROM users WHERE username = 'imptest_bund_dispatcher'`)
    await s?.close()
  })

  const post = (layer: string, body: string, opts: { query?: string; type?: string; cookie?: string } = {}) =>
    fetch(`${s.url}/api/import/${layer}${opts.query ? `?${opts.query}` : ''}`, {
      method: 'POST',
      headers: { cookie: opts.cookie ?? cookie, 'content-type': opts.type ?? 'application/geo+json' },
      body,
    })
  const get = (p: string, c = cookie) => fetch(`${s.url}${p}`, { headers: { cookie: c } })
  const exportGeojson = async (layer: string, c = cookie): Promise<FC> => {
    const res = await get(`/api/export/${layer}.geojson`, c)
    expect(res.status).toBe(200)
    return (await res.json()) as FC
  }

  describe('import of the Beijing buildings', () => {
    it('imports them through the API, all outside every grid, and they are in the export', async () => {
      const res = await post('buildings', fixtureText)
      expect(res.status).toBe(200)
      const report = await res.json()
      expect(report).toMatchObject({ layer: 'buildings', total: 20, inserted: 20, updated: 0, rejected: [], outsideGrids: 20, written: true })
      expect(typeof report.importId).toBe('string')
      expect(report.durationMs).toBeGreaterThanOrEqual(0)

      const exported = (await exportGeojson('buildings')).features.filter((f) => String(f.properties.external_id).startsWith('fixture-bj-'))
      expect(exported).toHaveLength(20)
      const byId = new Map(exported.map((f) => [f.properties.external_id, f]))
      for (const f of fixture().features) {
        const e = byId.get(f.properties.external_id)!
        expect(e, String(f.properties.external_id)).toBeDefined()
        expect(e.geometry!.type).toBe('MultiPolygon')
        // Same outer ring, vertex by vertex.
        const ring = (f.geometry!.coordinates as number[][][])[0]
        const got = (e.geometry!.coordinates as number[][][][])[0][0]
        expect(got).toHaveLength(ring.length)
        got.forEach((p, i) => {
          expect(p[0]).toBe(ring[i][0])
          expect(p[1]).toBe(ring[i][1])
        })
        expect(e.properties.grid_code).toBeNull()
        if (f.properties.name) expect(e.properties.name).toBe(f.properties.name)
        if (typeof f.properties.height === 'number') {
          expect(e.properties).toMatchObject({ height: f.properties.height, height_estimated: false })
        } else {
          // No height in OSM: estimated from the footprint (documented table in server/import/layers.ts).
          expect(e.properties.height_estimated).toBe(true)
          expect(e.properties.height).toBeGreaterThan(0)
        }
      }
    })

    it('shows them in the buildings tile at that location', async () => {
      const f = fixture().features[0]
      const [x, y] = (f.geometry!.coordinates as number[][][])[0][0]
      const { z, x: tx, y: ty } = tileOf(x, y, 16)
      const res = await get(`/tiles/buildings/${z}/${tx}/${ty}.mvt`)
      expect(res.status).toBe(200)
      const layer = decodeLayer(new Uint8Array(await res.arrayBuffer()), 'buildings')
      expect(layer?.features.length).toBeGreaterThan(0)
    })

    it('re-importing the same file only updates: no duplicates, nothing else changes', async () => {
      const before = await tableState(s, 'buildings')
      const res = await post('buildings', fixtureText)
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ total: 20, inserted: 0, updated: 20, outsideGrids: 20 })
      expect(await tableState(s, 'buildings')).toEqual(before)
      const { rows } = await s.server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM buildings WHERE external_id LIKE 'fixture-bj-%'`)
      expect(rows[0].n).toBe(20)
    })

    it('sends progress to the importing user’s sockets', async () => {
      const socket = connect(s.url, { path: '/socket.io', extraHeaders: { cookie }, transports: ['websocket'] })
      try {
        await new Promise<void>((resolve, reject) => {
          socket.on('hello', () => resolve())
          socket.on('connect_error', reject)
        })
        const events: { importId: string; phase: string; done: number; total: number }[] = []
        socket.on('import:progress', (p) => events.push(p))
        const res = await post('buildings', fixtureText, { query: 'importId=progress-test-1' })
        expect(res.status).toBe(200)
        await expect.poll(() => events.some((e) => e.phase === 'done')).toBe(true)
        expect(events.every((e) => e.importId === 'progress-test-1')).toBe(true)
        const phases = [...new Set(events.map((e) => e.phase))]
        expect(phases).toEqual(expect.arrayContaining(['receive', 'parse', 'validate', 'write', 'grids', 'done']))
        expect(events.at(-1)).toMatchObject({ phase: 'done', done: 20, total: 20 })
      } finally {
        socket.close()
      }
    })
  })

  it('imports a GCJ-02 CSV of points within 1 m of the WGS84 truth', async () => {
    // Three real places in Beijing (WGS84), written as a Chinese map SDK would give them (GCJ-02).
    const truth: [string, string, number, number][] = [
      ['imptest-kp-1', '北京站', 116.42056, 39.90264],
      ['imptest-kp-2', '北京市第二中学', 116.42412, 39.91896],
      ['imptest-kp-3', '国贸', 116.45985, 39.90871],
    ]
    const lines = ['id,name,kind,risk_color,lng,lat']
    for (const [id, name, x, y] of truth) {
      const [gx, gy] = gcoord.transform([x, y], gcoord.WGS84, gcoord.GCJ02)
      expect(metres([x, y], [gx, gy])).toBeGreaterThan(100) // GCJ-02 is hundreds of metres off
      lines.push(`${id},${name},${id.endsWith('2') ? 'school' : 'transport_hub'},yellow,${gx},${gy}`)
    }
    const res = await post('key_places', lines.join('\n'), { query: 'format=csv&crs=gcj02', type: 'text/csv' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ layer: 'key_places', format: 'csv', crs: 'gcj02', total: 3, inserted: 3, outsideGrids: 3 })

    const csv = await get('/api/export/key_places.csv')
    expect(csv.status).toBe(200)
    expect(csv.headers.get('content-type')).toMatch(/text\/csv/)
    const rows = parseCsv(await csv.text(), { columns: true, bom: true }) as Record<string, string>[]
    expect(Object.keys(rows[0])).toEqual(expect.arrayContaining(['external_id', 'name', 'kind', 'risk_color', 'lon', 'lat']))
    for (const [id, name, x, y] of truth) {
      const row = rows.find((r) => r.external_id === id)!
      expect(row.name).toBe(name)
      expect(metres([x, y], [Number(row.lon), Number(row.lat)])).toBeLessThan(1)
    }
  })

  it('generates GB/T part codes for parts without one and checks the class', async () => {
    await s.server.db.query(
      `INSERT INTO part_classes (code, major_code, major_name, minor_name) VALUES ('0101', '01', '公用设施', '上水井盖') ON CONFLICT (code) DO NOTHING`,
    )
    const csv = ['id,class_code,name,state,lon,lat', 'imptest-part-1,0101,上水井盖,intact,116.4531,39.9112', 'imptest-part-2,0101,上水井盖,damaged,116.4533,39.9113'].join('\n')
    const res = await post('parts', csv, { type: 'text/csv' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ inserted: 2, outsideGrids: 2 })
    const { rows } = await s.server.db.query<{ code: string; state: string }>(`SELECT code, state FROM parts WHERE external_id LIKE 'imptest-part-%' ORDER BY external_id`)
    // Outside every grid the county digits are 000000; then class 0101 and a sequence.
    expect(rows.map((r) => r.code)).toEqual([expect.stringMatching(/^0000000101\d{6}$/), expect.stringMatching(/^0000000101\d{6}$/)])
    expect(rows[0].code).not.toBe(rows[1].code)
    // Re-import keeps the codes.
    expect((await (await post('parts', csv, { type: 'text/csv' })).json()).updated).toBe(2)
    const again = await s.server.db.query<{ code: string }>(`SELECT code FROM parts WHERE external_id LIKE 'imptest-part-%' ORDER BY external_id`)
    expect(again.rows.map((r) => r.code)).toEqual(rows.map((r) => r.code))
  })

  it('keeps a geometry ST_MakeValid repairs without changing its type, with a warning', async () => {
    // A bow-tie: self-intersecting, repaired into two triangles (a MultiPolygon).
    const bowtie = polygon('imptest-bowtie', [
      [116.47, 39.92],
      [116.471, 39.921],
      [116.471, 39.92],
      [116.47, 39.921],
      [116.47, 39.92],
    ])
    const res = await post('buildings', fc(bowtie))
    expect(res.status).toBe(200)
    const report = await res.json()
    expect(report.inserted).toBe(1)
    expect(report.warnings).toEqual([{ index: 0, id: 'imptest-bowtie', reason: expect.stringMatching(/Self-intersection.*repaired by ST_MakeValid and kept as MULTIPOLYGON/) }])
    const { rows } = await s.server.db.query<{ valid: boolean; n: number }>(
      `SELECT ST_IsValid(geom) AS valid, ST_NumGeometries(geom) AS n FROM buildings WHERE external_id = 'imptest-bowtie'`,
    )
    expect(rows[0]).toEqual({ valid: true, n: 2 })
  })

  describe('bad input gets a 4xx naming the problem and changes nothing', () => {
    const good = (id: string) => polygon(id, square(116.48, 39.93))
    const cases: [string, string, () => { body: string; query?: string; type?: string }, number, RegExp][] = [
      ['broken JSON', 'buildings', () => ({ body: '{"type": "FeatureCollection", "features": [' }), 400, /not valid JSON: .*\(line 1, column 44: the file ends before the JSON does\)/],
      ['JSON with a syntax error', 'buildings', () => ({ body: '{"type": "FeatureCollection",\n "features": [}' }), 400, /not valid JSON: .*\(line 2, column 15\)/],
      ['an empty file', 'buildings', () => ({ body: '' }), 400, /the file is empty/],
      ['a collection without features', 'buildings', () => ({ body: fc() }), 400, /no features/],
      ['JSON that is not GeoJSON', 'buildings', () => ({ body: '[1, 2]' }), 400, /expected a GeoJSON FeatureCollection/],
      [
        'a wrong geometry type for the layer',
        'buildings',
        () => ({ body: fc({ type: 'Feature', properties: { id: 'imptest-line' }, geometry: { type: 'LineString', coordinates: [[116.48, 39.93], [116.49, 39.93]] } }) }),
        422,
        /#0 \(imptest-line\): geometry type LineString is not accepted for buildings \(expected Polygon or MultiPolygon\)/,
      ],
      [
        'an unclosed ring',
        'buildings',
        () => ({ body: fc(polygon('imptest-open', square(116.48, 39.93).slice(0, 4).concat([[116.4801, 39.93]]))) }),
        422,
        /ring 1 \(outer\) is not closed: it starts at \[116\.48, 39\.93\] but ends at \[116\.4801, 39\.93\]/,
      ],
      [
        'an irreparable geometry (a polygon collapsed to a line)',
        'buildings',
        () => ({
          body: fc(
            polygon('imptest-flat', [
              [116.48, 39.93],
              [116.48, 39.931],
              [116.48, 39.932],
              [116.48, 39.93],
            ]),
          ),
        }),
        422,
        /#0 \(imptest-flat\): invalid geometry \(.+\) that cannot be repaired without changing its type: it collapses to nothing/,
      ],
      [
        'coordinates out of range',
        'buildings',
        () => ({ body: fc(polygon('imptest-far', square(200, 39.93))) }),
        422,
        /coordinate \[200, 39\.93\] is out of range: longitude must be within \[-180, 180\]/,
      ],
      [
        'obviously swapped lat/lon',
        'buildings',
        () => ({ body: fc(polygon('imptest-swap', square(39.93, 116.48))) }),
        422,
        /coordinates look swapped \(latitude, longitude order\): \[39\.93, 116\.48\] has latitude 116\.48 beyond ±90/,
      ],
      [
        'one swapped point among valid ones (Paris)',
        'key_places',
        () => ({
          body: fc(
            point('imptest-p1', 2.3522, 48.8566, { name: 'Hôtel de Ville', kind: 'government' }),
            point('imptest-p2', 2.2945, 48.8584, { name: 'Tour Eiffel', kind: 'venue' }),
            point('imptest-p3', 2.3499, 48.853, { name: 'Notre-Dame', kind: 'religious' }),
            point('imptest-p4', 2.3376, 48.8606, { name: 'Louvre', kind: 'venue' }),
            point('imptest-p5', 48.8738, 2.295, { name: 'Arc de Triomphe', kind: 'venue' }),
            point('imptest-p6', 2.3212, 48.8417, { name: 'Gare Montparnasse', kind: 'transport_hub' }),
          ),
        }),
        422,
        /#4 \(imptest-p5\): coordinates look swapped.*\[48\.8738, 2\.295\] lies far from the rest of the file, while \[2\.295, 48\.8738\] lies among/,
      ],
      [
        'a missing required property',
        'key_places',
        () => ({ body: fc(point('imptest-noname', 116.45, 39.91, { kind: 'school' })) }),
        422,
        /#0 \(imptest-noname\): name: required property is missing/,
      ],
      [
        'a property of the wrong type',
        'buildings',
        () => ({ body: fc(polygon('imptest-tall', square(116.48, 39.93), { height: 'very tall' })) }),
        422,
        /height: expected a number, got text "very tall"/,
      ],
      [
        'a value outside its list',
        'key_places',
        () => ({ body: fc(point('imptest-kind', 116.45, 39.91, { name: 'x', kind: 'castle' })) }),
        422,
        /kind: must be one of school, kindergarten, .*; got text "castle"/,
      ],
      ['a missing external id', 'buildings', () => ({ body: fc({ ...polygon('', square(116.48, 39.93)), properties: {} }) }), 422, /missing external id/],
      [
        'duplicate ids within one file',
        'buildings',
        () => ({ body: fc(good('imptest-dup'), polygon('imptest-dup', square(116.49, 39.93))) }),
        422,
        /#1 \(imptest-dup\): duplicate external id "imptest-dup": feature #0 has it too/,
      ],
      [
        'one bad feature among good ones (all or nothing)',
        'buildings',
        () => {
          const f = fixture()
          f.features = f.features.map((x) => ({ ...x, properties: { ...x.properties, external_id: `imptest-${x.properties.external_id}` } }))
          f.features[7].geometry = { type: 'Point', coordinates: [116.45, 39.91] }
          return { body: JSON.stringify(f) }
        },
        422,
        /1 of 20 features rejected, nothing was written — #7/,
      ],
      ['a CSV for a polygon layer', 'buildings', () => ({ body: 'id,lon,lat\na,116.4,39.9\n', type: 'text/csv' }), 415, /CSV files can only be imported into point layers; buildings/],
      ['a CSV without lon/lat columns', 'key_places', () => ({ body: 'id,name,kind,x,y\na,b,school,1,2\n', type: 'text/csv' }), 400, /needs a lon .* column; its columns are: id, name, kind, x, y/],
      ['a CSV with a bad number', 'key_places', () => ({ body: 'id,name,kind,lon,lat\nimptest-n,b,school,116.4,north\n', type: 'text/csv' }), 422, /#0 \(imptest-n\): lat "north" is not a number/],
      ['a multipart upload', 'buildings', () => ({ body: fixtureText, type: 'multipart/form-data; boundary=x' }), 415, /send the file itself as the request body/],
      ['a bad crs', 'buildings', () => ({ body: fixtureText, query: 'crs=bd09' }), 400, /crs must be wgs84 or gcj02/],
      ['a bad format', 'buildings', () => ({ body: fixtureText, query: 'format=shp' }), 400, /format must be geojson or csv/],
      ['an unknown layer', 'castles', () => ({ body: fixtureText }), 404, /unknown layer "castles"; importable layers: buildings, parts/],
      [
        'an unknown part class',
        'parts',
        () => ({ body: 'id,class_code,name,lon,lat\nimptest-part-x,9999,x,116.45,39.91\n', type: 'text/csv' }),
        422,
        /class_code: 9999 is not a known part class/,
      ],
    ]

    it.each(cases)('%s', async (_what, layer, make, status, message) => {
      const table = layer === 'castles' ? 'buildings' : layer
      const before = await tableState(s, table)
      const { body, query, type } = make()
      const res = await post(layer, body, { query, type })
      expect(res.status).toBe(status)
      const json = await res.json()
      expect(json.error.message).toMatch(message)
      if (status === 422 && json.error.code === 'rejected') {
        expect(json.report.written).toBe(false)
        expect(json.report.rejectedCount).toBeGreaterThan(0)
        for (const r of json.report.rejected) expect(r.reason).toMatch(/\w/)
      }
      expect(await tableState(s, table)).toEqual(before)
    })

    it('a CSV row problem names its line', async () => {
      const res = await post('key_places', 'id,name,kind,lon,lat\nimptest-ok,b,school,116.4,39.9\nimptest-n,b,school,116.4,north\n', { type: 'text/csv' })
      expect(res.status).toBe(422)
      const { report } = await res.json()
      expect(report.rejected).toEqual([{ index: 1, line: 3, id: 'imptest-n', reason: 'lat "north" is not a number' }])
    })
  })

  describe('who may do what', () => {
    it.each(['dispatcher', 'supervisor', 'wall'])('%s may not import, list import layers or read stats (403)', async (user) => {
      const c = await login(s.url, user)
      const before = await tableState(s, 'buildings')
      const res = await post('buildings', fixtureText, { cookie: c })
      expect(res.status).toBe(403)
      expect((await res.json()).error.message).toBe(`this needs the permission data.manage, which the ${user} role does not hold`)
      expect((await get('/api/import/layers', c)).status).toBe(403)
      expect((await get('/api/admin/stats', c)).status).toBe(403)
      expect(await tableState(s, 'buildings')).toEqual(before)
    })

    it('needs a session to import or export', async () => {
      expect((await fetch(`${s.url}/api/import/buildings`, { method: 'POST', body: fixtureText })).status).toBe(401)
      expect((await fetch(`${s.url}/api/export/grids.geojson`)).status).toBe(401)
    })
  })

  describe('export', () => {
    it('exports grids with their codes, filtered by the asker’s scope', async () => {
      const all = await exportGeojson('grids')
      expect(all.features.length).toBeGreaterThan(0)
      const g = all.features[0]
      expect(g.geometry!.type).toBe('MultiPolygon')
      expect(Object.keys(g.properties).sort()).toEqual(['area_m2', 'code', 'community_code', 'district_code', 'name', 'street_code'])
      const { rows } = await s.server.db.query<{ n: number }>('SELECT count(*)::int AS n FROM grids')
      expect(all.features).toHaveLength(rows[0].n)

      // Exporting needs data.export (a street supervisor has none): a dispatcher of the supervisor's street.
      expect((await get('/api/export/grids.geojson', await login(s.url, 'supervisor'))).status).toBe(403)
      await s.server.db.query(
        `INSERT INTO users (username, display_name, role, scope_code, password_hash)
         SELECT 'imptest_bund_dispatcher', 'Bund dispatcher', 'dispatcher', '310101013', password_hash FROM users WHERE username = 'supervisor'
         ON CONFLICT (username) DO NOTHING`,
      )
      const bund = await login(s.url, 'imptest_bund_dispatcher')
      const mine = await exportGeojson('grids', bund)
      expect(mine.features.length).toBeGreaterThan(0)
      expect(mine.features.length).toBeLessThan(all.features.length)
      expect(mine.features.every((f) => String(f.properties.code).startsWith('310101013'))).toBe(true)
      const csv = parseCsv(await (await get('/api/export/grids.csv', bund)).text(), { columns: true, bom: true }) as Record<string, string>[]
      expect(csv).toHaveLength(mine.features.length)
      expect(csv.every((r) => r.code.startsWith('310101013') && r.wkt.startsWith('MULTIPOLYGON'))).toBe(true)

      // Objects outside every grid are only for users at the top of the hierarchy.
      const theirs = await exportGeojson('buildings', bund)
      expect(theirs.features.some((f) => String(f.properties.external_id).startsWith('fixture-bj-'))).toBe(false)
      expect(theirs.features.every((f) => String(f.properties.grid_code).startsWith('310101013'))).toBe(true)
    })

    it('does not export personal data, and names what it can export', async () => {
      const res = await get('/api/export/people.geojson')
      expect(res.status).toBe(404)
      expect((await res.json()).error.message).toMatch(/personal data/)
      const res2 = await get('/api/export/castles.csv')
      expect(res2.status).toBe(404)
      expect((await res2.json()).error.message).toMatch(/unknown export layer "castles"; exportable: admin_units, grids, buildings/)
    })

    it('an exported file imports again unchanged', async () => {
      const exported = await exportGeojson('buildings')
      const ours = { type: 'FeatureCollection', features: exported.features.filter((f) => String(f.properties.external_id).startsWith('fixture-bj-')) }
      const before = await tableState(s, 'buildings')
      const res = await post('buildings', JSON.stringify(ours))
      expect(res.status).toBe(200)
      expect(await res.json()).toMatchObject({ total: 20, inserted: 0, updated: 20 })
      // Every row as it was, estimated heights still flagged as estimates.
      expect(await tableState(s, 'buildings')).toEqual(before)
    })
  })

  describe('every importable layer', () => {
    // One feature per layer made from what GET /api/import/layers says it needs: imported,
    // re-imported (updated), then found in that layer's export.
    const sample = (p: { name: string; type: string; enum?: string[] }) =>
      p.name === 'class_code' ? '0101' : p.enum ? p.enum[0] : p.type === 'number' || p.type === 'integer' ? 1 : `样例 ${p.name}`
    const geometryFor = (kind: string) =>
      kind === 'point'
        ? { type: 'Point', coordinates: [116.4531, 39.9112] }
        : kind === 'line'
          ? { type: 'LineString', coordinates: [[116.4531, 39.9112], [116.4541, 39.9113]] }
          : { type: 'Polygon', coordinates: [square(116.4531, 39.9112)] }

    it('imports, updates and exports one feature in each', async () => {
      await s.server.db.query(
        `INSERT INTO part_classes (code, major_code, major_name, minor_name) VALUES ('0101', '01', '公用设施', '上水井盖') ON CONFLICT (code) DO NOTHING`,
      )
      const { layers } = (await (await get('/api/import/layers')).json()) as {
        layers: { id: string; geometry: string; properties: { name: string; type: string; required: boolean; enum?: string[] }[] }[]
      }
      expect(layers.length).toBe(8)
      for (const l of layers) {
        const props = Object.fromEntries(l.properties.filter((p) => p.required).map((p) => [p.name, sample(p)]))
        const body = fc({ type: 'Feature', properties: { external_id: `imptest-every-${l.id}`, ...props }, geometry: geometryFor(l.geometry) })
        const first = await post(l.id, body)
        expect(first.status, `${l.id}: ${await first.clone().text()}`).toBe(200)
        expect(await first.json(), l.id).toMatchObject({ total: 1, inserted: 1, updated: 0, outsideGrids: 1 })
        expect(await (await post(l.id, body)).json(), l.id).toMatchObject({ inserted: 0, updated: 1 })
        const exported = await exportGeojson(l.id)
        const mine = exported.features.filter((f) => f.properties.external_id === `imptest-every-${l.id}`)
        expect(mine, l.id).toHaveLength(1)
        for (const [k, v] of Object.entries(props)) expect(mine[0].properties[k], `${l.id}.${k}`).toEqual(v)
      }
    })

    it.each(['admin_units', 'grids', 'buildings', 'parts', 'sensors', 'cameras', 'key_places', 'organizations', 'roads', 'water', 'workers', 'cases'])(
      'exports %s as GeoJSON and CSV',
      async (layer) => {
        // The dispatcher (city-wide) reads every layer, workers and cases included.
        const g = await exportGeojson(layer, dispatcher)
        expect(g.type).toBe('FeatureCollection')
        const res = await get(`/api/export/${layer}.csv`, dispatcher)
        expect(res.status).toBe(200)
        expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${layer}.csv"`)
        const bytes = Buffer.from(await res.arrayBuffer())
        // UTF-8 with a byte order mark, so spreadsheet programs read Chinese right.
        expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
        const text = bytes.toString('utf8')
        const rows = parseCsv(text, { columns: true, bom: true }) as Record<string, string>[]
        expect(rows).toHaveLength(g.features.length)
      },
    )
  })

  it('lists what can be imported, with required properties', async () => {
    const res = await get('/api/import/layers')
    expect(res.status).toBe(200)
    const body = (await res.json()) as { maxBytes: number; layers: { id: string; geometryTypes: string[]; formats: string[]; properties: { name: string; required: boolean }[] }[] }
    expect(body.maxBytes).toBe(50 * 1024 * 1024)
    expect(body.layers.map((l) => l.id)).toEqual(['buildings', 'parts', 'sensors', 'cameras', 'key_places', 'organizations', 'roads', 'water'])
    const kp = body.layers.find((l) => l.id === 'key_places')!
    expect(kp.formats).toEqual(['geojson', 'csv'])
    expect(kp.properties.filter((p) => p.required).map((p) => p.name)).toEqual(['name', 'kind'])
    expect(body.layers.find((l) => l.id === 'buildings')!.formats).toEqual(['geojson'])
  })

  it('counts every kind for the admin, with those outside every grid', async () => {
    const res = await get('/api/admin/stats')
    expect(res.status).toBe(200)
    const stats = await res.json()
    const db = s.server.db
    const count = async (q: string) => (await db.query<{ n: number }>(q)).rows[0].n
    expect(stats.scope).toBe('310000')
    expect(stats.counts).toMatchObject({
      districts: await count(`SELECT count(*)::int AS n FROM admin_units WHERE level = 'district'`),
      streets: await count(`SELECT count(*)::int AS n FROM admin_units WHERE level = 'street'`),
      communities: await count(`SELECT count(*)::int AS n FROM admin_units WHERE level = 'community'`),
      grids: await count(`SELECT count(*)::int AS n FROM grids`),
      buildings: await count(`SELECT count(*)::int AS n FROM buildings`),
      key_places: await count(`SELECT count(*)::int AS n FROM key_places`),
      people: await count(`SELECT count(*)::int AS n FROM people`),
    })
    expect(stats.counts.buildings).toBeGreaterThanOrEqual(21)
    // A street supervisor is not an admin; an admin's stats are the whole hierarchy's.
    expect(stats.counts.districts).toBeGreaterThan(0)
    expect(stats.outsideGrids.buildings).toBe(await count(`SELECT count(*)::int AS n FROM buildings WHERE grid_code IS NULL`))
    expect(stats.outsideGrids.buildings).toBeGreaterThanOrEqual(21)
    expect(stats.outsideGrids.key_places).toBeGreaterThanOrEqual(3)
    expect(Object.keys(stats.counts)).toEqual([
      'districts', 'streets', 'communities', 'grids', 'buildings', 'houses', 'people', 'organizations', 'key_places', 'parts', 'sensors', 'cameras', 'workers', 'cases',
    ])
  })
})

describe.each(backends())('import size limit on $name', ({ databaseUrl }) => {
  let s: TestServer
  let cookie: string
  beforeAll(async () => {
    // 5 KB: the 10 KB fixture is too large.
    s = await startTestServer({ databaseUrl, env: { ONEGRID_IMPORT_MAX_MB: String(5 / 1024) } })
    cookie = await login(s.url, 'admin')
  })
  afterAll(async () => {
    await s?.close()
  })

  it('refuses a file over ONEGRID_IMPORT_MAX_MB with 413 and writes nothing', async () => {
    const before = await tableState(s, 'buildings')
    const res = await fetch(`${s.url}/api/import/buildings`, { method: 'POST', headers: { cookie, 'content-type': 'application/geo+json' }, body: fixtureText })
    expect(res.status).toBe(413)
    expect((await res.json()).error.message).toMatch(/the file is 9\.\d KB; the limit is 5\.0 KB \(ONEGRID_IMPORT_MAX_MB\)/)
    expect(await tableState(s, 'buildings')).toEqual(before)
  })

  it('refuses a streamed upload without a length once it passes the limit', async () => {
    const bytes = Buffer.from(fixtureText)
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < bytes.length; i += 1024) c.enqueue(bytes.subarray(i, i + 1024))
        c.close()
      },
    })
    const res = await fetch(`${s.url}/api/import/buildings`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/geo+json' },
      body,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
    expect((await res.json()).error.message).toMatch(/more than 5\.0 KB/)
  })
})

describe('import CLI', () => {
  const tsx = path.join(root, 'node_modules', '.bin', 'tsx')
  const run = (args: string[], env: Record<string, string>) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(tsx, ['server/import/cli.ts', ...args], { cwd: root, env: { ...process.env, LOG_LEVEL: 'silent', ...env } }, (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      )
    })
  let badFile: string
  let tmp: string
  beforeAll(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onegrid-import-cli-'))
    badFile = path.join(tmp, 'bad.geojson')
    fs.writeFileSync(badFile, fc({ type: 'Feature', properties: { id: 'imptest-cli-bad' }, geometry: { type: 'Point', coordinates: [116.45, 39.91] } }))
  })
  afterAll(() => {
    fs.rmSync(tmp, { recursive: true, force: true })
  })

  it('imports the fixture into an embedded database and prints the report', async () => {
    const env = { DATABASE_URL: '', ONEGRID_DATA_DIR: path.join(tmp, 'pglite') }
    const ok = await run([FIXTURE, '--layer', 'buildings'], env)
    expect(ok.stderr).toBe('')
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/beijing-buildings\.geojson → buildings: 20 features, 20 inserted, 0 updated, 20 outside every grid/)
    const bad = await run([badFile, '--layer', 'buildings'], env)
    expect(bad.code).toBe(1)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toMatch(/^onegrid import: bad\.geojson: 1 of 1 feature rejected, nothing was written — #0 \(imptest-cli-bad\): geometry type Point is not accepted for buildings/)
  }, 300_000) // a fresh embedded database per CLI run: minutes on a loaded machine

  it.skipIf(!process.env.TEST_DATABASE_URL)('imports the fixture into PostGIS (TEST_DATABASE_URL)', async () => {
    const env = { DATABASE_URL: process.env.TEST_DATABASE_URL! }
    const ok = await run([FIXTURE, '--layer', 'buildings', '--json'], env)
    expect(ok.code).toBe(0)
    const report = JSON.parse(ok.stdout)
    expect(report).toMatchObject({ layer: 'buildings', total: 20, rejectedCount: 0, written: true })
    expect(report.inserted + report.updated).toBe(20)
    const again = await run([FIXTURE, '--layer', 'buildings'], env)
    expect(again.stdout).toMatch(/20 features, 0 inserted, 20 updated/)
    const bad = await run([badFile, '--layer', 'buildings'], env)
    expect(bad.code).toBe(1)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toMatch(/rejected, nothing was written/)
    const unknown = await run([FIXTURE, '--layer', 'castles'], env)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/unknown layer "castles"/)
    // Leave the shared database as it was.
    const { default: pg } = await import('pg')
    const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL })
    await client.connect()
    await client.query(`DELETE FROM buildings WHERE external_id LIKE 'fixture-bj-%'`)
    await client.end()
  })
})
