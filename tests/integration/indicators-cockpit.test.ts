/**
 * The cockpit's indicators of GET /api/stats/indicators (issue 9): open cases, sensor availability,
 * camera availability, workers on duty and patrol coverage, per grid, per street and in total,
 * and the previous period (compare=previous), against values computed by hand from a constructed
 * district of three grids laid far from the demo city (lon 121.0, lat 30.5), so nothing seeded is
 * inside it. Sensors go offline for known hours (events, an offline alarm, a device fault, a
 * seeded-style silence), workers walk known roads. Definitions: docs/indicators.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'
import type { CockpitIndicators, CockpitRow } from '../../server/stats/indicators.ts'

const DISTRICT = '319990'
const S1 = '319990001'
const S2 = '319990002'
const C1 = '319990001001'
const C2 = '319990002001'
const G1 = '319990001001001'
const G2 = '319990001001002'
const G3 = '319990002001001'
const MARK = 'TCKP-'

/** A local time in 2011, Asia/Shanghai (+08:00). */
const t = (s: string) => `2011-${s.replace(' ', 'T')}:00+08:00`

// Ground metres east (x) and north (y) of an origin, as Web Mercator: Mercator is conformal, so
// near the origin a metre on the ground is 1/cos(latitude) Mercator units in both directions.
const LON0 = 121.0
const LAT0 = 30.5
const RM = 6378137
const X0 = (RM * LON0 * Math.PI) / 180
const Y0 = RM * Math.log(Math.tan(Math.PI / 4 + (LAT0 * Math.PI) / 360))
const K = 1 / Math.cos((LAT0 * Math.PI) / 180)
/** SQL for a WGS84 point `x` m east and `y` m north of the origin. */
const pt = (x: number, y: number) => `ST_Transform(ST_SetSRID(ST_MakePoint(${X0 + x * K}, ${Y0 + y * K}), 3857), 4326)`
const line = (ax: number, ay: number, bx: number, by: number) => `ST_Multi(ST_MakeLine(${pt(ax, ay)}, ${pt(bx, by)}))`
const box = (x0: number, y0: number, x1: number, y1: number) =>
  `ST_Multi(ST_Transform(ST_MakeEnvelope(${X0 + x0 * K}, ${Y0 + y0 * K}, ${X0 + x1 * K}, ${Y0 + y1 * K}, 3857), 4326))`

// Three grids of 300 m × 300 m: G1 (x 0–300) and G2 (x 300–600) in street S1, G3 (x 700–1000) in S2.
const GRIDS = [
  { code: G1, box: box(0, 0, 300, 300) },
  { code: G2, box: box(300, 0, 600, 300) },
  { code: G3, box: box(700, 0, 1000, 300) },
]

// Roads. G1: A (200 m, walked all along), B (95 m: 10 pieces of 9.5 m, two fixes 10 minutes apart
// at its ends walk 2 pieces at each end), the west 50 m of X; G2: the east 150 m of X; G3: D (105 m).
// The rail line next to A is not a road to walk.
const ROADS = [
  { id: 'A', kind: 'minor_road', geom: line(50, 150, 250, 150) },
  { id: 'B', kind: 'path', geom: line(280, 20, 280, 115) },
  { id: 'X', kind: 'major_road', geom: line(250, 50, 450, 50) },
  { id: 'D', kind: 'minor_road', geom: line(750, 150, 855, 150) },
  { id: 'RAIL', kind: 'rail', geom: line(40, 170, 240, 170) },
]

/**
 * Hand-computed patrol coverage in March 2011 (radius 20 m, pieces of at most 10 m):
 * G1: A 200 (W1 walks 5 m beside it) + B 2×2 pieces of 9.5 m = 38 (W3's fixes 10 minutes apart
 * are not joined: only the pieces within 20 m of each fix; its 80 m-accuracy fix in the middle is
 * left out) of 200 + 95 + 50 = 345; X's west 50 m in G1 are walked by W2, who is not G1's.
 * G2: 150 of 150 (W2). G3: 0 of 105.
 */
