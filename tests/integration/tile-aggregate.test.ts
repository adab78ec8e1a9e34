/**
 * Low-zoom and too-dense tiles of point layers are counts by status per cell, not truncated
 * point lists; composite tiles; who may see which layer; what may be cached publicly.
 */
import http from 'node:http'
import zlib from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { catalog, type LayerDef } from '../../layers/index.ts'
import { createEncoder } from '../../tiles/encoder.ts'
import { MAX_COMPOSITE } from '../../tiles/routes.ts'
import { decodeLayer, tileOf, type DecodedFeature } from '../helpers/mvt.ts'
import { revalidate } from '../helpers/revalidate.ts'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

const MAX_TILE_BYTES = 500 * 1024

/** Counts, in SQL, what a tile's cells must add up to: the points inside the tile envelope (half-open). */
const tileCountSql = (table: string, statusColumn: string) => `
  SELECT coalesce(sum(c), 0)::int AS n, coalesce(json_object_agg(s, c) FILTER (WHERE s IS NOT NULL), '{}') AS by_status FROM (
    SELECT ${statusColumn} AS s, count(*)::int AS c FROM ${table} t, (SELECT ST_TileEnvelope($1, $2, $3) AS env) b
    WHERE t.geom_3857 && b.env AND ST_X(t.geom_3857) >= ST_XMin(b.env) AND ST_X(t.geom_3857) < ST_XMax(b.env)
      AND ST_Y(t.geom_3857) > ST_YMin(b.env) AND ST_Y(t.geom_3857) <= ST_YMax(b.env)
    GROUP BY 1) x`

const sum = (fs: DecodedFeature[], key: string) => fs.reduce((a, f) => a + Number(f.properties[key] ?? 0), 0)

