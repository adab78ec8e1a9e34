/**
 * The seat's feature cards (GET /api/features/:layer/:id, issue 8): every card kind against the
 * database — each expected value queried here with SQL of its own and compared — on PGlite and
 * on PostGIS; the asker's scope (a supervisor of 外滩街道 gets 404 for what lies in another street,
 * as in the tiles); roles; 400/404 for bad layers and ids.
 *
 * Re-runnable on the shared database: the readings and track points it adds are removed after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../server/db/index.ts'
import { zoneClock } from '../../server/time/zone.ts'
import type {
  AdminUnitCard, BuildingCard, CameraCard, CaseCard, CaseLine, GridCard, KeyPlaceCard, PartCard, SensorCard, UnitRef, WorkerCard,
} from '../../server/features/types.ts'
import { cameraStream, DEMO_STREAM_URL } from '../../server/features/service.ts'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

const TZ = 'Asia/Shanghai'
const OPEN = `stage NOT IN ('closed', 'evaluated', 'cancelled', 'merged')`
const iso = (v: Date | string | null) => (v === null ? null : new Date(v).toISOString())
const line = (r: { id: number; code: string; stage: string; category_code: string; description: string; reported_at: Date | string; deadline_at: Date | string | null }): CaseLine => ({
  id: r.id,
  code: r.code,
  stage: r.stage,
  categoryCode: r.category_code,
  description: r.description,
  reportedAt: iso(r.reported_at)!,
  deadlineAt: iso(r.deadline_at),
})

describe.each(backends())('feature cards on $name', ({ databaseUrl }) => {
  let s: TestServer
  let db: Db
  const cookies: Record<string, string> = {}
  /** The supervisor's street (外滩街道). */
  let street: string
  const added = { sensor: 0, worker: 0, from: '' }

  const q = async <T,>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params)).rows
  const get = (path: string, who = 'dispatcher') => fetch(`${s.url}${path}`, { headers: { cookie: cookies[who]! } })
  async function card<T>(layer: string, id: number, who = 'dispatcher'): Promise<T> {
    const res = await get(`/api/features/${layer}/${id}`, who)
    expect(res.status, `${layer}/${id} as ${who}: ${await res.clone().text()}`).toBe(200)
    expect(res.headers.get('cache-control')).toMatch(/no-store/)
    return (await res.json()) as T
  }
  /** The path of a grid code, queried here: its district, street and community by the code's prefixes, and the grid. */
  async function pathOf(grid: string | null, withGrid = true): Promise<UnitRef[]> {
    if (!grid) return []
    const units = await q<UnitRef>(
      `SELECT code, name, level FROM admin_units WHERE code IN ($1, $2, $3) AND level IN ('district', 'street', 'community') ORDER BY length(code)`,
      [grid.slice(0, 6), grid.slice(0, 9), grid.slice(0, 12)],
    )
    const g = withGrid ? await q<UnitRef>(`SELECT code, name, 'grid' AS level FROM grids WHERE code = $1`, [grid]) : []
    return [...units, ...g]
  }
  const countMap = async (sql: string, params: unknown[]) =>
    Object.fromEntries((await q<{ k: string; n: number }>(sql, params)).map((r) => [r.k, Number(r.n)]))

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    db = s.server.db
    for (const who of ['admin', 'dispatcher', 'supervisor', 'auditor', 'worker', 'leader']) cookies[who] = await login(s.url, who)
    street = (await q<{ scope_code: string }>(`SELECT scope_code FROM users WHERE username = 'supervisor'`))[0]!.scope_code
    expect(street).toMatch(/^\d{9}$/)
  })
  afterAll(async () => {
    if (db && added.sensor) {
      await db.query(`DELETE FROM sensor_readings WHERE sensor_id = $1 AND ts >= $2::timestamptz`, [added.sensor, added.from])
      await db.query(`DELETE FROM alarms WHERE sensor_id = $1 AND raised_at >= $2::timestamptz`, [added.sensor, added.from])
    }
    if (db && added.worker) await db.query(`DELETE FROM worker_positions WHERE worker_id = $1 AND ts >= $2::timestamptz`, [added.worker, added.from])
    await s?.close()
  })

  it('grid: code, path, team with phones, party branch, houses, people, parts, sensors, cameras and open cases as the tables say', async () => {
    // The grid of the supervisor's street with the most houses, so every count is tested on data.
    const g = (await q<{ id: number; code: string; name: string; area_m2: number; branch: string | null; secretary: string | null }>(
      `SELECT g.id, g.code, g.name, g.area_m2, pb.name AS branch, pb.secretary
         FROM grids g LEFT JOIN party_branches pb ON pb.id = g.party_branch_id
        WHERE g.code LIKE $1 || '%'
        ORDER BY (SELECT count(*) FROM houses h WHERE h.grid_code = g.code) DESC, g.code LIMIT 1`,
      [street],
    ))[0]!
    const c = await card<GridCard>('grids', g.id)
    expect(c).toMatchObject({ kind: 'grid', layer: 'grids', id: g.id, code: g.code, name: g.name })
    expect(c.areaM2).toBeCloseTo(Number(g.area_m2), 6)
    expect(c.path).toEqual(await pathOf(g.code, false))
    expect(c.path.map((u) => u.level)).toEqual(['district', 'street', 'community'])
    expect(c.partyBranch).toEqual(g.branch === null ? null : { name: g.branch, secretary: g.secretary })
    const inside = await q<{ ok: boolean }>(`SELECT ST_Intersects(geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)) AS ok FROM grids WHERE id = $1`, [g.id, c.lon, c.lat])
    expect(inside[0]!.ok, 'the card point lies in the grid').toBe(true)

    const team = await q<{ worker_id: number; code: string; name: string; role: string; phone: string | null; duty_status: string }>(
      `SELECT gt.worker_id, w.code, w.name, gt.role, w.phone, w.duty_status FROM grid_team gt JOIN workers w ON w.id = gt.worker_id WHERE gt.grid_code = $1`,
      [g.code],
    )
    expect(team.length).toBeGreaterThan(0)
    const key = (m: { workerId: number; role: string }) => `${m.role}:${m.workerId}`
    expect([...c.team].sort((a, b) => key(a).localeCompare(key(b)))).toEqual(
      team.map((t) => ({ workerId: t.worker_id, code: t.code, name: t.name, role: t.role, phone: t.phone, dutyStatus: t.duty_status })).sort((a, b) => key(a).localeCompare(key(b))),
    )
    const rank = { grid_leader: 0, grid_worker: 1, supervisor: 2 }
    const ranks = c.team.map((m) => rank[m.role])
    expect(ranks, 'leader, workers, supervisors').toEqual([...ranks].sort())
    expect(c.team.some((m) => m.phone)).toBe(true)

    const byUse = await countMap(`SELECT use AS k, count(*) AS n FROM houses WHERE grid_code = $1 GROUP BY use`, [g.code])
    const rental = (await q<{ n: number }>(`SELECT count(*)::int AS n FROM houses WHERE grid_code = $1 AND is_rental`, [g.code]))[0]!.n
    expect(c.houses).toEqual({ total: Object.values(byUse).reduce((a, b) => a + b, 0), byUse, rental })
    expect(c.houses.total).toBeGreaterThan(0)
    const byCategory = await countMap(`SELECT category AS k, count(*) AS n FROM people WHERE grid_code = $1 GROUP BY category`, [g.code])
    expect(c.people).toEqual({ total: Object.values(byCategory).reduce((a, b) => a + b, 0), byCategory })
    expect(JSON.stringify(c)).not.toMatch(/id_number|birth_year/)

    const parts = await q<{ class_code: string; n: number }>(`SELECT class_code, count(*)::int AS n FROM parts WHERE grid_code = $1 GROUP BY class_code`, [g.code])
    expect(c.parts.map((p) => [p.classCode, p.count]).sort()).toEqual(parts.map((p) => [p.class_code, p.n]).sort())
    expect(c.parts.map((p) => p.count)).toEqual([...c.parts.map((p) => p.count)].sort((a, b) => b - a))
    for (const p of c.parts) expect(p.name.length).toBeGreaterThan(0)

    const sensors = await countMap(`SELECT status AS k, count(*) AS n FROM sensors WHERE grid_code = $1 GROUP BY status`, [g.code])
    expect(c.sensors).toEqual({ online: sensors.online ?? 0, offline: sensors.offline ?? 0, alarm: sensors.alarm ?? 0 })
    const cameras = await countMap(`SELECT status AS k, count(*) AS n FROM cameras WHERE grid_code = $1 GROUP BY status`, [g.code])
    expect(c.cameras).toEqual({ online: cameras.online ?? 0, offline: cameras.offline ?? 0, fault: cameras.fault ?? 0 })

    const open = await q<Parameters<typeof line>[0]>(`SELECT id, code, stage, category_code, description, reported_at, deadline_at FROM cases WHERE grid_code = $1 AND ${OPEN} ORDER BY reported_at DESC, id DESC`, [g.code])
    expect(c.openCases.total).toBe(open.length)
    expect(c.openCases.items).toEqual(open.slice(0, 20).map(line))

    // The supervisor of this street sees the same card.
    expect(await card<GridCard>('grids', g.id, 'supervisor')).toEqual(c)
  })

  it('grid: open cases are the 20 newest of the grid with the most of them', async () => {
    const g = (await q<{ id: number; code: string; n: number }>(
      `SELECT g.id, g.code, count(*)::int AS n FROM grids g JOIN cases c ON c.grid_code = g.code AND c.${OPEN} GROUP BY g.id, g.code ORDER BY n DESC, g.code LIMIT 1`,
    ))[0]!
    expect(g.n).toBeGreaterThan(20)
    const c = await card<GridCard>('grids', g.id)
    expect(c.openCases.total).toBe(g.n)
    expect(c.openCases.items).toHaveLength(20)
    const newest = await q<Parameters<typeof line>[0]>(
      `SELECT id, code, stage, category_code, description, reported_at, deadline_at FROM cases WHERE grid_code = $1 AND ${OPEN} ORDER BY reported_at DESC, id DESC LIMIT 20`,
      [g.code],
    )
    expect(c.openCases.items).toEqual(newest.map(line))
  })

  it('admin units: districts, streets and communities with their grids and open cases, counted within the asker\'s scope', async () => {
    const units = await q<{ id: number; code: string; name: string; level: string; parent_code: string }>(
      `SELECT id, code, name, level, parent_code FROM admin_units WHERE code IN ($1, $2, (SELECT min(code) FROM admin_units WHERE level = 'community' AND code LIKE $2 || '%'))`,
      [street.slice(0, 6), street],
    )
    const layerOf: Record<string, string> = { district: 'districts', street: 'streets', community: 'communities' }
    expect(units.map((u) => u.level).sort()).toEqual(['community', 'district', 'street'])
    for (const u of units) {
      const c = await card<AdminUnitCard>(layerOf[u.level]!, u.id)
      expect(c).toMatchObject({ kind: 'admin_unit', layer: layerOf[u.level], id: u.id, code: u.code, name: u.name, level: u.level })
      const grids = (await q<{ n: number }>(`SELECT count(*)::int AS n FROM grids WHERE code LIKE $1 || '%'`, [u.code]))[0]!.n
      expect(c.grids).toBe(grids)
      const open = (await q<{ n: number }>(`SELECT count(*)::int AS n FROM cases WHERE grid_code LIKE $1 || '%' AND ${OPEN}`, [u.code]))[0]!.n
      expect(c.openCases.total).toBe(open)
      expect(c.openCases.items).toHaveLength(Math.min(20, open))
      const expectedPath = (await pathOf(u.code.padEnd(15, '0'), false)).filter((p) => p.code.length < u.code.length)
      expect(c.path).toEqual(expectedPath)
      const inside = await q<{ ok: boolean }>(`SELECT ST_Intersects(geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)) AS ok FROM admin_units WHERE id = $1`, [u.id, c.lon, c.lat])
      expect(inside[0]!.ok).toBe(true)
    }
    // Boundaries are base map, seen by everyone; what they count is the asker's: the supervisor's
    // district card counts the grids and cases of their street only.
    const district = units.find((u) => u.level === 'district')!
    const sup = await card<AdminUnitCard>('districts', district.id, 'supervisor')
    expect(sup.grids).toBe((await q<{ n: number }>(`SELECT count(*)::int AS n FROM grids WHERE code LIKE $1 || '%'`, [street]))[0]!.n)
    expect(sup.openCases.total).toBe((await q<{ n: number }>(`SELECT count(*)::int AS n FROM cases WHERE grid_code LIKE $1 || '%' AND ${OPEN}`, [street]))[0]!.n)
    const other = (await q<{ id: number }>(`SELECT id FROM admin_units WHERE level = 'street' AND code <> $1 ORDER BY code LIMIT 1`, [street]))[0]!
    const foreign = await card<AdminUnitCard>('streets', other.id, 'supervisor')
    expect(foreign.grids).toBe(0)
    expect(foreign.openCases).toEqual({ total: 0, items: [] })
    // A street's id on the districts layer is not a district.
    const st = units.find((u) => u.level === 'street')!
    expect((await get(`/api/features/districts/${st.id}`)).status).toBe(404)
  })

  it('building: height, use, houses by use and resident counts only', async () => {
    const b = (await q<{ id: number; name: string | null; address: string | null; use: string | null; height_m: number; height_estimated: boolean; levels: number | null; grid_code: string }>(
      `SELECT b.id, b.name, b.address, b.use, b.height_m, b.height_estimated, b.levels, b.grid_code FROM buildings b
        WHERE b.grid_code LIKE $1 || '%' AND EXISTS (SELECT 1 FROM houses h JOIN people p ON p.house_id = h.id WHERE h.building_id = b.id)
        ORDER BY (SELECT count(*) FROM houses h WHERE h.building_id = b.id) DESC, b.id LIMIT 1`,
      [street],
    ))[0]!
    const c = await card<BuildingCard>('buildings', b.id)
    expect(c).toMatchObject({ kind: 'building', name: b.name, address: b.address, use: b.use, heightEstimated: b.height_estimated, levels: b.levels, gridCode: b.grid_code })
    expect(c.heightM).toBeCloseTo(Number(b.height_m), 6)
    expect(c.path).toEqual(await pathOf(b.grid_code))
    const byUse = await countMap(`SELECT use AS k, count(*) AS n FROM houses WHERE building_id = $1 GROUP BY use`, [b.id])
    expect(c.houses).toEqual({ total: Object.values(byUse).reduce((a, x) => a + x, 0), byUse })
    const byCategory = await countMap(`SELECT p.category AS k, count(*) AS n FROM people p JOIN houses h ON h.id = p.house_id WHERE h.building_id = $1 GROUP BY p.category`, [b.id])
    expect(c.residents).toEqual({ total: Object.values(byCategory).reduce((a, x) => a + x, 0), byCategory })
    expect(c.residents.total).toBeGreaterThan(0)
    // No resident's personal data on the card.
    const someone = (await q<{ name: string; id_number: string }>(`SELECT p.name, p.id_number FROM people p JOIN houses h ON h.id = p.house_id WHERE h.building_id = $1 LIMIT 1`, [b.id]))[0]!
    expect(JSON.stringify(c)).not.toContain(someone.id_number)
    const inside = await q<{ ok: boolean }>(`SELECT ST_Intersects(geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)) AS ok FROM buildings WHERE id = $1`, [b.id, c.lon, c.lat])
    expect(inside[0]!.ok).toBe(true)
  })

  it('part: class, owner and maintainer departments, state and the cases tied to it', async () => {
    // A part case of the street, and the part it is tied to: the nearest part of its class within 50 m.
    const tie = (await q<{ part_id: number }>(
      `SELECT (SELECT p.id FROM parts p WHERE 'P' || p.class_code = c.category_code AND ST_DWithin(p.geom::geography, c.geom::geography, 50)
                ORDER BY ST_Distance(p.geom::geography, c.geom::geography), p.id LIMIT 1) AS part_id
         FROM cases c WHERE c.category_code LIKE 'P%' AND c.grid_code LIKE $1 || '%' ORDER BY c.reported_at DESC LIMIT 1`,
      [street],
    ))[0]!
    expect(tie.part_id).toBeTruthy()
    const p = (await q<{ code: string; name: string; class_code: string; minor_name: string; major_name: string; owner_dept_id: number | null; maintainer_dept_id: number | null; property_unit: string | null; state: string; grid_code: string; class: string }>(
      `SELECT p.code, p.name, p.class_code, pc.minor_name, pc.major_name, p.owner_dept_id, p.maintainer_dept_id, p.property_unit, p.state, p.grid_code
         FROM parts p JOIN part_classes pc ON pc.code = p.class_code WHERE p.id = $1`,
      [tie.part_id],
    ))[0]!
    const c = await card<PartCard>('parts', tie.part_id)
    expect(c).toMatchObject({ kind: 'part', code: p.code, name: p.name, classCode: p.class_code, className: p.minor_name, majorName: p.major_name, propertyUnit: p.property_unit, state: p.state, gridCode: p.grid_code })
    expect(c.path).toEqual(await pathOf(p.grid_code))
    const deptOf = async (id: number | null) => (id === null ? null : (await q<{ id: number; name: string; phone: string | null }>(`SELECT id, name, phone FROM departments WHERE id = $1`, [id]))[0]!)
    expect(c.owner).toEqual(await deptOf(p.owner_dept_id))
    expect(c.maintainer).toEqual(await deptOf(p.maintainer_dept_id))
    expect(c.owner ?? c.maintainer).not.toBeNull()
    // Its cases: every case of its class whose nearest part of that class within 50 m is this one, newest first.
    const cases = await q<Parameters<typeof line>[0]>(
      `SELECT c.id, c.code, c.stage, c.category_code, c.description, c.reported_at, c.deadline_at FROM cases c
        WHERE c.category_code = 'P' || $2::text
          AND (SELECT p.id FROM parts p WHERE p.class_code = $2::text AND ST_DWithin(p.geom::geography, c.geom::geography, 50)
                ORDER BY ST_Distance(p.geom::geography, c.geom::geography), p.id LIMIT 1) = $1
        ORDER BY c.reported_at DESC, c.id DESC LIMIT 20`,
      [tie.part_id, p.class_code],
    )
    expect(cases.length).toBeGreaterThan(0)
    expect(c.cases).toEqual(cases.map(line))
  })

  it('key place: name, kind, risk colour and grid', async () => {
    const k = (await q<{ id: number; name: string; kind: string; risk_color: string; grid_code: string; lon: number; lat: number }>(
      `SELECT id, name, kind, risk_color, grid_code, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM key_places WHERE grid_code LIKE $1 || '%' ORDER BY id LIMIT 1`,
      [street],
    ))[0]!
    const c = await card<KeyPlaceCard>('key_places', k.id)
    expect(c).toEqual({ kind: 'key_place', layer: 'key_places', id: k.id, lon: k.lon, lat: k.lat, path: await pathOf(k.grid_code), name: k.name, placeKind: k.kind, riskColor: k.risk_color, gridCode: k.grid_code })
  })

  it('sensor: status, numeric thresholds, the last 24 h of readings thinned to at most 500 keeping the spike, the last 20 alarms', async () => {
    const sn = (await q<{ id: number; code: string; name: string; type: string; unit: string; status: string; last_value: number | null; last_seen: Date | null; grid_code: string; thresholds: Record<string, unknown> }>(
      `SELECT s.id, s.code, s.name, s.type, s.unit, s.status, s.last_value, s.last_seen, s.grid_code, s.thresholds FROM sensors s
        WHERE s.grid_code LIKE $1 || '%' AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.sensor_id = s.id AND a.resolved_at IS NULL) ORDER BY s.id LIMIT 1`,
      [street],
    ))[0]!
    // 1,440 readings a minute apart over the last 24 h (one a spike, one a dip), and some older ones.
    const now = Date.now()
    added.sensor = sn.id
    added.from = new Date(now - 30 * 3600_000).toISOString()
    await db.query(
      `INSERT INTO sensor_readings (sensor_id, ts, value)
       SELECT $1, to_timestamp(($2::float8 - k * 60000 - 30000) / 1000), CASE WHEN k = 700 THEN 999 WHEN k = 300 THEN -5 ELSE 10 + (k % 7) END
         FROM generate_series(0, 1799) k
       ON CONFLICT DO NOTHING`,
      [sn.id, now],
    )
    const c = await card<SensorCard>('sensors', sn.id)
    expect(c).toMatchObject({ kind: 'sensor', code: sn.code, name: sn.name, type: sn.type, unit: sn.unit, status: sn.status, gridCode: sn.grid_code, lastSeen: iso(sn.last_seen) })
    expect(c.lastValue).toBe(sn.last_value === null ? null : Number(sn.last_value))
    expect(c.path).toEqual(await pathOf(sn.grid_code))
    expect(c.thresholds).toEqual(Object.fromEntries(Object.entries(sn.thresholds).filter(([, v]) => typeof v === 'number')))
    expect(Object.keys(c.thresholds).length).toBeGreaterThan(0)

    const all = await q<{ ts: Date | string; value: number }>(`SELECT ts, value FROM sensor_readings WHERE sensor_id = $1 AND ts >= now() - interval '24 hours' AND ts <= now() ORDER BY ts`, [sn.id])
    expect(all.length).toBeGreaterThan(1000)
    expect(c.readings.length).toBeLessThanOrEqual(500)
    expect(c.readings.length).toBeGreaterThan(400)
    const real = new Map(all.map((r) => [iso(r.ts)!, Number(r.value)]))
    for (const r of c.readings) expect(real.get(r.ts), r.ts).toBe(r.value)
    const ts = c.readings.map((r) => r.ts)
    expect(ts).toEqual([...ts].sort())
    expect(new Set(ts).size).toBe(ts.length)
    expect(Math.max(...c.readings.map((r) => r.value))).toBe(999)
    expect(Math.min(...c.readings.map((r) => r.value))).toBe(-5)
    // Evenly thinned: no gap between kept readings longer than a few buckets' worth.
    const gaps = ts.slice(1).map((t, i) => Date.parse(t) - Date.parse(ts[i]!))
    expect(Math.max(...gaps)).toBeLessThan(15 * 60_000)

    // 22 alarms of the last hours: the newest open, the next acknowledged, one tied to a case, the rest resolved.
    const someCase = (await q<{ id: number }>(`SELECT min(id) AS id FROM cases WHERE grid_code = $1`, [sn.grid_code]))[0]!.id
    await db.query(
      `INSERT INTO alarms (sensor_id, kind, value, threshold, raised_at, acked_at, acked_by, resolved_at, grid_code, case_id)
       SELECT $1, CASE WHEN k = 2 THEN 'rate' ELSE 'threshold' END, 100 + k, 100, to_timestamp(($2::float8 - k * 1800000) / 1000),
              CASE WHEN k >= 2 THEN to_timestamp(($2::float8 - k * 1800000 + 60000) / 1000) END, CASE WHEN k >= 2 THEN 'admin' END,
              CASE WHEN k >= 3 THEN to_timestamp(($2::float8 - k * 1800000 + 600000) / 1000) END, $3, CASE WHEN k = 4 THEN $4::int END
         FROM generate_series(1, 22) k`,
      [sn.id, now, sn.grid_code, someCase],
    )
    const alarms = await q<{ id: number; kind: string; raised_at: Date; value: number; case_id: number | null; acked_at: Date | null; resolved_at: Date | null }>(
      `SELECT id, kind, raised_at, value, case_id, acked_at, resolved_at FROM alarms WHERE sensor_id = $1 ORDER BY raised_at DESC, id DESC LIMIT 20`,
      [sn.id],
    )
    expect(alarms.length).toBe(20)
    const { alarms: shown } = await card<SensorCard>('sensors', sn.id)
    expect(shown.slice(0, 2).map((a) => a.status)).toEqual(['open', 'acked'])
    expect(shown.some((a) => a.caseId === someCase)).toBe(true)
    expect(shown).toEqual(
      alarms.map((a) => ({ id: a.id, kind: a.kind, status: a.resolved_at ? 'resolved' : a.acked_at ? 'acked' : 'open', raisedAt: iso(a.raised_at), value: Number(a.value), caseId: a.case_id })),
    )
  })

  it('camera: heading, field of view, status, the demo stream (simulated) for a placeholder address, PTZ only for an online PTZ camera', async () => {
    const cams = await q<{ id: number; code: string; name: string; kind: string; heading_deg: number; fov_deg: number; range_m: number; status: string; stream_url: string | null; grid_code: string; lon: number; lat: number }>(
      `SELECT DISTINCT ON (kind, status = 'online') id, code, name, kind, heading_deg, fov_deg, range_m, status, stream_url, grid_code, ST_X(geom) AS lon, ST_Y(geom) AS lat
         FROM cameras WHERE grid_code LIKE $1 || '%' ORDER BY kind, status = 'online', id`,
      [street],
    )
    expect(cams.some((x) => x.kind === 'ptz' && x.status === 'online')).toBe(true)
    expect(cams.some((x) => x.kind === 'fixed')).toBe(true)
    for (const x of cams) {
      const c = await card<CameraCard>('cameras', x.id)
      expect(x.stream_url).toMatch(/^rtsp:\/\/demo\.invalid\//)
      expect(c).toEqual({
        kind: 'camera', layer: 'cameras', id: x.id, lon: x.lon, lat: x.lat, path: await pathOf(x.grid_code), code: x.code, name: x.name, cameraKind: x.kind,
        headingDeg: Number(x.heading_deg), fovDeg: Number(x.fov_deg), rangeM: Number(x.range_m), status: x.status,
        streamUrl: DEMO_STREAM_URL, simulated: true, ptz: x.kind === 'ptz' && x.status === 'online', gridCode: x.grid_code,
      })
    }
    // A camera's own browser-playable stream is played as it is.
    expect(cameraStream('https://video.example.gov.cn/live/cam7.m3u8')).toEqual({ streamUrl: 'https://video.example.gov.cn/live/cam7.m3u8', simulated: false })
    expect(cameraStream('/streams/cam7/index.m3u8')).toEqual({ streamUrl: '/streams/cam7/index.m3u8', simulated: false })
    for (const none of [null, '', 'rtsp://10.0.0.7/ch1', '//evil.example/x.m3u8', 'http://cam.invalid/x.m3u8', 'not a url']) {
      expect(cameraStream(none), String(none)).toEqual({ streamUrl: DEMO_STREAM_URL, simulated: true })
    }
  })

  it('worker: department, open tasks and today\'s track as GET /api/workers/:id/patrol counts it', async () => {
    const w = (await q<{ id: number; code: string; name: string; role: string; phone: string | null; duty_status: string; last_seen: Date | null; grid_code: string; department_id: number | null; lon: number; lat: number }>(
      `SELECT w.id, w.code, w.name, w.role, w.phone, w.duty_status, w.last_seen, w.grid_code, w.department_id, ST_X(w.geom) AS lon, ST_Y(w.geom) AS lat FROM workers w
        WHERE w.grid_code LIKE $1 || '%' AND w.geom IS NOT NULL
        ORDER BY (SELECT count(*) FROM cases c WHERE c.worker_id = w.id AND c.${OPEN}) DESC, w.id LIMIT 1`,
      [street],
    ))[0]!
    // A walk today: 30 fixes 10 s apart going east from the worker's spot (about 550 m).
    const clock = zoneClock(TZ)
    const { from, to } = clock.dayBounds(clock.ymd(Date.now(), '-'))
    const start = Math.max(Date.now() - 6 * 60_000, from)
    added.worker = w.id
    added.from ||= new Date(start - 3600_000).toISOString()
    await db.query(
      `INSERT INTO worker_positions (worker_id, ts, geom)
       SELECT $1, to_timestamp(($2::float8 + k * 10000) / 1000), ST_SetSRID(ST_MakePoint($3::float8 + k * 0.0002, $4::float8), 4326)
         FROM generate_series(0, 29) k ON CONFLICT DO NOTHING`,
      [w.id, start, w.lon, w.lat],
    )
    const c = await card<WorkerCard>('workers', w.id)
    expect(c).toMatchObject({ kind: 'worker', code: w.code, name: w.name, role: w.role, phone: w.phone, dutyStatus: w.duty_status, lastSeen: iso(w.last_seen), gridCode: w.grid_code, lon: w.lon, lat: w.lat })
    expect(c.path).toEqual(await pathOf(w.grid_code))
    const d = w.department_id === null ? null : (await q<{ id: number; name: string; phone: string | null }>(`SELECT id, name, phone FROM departments WHERE id = $1`, [w.department_id]))[0]!
    expect(c.department).toEqual(d)
    const tasks = await q<Parameters<typeof line>[0]>(
      `SELECT id, code, stage, category_code, description, reported_at, deadline_at FROM cases WHERE worker_id = $1 AND ${OPEN} ORDER BY reported_at DESC, id DESC LIMIT 20`,
      [w.id],
    )
    expect(c.tasks).toEqual(tasks.map(line))
    const points = (await q<{ n: number }>(`SELECT count(*)::int AS n FROM worker_positions WHERE worker_id = $1 AND ts >= $2 AND ts < $3`, [w.id, new Date(from).toISOString(), new Date(to).toISOString()]))[0]!.n
    expect(points).toBeGreaterThanOrEqual(30)
    const patrol = await (await get(`/api/workers/${w.id}/patrol`)).json()
    expect(c.today).toEqual({ points, distanceM: patrol.distanceM, patrolS: patrol.patrolS })
    expect(c.today.distanceM).toBeGreaterThan(500)
  })

  it('case: the case as GET /api/cases/:id answers it, with its path', async () => {
    const k = (await q<{ id: number; grid_code: string }>(`SELECT id, grid_code FROM cases WHERE grid_code LIKE $1 || '%' AND ${OPEN} ORDER BY id LIMIT 1`, [street]))[0]!
    const c = await card<CaseCard>('cases', k.id, 'dispatcher')
    const api = await (await get(`/api/cases/${k.id}`, 'dispatcher')).json()
    expect(c.case).toEqual(api)
    expect(c).toMatchObject({ kind: 'case', layer: 'cases', id: k.id, lon: api.lon, lat: api.lat })
    expect(c.path).toEqual(await pathOf(k.grid_code))
  })

  it('answers 404 for a feature outside the asker\'s scope (a supervisor of another street), as the tiles leave it out', async () => {
    const pick = async (table: string, scopeCol: string) => {
      const rows = await q<{ inside: number; outside: number }>(
        `SELECT (SELECT min(id) FROM ${table} WHERE ${scopeCol} LIKE $1 || '%') AS inside,
                (SELECT min(id) FROM ${table} WHERE ${scopeCol} NOT LIKE $1 || '%') AS outside`,
        [street],
      )
      return rows[0]!
    }
    const layers: [string, string, string][] = [
      ['grids', 'grids', 'code'], ['buildings', 'buildings', 'grid_code'], ['parts', 'parts', 'grid_code'], ['key_places', 'key_places', 'grid_code'],
      ['sensors', 'sensors', 'grid_code'], ['cameras', 'cameras', 'grid_code'], ['workers', 'workers', 'grid_code'], ['cases', 'cases', 'grid_code'],
    ]
    for (const [layer, table, col] of layers) {
      const { inside, outside } = await pick(table, col)
      expect(inside && outside, layer).toBeTruthy()
      const ok = await get(`/api/features/${layer}/${inside}`, 'supervisor')
      expect(ok.status, `${layer} ${inside} inside the scope: ${await ok.clone().text()}`).toBe(200)
      const res = await get(`/api/features/${layer}/${outside}`, 'supervisor')
      expect(res.status, `${layer} ${outside} outside the scope`).toBe(404)
      expect((await res.json()).error.message).toMatch(/in your scope/)
      // Unrestricted askers see it.
      expect((await get(`/api/features/${layer}/${outside}`, 'dispatcher')).status, layer).toBe(200)
    }
    // Outside every grid: unrestricted askers only (grid_code NULL), as in the tiles.
    const loose = (await q<{ id: number }>(`SELECT min(id) AS id FROM buildings WHERE grid_code IS NULL`))[0]!.id
    if (loose) {
      expect((await get(`/api/features/buildings/${loose}`, 'supervisor')).status).toBe(404)
      expect((await get(`/api/features/buildings/${loose}`, 'dispatcher')).status).toBe(200)
    }
  })

  it('answers 400 for a bad id, 404 for an unknown layer, a layer without cards or an unknown feature, 403 for a role the layer is not shown to', async () => {
    for (const id of ['0', '-1', '1.5', 'abc', '1e3', '99999999999']) {
      const res = await get(`/api/features/sensors/${id}`)
      expect(res.status, id).toBe(400)
      expect((await res.json()).error.message).toMatch(/id/)
    }
    const unknown = await get('/api/features/nope/1')
    expect(unknown.status).toBe(404)
    expect((await unknown.json()).error.message).toMatch(/"nope"/)
    for (const layer of ['roads', 'water', 'labels', 'case_heat', 'grid_labels']) {
      const res = await get(`/api/features/${layer}/1`)
      expect(res.status, layer).toBe(404)
      expect((await res.json()).error.message).toContain(`"${layer}"`)
    }
    expect((await get('/api/features/sensors/2147483647')).status).toBe(404)
    expect((await get('/api/features/grids/1', 'auditor')).status).toBe(403)
    expect((await get('/api/features/sensors/1', 'auditor')).status).toBe(403)
    // The system admin opens the objects it maintains, not the cards that list cases or workers.
    const adminGrid = await get('/api/features/grids/1', 'admin')
    expect(adminGrid.status).toBe(403)
    expect((await adminGrid.json()).error.message).toBe('the cards of layer "grids" are not shown to admin users (permissions map.base and cases.read)')
    expect((await get('/api/features/cases/1', 'admin')).status).toBe(403)
    expect((await get('/api/features/workers/1', 'admin')).status).toBe(403)
    const adminSensor = (await q<{ id: number }>(`SELECT min(id) AS id FROM sensors`))[0]!.id
    expect((await get(`/api/features/sensors/${adminSensor}`, 'admin')).status).toBe(200)
    // Grid workers hold map.base and cases.read: the cards of their own street's grids (not another street's) and objects.
    const mine = (await q<{ inside: number; outside: number }>(
      `SELECT (SELECT min(g.id) FROM grids g WHERE g.code LIKE u.scope_code || '%') AS inside,
              (SELECT min(g.id) FROM grids g WHERE g.code NOT LIKE u.scope_code || '%') AS outside
         FROM users u WHERE u.username = 'worker'`,
    ))[0]!
    expect((await get(`/api/features/grids/${mine.inside}`, 'worker')).status).toBe(200)
    expect((await get(`/api/features/grids/${mine.outside}`, 'worker')).status).toBe(404)
    const sensor = (await q<{ id: number }>(`SELECT min(id) AS id FROM sensors WHERE grid_code LIKE $1 || '%'`, [street]))[0]!.id
    expect((await get(`/api/features/sensors/${sensor}`, 'worker')).status).toBe(200)
    expect((await fetch(`${s.url}/api/features/sensors/${sensor}`)).status).toBe(401)
  })
})
