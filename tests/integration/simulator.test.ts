/**
 * The simulator (server/simulate) against the real broker (Mosquitto; MQTT_URL) and a real
 * server: the readings it publishes are ingested (the sensors' last_seen advances), and workers
 * walk the real road network, their positions posted through POST /api/positions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../server/log.ts'
import { startSimulator, type Simulator } from '../../server/simulate/simulator.ts'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

const url = process.env.MQTT_URL
if (!url && process.env.CI === 'true') throw new Error('CI=true but MQTT_URL is not set: .ci/run starts Mosquitto and sets it')
if (!url) console.warn('simulator: skipped — set MQTT_URL to a broker (e.g. mqtt://127.0.0.1:1883, Mosquitto)')

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe.skipIf(!url).each(backends())('simulator on $name', ({ databaseUrl }) => {
  let s: TestServer
  let sim: Simulator | undefined
  let sensors: { id: number; code: string }[]
  let workers: number[]
  const startedAt = new Date()

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl, env: { MQTT_URL: url!, ONEGRID_SIMULATE: 'off' } })
    const db = s.server.db
    sensors = (await db.query<{ id: number; code: string }>(`SELECT id, code FROM sensors WHERE NOT synthetic ORDER BY id LIMIT 20`)).rows
    // Workers on duty in a grid with roads.
    workers = (
      await db.query<{ id: number }>(
        `SELECT w.id FROM workers w JOIN grids g ON g.code = w.grid_code
          WHERE w.duty_status IN ('on_duty', 'busy') AND NOT w.synthetic
            AND EXISTS (SELECT 1 FROM roads r WHERE r.kind IN ('minor_road', 'major_road', 'path') AND ST_Intersects(r.geom, g.geom))
          ORDER BY w.id LIMIT 3`,
      )
    ).rows.map((r) => r.id)
    expect(sensors).toHaveLength(20)
    expect(workers).toHaveLength(3)
    // The ingest is subscribed once /api/health says connected.
    const start = Date.now()
    while (!((await (await fetch(`${s.url}/api/health`)).json()) as { mqtt?: { connected: boolean } }).mqtt?.connected) {
      if (Date.now() - start > 20_000) throw new Error('the server did not connect to the broker')
      await sleep(100)
    }
    // The simulator relays positions for other workers (positions.relay): the dispatcher's, as the server's own simulator does.
    const cookie = await login(s.url, 'dispatcher')
    sim = await startSimulator({
      db,
      log: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
      mqtt: { url: url! },
      http: { url: s.url, headers: async () => ({ cookie }) },
      rate: 200,
      pauseMs: 50,
      seed: 7,
      faults: false,
      sensorCodes: sensors.map((x) => x.code),
      workerIds: workers,
      fixEveryS: 2,
      // A report a second or so (the intake's per-address limit of 10 a minute turns the rest away).
      citizens: { url: s.url, perHour: 3600 },
    })
  })
  afterAll(async () => {
    await sim?.stop()
    if (s && sensors && workers) {
      const since = startedAt.toISOString()
      await s.server.db.query('DELETE FROM sensor_readings WHERE sensor_id = ANY($1::int[]) AND ts >= $2', [sensors.map((x) => x.id), since])
      await s.server.db.query('DELETE FROM worker_positions WHERE worker_id = ANY($1::int[]) AND ts >= $2', [workers, since])
      await s.server.db.query(`DELETE FROM cases WHERE source = 'public' AND description LIKE '%（模拟上报）' AND reported_at >= $1`, [since])
    }
    await s?.close()
  })

  it('publishes readings that are ingested: every simulated sensor’s last_seen advances', async () => {
    const ids = sensors.map((x) => x.id)
    const fresh = async () =>
      (await s.server.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM sensors WHERE id = ANY($1::int[]) AND last_seen >= $2`, [ids, startedAt.toISOString()])).rows[0]!.n
    const start = Date.now()
    while ((await fresh()) < ids.length) {
      if (Date.now() - start > 20_000) break
      await sleep(200)
    }
    expect(await fresh()).toBe(ids.length)
    const { rows } = await s.server.db.query<{ n: number; lo: number; hi: number }>(
      `SELECT count(*)::int AS n, min(value) AS lo, max(value) AS hi FROM sensor_readings WHERE sensor_id = ANY($1::int[]) AND ts >= $2`,
      [ids, startedAt.toISOString()],
    )
    console.log(`[simulator] ${sim!.stats.published} readings published, ${rows[0]!.n} stored (values ${rows[0]!.lo}…${rows[0]!.hi})`)
    expect(rows[0]!.n).toBeGreaterThan(ids.length)
    expect(sim!.stats.published).toBeGreaterThan(ids.length)
  })

  it('walks workers along the roads and posts their positions', async () => {
    const track = async () =>
      (
        await s.server.db.query<{ worker_id: number; n: number; moved_m: number; far_m: number }>(
          `SELECT p.worker_id, count(*)::int AS n,
                  ST_Length(ST_MakeLine(p.geom ORDER BY p.ts)::geography) AS moved_m,
                  max((SELECT min(ST_Distance(p.geom::geography, r.geom::geography)) FROM roads r
                        WHERE r.kind IN ('minor_road', 'major_road', 'path') AND r.geom && ST_Expand(p.geom, 0.002))) AS far_m
             FROM worker_positions p WHERE p.worker_id = ANY($1::int[]) AND p.ts >= $2
            GROUP BY p.worker_id ORDER BY p.worker_id`,
          [workers, startedAt.toISOString()],
        )
      ).rows
    const start = Date.now()
    while ((await track()).filter((t) => t.n >= 5).length < workers.length) {
      if (Date.now() - start > 30_000) break
      await sleep(500)
    }
    const rows = await track()
    console.log(`[simulator] ${sim!.stats.positionsPosted} positions posted: ${rows.map((r) => `worker ${r.worker_id}: ${r.n} fixes, ${r.moved_m.toFixed(0)} m, ≤ ${r.far_m.toFixed(1)} m from a road`).join('; ')}`)
    expect(sim!.stats.positionsRoute).toBe('ok')
    expect(rows.map((r) => r.worker_id)).toEqual(workers)
    for (const r of rows) {
      expect(r.n).toBeGreaterThanOrEqual(5)
      // Walking (~1.2 m/s for ≥ 8 s), unless the first leg began with a pause: at least one of them moved.
      expect(r.far_m).toBeLessThan(10)
    }
    expect(Math.max(...rows.map((r) => r.moved_m))).toBeGreaterThan(5)
  })

  it('citizens file reports through the Open311 intake, which become public cases in their grids', async () => {
    const filed = async () =>
      (
        await s.server.db.query<{ code: string; grid_code: string | null; stage: string; category_code: string }>(
          `SELECT code, grid_code, stage, category_code FROM cases
            WHERE source = 'public' AND description LIKE '%（模拟上报）' AND reported_at >= $1 ORDER BY id`,
          [startedAt.toISOString()],
        )
      ).rows
    const start = Date.now()
    while ((await filed()).length < 2) {
      if (Date.now() - start > 30_000) break
      await sleep(500)
    }
    const rows = await filed()
    console.log(`[simulator] ${sim!.stats.citizenReports} citizen reports taken (${sim!.stats.citizenReportErrors} turned away): ${rows.map((r) => r.code).join(', ')}`)
    expect(rows.length).toBeGreaterThanOrEqual(2)
    for (const r of rows) {
      expect(r.grid_code).toMatch(/^\d{15}$/)
      expect(r.stage).toBe('reported')
      expect(r.category_code).toMatch(/^E/)
    }
  })
})
