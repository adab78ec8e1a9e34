/**
 * The wall's data (issue 7): GET /api/wall/summary gives the numbers that independent SQL counts
 * and the indicators API give for the same scope and period; a street supervisor sees only their
 * street; roles that do not watch the wall are refused. GET /api/wall/live gives only what lies in
 * the box and the scope; a bad box is a 400 naming the problem.
 * Fixtures (cases TWALL-…, two alarms, events, one worker's position) are made in the supervisor's
 * street 外滩街道 and in another street of the district, and removed afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { appendEvent } from '../../server/realtime/event-log.ts'
import { zoneClock } from '../../server/time/zone.ts'
import type { Indicators } from '../../server/stats/indicators.ts'
import type { WallLive, WallSummary } from '../../server/wall/types.ts'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

const TZ = 'Asia/Shanghai'
const BUND = '310101013' // 外滩街道, the demo supervisor's scope
const DISTRICT = '310101'
const MARK = 'TWALL-'
const TICKER = ['alarm:raised', 'alarm:acked', 'alarm:resolved', 'case:created', 'case:changed', 'worker:out_of_grid', 'worker:back_in_grid']
const HOUR = 3_600_000
const DAY = 24 * HOUR

type Json = Record<string, unknown>

describe.each(backends())('the wall’s data on $name', ({ databaseUrl }) => {
  let s: TestServer
  const cookies: Record<string, string> = {}
  const grid = { bund: '', other: '' }
  const at = { bund: { lon: 0, lat: 0 }, other: { lon: 0, lat: 0 } }
  const ids: Record<string, number> = {}
  const alarmIds: number[] = []
  const eventSeqs: number[] = []
  let alarmSensor = { id: 0, lon: 0, lat: 0 }
  let worker: { id: number; duty_status: string; geom: string | null; last_seen: Date | null } | undefined

  const q = async <T = Json>(text: string, params: unknown[] = []) => (await s.server.db.query<T & Json>(text, params)).rows as T[]
  const removeCases = () => q(`DELETE FROM cases WHERE code LIKE $1 || '%'`, [MARK])

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl, env: { ONEGRID_TZ: TZ } })
    for (const u of ['admin', 'supervisor', 'dispatcher', 'wall', 'worker', 'auditor']) cookies[u] = await login(s.url, u)
    await removeCases()
    const g = await q<{ code: string; lon: number; lat: number }>(
      `SELECT code, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat FROM grids
        WHERE code LIKE $1 || '%' AND NOT synthetic ORDER BY (code LIKE $2 || '%') DESC, code LIMIT 1`,
      [BUND, BUND],
    )
    const o = await q<{ code: string; lon: number; lat: number }>(
      `SELECT code, ST_X(ST_PointOnSurface(geom)) AS lon, ST_Y(ST_PointOnSurface(geom)) AS lat FROM grids
        WHERE code LIKE $1 || '%' AND code NOT LIKE $2 || '%' AND NOT synthetic ORDER BY code LIMIT 1`,
      [DISTRICT, BUND],
    )
    grid.bund = g[0]!.code
    grid.other = o[0]!.code
    at.bund = { lon: g[0]!.lon, lat: g[0]!.lat }
    at.other = { lon: o[0]!.lon, lat: o[0]!.lat }
    const cat = (await q<{ code: string }>(`SELECT code FROM case_categories WHERE kind = 'event' ORDER BY code LIMIT 1`))[0]!.code

    // Today (local): half-way between local midnight and now, so it is today whenever the test runs.
    const now = Date.now()
    const midnight = zoneClock(TZ).day(now)
    const today = new Date(midnight + (now - midnight) / 2).toISOString()
    const ago = (ms: number) => new Date(now - ms).toISOString()
    const add = async (n: string, where: 'bund' | 'other', cols: Record<string, string | null>) => {
      const names = Object.keys(cols)
      const rows = await q<{ id: number }>(
        `INSERT INTO cases (code, category_code, description, grid_code, geom, ${names.join(', ')})
         VALUES ($1, $2, 'wall test case', $3, ST_SetSRID(ST_MakePoint($4, $5), 4326), ${names.map((_, i) => `$${i + 6}`).join(', ')})
         RETURNING id`,
        [`${MARK}${n}`, cat, grid[where], at[where].lon, at[where].lat, ...names.map((k) => cols[k])],
      )
      ids[n] = rows[0]!.id
    }
    // Reported today: new (critical), dispatched and past its deadline, a merged duplicate, one in the other street.
    await add('new', 'bund', { stage: 'reported', source: 'public', urgency: 'critical', reported_at: today, stage_started_at: today })
    await add('late', 'bund', {
      stage: 'dispatched', source: 'patrol', urgency: 'normal', reported_at: today, registered_at: today, dispatched_at: today,
      stage_started_at: today, stage_deadline_at: ago(HOUR), deadline_at: ago(HOUR),
    })
    await add('dup', 'bund', { stage: 'merged', source: 'hotline', urgency: 'normal', reported_at: today })
    await add('elsewhere', 'other', { stage: 'in_progress', source: 'hotline', urgency: 'urgent', reported_at: today, registered_at: today, dispatched_at: today, in_progress_at: today })
    // For the rates: closed on time two days ago; open and overdue from three days ago; closed late ten days ago.
    await add('closed', 'bund', {
      stage: 'closed', source: 'patrol', urgency: 'normal', reported_at: ago(2 * DAY), registered_at: ago(2 * DAY), dispatched_at: ago(2 * DAY),
      handled_at: ago(2 * DAY - HOUR), checked_at: ago(2 * DAY - 2 * HOUR), closed_at: ago(2 * DAY - 3 * HOUR), deadline_at: ago(DAY),
    })
    await add('open3', 'other', {
      stage: 'in_progress', source: 'patrol', urgency: 'normal', reported_at: ago(3 * DAY), registered_at: ago(3 * DAY), dispatched_at: ago(3 * DAY),
      in_progress_at: ago(3 * DAY), deadline_at: ago(2 * DAY),
    })
    await add('closed10', 'bund', {
      stage: 'closed', source: 'video', urgency: 'normal', reported_at: ago(10 * DAY), registered_at: ago(10 * DAY), dispatched_at: ago(10 * DAY),
      handled_at: ago(8 * DAY), checked_at: ago(8 * DAY), closed_at: ago(8 * DAY), deadline_at: ago(9 * DAY),
    })

    // Two open alarms: one unacknowledged in the street, one acknowledged outside it.
    const sensorIn = (await q<{ id: number; lon: number; lat: number }>(
      `SELECT id, ST_X(geom) AS lon, ST_Y(geom) AS lat FROM sensors s WHERE grid_code LIKE $1 || '%'
          AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.sensor_id = s.id AND a.resolved_at IS NULL) ORDER BY id LIMIT 1`,
      [BUND],
    ))[0]!
    const sensorOut = (await q<{ id: number; grid_code: string }>(
      `SELECT id, grid_code FROM sensors s WHERE grid_code NOT LIKE $1 || '%'
          AND NOT EXISTS (SELECT 1 FROM alarms a WHERE a.sensor_id = s.id AND a.resolved_at IS NULL) ORDER BY id LIMIT 1`,
      [BUND],
    ))[0]!
    alarmSensor = sensorIn
    for (const [sensor, acked] of [[sensorIn.id, false], [sensorOut.id, true]] as const) {
      const rows = await q<{ id: number }>(
        `INSERT INTO alarms (sensor_id, kind, value, threshold, raised_at, grid_code, acked_at, acked_by)
         SELECT id, 'threshold', 99, 50, now() - interval '5 minutes', grid_code, CASE WHEN $2 THEN now() END, CASE WHEN $2 THEN 'admin' END
           FROM sensors WHERE id = $1 RETURNING id`,
        [sensor, acked],
      )
      alarmIds.push(rows[0]!.id)
    }

    // A worker of the street on duty, standing at the new case.
    worker = (await q<{ id: number; duty_status: string; geom: string | null; last_seen: Date | null }>(
      `SELECT id, duty_status, ST_AsEWKT(geom) AS geom, last_seen FROM workers WHERE grid_code LIKE $1 || '%' ORDER BY id LIMIT 1`,
      [BUND],
    ))[0]!
    await q(`UPDATE workers SET duty_status = 'on_duty', geom = ST_SetSRID(ST_MakePoint($2, $3), 4326), last_seen = now() WHERE id = $1`, [worker.id, at.bund.lon, at.bund.lat])

    // Ticker events: in the street, in the other street, outside every grid, then a newer event of a type the ticker does not show.
    for (const [type, scope] of [['alarm:raised', grid.bund], ['case:created', grid.other], ['alarm:resolved', null], ['sensor:status', grid.bund]] as const) {
      eventSeqs.push((await appendEvent(s.server.db, { type, scope, payload: { test: MARK } })).seq)
    }
  }, 180_000)

  afterAll(async () => {
    if (s) {
      await removeCases()
      if (alarmIds.length) await q('DELETE FROM alarms WHERE id = ANY($1::int[])', [alarmIds])
      if (eventSeqs.length) await q('DELETE FROM event_log WHERE seq = ANY($1::bigint[])', [eventSeqs])
      if (worker) await q('UPDATE workers SET duty_status = $2, geom = ST_GeomFromEWKT($3), last_seen = $4 WHERE id = $1', [worker.id, worker.duty_status, worker.geom, worker.last_seen])
    }
    await s?.close()
  })

  const get = async <T>(who: string, path: string) => {
    const res = await fetch(`${s.url}${path}`, { headers: cookies[who] ? { cookie: cookies[who] } : {} })
    return { status: res.status, headers: res.headers, body: (await res.json()) as T & { error?: { message: string } } }
  }

  /** The summary's numbers computed another way: plain per-row SQL, aggregated here. */
  async function expected(prefix: string | null) {
    const inScope = (code: string | null) => prefix === null || (code ?? '').startsWith(prefix)
    const clock = zoneClock(TZ)
    const { from, to } = clock.dayBounds(clock.ymd(Date.now(), '-'))
    const today = (await q<{ stage: string; source: string; category_code: string; grid_code: string | null }>(
      `SELECT stage, source, category_code, grid_code FROM cases WHERE reported_at >= $1 AND reported_at < $2 AND stage <> 'merged'`,
      [new Date(from).toISOString(), new Date(to).toISOString()],
    )).filter((c) => inScope(c.grid_code))
    const tally = (keys: string[]) => keys.reduce<Record<string, number>>((m, k) => ((m[k] = (m[k] ?? 0) + 1), m), {})
    const open = (await q<{ grid_code: string | null; sla_state: string }>('SELECT grid_code, sla_state FROM open_case_map')).filter((c) => inScope(c.grid_code))
    const perGrid = new Map<string, { open: number; overdue: number }>()
    for (const c of open) {
      if (!c.grid_code) continue
      const g = perGrid.get(c.grid_code) ?? { open: 0, overdue: 0 }
      g.open++
      if (c.sla_state === 'overdue') g.overdue++
      perGrid.set(c.grid_code, g)
    }
    const top = [...perGrid].sort((a, b) => b[1].open - a[1].open || (a[0] < b[0] ? -1 : 1)).slice(0, 5)
    const sensors = (await q<{ type: string; status: string; device_status: string; grid_code: string | null; kinds: string[] | null }>(
      `SELECT type, status, device_status, grid_code, (SELECT array_agg(kind) FROM alarms a WHERE a.sensor_id = s.id AND a.resolved_at IS NULL) AS kinds FROM sensors s`,
    )).filter((x) => inScope(x.grid_code))
    const byType: Record<string, { online: number; offline: number; alarm: number }> = {}
    for (const x of sensors) {
      const t = (byType[x.type] ??= { online: 0, offline: 0, alarm: 0 })
      const offline = x.status === 'offline' || x.device_status !== 'online' || (x.kinds ?? []).includes('offline')
      if (offline) t.offline++
      else t.online++
      if (x.status === 'alarm' || (x.kinds ?? []).length > 0) t.alarm++
    }
    const workers = (await q<{ duty_status: string; out_of_grid: boolean; grid_code: string | null }>('SELECT duty_status, out_of_grid, grid_code FROM worker_map')).filter((w) => inScope(w.grid_code))
    const alarms = (await q<{ acked: boolean; grid_code: string | null }>('SELECT acked_at IS NOT NULL AS acked, grid_code FROM alarms WHERE resolved_at IS NULL')).filter((a) => inScope(a.grid_code))
    const events = (await q<{ seq: string; scope: string | null }>('SELECT seq, scope FROM event_log WHERE type = ANY($1::text[]) ORDER BY seq DESC', [TICKER]))
      .filter((e) => (prefix === null ? true : e.scope !== null && e.scope.startsWith(prefix)))
      .slice(0, 30)
    return {
      today: { reported: today.length, stage: tally(today.map((c) => c.stage)), source: tally(today.map((c) => c.source)), category: tally(today.map((c) => c.category_code)) },
      open: open.length,
      overdue: open.filter((c) => c.sla_state === 'overdue').length,
      topGrids: top.map(([code, g]) => ({ code, ...g })),
      byType,
      workers: {
        total: workers.length,
        onDuty: workers.filter((w) => w.duty_status === 'on_duty').length,
        busy: workers.filter((w) => w.duty_status === 'busy').length,
        offDuty: workers.filter((w) => w.duty_status === 'off_duty' || w.duty_status === 'leave').length,
        outOfGrid: workers.filter((w) => w.out_of_grid).length,
      },
      alarms: { open: alarms.length, unacked: alarms.filter((a) => !a.acked).length },
      recent: events.map((e) => Number(e.seq)),
    }
  }

  /** Compares a summary with the independent counts and with the indicators API for the same periods. */
  async function checkSummary(who: string, prefix: string | null): Promise<WallSummary> {
    const { status, body, headers } = await get<WallSummary>(who, '/api/wall/summary')
    expect(status, JSON.stringify(body)).toBe(200)
    expect(headers.get('cache-control')).toBe('private, no-store')
    const e = await expected(prefix)
    const nonZero = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([, n]) => n > 0))
    const counts = (list: { key: string; count: number }[]) => nonZero(Object.fromEntries(list.map((c) => [c.key, c.count])))
    expect(body.day).toBe(zoneClock(TZ).ymd(Date.now(), '-'))
    expect(body.cases.today.reported, `${who} reported today`).toBe(e.today.reported)
    expect(counts(body.cases.today.byStage), `${who} by stage`).toEqual(e.today.stage)
    expect(counts(body.cases.today.bySource), `${who} by source`).toEqual(e.today.source)
    expect(counts(body.cases.today.byCategory), `${who} by category`).toEqual(e.today.category)
    // Every stage but merged and every source is listed (0 when none), so panels keep their bars.
    expect(body.cases.today.byStage.map((c) => c.key)).not.toContain('merged')
    expect(body.cases.today.byStage).toHaveLength(11)
    expect(body.cases.today.bySource).toHaveLength(6)
    expect({ open: body.cases.open, overdue: body.cases.overdue }, `${who} open`).toEqual({ open: e.open, overdue: e.overdue })
    expect(body.topGrids.map(({ code, open, overdue }) => ({ code, open, overdue })), `${who} top grids`).toEqual(e.topGrids)
    for (const g of body.topGrids) expect(g.name, `name of grid ${g.code}`).toEqual(expect.any(String))
    expect(Object.fromEntries(body.sensors.byType.map(({ type, ...n }) => [type, n])), `${who} sensors`).toEqual(e.byType)
    const sum = (k: 'online' | 'offline' | 'alarm') => Object.values(e.byType).reduce((n, t) => n + t[k], 0)
    expect(body.sensors.total).toEqual({ online: sum('online'), offline: sum('offline'), alarm: sum('alarm') })
    expect(body.workers, `${who} workers`).toEqual(e.workers)
    expect(body.alarms, `${who} alarms`).toEqual(e.alarms)
    expect(body.recent.map((x) => x.seq), `${who} ticker`).toEqual(e.recent)
    for (const x of body.recent) expect(TICKER).toContain(x.type)
    // The rates are the indicators API's for the same local dates (today included).
    const clock = zoneClock(TZ)
    for (const [k, days] of [['days7', 7], ['days30', 30]] as const) {
      const r = body.rates[k]
      expect({ from: r.from, to: r.to }).toEqual({ from: clock.ymd(clock.day(Date.now(), -(days - 1)), '-'), to: body.day })
      const ind = await get<Indicators>(who, `/api/stats/indicators?from=${r.from}&to=${r.to}`)
      expect(ind.status).toBe(200)
      expect({ closure: r.closure, onTimeClosure: r.onTimeClosure }, `${who} ${k}`).toEqual({ closure: ind.body.total.closure, onTimeClosure: ind.body.total.onTimeClosure })
    }
    return body
  }

  it('gives the numbers independent counts and the indicators API give, for everything (the city-wide dispatcher) and for the wall kiosk', async () => {
    const city = await checkSummary('dispatcher', null)
    // The fixtures are in it: a critical new case and an overdue dispatched one in the street, one in the other street.
    expect(city.cases.today.byStage.find((c) => c.key === 'reported')!.count).toBeGreaterThanOrEqual(1)
    expect(city.cases.today.byStage.find((c) => c.key === 'dispatched')!.count).toBeGreaterThanOrEqual(1)
    expect(city.cases.overdue).toBeGreaterThanOrEqual(2)
    expect(city.alarms.open).toBeGreaterThanOrEqual(2)
    expect(city.workers.onDuty).toBeGreaterThanOrEqual(1)
    // The last week holds the case closed two days ago and the open one from three days ago.
    expect(city.rates.days7.closure.denominator).toBeGreaterThanOrEqual(2)
    expect(city.rates.days7.closure.numerator).toBeGreaterThanOrEqual(1)
    expect(city.rates.days30.closure.denominator).toBeGreaterThan(city.rates.days7.closure.denominator)
    // Newest first; the sensor:status event (newest of all) is not a ticker event; the one outside every grid is.
    expect(city.recent.slice(0, 3).map((x) => x.seq)).toEqual([eventSeqs[2], eventSeqs[1], eventSeqs[0]])
    const wall = await checkSummary('wall', null)
    expect(wall.cases).toEqual(city.cases)
  })

  it('a street supervisor gets only their street’s numbers', async () => {
    const sup = await checkSummary('supervisor', BUND)
    const city = (await get<WallSummary>('dispatcher', '/api/wall/summary')).body
    expect(sup.cases.today.reported).toBeLessThan(city.cases.today.reported)
    expect(sup.alarms).toEqual({ open: expect.any(Number), unacked: expect.any(Number) })
    expect(sup.alarms.open).toBeLessThan(city.alarms.open)
    for (const g of sup.topGrids) expect(g.code.startsWith(BUND)).toBe(true)
    const seqs = sup.recent.map((x) => x.seq)
    expect(seqs).toContain(eventSeqs[0])
    expect(seqs).not.toContain(eventSeqs[1])
    expect(seqs).not.toContain(eventSeqs[2])
    for (const x of sup.recent) expect(x.scope!.startsWith(BUND)).toBe(true)
    // Their rates are their street's indicators, not the city's.
    expect(sup.rates.days30.closure.denominator).toBeLessThan(city.rates.days30.closure.denominator)
  })

  it('refuses roles that do not watch the wall, with a reason, and anyone not signed in', async () => {
    // The system admin and the auditor neither; grid workers use the field page.
    for (const who of ['worker', 'auditor', 'admin']) {
      const r = await get<WallSummary>(who, '/api/wall/summary')
      expect(r.status).toBe(403)
      expect(r.body.error!.message).toBe(`this needs the permission wall.view, which the ${who} role does not hold`)
      expect((await get<WallLive>(who, '/api/wall/live')).status).toBe(403)
    }
    expect((await get<WallSummary>('nobody', '/api/wall/summary')).status).toBe(401)
    expect((await get<WallSummary>('dispatcher', '/api/wall/summary')).status).toBe(200)
  })

  it('live: only what is in the box, with stage clocks, alarm positions and workers on duty', async () => {
    const d = 0.0005
    const box = [at.bund.lon - d, at.bund.lat - d, at.bund.lon + d, at.bund.lat + d] as const
    const { status, body } = await get<WallLive>('dispatcher', `/api/wall/live?bbox=${box.join(',')}`)
    expect(status, JSON.stringify(body)).toBe(200)
    const inBox = (p: { lon: number; lat: number }) => p.lon >= box[0] && p.lat >= box[1] && p.lon <= box[2] && p.lat <= box[3]
    for (const x of [...body.cases, ...body.alarms, ...body.workers]) expect(inBox(x), JSON.stringify(x)).toBe(true)
    const caseIds = body.cases.map((c) => c.id)
    expect(caseIds).toContain(ids.new)
    expect(caseIds).toContain(ids.late)
    expect(caseIds).not.toContain(ids.elsewhere)
    expect(caseIds).not.toContain(ids.dup)
    expect(caseIds).not.toContain(ids.closed)
    // Most urgent first: the critical case leads.
    expect(body.cases[0]!.urgency).toBe('critical')
    const late = body.cases.find((c) => c.id === ids.late)!
    const [row] = await q<{ stage_started_at: Date; stage_deadline_at: Date }>('SELECT stage_started_at, stage_deadline_at FROM cases WHERE id = $1', [ids.late])
    expect(late).toMatchObject({ code: `${MARK}late`, stage: 'dispatched', overdue: true, stageStartedAt: row!.stage_started_at.toISOString(), stageDeadlineAt: row!.stage_deadline_at.toISOString() })
    expect(body.cases.find((c) => c.id === ids.new)).toMatchObject({ overdue: false, stageDeadlineAt: null })
    expect(body.workers.map((w) => w.id)).toContain(worker!.id)
    expect(body.workers.find((w) => w.id === worker!.id)).toMatchObject({ dutyStatus: 'on_duty', lon: at.bund.lon, lat: at.bund.lat, ts: expect.any(String) })

    // Around the alarm's sensor: the alarm at the sensor's position.
    const abox = [alarmSensor.lon - d, alarmSensor.lat - d, alarmSensor.lon + d, alarmSensor.lat + d]
    const a = await get<WallLive>('dispatcher', `/api/wall/live?bbox=${abox.join(',')}`)
    expect(a.body.alarms.find((x) => x.id === alarmIds[0])).toMatchObject({ sensorId: alarmSensor.id, lon: alarmSensor.lon, lat: alarmSensor.lat, acked: false, kind: 'threshold' })
    expect(a.body.alarms.map((x) => x.id)).not.toContain(alarmIds[1])

    // A box elsewhere has none of them.
    const far = await get<WallLive>('dispatcher', '/api/wall/live?bbox=100,20,100.1,20.1')
    expect(far.body).toMatchObject({ cases: [], alarms: [], workers: [] })
  })

  it('live without a box: the whole scope, and no more', async () => {
    const city = (await get<WallLive>('dispatcher', '/api/wall/live')).body
    const sup = (await get<WallLive>('supervisor', '/api/wall/live')).body
    expect(city.cases.map((c) => c.id)).toEqual(expect.arrayContaining([ids.new, ids.late, ids.elsewhere, ids.open3]))
    expect(city.alarms.map((a) => a.id)).toEqual(expect.arrayContaining(alarmIds))
    const supCases = sup.cases.map((c) => c.id)
    expect(supCases).toEqual(expect.arrayContaining([ids.new, ids.late]))
    expect(supCases).not.toContain(ids.elsewhere)
    const grids = await q<{ grid_code: string | null }>('SELECT DISTINCT grid_code FROM cases WHERE id = ANY($1::int[])', [supCases])
    for (const g of grids) expect(g.grid_code!.startsWith(BUND)).toBe(true)
    const [openInBund] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM open_case_map WHERE grid_code LIKE $1 || '%'`, [BUND])
    expect(sup.cases).toHaveLength(openInBund!.n)
    expect(sup.alarms.map((a) => a.id)).toContain(alarmIds[0])
    expect(sup.alarms.map((a) => a.id)).not.toContain(alarmIds[1])
    const wgrids = await q<{ grid_code: string | null }>('SELECT grid_code FROM workers WHERE id = ANY($1::int[])', [sup.workers.map((w) => w.id)])
    for (const g of wgrids) expect(g.grid_code!.startsWith(BUND)).toBe(true)
    expect(sup.workers.every((w) => w.dutyStatus === 'on_duty' || w.dutyStatus === 'busy')).toBe(true)
  })

  it('live: a bad box is a 400 naming the problem', async () => {
    const cases: [string, string][] = [
      ['bbox=121.4,31.2,121.5', 'bbox must be four numbers west,south,east,north'],
      ['bbox=a,31.2,121.5,31.3', 'bbox west must be a number'],
      ['bbox=121.4,,121.5,31.3', 'bbox south must be a number'],
      ['bbox=121.5,31.2,121.4,31.3', 'west < east'],
      ['bbox=121.4,31.3,121.5,31.2', 'south < north'],
      ['bbox=121.4,31.2,121.5,95', 'bbox north must be within -90…90'],
      ['bbox=190,31.2,191,31.3', 'bbox west must be within -180…180'],
      ['box=121.4,31.2,121.5,31.3', 'box'],
    ]
    for (const [query, message] of cases) {
      const r = await get<WallLive>('dispatcher', `/api/wall/live?${query}`)
      expect(r.status, query).toBe(400)
      expect(r.body.error!.message, query).toContain(message)
    }
  })
})
