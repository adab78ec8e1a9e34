import { revalidate } from '../helpers/revalidate.ts'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { io as connect, type Socket } from 'socket.io-client'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'
import { decodeLayer, tileOf } from '../helpers/mvt.ts'

interface SensorRow {
  id: number
  status: string
  grid_code: string
  lon: number
  lat: number
}

interface Invalidate {
  layer: string
  bbox: [number, number, number, number]
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.each(backends())('tile cache and live invalidation on $name', ({ databaseUrl }) => {
  let s: TestServer
  let dispatcher: string
  let supervisor: string
  let sensor: SensorRow
  let far: SensorRow
  const sockets: Socket[] = []

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    dispatcher = await login(s.url, 'dispatcher')
    supervisor = await login(s.url, 'supervisor')
    // A sensor the supervisor (外滩街道 310101013) cannot see, not already in alarm.
    const { rows } = await s.server.db.query<SensorRow>(
      `SELECT id, status, grid_code, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM sensors
        WHERE grid_code IS NOT NULL AND grid_code NOT LIKE '310101013%' AND status <> 'alarm' ORDER BY id LIMIT 1`,
    )
    sensor = rows[0]!
    // The sensor farthest from it: its tile is elsewhere.
    const farRows = await s.server.db.query<SensorRow>(
      `SELECT t.id, t.status, t.grid_code, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat FROM sensors t, sensors a
        WHERE a.id = $1 ORDER BY ST_Distance(t.geom, a.geom) DESC LIMIT 1`,
      [sensor.id],
    )
    far = farRows.rows[0]!
  })
  afterAll(async () => {
    for (const socket of sockets) socket.close()
    if (sensor) await s?.server.db.query('UPDATE sensors SET status = $2 WHERE id = $1', [sensor.id, sensor.status])
    await s?.close()
  })

