/**
 * GET /api/cases/:id/briefing (server/cases/briefing.ts) and the actor's display name in the
 * timeline (issue 9, the incident briefing): one case driven through the workflow by the demo
 * accounts — dispatched to one worker, returned, dispatched to the demo worker, handled, checked,
 * closed, evaluated — gives the names of its place, its department, the two workers with the time
 * each held it, the alarms of the incident (linked, and near it during its span; not far ones nor
 * earlier ones; bounded by the asker's scope) and the replay span (10 min before the report → the
 * closure). Bad id 400, outside the scope 404.
 *
 * Re-runnable on the shared database: the case carries the run's id in its reporter text, the
 * alarms are inserted by the test; both are removed afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Db } from '../../server/db/index.ts'
import type { CaseBriefing } from '../../server/cases/briefing.ts'
import { ALARM_RADIUS_M, REPLAY_LEAD_MS } from '../../server/cases/briefing.ts'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'

const BUND = '310101013'

describe.each(backends())('case briefing on $name', ({ databaseUrl }) => {
  let s: TestServer
  let db: Db
  const mark = `tcb-${Date.now()}${process.pid}`
  const cookies: Record<string, string> = {}
  const alarmIds: number[] = []

  const api = async <T = Record<string, unknown>>(who: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${s.url}${path}`, {
      method,
      headers: { cookie: cookies[who]!, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    return { status: res.status, body: (await res.json()) as T }
  }
  type C = { id: number; version: number; stage: string }
  const act = async (who: string, c: C, action: string, extra: Record<string, unknown> = {}): Promise<C> => {
    const r = await api<{ case: C }>(who, 'POST', `/api/cases/${c.id}/actions/${action}`, { version: c.version, ...extra })
    expect(r.status, `${action} by ${who}: ${JSON.stringify(r.body)}`).toBe(200)
    return r.body.case
  }
  const q = async <T>(text: string, params: unknown[] = []) => (await db.query<T>(text, params)).rows
  const insertAlarm = async (sensorId: number, raisedAt: string, caseId: number | null) => {
    const [a] = await q<{ id: number }>(
      `INSERT INTO alarms (sensor_id, kind, value, threshold, raised_at, resolved_at, grid_code, case_id)
       SELECT id, 'threshold', 99, 50, $2::timestamptz, $2::timestamptz + interval '1 minute', grid_code, $3 FROM sensors WHERE id = $1 RETURNING id`,
      [sensorId, raisedAt, caseId],
    )
    alarmIds.push(a!.id)
    return a!.id
  }

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl })
    db = s.server.db
    for (const u of ['dispatcher', 'supervisor', 'worker', 'leader']) cookies[u] = await login(s.url, u)
  }, 180_000)

  afterAll(async () => {
    if (db) {
      if (alarmIds.length) await db.query('DELETE FROM alarms WHERE id = ANY($1::int[])', [alarmIds])
      await db.query('DELETE FROM cases WHERE reporter = $1', [mark])
    }
    await s?.close()
  })

  it('names the place, department and workers, lists the incident\'s alarms within scope, spans the replay; the timeline names the actors', async () => {
    // The demo worker (the `worker` account's) and a grid mate of theirs; a spot 40 m from a sensor of their grid.
    const [demo] = await q<{ id: number; grid_code: string }>(`SELECT w.id, w.grid_code FROM workers w JOIN users u ON u.id = w.user_id WHERE u.username = 'worker'`)
    const [mate] = await q<{ id: number; name: string }>(`SELECT id, name FROM workers WHERE grid_code = $1 AND id <> $2 ORDER BY id LIMIT 1`, [demo!.grid_code, demo!.id])
    expect(mate, 'a grid mate of the demo worker').toBeDefined()
    const [near] = await q<{ id: number; lon: number; lat: number }>(
      `SELECT s.id, ST_X(p) AS lon, ST_Y(p) AS lat FROM sensors s, grids g,
              LATERAL (SELECT ST_Project(s.geom::geography, 40, radians(a))::geometry AS p FROM generate_series(0, 315, 45) a) x
        WHERE g.code = $1 AND s.grid_code = g.code AND ST_Contains(g.geom, x.p) ORDER BY s.id LIMIT 1`,
      [demo!.grid_code],
    )
    expect(near, 'a sensor of the grid with a spot 40 m from it inside the grid').toBeDefined()
    // A sensor outside 外滩街道 (the supervisor's scope), far from the spot.
    const [far] = await q<{ id: number }>(
      `SELECT id FROM sensors WHERE grid_code NOT LIKE $1 || '%' AND NOT ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography, 1000) ORDER BY id LIMIT 1`,
      [BUND, near!.lon, near!.lat],
    )
    expect(far, 'a sensor far away, outside the supervisor\'s street').toBeDefined()
    const services = (await (await fetch(`${s.url}/open311/v2/services.json`)).json()) as { service_code: string }[]

    // Reported by the supervisor (starts verified), registered, dispatched to the mate, returned, dispatched to the demo worker.
    const rep = await api<{ case: C & { reportedAt: string } }>('supervisor', 'POST', '/api/cases', {
      categoryCode: services[0]!.service_code, source: 'patrol', description: `briefing test ${mark}`, lon: near!.lon, lat: near!.lat, reporterText: mark,
    })
    expect(rep.status, JSON.stringify(rep.body)).toBe(201)
    let c: C = rep.body.case
    const reportedAt = Date.parse(rep.body.case.reportedAt)
    c = await act('dispatcher', c, 'register')
    c = await act('dispatcher', c, 'dispatch', { workerId: mate!.id })
    c = await act('dispatcher', c, 'return', { reason: '改派' })
    c = await act('dispatcher', c, 'dispatch', { workerId: demo!.id, comment: '请到现场' })

    // While open: the span runs to now.
    const openB = await api<CaseBriefing>('dispatcher', 'GET', `/api/cases/${c.id}/briefing`)
    expect(openB.status, JSON.stringify(openB.body)).toBe(200)
    expect(openB.body.span.open).toBe(true)
    expect(Math.abs(Date.parse(openB.body.span.to) - Date.now())).toBeLessThan(60_000)

    c = await act('worker', c, 'ack_dispatch')
    c = await act('worker', c, 'start')
    c = await act('worker', c, 'handle', { outcome: '已处置' })
    c = await act('supervisor', c, 'check_pass')
    c = await act('dispatcher', c, 'close')
    c = await act('leader', c, 'evaluate', { satisfaction: 4, comment: '处置及时' })
    expect(c.stage).toBe('evaluated')

    // Alarms: the near sensor's during the span (in), the far sensor's linked to the case (in, for the
    // dispatcher only: outside the supervisor's scope), the far sensor's unlinked (out), the near one's two days before (out).
    const inNear = await insertAlarm(near!.id, new Date(reportedAt - 5 * 60_000).toISOString(), null)
    const linkedFar = await insertAlarm(far!.id, new Date(reportedAt - 60_000).toISOString(), c.id)
    const unlinkedFar = await insertAlarm(far!.id, new Date(reportedAt - 2 * 60_000).toISOString(), null)
    const earlier = await insertAlarm(near!.id, new Date(reportedAt - 2 * 86_400_000).toISOString(), null)

    const [row] = await q<{ closed_at: Date; grid_code: string; department_id: number | null }>('SELECT closed_at, grid_code, department_id FROM cases WHERE id = $1', [c.id])
    const b = await api<CaseBriefing>('dispatcher', 'GET', `/api/cases/${c.id}/briefing`)
    expect(b.status, JSON.stringify(b.body)).toBe(200)
    const body = b.body
    expect(body.caseId).toBe(c.id)

    // Place: district → street → community → grid, with the names on record.
    const [names] = await q<{ d: string; s: string; c: string; g: string }>(
      `SELECT d.name AS d, st.name AS s, cm.name AS c, g.name AS g FROM grids g JOIN admin_units d ON d.code = g.district_code
         JOIN admin_units st ON st.code = g.street_code JOIN admin_units cm ON cm.code = g.community_code WHERE g.code = $1`,
      [row!.grid_code],
    )
    expect(body.path.map((u) => u.level)).toEqual(['district', 'street', 'community', 'grid'])
    expect(body.path.map((u) => u.name)).toEqual([names!.d, names!.s, names!.c, names!.g])
    expect(body.path[3]!.code).toBe(row!.grid_code)

    // Department: the case's.
    if (row!.department_id === null) expect(body.department).toBeNull()
    else expect(body.department?.id).toBe(row!.department_id)

    // Span: 10 minutes before the report → the closure.
    expect(body.span.open).toBe(false)
    expect(Date.parse(body.span.from)).toBe(reportedAt - REPLAY_LEAD_MS)
    expect(Date.parse(body.span.to)).toBe(new Date(row!.closed_at).getTime())

    // Workers: the mate from the first dispatch to the return, the demo worker from the second dispatch to the closure.
    const tl = await api<{ actions: { action: string; at: string; actor: string; actorName: string | null }[] }>('dispatcher', 'GET', `/api/cases/${c.id}/timeline`)
    const at = (action: string, nth = 0) => tl.body.actions.filter((a) => a.action === action)[nth]!.at
    expect(body.workers.map((w) => ({ id: w.id, from: w.from, to: w.to }))).toEqual([
      { id: mate!.id, from: at('dispatch', 0), to: at('return') },
      { id: demo!.id, from: at('dispatch', 1), to: body.span.to },
    ])
    expect(body.workers[0]!.name).toBe(mate!.name)

    // Alarms: within the span and 300 m, or linked; the earliest first.
    expect(body.alarms.map((a) => a.id)).toEqual([inNear, linkedFar])
    expect(body.alarms.map((a) => a.id)).not.toContain(unlinkedFar)
    expect(body.alarms.map((a) => a.id)).not.toContain(earlier)
    const n = body.alarms.find((a) => a.id === inNear)!
    expect(n).toMatchObject({ sensorId: near!.id, linked: false, kind: 'threshold', value: 99, threshold: 50 })
    expect(n.distanceM).toBeGreaterThan(30)
    expect(n.distanceM).toBeLessThan(ALARM_RADIUS_M)
    expect(body.alarms.find((a) => a.id === linkedFar)!.linked).toBe(true)
    // The supervisor (外滩街道) does not see the far sensor's alarm.
    const sup = await api<CaseBriefing>('supervisor', 'GET', `/api/cases/${c.id}/briefing`)
    expect(sup.status).toBe(200)
    expect(sup.body.alarms.map((a) => a.id)).toEqual([inNear])

    // The timeline names each actor by their display name (users.display_name).
    const display = new Map((await q<{ username: string; display_name: string }>('SELECT username, display_name FROM users')).map((u) => [u.username, u.display_name]))
    expect(tl.body.actions.map((a) => a.action)).toEqual([
      'report', 'register', 'dispatch', 'return', 'dispatch', 'ack_dispatch', 'start', 'handle', 'check_pass', 'close', 'evaluate',
    ])
    for (const a of tl.body.actions) expect(a.actorName, `${a.action} by ${a.actor}`).toBe(display.get(a.actor) ?? null)
    expect(tl.body.actions.find((a) => a.action === 'evaluate')!.actorName).toBe(display.get('leader'))
  })

  it('answers 400 for a bad id and 404 for a case outside the asker\'s scope', async () => {
    expect((await api('dispatcher', 'GET', '/api/cases/abc/briefing')).status).toBe(400)
    const [outside] = await q<{ id: number }>(`SELECT id FROM cases WHERE grid_code NOT LIKE $1 || '%' ORDER BY id LIMIT 1`, [BUND])
    const r = await api<{ error: { message: string } }>('supervisor', 'GET', `/api/cases/${outside!.id}/briefing`)
    expect(r.status).toBe(404)
    expect(r.body.error.message).toMatch(/no case/)
    expect((await api('dispatcher', 'GET', `/api/cases/${outside!.id}/briefing`)).status).toBe(200)
  })
})
