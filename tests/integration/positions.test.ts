/**
 * Worker positions (issue 5): fixes over HTTP and the socket, stored as tracks; the geofence
 * with hysteresis — a worker walking along their grid's edge with GPS jitter raises exactly one
 * out-of-grid event and, walking back in, exactly one back-in event (acceptance 4); GCJ-02
 * conversion; track, patrol and presence queries; bad input and scope refused with 4xx.
 *
 * Re-runnable on the shared database: the run makes its own grid (a 400 m square in a community
 * of 外滩街道), workers and users, named with the run's id, and removes them afterwards.
 */
import gcoord from 'gcoord'
import { io as connect, type Socket } from 'socket.io-client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sleep, until as waitUntil } from '../helpers/wait.ts'
import { hashPassword } from '../../server/auth/password.ts'
import type { Db } from '../../server/db/index.ts'
import { EventStream, type DomainEvent } from '../../web/services/eventStream.ts'
import { backends, login, startTestServer, TEST_PASSWORD, type TestServer } from '../helpers/server.ts'

const BUND = '310101013'
const TZ = 'Asia/Shanghai'
const STEP_MS = 10_000
/** Half the side of the test grid, metres (UTM zone 51N, EPSG:32651, around Shanghai). */
const HALF = 200
const MARK = '定位测试网格'


/**
 * The walk, phase by phase, as offsets (metres) from the grid's east edge (+ outside, − inside)
 * while walking north 4 m per moving fix, one fix every 10 s. The fence's band is 30 m out
 * (twice in a row) / 10 m in.
 */
const PHASES: { name: string; offs: number[]; still?: boolean }[] = [
  { name: 'inside', offs: [-40, -38, -35, -33, -30, -28, -25, -20] },
  // A stay of 190 s at one spot (a stop), with ±2 m of GPS jitter.
  { name: 'stop', offs: [-30, -28, -31, -29, -30, -32, -30, -28, -29, -31, -30, -30, -28, -31, -29, -30, -32, -30, -28, -29], still: true },
  // Jitter at the edge, including one spike beyond 30 m: no exit.
  { name: 'edge', offs: [-8, 12, -5, 22, 35, 8, -9, 25, 28, -3, 18, 29] },
  { name: 'out-1', offs: [40] },
  { name: 'out-2', offs: [55, 70, 80, 80, 70, 60, 45] },
  // Back towards the edge with jitter, never more than 10 m inside: still out.
  { name: 'edge-out', offs: [25, -5, 20, -9, 15, 28, -8, 22, 5, -2] },
  { name: 'back', offs: [-20, -30, -35, -40] },
  { name: 'edge-in', offs: [-8, 15, 28, -5, 25, 12, -9, 29] },
]

interface Fix {
  ts: string
  lon: number
  lat: number
  off: number
  phase: string
}