const COVERAGE = { G1: [238, 345], G2: [150, 150], G3: [0, 105], S1: [388, 495], S2: [0, 105], ALL: [388, 600] } as const

/**
 * Sensor-hours online of the sensor-hours observed, March 2011 (744 h):
 * G1: a 744 (always online), b 696 (offline 10th–12th by events), c 648 (offline from an event in
 * February to the 5th); G2: d 720 (an offline alarm 00:00–12:00 and an offline status 06:00–24:00
 * on the 20th: 24 h), e 648 (the device says fault from the 28th, under an alarm status);
 * G3: f 720 (no event, offline now, silent since its last reading at 00:00 on the 31st),
 * g 360 of 360 (installed on the 17th), h 0 (its first event, in April, came from offline).
 */
const SENSORS = { G1: [2088, 2232, 3], G2: [1368, 1488, 2], G3: [1080, 1848, 3], S1: [3456, 3720, 5], S2: [1080, 1848, 3], ALL: [4536, 5568, 8] } as const
/** The 31 days before March (29 January – 28 February): c offline from 20 February (216 h), h offline throughout, g not installed. */
const SENSORS_BEFORE = [4248, 5208, 7] as const

/** Open at the end of March: 2 (G1, dispatched), 3 (G2, closed in April), 7 (G3, open since February). */
const OPEN = { G1: 1, G2: 1, G3: 1, S1: 2, S2: 1, ALL: 3 } as const

/** Now: cameras online (G1 2 of 3, G2 0 of 1, G3 1 of 1) and workers on duty or busy (W1, W2 of W1–W4). */
const CAMERAS = { G1: [2, 3], G2: [0, 1], G3: [1, 1], S1: [2, 4], S2: [1, 1], ALL: [3, 5] } as const
const ON_DUTY = { G1: [1, 1], G2: [1, 1], G3: [0, 2], S1: [2, 2], S2: [0, 2], ALL: [2, 4] } as const

interface SensorSpec {
  n: string
  grid: string
  status: string
  device?: string
  lastSeen?: string
  installed?: string
  events: { at: string; status: string; previous: string; deviceStatus?: string }[]
  alarms?: { raised: string; resolved: string | null }[]
}
const SENSOR_SPECS: SensorSpec[] = [
  { n: 'a', grid: G1, status: 'online', events: [] },
  { n: 'b', grid: G1, status: 'online', events: [{ at: t('03-10 00:00'), status: 'offline', previous: 'online' }, { at: t('03-12 00:00'), status: 'online', previous: 'offline' }] },
  { n: 'c', grid: G1, status: 'online', events: [{ at: t('02-20 00:00'), status: 'offline', previous: 'online' }, { at: t('03-05 00:00'), status: 'online', previous: 'offline' }] },
  {
    n: 'd', grid: G2, status: 'alarm',
    events: [
      { at: t('03-20 06:00'), status: 'offline', previous: 'online' },
      { at: t('03-21 00:00'), status: 'online', previous: 'offline' },
      { at: t('03-25 00:00'), status: 'alarm', previous: 'online' },
    ],
    alarms: [{ raised: t('03-20 00:00'), resolved: t('03-20 12:00') }],
  },
  { n: 'e', grid: G2, status: 'alarm', device: 'fault', events: [{ at: t('03-28 00:00'), status: 'alarm', previous: 'online', deviceStatus: 'fault' }] },
  { n: 'f', grid: G3, status: 'offline', lastSeen: t('03-31 00:00'), events: [] },
  { n: 'g', grid: G3, status: 'online', installed: '2011-03-17', events: [] },
  { n: 'h', grid: G3, status: 'online', events: [{ at: t('04-05 00:00'), status: 'online', previous: 'offline' }] },
]