  const tile = (cookie: string, t: { z: number; x: number; y: number }, headers: Record<string, string> = {}) =>
    fetch(`${s.url}/tiles/sensors/${t.z}/${t.x}/${t.y}.mvt`, { headers: { cookie, ...headers } })
  const patch = (cookie: string, id: number | string, body: unknown) =>
    fetch(`${s.url}/api/sensors/${id}`, { method: 'PATCH', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) })

  /** A connected client that records every tiles:invalidate it gets. */
  async function listen(cookie: string): Promise<Invalidate[]> {
    const socket = connect(s.url, { path: '/socket.io', extraHeaders: { cookie }, transports: ['websocket'], reconnection: false })
    sockets.push(socket)
    const got: Invalidate[] = []
    socket.on('tiles:invalidate', (p: Invalidate) => got.push(p))
    await new Promise((resolve, reject) => {
      socket.on('hello', resolve)
      socket.on('connect_error', reject)
    })
    return got
  }

  it('serves a repeated tile from the cache with the same bytes and ETag, and still answers 304', async () => {
    const t = tileOf(sensor.lon, sensor.lat, 16)
    const first = await tile(dispatcher, t)
    expect(first.status).toBe(200)
    const second = await tile(dispatcher, t)
    expect(second.status).toBe(200)
    expect(second.headers.get('x-tile-cache')).toBe('hit')
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'))
    expect(Buffer.from(await second.arrayBuffer()).equals(Buffer.from(await first.arrayBuffer()))).toBe(true)
    const status = await revalidate(`${s.url}/tiles/sensors/${t.z}/${t.x}/${t.y}.mvt`, first.headers.get('etag')!, { cookie: dispatcher })
    expect(status).toBe(304)
  })

  it('keeps scopes apart: the supervisor’s tile of the same z/x/y is its own entry without the sensor', async () => {
    const t = tileOf(sensor.lon, sensor.lat, 16)
    const res = await tile(supervisor, t)
    expect(res.headers.get('x-tile-cache')).toBe('miss')
    if (res.status === 200) {
      const layer = decodeLayer(new Uint8Array(await res.arrayBuffer()), 'sensors')
      expect(layer?.features.some((f) => f.id === sensor.id)).toBe(false)
    } else expect(res.status).toBe(204)
  })

  it('on a status change drops only the tiles around the sensor and tells only the sockets that see it', async () => {
    const t = tileOf(sensor.lon, sensor.lat, 16)
    const ft = tileOf(far.lon, far.lat, 16)
    expect(ft).not.toEqual(t)
    // Warm both tiles.
    expect((await tile(dispatcher, t)).headers.get('x-tile-cache')).toBe('hit')
    await tile(dispatcher, ft)
    expect((await tile(dispatcher, ft)).headers.get('x-tile-cache')).toBe('hit')

    const dispatcherEvents = await listen(dispatcher)
    const supervisorEvents = await listen(supervisor)
    const res = await patch(dispatcher, sensor.id, { status: 'alarm' })
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ id: sensor.id, status: 'alarm' })

    for (let i = 0; i < 50 && dispatcherEvents.length === 0; i++) await sleep(20)
    await sleep(300) // room for a duplicate or a stray event to arrive
    expect(dispatcherEvents).toHaveLength(1)
    const [ev] = dispatcherEvents
    expect(ev!.layer).toBe('sensors')
    const [w, south, e, n] = ev!.bbox
    expect(w).toBeLessThanOrEqual(sensor.lon)
    expect(e).toBeGreaterThanOrEqual(sensor.lon)
    expect(south).toBeLessThanOrEqual(sensor.lat)
    expect(n).toBeGreaterThanOrEqual(sensor.lat)
    expect(e - w).toBeLessThan(0.01)
    expect(n - south).toBeLessThan(0.01)
    expect(supervisorEvents).toHaveLength(0)

    const after = await tile(dispatcher, t)
    expect(after.status).toBe(200)
    expect(after.headers.get('x-tile-cache')).toBe('miss')
    const layer = decodeLayer(new Uint8Array(await after.arrayBuffer()), 'sensors')
    const feature = layer?.features.find((f) => f.id === sensor.id)
    expect(feature?.properties.status).toBe('alarm')
    expect((await tile(dispatcher, t)).headers.get('x-tile-cache')).toBe('hit')

    expect((await tile(dispatcher, ft)).headers.get('x-tile-cache')).toBe('hit')
  })

  it('tells a supervisor about a sensor in its own street', async () => {
    const { rows } = await s.server.db.query<SensorRow>(
      `SELECT id, status, grid_code, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM sensors WHERE grid_code LIKE '310101013%' ORDER BY id LIMIT 1`,
    )
    const own = rows[0]!
    const events = await listen(supervisor)
    const next = own.status === 'offline' ? 'online' : 'offline'
    try {
      expect((await patch(dispatcher, own.id, { status: next })).status).toBe(200)
      for (let i = 0; i < 50 && events.length === 0; i++) await sleep(20)
      expect(events).toEqual([{ layer: 'sensors', bbox: [own.lon, own.lat, own.lon, own.lat] }])
    } finally {
      await patch(dispatcher, own.id, { status: own.status })
    }
  })

  it('refuses other roles, unknown or out-of-scope sensors and bad bodies', async () => {
    const leader = await login(s.url, 'leader')
    expect((await patch(leader, sensor.id, { status: 'online' })).status).toBe(403)
    expect((await patch(dispatcher, 999_999_999, { status: 'online' })).status).toBe(404)
    const bad = await patch(dispatcher, sensor.id, { status: 'broken' })
    expect(bad.status).toBe(422)
    expect((await bad.json()).error.message).toMatch(/status/)
    expect((await patch(dispatcher, sensor.id, {})).status).toBe(422)
  })

  it('answers 404 for a sensor outside a restricted dispatcher’s street', async () => {
    await s.server.db.query(
      `INSERT INTO users (username, display_name, role, scope_code, password_hash)
       SELECT 'dispatcher_bund', 'Bund dispatcher', 'dispatcher', '310101013', password_hash FROM users WHERE username = 'supervisor'
       ON CONFLICT (username) DO NOTHING`,
    )
    const bund = await login(s.url, 'dispatcher_bund')
    const res = await patch(bund, sensor.id, { status: 'offline' })
    expect(res.status).toBe(404)
    const { rows } = await s.server.db.query<{ status: string }>('SELECT status FROM sensors WHERE id = $1', [sensor.id])
    expect(rows[0]!.status).not.toBe('offline')
  })
})