describe.each(backends())('aggregated, composite and role-filtered tiles on $name', ({ databaseUrl }) => {
  let s: TestServer
  /** The city-wide dispatcher sees every layer; the system admin base and objects only; the auditor none. */
  let dispatcher: string
  let admin: string
  let auditor: string
  let kind: 'native' | 'js'
  /** A fresh encoder per layer variant: encoders keep each layer id's SQL. */
  const encode = (layer: LayerDef, t: { z: number; x: number; y: number }) => createEncoder(kind, s.server.db).encode(layer, { ...t, scopePrefix: null })

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    dispatcher = await login(s.url, 'dispatcher')
    admin = await login(s.url, 'admin')
    auditor = await login(s.url, 'auditor')
    const health = (await (await fetch(`${s.url}/api/health`)).json()) as { mvt: 'native' | 'js' }
    kind = health.mvt
  })
  afterAll(async () => {
    await s?.close()
  })

  const get = (path: string, cookie = dispatcher) => fetch(`${s.url}${path}`, { headers: { cookie } })
  async function tile(layer: string, t: { z: number; x: number; y: number }, cookie = dispatcher) {
    const res = await get(`/tiles/${layer}/${t.z}/${t.x}/${t.y}.mvt`, cookie)
    expect([200, 204], `${layer} ${t.z}/${t.x}/${t.y}`).toContain(res.status)
    const buf = new Uint8Array(await res.arrayBuffer())
    return { res, buf, features: decodeLayer(buf, layer)?.features ?? [] }
  }
  async function expected(table: string, statusColumn: string, t: { z: number; x: number; y: number }) {
    const { rows } = await s.server.db.query<{ n: number; by_status: Record<string, number> }>(tileCountSql(table, statusColumn), [t.z, t.x, t.y])
    return rows[0]!
  }

  it('below belowZoom a sensor tile is cells whose counts add up to every sensor in it, alarms included', async () => {
    const t = tileOf(121.5, 31.24, 12)
    const { features } = await tile('sensors', t)
    const want = await expected('sensors', 'status', t)
    expect(want.n).toBeGreaterThan(100)
    expect(features.length).toBeGreaterThan(1)
    expect(features.length).toBeLessThan(want.n)
    for (const f of features) {
      expect(f.type).toBe(1)
      expect(f.properties.count).toBeGreaterThan(0)
      expect(f.properties.code, 'a cell is not a sensor').toBeUndefined()
      const byStatus = Number(f.properties.n_alarm ?? 0) + Number(f.properties.n_offline ?? 0) + Number(f.properties.n_online ?? 0)
      expect(byStatus).toBe(f.properties.count)
      const top = Number(f.properties.n_alarm) > 0 ? 'alarm' : Number(f.properties.n_offline) > 0 ? 'offline' : 'online'
      expect(f.properties.top_status).toBe(top)
    }
    expect(sum(features, 'count')).toBe(want.n)
    expect(sum(features, 'n_alarm')).toBe(want.by_status.alarm ?? 0)
    expect(sum(features, 'n_offline')).toBe(want.by_status.offline ?? 0)
    expect(new Set(features.map((f) => f.id)).size).toBe(features.length)
  })

  it('from belowZoom on, the tile holds the sensors themselves', async () => {
    const t = tileOf(121.5, 31.24, 16)
    const { features } = await tile('sensors', t)
    expect(features.length).toBeGreaterThan(0)
    for (const f of features) {
      expect(f.properties.count).toBeUndefined()
      expect(typeof f.properties.code).toBe('string')
    }
  })

  it('a tile denser than featureLimit is aggregated instead of cut, whatever the zoom', async () => {
    const sensors = catalog.get('sensors')!
    const t = tileOf(121.5, 31.24, 15)
    const tight: LayerDef = { ...sensors, featureLimit: 5 }
    const full = decodeLayer(await encode(sensors, t), 'sensors')!.features
    expect(full.length, 'the tile holds more than 5 sensors').toBeGreaterThan(5)
    expect(full.every((f) => f.properties.count === undefined)).toBe(true)
    const cells = decodeLayer(await encode(tight, t), 'sensors')!.features
    expect(cells.every((f) => Number(f.properties.count) > 0)).toBe(true)
    const want = await expected('sensors', 'status', t)
    expect(sum(cells, 'count')).toBe(want.n)
    expect(sum(cells, 'n_alarm')).toBe(want.by_status.alarm ?? 0)
    // Under the limit (a few more than it draws: the clip buffer's edge points count too) it is not.
    const atLimit = decodeLayer(await encode({ ...sensors, featureLimit: full.length + 5 }, t), 'sensors')!.features
    expect(atLimit.length).toBe(full.length)
    expect(atLimit.every((f) => f.properties.count === undefined)).toBe(true)
  })

  it('case cells count by SLA state, and the case heat layer counts open cases only', async () => {
    const t = tileOf(121.5, 31.24, 13)
    const cases = await tile('cases', t)
    const want = await expected('case_map', 'sla_state', t)
    expect(sum(cases.features, 'count')).toBe(want.n)
    expect(sum(cases.features, 'n_overdue')).toBe(want.by_status.overdue ?? 0)
    const heat = await tile('case_heat', t)
    const open = await expected('open_case_map', 'sla_state', t)
    expect(open.n).toBeGreaterThan(0)
    expect(open.n).toBeLessThan(want.n)
    expect(sum(heat.features, 'count')).toBe(open.n)
    expect(heat.features.every((f) => f.properties.n_closed === undefined)).toBe(true)
  })

  it('worker points say whether an on-duty worker is outside their grids', async () => {
    const { rows } = await s.server.db.query<{ id: number; lon: number; lat: number; out_of_grid: boolean }>(
      `SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat, out_of_grid FROM worker_map WHERE geom IS NOT NULL AND duty_status = 'on_duty' ORDER BY id LIMIT 1`,
    )
    const w = rows[0]!
    const { features } = await tile('workers', tileOf(w.lon, w.lat, 16))
    const f = features.find((x) => x.id === w.id)!
    expect(f.properties.out_of_grid).toBe(w.out_of_grid)
    // Moved far outside every grid it serves, it is out of grid.
    const before = await s.server.db.query<{ geom: string }>('SELECT ST_AsText(geom) AS geom FROM workers WHERE id = $1', [w.id])
    try {
      await s.server.db.query(`UPDATE workers SET geom = ST_SetSRID(ST_MakePoint(121.3, 31.1), 4326) WHERE id = $1`, [w.id])
      const moved = await s.server.db.query<{ out_of_grid: boolean }>('SELECT out_of_grid FROM worker_map WHERE id = $1', [w.id])
      expect(moved.rows[0]!.out_of_grid).toBe(true)
    } finally {
      await s.server.db.query('UPDATE workers SET geom = ST_GeomFromText($2, 4326) WHERE id = $1', [w.id, before.rows[0]!.geom])
    }
  })

  it('no tile of any layer exceeds 500 KB anywhere over the demo city, z10–z16', async () => {
    let largest = { bytes: 0, where: '' }
    for (const layer of catalog.values()) {
      for (let z = Math.max(10, layer.minzoom); z <= Math.min(16, layer.maxzoom); z++) {
        const a = tileOf(121.481, 31.251, z)
        const b = tileOf(121.52, 31.226, z)
        // At most a 3 × 3 block of tiles around the centre per zoom: the densest part of the city.
        const cx = Math.floor((a.x + b.x) / 2)
        const cy = Math.floor((a.y + b.y) / 2)
        for (let x = Math.max(a.x, cx - 1); x <= Math.min(b.x, cx + 1); x++) {
          for (let y = Math.max(a.y, cy - 1); y <= Math.min(b.y, cy + 1); y++) {
            const { buf } = await tile(layer.id, { z, x, y })
            if (buf.length > largest.bytes) largest = { bytes: buf.length, where: `${layer.id} ${z}/${x}/${y}` }
          }
        }
      }
    }
    console.log(`[tiles] largest tile over the demo city: ${(largest.bytes / 1024).toFixed(1)} KB (${largest.where})`)
    expect(largest.bytes).toBeGreaterThan(0)
    expect(largest.bytes).toBeLessThanOrEqual(MAX_TILE_BYTES)
  })

  it('a composite tile holds each named layer, as the single tiles do', async () => {
    const t = tileOf(121.5, 31.24, 15)
    const res = await get(`/tiles/water,roads,grids/${t.z}/${t.x}/${t.y}.mvt`)
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toMatch(/^private/)
    const buf = new Uint8Array(await res.arrayBuffer())
    for (const id of ['water', 'roads', 'grids']) {
      const single = await tile(id, t)
      expect(decodeLayer(buf, id)?.features.map((f) => f.id).sort(), id).toEqual(single.features.map((f) => f.id).sort())
    }
    const again = await revalidate(`${s.url}/tiles/water,roads,grids/${t.z}/${t.x}/${t.y}.mvt`, res.headers.get('etag')!, { cookie: dispatcher })
    expect(again).toBe(304)
  })

  it('sends a tile br- or gzip-compressed when asked (a tagged representation of its own), as is when not', async () => {
    const t = tileOf(121.5, 31.24, 15)
    const path = `/tiles/roads/${t.z}/${t.x}/${t.y}.mvt`
    // fetch() would decompress and drop conditional requests: plain http sees the wire.
    const raw = (headers: Record<string, string>) =>
      new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) =>
        http
          .get(`${s.url}${path}`, { headers: { cookie: dispatcher, ...headers } }, (r) => {
            const chunks: Buffer[] = []
            r.on('data', (c: Buffer) => chunks.push(c))
            r.on('end', () => resolve({ status: r.statusCode!, headers: r.headers, body: Buffer.concat(chunks) }))
          })
          .on('error', reject),
      )
    const plain = await raw({})
    expect(plain.status).toBe(200)
    expect(plain.headers['content-encoding']).toBeUndefined()
    expect(plain.body.length).toBeGreaterThan(1024)
    for (const [coding, decode] of [
      ['br', zlib.brotliDecompressSync],
      ['gzip', zlib.gunzipSync],
    ] as const) {
      const a = await raw({ 'accept-encoding': `${coding}` })
      expect(a.headers['content-encoding']).toBe(coding)
      expect(a.headers.vary).toMatch(/Accept-Encoding/)
      expect(decode(a.body).equals(plain.body), coding).toBe(true)
      expect(a.body.length).toBeLessThan(plain.body.length)
      expect(a.headers.etag).not.toBe(plain.headers.etag)
      const again = await raw({ 'accept-encoding': coding, 'if-none-match': a.headers.etag! })
      expect(again.status).toBe(304)
    }
    const browser = await raw({ 'accept-encoding': 'gzip, deflate, br, zstd' })
    expect(browser.headers['content-encoding']).toBe('br')
  })

  it('base layers without scope may be cached publicly; scoped ones are private', async () => {
    const t = tileOf(121.5, 31.24, 14)
    expect((await get(`/tiles/roads/${t.z}/${t.x}/${t.y}.mvt`)).headers.get('cache-control')).toMatch(/^public/)
    expect((await get(`/tiles/roads,water/${t.z}/${t.x}/${t.y}.mvt`)).headers.get('cache-control')).toMatch(/^public/)
    expect((await get(`/tiles/sensors/${t.z}/${t.x}/${t.y}.mvt`)).headers.get('cache-control')).toMatch(/^private/)
    expect((await get(`/tiles/roads,sensors/${t.z}/${t.x}/${t.y}.mvt`)).headers.get('cache-control')).toMatch(/^private/)
  })

  it('a bad composite request is a 4xx that says what is wrong', async () => {
    const t = '15/27445/13384'
    const twice = await get(`/tiles/roads,roads/${t}.mvt`)
    expect(twice.status).toBe(400)
    expect(((await twice.json()) as { error: { message: string } }).error.message).toMatch(/twice/)
    const unknown = await get(`/tiles/roads,nope/${t}.mvt`)
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/nope/)
    const many = await get(`/tiles/${Array.from({ length: MAX_COMPOSITE + 1 }, (_, i) => `l${i}`).join(',')}/${t}.mvt`)
    expect(many.status).toBe(400)
    expect((await get(`/tiles/roads,/${t}.mvt`)).status).toBe(404)
  })

  it('layers a role may not see are not in its catalog and answer 403 as tiles, TileJSON and OGC items', async () => {
    const ids = async (cookie: string) => ((await (await get('/tiles/catalog.json', cookie)).json()) as { layers: { id: string }[] }).layers.map((l) => l.id)
    expect(await ids(dispatcher)).toEqual([...catalog.keys()])
    // The system admin: base map and objects, no cases or workers.
    const forAdmin = await ids(admin)
    for (const shown of ['roads', 'grids', 'sensors', 'cameras']) expect(forAdmin).toContain(shown)
    for (const hidden of ['cases', 'workers', 'case_heat']) {
      expect(forAdmin).not.toContain(hidden)
      const t = await get(`/tiles/${hidden}/15/27445/13384.mvt`, admin)
      expect(t.status).toBe(403)
      expect(((await t.json()) as { error: { message: string } }).error.message).toBe(`layer "${hidden}" needs the permission ${catalog.get(hidden)!.permission}, which the admin role does not hold`)
      expect((await get(`/tiles/${hidden}.json`, admin)).status).toBe(403)
      expect((await get(`/tiles/roads,${hidden}/15/27445/13384.mvt`, admin)).status).toBe(403)
      if (hidden !== 'case_heat') expect((await get(`/ogc/collections/${hidden}/items?limit=1`, admin)).status).toBe(403)
    }
    // The auditor reads the audit log only: no layer at all.
    expect(await ids(auditor)).toEqual([])
    for (const hidden of ['roads', 'grids', 'cases', 'sensors']) {
      const t = await get(`/tiles/${hidden}/15/27445/13384.mvt`, auditor)
      expect(t.status).toBe(403)
      expect(((await t.json()) as { error: { message: string } }).error.message).toMatch(/which the auditor role does not hold/)
      expect((await get(`/tiles/${hidden}.json`, auditor)).status).toBe(403)
      expect((await get(`/ogc/collections/${hidden}/items?limit=1`, auditor)).status).toBe(403)
    }
    expect(((await (await get('/ogc/collections', auditor)).json()) as { collections: unknown[] }).collections).toEqual([])
    const collections = ((await (await get('/ogc/collections', admin)).json()) as { collections: { id: string }[] }).collections.map((c) => c.id)
    expect(collections).toContain('roads')
    expect(collections).not.toContain('cases')
    // The heat layer is a view of cases, not a collection of its own.
    const all = ((await (await get('/ogc/collections')).json()) as { collections: { id: string }[] }).collections.map((c) => c.id)
    expect(all).toContain('cases')
    expect(all).not.toContain('case_heat')
  })
})