describe.each(backends())('cockpit indicators on $name', ({ databaseUrl }) => {
  let s: TestServer
  /** The city-wide dispatcher (the system admin reads no indicators nor the wall). */
  let dispatcher: string
  let dept = 0

  const cleanup = async () => {
    const db = s.server.db
    await db.query(`DELETE FROM cases WHERE code LIKE $1 || '%'`, [MARK])
    await db.query(`DELETE FROM event_log WHERE type = 'sensor:status' AND payload ->> 'code' LIKE $1 || '%'`, [MARK])
    await db.query(`DELETE FROM sensors WHERE code LIKE $1 || '%'`, [MARK])
    await db.query(`DELETE FROM cameras WHERE code LIKE $1 || '%'`, [MARK])
    await db.query(`DELETE FROM workers WHERE code LIKE $1 || '%'`, [MARK])
    await db.query(`DELETE FROM roads WHERE external_id LIKE $1 || '%'`, [MARK])
    await db.query(`DELETE FROM grids WHERE code LIKE $1 || '%'`, [DISTRICT])
    for (const level of ['community', 'street', 'district']) await db.query(`DELETE FROM admin_units WHERE level = $1 AND code LIKE $2 || '%'`, [level, DISTRICT])
  }

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl, env: { ONEGRID_TZ: 'Asia/Shanghai' } })
    dispatcher = await login(s.url, 'dispatcher')
    const db = s.server.db
    await cleanup()
    await db.query(`INSERT INTO admin_units (code, level, name, parent_code) VALUES ($1, 'district', '测试区', '310000'), ($2, 'street', '测试一街道', $1), ($3, 'street', '测试二街道', $1), ($4, 'community', '测试一社区', $2), ($5, 'community', '测试二社区', $3)`, [DISTRICT, S1, S2, C1, C2])
    for (const g of GRIDS) {
      await db.query(
        `INSERT INTO grids (code, name, community_code, street_code, district_code, area_m2, geom) VALUES ($1, $1, $2, $3, $4, 90000, ${g.box})`,
        [g.code, g.code.slice(0, 12), g.code.slice(0, 9), DISTRICT],
      )
    }
    for (const r of ROADS) await db.query(`INSERT INTO roads (external_id, name, kind, geom) VALUES ($1, $1, $2, ${r.geom})`, [`${MARK}${r.id}`, r.kind])

    // Workers: W1 of G1 (on duty), W2 of G2 (busy), W3 of G3 and on G1's team (off duty), W4 of G3 (on leave).
    const worker = async (n: number, grid: string, duty: string) =>
      (await db.query<{ id: number }>(`INSERT INTO workers (code, name, role, grid_code, duty_status) VALUES ($1, $1, 'grid_worker', $2, $3) RETURNING id`, [`${MARK}W${n}`, grid, duty])).rows[0].id
    const w1 = await worker(1, G1, 'on_duty')
    const w2 = await worker(2, G2, 'busy')
    const w3 = await worker(3, G3, 'off_duty')
    await worker(4, G3, 'leave')
    await db.query(`INSERT INTO grid_team (grid_code, worker_id, role) VALUES ($1, $2, 'grid_worker')`, [G1, w3])
    const fix = (w: number, at: string, x: number, y: number, accuracy: number | null = null) =>
      db.query(`INSERT INTO worker_positions (worker_id, ts, geom, accuracy) VALUES ($1, $2, ${pt(x, y)}, $3)`, [w, at, accuracy])
    // W1 along A, 5 m north of it, a fix a minute; and along B on 2 April (outside March).
    await fix(w1, t('03-10 10:00'), 40, 155)
    await fix(w1, t('03-10 10:01'), 140, 155)
    await fix(w1, t('03-10 10:02'), 260, 155)
    await fix(w1, t('04-02 10:00'), 283, 20)
    await fix(w1, t('04-02 10:01'), 283, 115)
    // W3 at both ends of B, ten minutes apart (not joined), and an inaccurate fix between.
    await fix(w3, t('03-11 09:00'), 280, 20)
    await fix(w3, t('03-11 09:05'), 280, 67, 80)
    await fix(w3, t('03-11 09:10'), 280, 115)
    // W2 along X, in G1 for its first 40 m.
    await fix(w2, t('03-12 15:00'), 260, 50)
    await fix(w2, t('03-12 15:02'), 440, 50)

    for (const sp of SENSOR_SPECS) {
      const grid = GRIDS.findIndex((g) => g.code === sp.grid)
      const { rows } = await db.query<{ id: number }>(
        `INSERT INTO sensors (code, type, name, unit, status, device_status, last_seen, installed_on, grid_code, geom)
         VALUES ($1, 'smoke', $1, '%obs/m', $2, $3, $4, $5, $6, ${pt(grid * 350 + 20, 280)}) RETURNING id`,
        [`${MARK}${sp.n}`, sp.status, sp.device ?? 'online', sp.lastSeen ?? null, sp.installed ?? null, sp.grid],
      )
      const id = rows[0].id
      for (const e of sp.events) {
        const seq = (await db.query<{ last: string }>('UPDATE event_seq SET last = last + 1 RETURNING last')).rows[0].last
        await db.query(`INSERT INTO event_log (seq, at, type, scope, payload) VALUES ($1, $2, 'sensor:status', $3, $4::jsonb)`, [
          seq, e.at, sp.grid, JSON.stringify({ id, code: `${MARK}${sp.n}`, status: e.status, previous: e.previous, ...(e.deviceStatus ? { deviceStatus: e.deviceStatus } : {}), by: 'test', lon: 121, lat: 30.5 }),
        ])
      }
      for (const a of sp.alarms ?? []) {
        await db.query(`INSERT INTO alarms (sensor_id, kind, value, threshold, raised_at, resolved_at, grid_code) VALUES ($1, 'offline', 3600, 900, $2, $3, $4)`, [id, a.raised, a.resolved, sp.grid])
      }
    }

    const camera = (n: number, grid: string, status: string) =>
      db.query(`INSERT INTO cameras (code, name, kind, heading_deg, fov_deg, range_m, status, grid_code, geom) VALUES ($1, $1, 'fixed', 0, 60, 50, $2, $3, ${pt(n * 100, 10)})`, [`${MARK}C${n}`, status, grid])
    await camera(1, G1, 'online')
    await camera(2, G1, 'online')
    await camera(3, G1, 'fault')
    await camera(4, G2, 'offline')
    await camera(8, G3, 'online')

    dept = (await db.query<{ id: number }>('SELECT id FROM departments ORDER BY id LIMIT 1')).rows[0].id
    const cat = (await db.query<{ code: string }>('SELECT code FROM case_categories ORDER BY code LIMIT 1')).rows[0].code
    const kase = (n: number, grid: string, stage: string, reported: string, closed: string | null = null) =>
      db.query(
        `INSERT INTO cases (code, category_code, source, stage, description, grid_code, department_id, geom, reported_at, closed_at)
         VALUES ($1, $2, 'patrol', $3, 'cockpit test case', $4, $5, ${pt(100, 100)}, $6, $7)`,
        [`${MARK}${n}`, cat, stage, grid, dept, reported, closed],
      )
    await kase(1, G1, 'closed', t('03-02 09:00'), t('03-05 09:00'))
    await kase(2, G1, 'dispatched', t('03-10 09:00'))
    await kase(3, G2, 'closed', t('03-15 09:00'), t('04-02 09:00'))
    await kase(4, G3, 'reported', t('04-03 09:00'))
    await kase(5, G3, 'merged', t('03-16 09:00'))
    await kase(6, G2, 'cancelled', t('03-18 09:00'), t('03-20 09:00'))
    await kase(7, G3, 'in_progress', t('02-20 09:00'))
  }, 180_000)

  afterAll(async () => {
    if (s) await cleanup()
    await s?.close()
  })

  const get = async (params: Record<string, string>) => {
    const res = await fetch(`${s.url}/api/stats/indicators?${new URLSearchParams(params)}`, { headers: { cookie: dispatcher } })
    return { status: res.status, body: (await res.json()) as CockpitIndicators & { error?: { message: string } } }
  }
  const MARCH = { from: '2011-03-01', to: '2011-03-31', code: DISTRICT }
  const ratio = (got: { numerator: number; denominator: number; rate: number | null } | null, [n, d]: readonly number[], what: string, tol = 0.001) => {
    expect(got, what).not.toBeNull()
    expect(got!.numerator, `${what} numerator`).toBeCloseTo(n, -Math.log10(tol * 2))
    expect(got!.denominator, `${what} denominator`).toBeCloseTo(d, -Math.log10(tol * 2))
    if (d === 0) expect(got!.rate, `${what} rate`).toBeNull()
    else expect(got!.rate, `${what} rate`).toBeCloseTo(n / d, 3)
  }
  /** Coverage is measured in metres of a projection: within a metre of the hand-computed value. */
  const metres = (got: CockpitRow['patrolCoverage'], [n, d]: readonly number[], what: string) => {
    expect(got, what).not.toBeNull()
    expect(Math.abs(got!.numerator - n), `${what} walked ${got!.numerator} ≈ ${n}`).toBeLessThanOrEqual(1)
    expect(Math.abs(got!.denominator - d), `${what} road ${got!.denominator} ≈ ${d}`).toBeLessThanOrEqual(1)
    if (d) expect(got!.rate!, `${what} rate`).toBeCloseTo(n / d, 2)
  }
  const sensors = (got: CockpitRow['sensorAvailability'], [n, d, count]: readonly number[], what: string) => {
    ratio(got, [n, d], what)
    expect(got!.sensors, `${what} sensors`).toBe(count)
  }
  const row = (b: CockpitIndicators, code: string) => {
    const r = b.rows.find((x) => x.code === code)
    expect(r, code).toBeDefined()
    return r!
  }

  it('per grid: open cases, sensor availability and patrol coverage equal the hand-computed values; no snapshot for a past period', async () => {
    const { status, body } = await get({ ...MARCH, groupBy: 'grid' })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.rows.map((r) => r.code)).toEqual([G1, G2, G3])
    for (const k of ['G1', 'G2', 'G3'] as const) {
      const r = row(body, { G1, G2, G3 }[k])
      expect(r.open, `${k} open`).toBe(OPEN[k])
      sensors(r.sensorAvailability, SENSORS[k], `${k} sensors`)
      metres(r.patrolCoverage, COVERAGE[k], `${k} coverage`)
      // Cameras and duty have no history: a period that is over has none.
      expect(r.cameraAvailability).toBeNull()
      expect(r.workersOnDuty).toBeNull()
    }
    expect(body.total.open).toBe(OPEN.ALL)
    sensors(body.total.sensorAvailability, SENSORS.ALL, 'total sensors')
    metres(body.total.patrolCoverage, COVERAGE.ALL, 'total coverage')
    expect(body.previous).toBeUndefined()
  })

  it('per street with compare=previous: the streets, the total, and the total of the 31 days before', async () => {
    const { status, body } = await get({ ...MARCH, groupBy: 'street', compare: 'previous' })
    expect(status, JSON.stringify(body)).toBe(200)
    for (const k of ['S1', 'S2'] as const) {
      const r = row(body, { S1, S2 }[k])
      expect(r.open, `${k} open`).toBe(OPEN[k])
      sensors(r.sensorAvailability, SENSORS[k], `${k} sensors`)
      metres(r.patrolCoverage, COVERAGE[k], `${k} coverage`)
    }
    // The existing indicators are still there, unchanged in shape.
    expect(body.total.reported).toBe(4)
    expect(body.total.closure).toEqual(expect.objectContaining({ numerator: expect.any(Number), denominator: expect.any(Number) }))
    const prev = body.previous!
    expect(prev.from).toBe('2011-01-29T00:00:00+08:00')
    expect(prev.to).toBe('2011-03-01T00:00:00+08:00')
    expect(prev.total.code).toBe(DISTRICT)
    expect(prev.total.open).toBe(1)
    expect(prev.total.reported).toBe(1)
    sensors(prev.total.sensorAvailability, SENSORS_BEFORE, 'previous sensors')
    metres(prev.total.patrolCoverage, [0, COVERAGE.ALL[1]], 'previous coverage')
    expect(prev.total.cameraAvailability).toBeNull()
    expect(prev.total.workersOnDuty).toBeNull()
  })

  it('a period that holds now: cameras online and workers on duty now, per street and in total', async () => {
    const { status, body } = await get({ code: DISTRICT, groupBy: 'street', compare: 'previous' })
    expect(status, JSON.stringify(body)).toBe(200)
    ratio(body.total.cameraAvailability, CAMERAS.ALL, 'total cameras')
    ratio(body.total.workersOnDuty, ON_DUTY.ALL, 'total on duty')
    for (const k of ['S1', 'S2'] as const) {
      ratio(row(body, { S1, S2 }[k]).cameraAvailability, CAMERAS[k], `${k} cameras`)
      ratio(row(body, { S1, S2 }[k]).workersOnDuty, ON_DUTY[k], `${k} on duty`)
    }
    const grids = await get({ code: S1, groupBy: 'grid' })
    for (const k of ['G1', 'G2'] as const) {
      ratio(row(grids.body, { G1, G2 }[k]).cameraAvailability, CAMERAS[k], `${k} cameras`)
      ratio(row(grids.body, { G1, G2 }[k]).workersOnDuty, ON_DUTY[k], `${k} on duty`)
    }
    // Nothing walked in the last 30 days; every road is still there to walk. Open now: 2, 4 and 7.
    metres(body.total.patrolCoverage, [0, COVERAGE.ALL[1]], 'coverage now')
    expect(body.total.open).toBe(3)
    // The previous 30 days are over: no snapshot there.
    expect(body.previous!.total.cameraAvailability).toBeNull()
  })

  it('a single grid as the area: its own figures in the total', async () => {
    const { status, body } = await get({ ...MARCH, code: G1 })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.total.open).toBe(OPEN.G1)
    sensors(body.total.sensorAvailability, SENSORS.G1, 'G1 sensors')
    metres(body.total.patrolCoverage, COVERAGE.G1, 'G1 coverage')
  })

  it('per department: open cases by department; what belongs to places is null in its rows', async () => {
    const { status, body } = await get({ ...MARCH, groupBy: 'department' })
    expect(status, JSON.stringify(body)).toBe(200)
    const r = row(body, String(dept))
    // Reported in March and open at its end: cases 2 and 3 (7 was reported in February: not in the rows' cohorts, but open).
    expect(r.open).toBe(OPEN.ALL)
    expect(r.sensorAvailability).toBeNull()
    expect(r.patrolCoverage).toBeNull()
    expect(r.cameraAvailability).toBeNull()
    expect(r.workersOnDuty).toBeNull()
    sensors(body.total.sensorAvailability, SENSORS.ALL, 'total sensors')
  })

  it('open now is what the wall counts open now', async () => {
    const { status, body } = await get({ compare: 'previous' })
    expect(status, JSON.stringify(body)).toBe(200)
    const wall = (await (await fetch(`${s.url}/api/wall/summary`, { headers: { cookie: dispatcher } })).json()) as { cases: { open: number } }
    expect(body.total.open).toBe(wall.cases.open)
  })

  it('a road changed is measured at once (the cut roads a process keeps are cut again)', async () => {
    const before = await get({ ...MARCH, code: G3 })
    metres(before.body.total.patrolCoverage, COVERAGE.G3, 'G3 before')
    // D grows from 105 m to 205 m.
    await s.server.db.query(`UPDATE roads SET geom = ${line(750, 150, 955, 150)} WHERE external_id = $1`, [`${MARK}D`])
    const after = await get({ ...MARCH, code: G3 })
    metres(after.body.total.patrolCoverage, [0, 205], 'G3 after')
  })

  it('bad input: 400 naming the parameter', async () => {
    const bad = async (params: Record<string, string>, text: RegExp) => {
      const r = await get(params)
      expect(r.status, JSON.stringify(params)).toBe(400)
      expect(r.body.error?.message).toMatch(text)
    }
    await bad({ compare: 'next' }, /compare/)
    await bad({ compare: '' }, /compare/)
    await bad({ code: DISTRICT, groupBy: 'worker', compare: 'previous', from: '2011-03-31', to: '2011-03-01' }, /before/)
    await bad({ code: S1, groupBy: 'district', compare: 'previous' }, /groupBy/)
  })
})