describe.each(backends())('worker positions and geofence on $name', ({ name, databaseUrl }) => {
  let s: TestServer
  let db: Db
  /** The run's id: its start (ms, 13 digits: earlier runs' leftovers compare lower) and the process. */
  const run = `${Date.now()}-${process.pid}`
  let grid: string
  let street: string
  let otherStreet: string
  const ids = { w1: 0, w2: 0, other: 0 }
  const users = { worker: `tpos_${run.replace('-', '_')}_w`, dispatcher: `tpos_${run.replace('-', '_')}_d` }
  const cookies: Record<string, string> = {}
  let walk: Fix[] = []
  let t0 = 0
  const sockets: Socket[] = []
  const got: DomainEvent[] = []
  const invalidated: { layer: string; bbox: number[] }[] = []
  const statuses: number[] = []

  const api = async (method: string, path: string, who: string, body?: unknown) => {
    const res = await fetch(`${s.url}${path}`, {
      method,
      headers: { cookie: cookies[who]!, 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    statuses.push(res.status)
    const text = await res.text()
    let json: unknown = text
    try {
      json = JSON.parse(text)
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: json as Record<string, unknown> & unknown[] }
  }
  const post = (who: string, body: unknown) => api('POST', '/api/positions', who, body)
  const until = (check: () => boolean | Promise<boolean>, what: string, ms = 15_000) => waitUntil(check, what, ms, 25)
  const q = async <T>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params)).rows

  async function cleanUp(where: string, params: unknown[]) {
    const workers = await q<{ id: number }>(`SELECT id FROM workers WHERE ${where}`, params)
    const wid = workers.map((w) => w.id)
    await db.query('DELETE FROM workers WHERE id = ANY($1::int[])', [wid])
  }

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    db = s.server.db
    // Leftovers of an earlier run that could not clean up (older than an hour).
    const old = `${Date.now() - 3600_000}`
    await cleanUp(`code LIKE 'TPOS-%' AND split_part(code, '-', 2) < $1`, [old])
    await db.query(`DELETE FROM users WHERE username LIKE 'tpos\\_%' AND split_part(username, '_', 2) < $1`, [old])
    await db.query(`DELETE FROM grids WHERE name LIKE $1::text || ' %' AND split_part(name, ' ', 2) < $2`, [MARK, old])

    const community = (await q<{ code: string; street: string; district: string }>(
      `SELECT c.code, c.parent_code AS street, st.parent_code AS district FROM admin_units c JOIN admin_units st ON st.code = c.parent_code
        WHERE c.level = 'community' AND c.parent_code = $1 ORDER BY c.code LIMIT 1`,
      [BUND],
    ))[0]!
    street = community.street
    otherStreet = (await q<{ code: string }>(`SELECT code FROM admin_units WHERE level = 'street' AND code <> $1 ORDER BY code LIMIT 1`, [BUND]))[0]!.code
    // A free grid number in that community (9xx: after the seeded ones).
    grid = (await q<{ code: string }>(
      `SELECT $1::text || n AS code FROM generate_series(900, 999) n WHERE NOT EXISTS (SELECT 1 FROM grids WHERE code = $1::text || n) ORDER BY n LIMIT 1`,
      [community.code],
    ))[0]!.code
    await db.query(
      `WITH c AS (SELECT ST_Transform(ST_PointOnSurface(geom), 32651) AS p FROM admin_units WHERE code = $2)
       INSERT INTO grids (code, name, community_code, street_code, district_code, area_m2, geom, synthetic)
       SELECT $1, $3, $2, $4, $5, $6, ST_Multi(ST_Transform(ST_MakeEnvelope(ST_X(p) - $7, ST_Y(p) - $7, ST_X(p) + $7, ST_Y(p) + $7, 32651), 4326)), true FROM c`,
      [grid, community.code, `${MARK} ${run}`, community.street, community.district, (2 * HALF) ** 2, HALF],
    )
    const hash = await hashPassword(TEST_PASSWORD)
    const user = async (username: string, role: string, scope: string) =>
      (await q<{ id: number }>(`INSERT INTO users (username, display_name, password_hash, role, scope_code) VALUES ($1, $1, $2, $3, $4) RETURNING id`, [username, hash, role, scope]))[0]!.id
    const workerUser = await user(users.worker, 'worker', street)
    await user(users.dispatcher, 'dispatcher', otherStreet)
    const worker = async (n: number, userId: number | null, gridCode: string | null) =>
      (await q<{ id: number }>(
        `INSERT INTO workers (code, name, role, grid_code, user_id, duty_status) VALUES ($1, $2, 'grid_worker', $3, $4, 'on_duty') RETURNING id`,
        [`TPOS-${run}-${n}`, `测试网格员${n}`, gridCode, userId],
      ))[0]!.id
    ids.w1 = await worker(1, workerUser, grid)
    ids.w2 = await worker(2, null, grid)
    const outsideGrid = (await q<{ code: string }>(`SELECT code FROM grids WHERE code NOT LIKE $1 || '%' ORDER BY code LIMIT 1`, [BUND]))[0]!.code
    ids.other = await worker(3, null, outsideGrid)

    for (const who of ['admin', 'dispatcher', 'supervisor', 'leader', users.worker, users.dispatcher]) cookies[who] = await login(s.url, who)

    // The walk: along the east edge, in UTM metres, to WGS84 by PostGIS. It starts about two
    // hours ago, all within one day in Asia/Shanghai (for the patrol-per-day query).
    const day = (t: number) => new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(new Date(t))
    t0 = Math.floor((Date.now() - 2 * 3600_000) / 1000) * 1000
    if (day(t0) !== day(t0 + 20 * 60_000)) t0 -= 30 * 60_000
    const plan: { x: number; y: number; off: number; phase: string }[] = []
    let y = -100
    for (const phase of PHASES) {
      for (const off of phase.offs) {
        plan.push({ x: HALF + off, y, off, phase: phase.name })
        if (!phase.still) y += 4
      }
    }
    const pts = await q<{ lon: number; lat: number }>(
      `WITH c AS (SELECT ST_Transform(ST_Centroid(geom), 32651) AS p FROM grids WHERE code = $1)
       SELECT ST_X(g) AS lon, ST_Y(g) AS lat FROM (
         SELECT u.i, ST_Transform(ST_SetSRID(ST_MakePoint(ST_X(c.p) + u.x, ST_Y(c.p) + u.y), 32651), 4326) AS g
           FROM c, unnest($2::float8[], $3::float8[]) WITH ORDINALITY AS u(x, y, i)) q ORDER BY i`,
      [grid, plan.map((p) => p.x), plan.map((p) => p.y)],
    )
    walk = plan.map((p, i) => ({ ts: new Date(t0 + i * STEP_MS).toISOString(), lon: pts[i]!.lon, lat: pts[i]!.lat, off: p.off, phase: p.phase }))

    // The (city-wide) dispatcher's socket: every domain event and tiles:invalidate.
    const socket = connect(s.url, { path: '/socket.io', extraHeaders: { cookie: cookies.dispatcher! }, transports: ['websocket'], autoConnect: false })
    sockets.push(socket)
    new EventStream(socket, (e) => got.push(e))
    socket.on('tiles:invalidate', (p: { layer: string; bbox: number[] }) => invalidated.push(p))
    const hello = new Promise<void>((resolve) => socket.once('hello', () => resolve()))
    socket.connect()
    await hello
  })

  afterAll(async () => {
    for (const socket of sockets) socket.close()
    if (db) {
      await cleanUp(`code LIKE $1`, [`TPOS-${run}-%`])
      await db.query(`DELETE FROM users WHERE username = ANY($1::text[])`, [Object.values(users)])
      await db.query(`DELETE FROM grids WHERE name = $1`, [`${MARK} ${run}`])
    }
    await s?.close()
    // Nothing this suite sent answered with a server error.
    expect(statuses.filter((x) => x >= 500)).toEqual([])
  })

  const phase = (n: string) => walk.filter((f) => f.phase === n)
  const body = (fixes: Fix[]) => ({ positions: fixes.map(({ ts, lon, lat }) => ({ ts, lon, lat, accuracy: 8 })) })
  const fenceEvents = () => got.filter((e) => String(e.type).startsWith('worker:') && e.payload.workerId === ids.w1)
  const outOfGrid = async () => (await q<{ out_of_grid: boolean }>('SELECT out_of_grid FROM worker_map WHERE id = $1', [ids.w1]))[0]!.out_of_grid

  it('a worker walking out along the grid edge with jitter raises exactly one out-of-grid event', async () => {
    const offered = s.server.telemetry.stats.offered
    for (const p of ['inside', 'stop', 'edge']) {
      const res = await post(users.worker, body(phase(p)))
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(res.body).toEqual({ accepted: phase(p).length, duplicates: 0, events: 0 })
    }
    // Every new fix went to the live telemetry (which coalesces them per client).
    expect(s.server.telemetry.stats.offered - offered).toBe(phase('inside').length + phase('stop').length + phase('edge').length)
    expect(await outOfGrid()).toBe(false)
    // The first fix beyond the band alone is not an exit; the second in a row is (a later request).
    expect((await post(users.worker, body(phase('out-1')))).body).toMatchObject({ accepted: 1, events: 0 })
    const sent = Date.now()
    expect((await post(users.worker, body(phase('out-2')))).body).toMatchObject({ accepted: 7, events: 1 })
    await until(() => fenceEvents().length >= 1, 'worker:out_of_grid at the socket')
    console.log(`[positions] ${name}: POST → worker:out_of_grid at the client in ${Date.now() - sent} ms`)
    expect(await outOfGrid()).toBe(true)
    const out = fenceEvents()[0]!
    expect(out.type).toBe('worker:out_of_grid')
    expect(out.scope).toBe(grid)
    expect(out.payload).toMatchObject({ workerId: ids.w1, code: `TPOS-${run}-1`, gridCode: grid, at: phase('out-2')[0]!.ts, since: phase('out-1')[0]!.ts })
    expect(Number(out.payload.distanceM)).toBeGreaterThan(50)
    expect(Number(out.payload.distanceM)).toBeLessThan(60)
    // The workers tiles around the move were invalidated (once per request).
    const last = phase('out-2').at(-1)!
    await until(
      () => invalidated.some((i) => i.layer === 'workers' && i.bbox[0]! <= last.lon && last.lon <= i.bbox[2]! && i.bbox[1]! <= last.lat && last.lat <= i.bbox[3]!),
      'tiles:invalidate for workers around the move',
    )
  })

  it('walking the edge from outside and back in over the socket raises exactly one back-in event', async () => {
    const ws = connect(s.url, { path: '/socket.io', extraHeaders: { cookie: cookies[users.worker]! }, transports: ['websocket'], autoConnect: false })
    sockets.push(ws)
    const hello = new Promise<void>((resolve) => ws.once('hello', () => resolve()))
    ws.connect()
    await hello
    const send = (msg: unknown) => ws.timeout(15_000).emitWithAck('position', msg) as Promise<Record<string, unknown>>
    expect(await send(body(phase('edge-out')))).toEqual({ accepted: 10, duplicates: 0, events: 0 })
    expect(await outOfGrid()).toBe(true)
    expect(await send(body(phase('back')))).toEqual({ accepted: 4, duplicates: 0, events: 1 })
    expect(await send(body(phase('edge-in')))).toEqual({ accepted: 8, duplicates: 0, events: 0 })
    expect(await outOfGrid()).toBe(false)
    await until(() => fenceEvents().length >= 2, 'worker:back_in_grid at the socket')
    await sleep(500)
    expect(fenceEvents().map((e) => e.type)).toEqual(['worker:out_of_grid', 'worker:back_in_grid'])
    expect(fenceEvents()[1]!.payload).toMatchObject({ workerId: ids.w1, at: phase('back')[0]!.ts, gridCode: grid })
    // The log holds exactly these two for the worker.
    const logged = await q<{ type: string }>(`SELECT type FROM event_log WHERE type LIKE 'worker:%' AND payload ->> 'workerId' = $1 ORDER BY seq`, [String(ids.w1)])
    expect(logged.map((r) => r.type)).toEqual(['worker:out_of_grid', 'worker:back_in_grid'])
    // Sending the same fixes again: duplicates, no events. A bad message is refused with the reason.
    expect(await send(body(phase('back')))).toEqual({ accepted: 0, duplicates: 4, events: 0 })
    const bad = await send({ positions: [{ ts: 'now', lon: 121.4, lat: 31.2 }] })
    expect(String(bad.error)).toMatch(/ts/)
    const other = await send({ positions: [{ workerId: ids.w2, ts: new Date().toISOString(), lon: 121.4, lat: 31.2 }] })
    expect(String(other.error)).toMatch(/own/)
    const health = (await (await fetch(`${s.url}/api/health`)).json()) as { realtime: { refused: Record<string, number> } }
    expect(health.realtime.refused.position).toBeGreaterThanOrEqual(2)
    // The worker's position is the last fix.
    const last = walk[walk.length - 1]!
    const w = (await q<{ lon: number; lat: number; last_seen: Date }>('SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, last_seen FROM workers WHERE id = $1', [ids.w1]))[0]!
    expect([w.lon, w.lat, new Date(w.last_seen).toISOString()]).toEqual([last.lon, last.lat, last.ts])
  })

  it('the track has the points, distance, one stop, patrol time and the out-of-grid segment', async () => {
    const from = new Date(t0 - 1000).toISOString()
    const to = new Date(t0 + walk.length * STEP_MS).toISOString()
    const res = await api('GET', `/api/workers/${ids.w1}/track?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, 'dispatcher')
    expect(res.status).toBe(200)
    const t = res.body as unknown as {
      points: { ts: string; lon: number; lat: number }[]
      stops: { from: string; to: string; lon: number; lat: number; durationS: number }[]
      distanceM: number
      patrolS: number
      outOfGridS: number
      outOfGrid: { from: string; to: string }[]
      truncated: boolean
    }
    expect(t.truncated).toBe(false)
    expect(t.points).toHaveLength(walk.length)
    expect(t.points[0]).toEqual({ ts: walk[0]!.ts, lon: walk[0]!.lon, lat: walk[0]!.lat })
    // Distance against PostGIS's length of the same line (spheroid; turf's sphere is within 0.5 %).
    const len = (await q<{ m: number }>('SELECT ST_Length(ST_MakeLine(geom ORDER BY ts)::geography) AS m FROM worker_positions WHERE worker_id = $1', [ids.w1]))[0]!.m
    expect(Math.abs(t.distanceM - len) / len).toBeLessThan(0.005)
    // One stop: the 190 s stay (it begins up to 25 m before, on the way in: a few fixes early).
    expect(t.stops).toHaveLength(1)
    const stay = phase('stop')
    expect(t.stops[0]!.durationS).toBeGreaterThanOrEqual(190)
    expect(t.stops[0]!.durationS).toBeLessThanOrEqual(190 + 70)
    expect(t.stops[0]!.to).toBe(stay[stay.length - 1]!.ts)
    // Out from the first fix of the exit run to the fix that came back in.
    expect(t.outOfGrid).toEqual([{ from: phase('out-1')[0]!.ts, to: phase('back')[0]!.ts }])
    // Intervals (10 s) whose first fix is inside: all before the exit and from the return on.
    const outFixes = walk.findIndex((f) => f.phase === 'back') - walk.findIndex((f) => f.phase === 'out-1')
    expect(t.outOfGridS).toBe(outFixes * 10)
    expect(t.patrolS).toBe((walk.length - 1 - outFixes) * 10)

    // The day's patrol (ONEGRID_TZ) says the same.
    const day = new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(new Date(t0))
    const patrol = await api('GET', `/api/workers/${ids.w1}/patrol?day=${day}`, users.worker)
    expect(patrol.status).toBe(200)
    expect(patrol.body).toMatchObject({ day, distanceM: t.distanceM, patrolS: t.patrolS, outOfGridS: t.outOfGridS })
  })

  it('converts GCJ-02 fixes to WGS84 (a dispatcher relaying for a worker in scope)', async () => {
    const ts = new Date(t0 + 3600_000).toISOString()
    // About 2 km east of the grid (outside it, so presence below is not disturbed).
    const gcj: [number, number] = [walk[0]!.lon + 0.02, walk[0]!.lat]
    const res = await post('dispatcher', { crs: 'gcj02', positions: [{ workerId: ids.w2, ts, lon: gcj[0], lat: gcj[1] }] })
    expect(res.body).toEqual({ accepted: 1, duplicates: 0, events: 0 })
    const want = gcoord.transform(gcj, gcoord.GCJ02, gcoord.WGS84)
    const row = (await q<{ off_m: number; shift_m: number }>(
      `SELECT ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint($3, $4), 4326)::geography) AS off_m,
              ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint($5, $6), 4326)::geography) AS shift_m
         FROM worker_positions WHERE worker_id = $1 AND ts = $2`,
      [ids.w2, ts, want[0], want[1], gcj[0], gcj[1]],
    ))[0]!
    expect(row.off_m).toBeLessThan(1)
    // The GCJ-02 offset in Shanghai is a few hundred metres: the point really was moved.
    expect(row.shift_m).toBeGreaterThan(300)
    expect(row.shift_m).toBeLessThan(800)
  })

  it('presence: who was in the grid and when, runs split by leaving and by gaps over 5 minutes', async () => {
    // Worker 2 inside the grid: two fixes, then one more 10 minutes later.
    const c = walk[0]!
    const base = t0 + 40 * 60_000
    const w2 = [0, 10_000, 610_000].map((dt) => ({ workerId: ids.w2, ts: new Date(base + dt).toISOString(), lon: c.lon, lat: c.lat }))
    expect((await post('dispatcher', { positions: w2 })).body).toMatchObject({ accepted: 3 })
    const from = new Date(t0 - 1000).toISOString()
    const to = new Date(base + 3600_000).toISOString()
    const res = await api('GET', `/api/grids/${grid}/presence?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, 'supervisor')
    expect(res.status).toBe(200)
    const mine = (res.body as unknown as { workerId: number; intervals: { from: string; to: string }[] }[]).filter((p) => p.workerId === ids.w1 || p.workerId === ids.w2)
    // Worker 1's runs of fixes inside the square (geometrically: offset < 0).
    const runs: { from: string; to: string }[] = []
    let open: Fix | null = null
    let prev: Fix | null = null
    for (const f of walk) {
      if (f.off < 0 && !open) open = f
      if (f.off >= 0 && open) {
        runs.push({ from: open.ts, to: prev!.ts })
        open = null
      }
      prev = f
    }
    if (open) runs.push({ from: open.ts, to: prev!.ts })
    expect(mine.find((p) => p.workerId === ids.w1)!.intervals).toEqual(runs)
    expect(mine.find((p) => p.workerId === ids.w2)).toMatchObject({
      code: `TPOS-${run}-2`,
      intervals: [
        { from: w2[0]!.ts, to: w2[1]!.ts },
        { from: w2[2]!.ts, to: w2[2]!.ts },
      ],
    })
  })

  it('takes 1000 fixes of several workers in one request; older fixes do not move a worker back', async () => {
    const before = (await q<{ last_seen: Date }>('SELECT last_seen FROM workers WHERE id = $1', [ids.w2]))[0]!.last_seen
    const start = t0 - 86_400_000
    const c = walk[0]!
    const positions = Array.from({ length: 1000 }, (_, i) => ({
      workerId: i % 2 ? ids.w2 : ids.other,
      ts: new Date(start + Math.floor(i / 2) * 1000).toISOString(),
      lon: c.lon + (i % 2 ? 0 : 0.05),
      lat: c.lat + i * 1e-6,
      speed: 1.2,
      heading: 90,
    }))
    const t = Date.now()
    const res = await post('dispatcher', { positions })
    console.log(`[positions] ${name}: 1000 fixes of 2 workers stored and judged in ${Date.now() - t} ms`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ accepted: 1000, duplicates: 0 })
    const n = await q<{ n: number }>(`SELECT count(*)::int AS n FROM worker_positions WHERE worker_id = ANY($1::int[]) AND ts >= $2 AND ts < $3 AND speed = 1.2::real AND heading = 90`, [
      [ids.w2, ids.other],
      new Date(start).toISOString(),
      new Date(start + 500_000).toISOString(),
    ])
    expect(n[0]!.n).toBe(1000)
    const after = (await q<{ last_seen: Date }>('SELECT last_seen FROM workers WHERE id = $1', [ids.w2]))[0]!.last_seen
    expect(new Date(after).toISOString()).toBe(new Date(before).toISOString())
  })

  it('refuses bad input with 4xx naming the problem', async () => {
    const now = Date.now()
    const fix = (over: Record<string, unknown>) => ({ positions: [{ ts: new Date(now).toISOString(), lon: 121.49, lat: 31.24, ...over }] })
    for (const [what, b] of [
      ['ts not a date', fix({ ts: 'yesterday' })],
      ['ts without offset', fix({ ts: '2026-11-20T08:00:00' })],
      ['ts an hour ahead', fix({ ts: new Date(now + 3600_000).toISOString() })],
      ['ts 8 days old', fix({ ts: new Date(now - 8 * 86_400_000).toISOString() })],
      ['lon 200', fix({ lon: 200 })],
      ['lat as text', fix({ lat: '31.2' })],
      ['0, 0', fix({ lon: 0, lat: 0 })],
      ['no positions', { positions: [] }],
      ['too many', { positions: Array.from({ length: 1001 }, (_, i) => ({ ts: new Date(now - i * 1000).toISOString(), lon: 121.49, lat: 31.24 })) }],
      ['unknown crs', { crs: 'bd09', ...fix({}) }],
      ['unknown field', fix({ altitude: 'high' })],
    ] as const) {
      const res = await post(users.worker, b)
      expect(res.status, what).toBe(422)
      expect(JSON.stringify(res.body), what).toMatch(/"message":"[^"]+"/)
    }
    expect((await post(users.worker, 'not json')).status).toBe(400)
    // A worker for another worker: 403; a dispatcher for a worker outside their street: 404.
    expect((await post(users.worker, { positions: [{ workerId: ids.w2, ts: new Date(now).toISOString(), lon: 121.49, lat: 31.24 }] })).status).toBe(403)
    expect((await post(users.dispatcher, { positions: [{ workerId: ids.w1, ts: new Date(now).toISOString(), lon: 121.49, lat: 31.24 }] })).status).toBe(404)
    expect((await post('dispatcher', { positions: [{ workerId: 999_999_999, ts: new Date(now).toISOString(), lon: 121.49, lat: 31.24 }] })).status).toBe(404)
    expect((await post('dispatcher', fix({}))).status).toBe(422) // which worker?
    expect((await post('leader', { positions: [{ workerId: ids.w1, ts: new Date(now).toISOString(), lon: 121.49, lat: 31.24 }] })).status).toBe(403)
    // The system administrator handles no workers: neither reports positions nor reads tracks.
    const asAdmin = await post('admin', { positions: [{ workerId: ids.w1, ts: new Date(now).toISOString(), lon: 121.49, lat: 31.24 }] })
    expect(asAdmin.status).toBe(403)
    expect(JSON.stringify(asAdmin.body)).toMatch(/positions\.report/)
    expect((await api('GET', `/api/workers/${ids.w1}/track`, 'admin')).status).toBe(403)

    // Tracks: bad and inverted ranges 422; unknown or out of scope 404; a worker sees only their own.
    const track = (id: number, query: string, who = 'dispatcher') => api('GET', `/api/workers/${id}/track${query}`, who)
    expect((await track(ids.w1, '?from=yesterday')).status).toBe(422)
    expect((await track(ids.w1, `?from=${encodeURIComponent(new Date(now).toISOString())}&to=${encodeURIComponent(new Date(now - 1000).toISOString())}`)).status).toBe(422)
    expect((await track(ids.w1, `?from=${encodeURIComponent(new Date(now - 40 * 86_400_000).toISOString())}`)).status).toBe(422)
    expect((await track(999_999_999, '')).status).toBe(404)
    expect((await track(ids.w1, '', users.dispatcher)).status).toBe(404)
    expect((await track(ids.other, '', 'supervisor')).status).toBe(404)
    expect((await track(ids.w1, '', 'supervisor')).status).toBe(200)
    expect((await track(ids.w1, '', users.worker)).status).toBe(200)
    expect((await track(ids.w2, '', users.worker)).status).toBe(403)
    expect((await api('GET', `/api/workers/${ids.w1}/patrol?day=2026-02-30`, 'dispatcher')).status).toBe(422)
    expect((await api('GET', `/api/workers/${ids.w1}/patrol`, 'dispatcher')).status).toBe(200)
    // Presence: a grid outside the scope or unknown 404, a malformed code 400, workers may not ask.
    expect((await api('GET', `/api/grids/${grid}/presence`, users.dispatcher)).status).toBe(404)
    expect((await api('GET', `/api/grids/${grid.slice(0, 12)}998/presence`, 'dispatcher')).status).toBe(404)
    expect((await api('GET', '/api/grids/12ab/presence', 'dispatcher')).status).toBe(400)
    expect((await api('GET', `/api/grids/${grid}/presence?to=soon`, 'dispatcher')).status).toBe(422)
    expect((await api('GET', `/api/grids/${grid}/presence`, users.worker)).status).toBe(403)
  })
})
