/**
 * Indicators computed from a constructed set of cases equal hand-computed values (issue 6,
 * acceptance 7), per street and per grid (and a department), and a street supervisor sees only
 * their street. The cases (codes TIND-…) lie in March 2011, far from the seeded city's 90 days and
 * in the past, so open cases past their deadline are overdue now; they are removed before and after.
 * Definitions: docs/indicators.md.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'
import type { IndicatorRow, Indicators } from '../../server/stats/indicators.ts'

const STREET = '310101013' // 外滩街道, the supervisor's scope
const DISTRICT = '310101'
const MARK = 'TIND-'
/** A local time in March 2011, Asia/Shanghai (+08:00). */
const t = (s: string) => `2011-${s.replace(' ', 'T')}:00+08:00`

interface Act {
  action: string
  at: string
  from?: string
  to?: string
  due?: string | null
}
interface CaseSpec {
  n: number
  grid: 'A' | 'B' | 'C'
  dept: 1 | 2 | null
  worker: 1 | 2
  stage: string
  cols: Record<string, string | number | null>
  acts: Act[]
}

// Stage deadlines are recorded in the payload of the action that set them (docs/indicators.md).
const CASES: CaseSpec[] = [
  // 1: everything on time; satisfaction 5.
  { n: 1, grid: 'A', dept: 1, worker: 1, stage: 'evaluated',
    cols: { reported_at: t('03-02 09:00'), accepted_at: t('03-02 09:10'), verified_at: t('03-02 09:30'), registered_at: t('03-02 09:40'), dispatched_at: t('03-02 10:00'),
      in_progress_at: t('03-02 10:30'), handled_at: t('03-02 12:00'), checked_at: t('03-02 13:00'), closed_at: t('03-02 13:30'), evaluated_at: t('03-03 10:00'),
      deadline_at: t('03-02 18:00'), satisfaction: 5 },
    acts: [
      { action: 'report', at: t('03-02 09:00'), to: 'reported', due: t('03-02 10:00') },
      { action: 'register', at: t('03-02 09:40'), from: 'verified', to: 'registered', due: t('03-02 10:40') },
      { action: 'dispatch', at: t('03-02 10:00'), from: 'registered', to: 'dispatched', due: t('03-02 14:00') },
      { action: 'start', at: t('03-02 10:30'), from: 'dispatched', to: 'in_progress', due: t('03-02 14:30') },
      { action: 'handle', at: t('03-02 12:00'), from: 'in_progress', to: 'handled', due: t('03-02 16:00') },
      { action: 'check_pass', at: t('03-02 13:00'), from: 'handled', to: 'checked', due: null },
      { action: 'close', at: t('03-02 13:30'), from: 'checked', to: 'closed', due: null },
    ] },
  // 2: dispatched late, reworked once, handled (the second time) after deadline_at, so not closed on time; satisfaction 2.
  { n: 2, grid: 'A', dept: 1, worker: 1, stage: 'evaluated',
    cols: { reported_at: t('03-04 09:00'), verified_at: t('03-04 09:30'), registered_at: t('03-04 10:00'), dispatched_at: t('03-04 12:00'), in_progress_at: t('03-04 13:00'),
      handled_at: t('03-05 14:00'), checked_at: t('03-05 15:00'), closed_at: t('03-05 16:00'), evaluated_at: t('03-06 09:00'), deadline_at: t('03-05 12:00'),
      satisfaction: 2, rework_count: 1 },
    acts: [
      { action: 'register', at: t('03-04 10:00'), from: 'verified', to: 'registered', due: t('03-04 11:00') },
      { action: 'dispatch', at: t('03-04 12:00'), from: 'registered', to: 'dispatched', due: t('03-04 16:00') },
      { action: 'start', at: t('03-04 13:00'), from: 'dispatched', to: 'in_progress', due: t('03-04 17:00') },
      { action: 'handle', at: t('03-04 16:00'), from: 'in_progress', to: 'handled', due: t('03-04 20:00') },
      { action: 'check_fail', at: t('03-04 18:00'), from: 'handled', to: 'in_progress', due: t('03-05 12:00') },
      { action: 'handle', at: t('03-05 14:00'), from: 'in_progress', to: 'handled', due: t('03-05 18:00') },
      { action: 'check_pass', at: t('03-05 15:00'), from: 'handled', to: 'checked', due: null },
    ] },
  // 3: dispatched on time, still in progress past its handling deadline: overdue now.
  { n: 3, grid: 'B', dept: 2, worker: 2, stage: 'in_progress',
    cols: { reported_at: t('03-09 09:00'), verified_at: t('03-09 09:20'), registered_at: t('03-09 09:30'), dispatched_at: t('03-09 10:00'), in_progress_at: t('03-09 11:00'),
      stage_deadline_at: t('03-10 12:00'), deadline_at: t('03-11 12:00') },
    acts: [
      { action: 'register', at: t('03-09 09:30'), from: 'verified', to: 'registered', due: t('03-09 10:30') },
      { action: 'dispatch', at: t('03-09 10:00'), from: 'registered', to: 'dispatched', due: t('03-09 18:00') },
      { action: 'start', at: t('03-09 11:00'), from: 'dispatched', to: 'in_progress', due: t('03-10 12:00') },
    ] },
  // 4: cancelled (注销).
  { n: 4, grid: 'B', dept: null, worker: 2, stage: 'cancelled',
    cols: { reported_at: t('03-12 09:00'), verified_at: t('03-12 09:40'), closed_at: t('03-12 10:00') },
    acts: [{ action: 'cancel', at: t('03-12 10:00'), from: 'verified', to: 'cancelled', due: null }] },
  // 5: history without recorded stage deadlines (and no registered_at): dispatch undetermined,
  // handling judged against deadline_at; satisfaction 4.
  { n: 5, grid: 'C', dept: 1, worker: 1, stage: 'evaluated',
    cols: { reported_at: t('03-15 08:00'), verified_at: t('03-15 09:00'), dispatched_at: t('03-15 10:00'), in_progress_at: t('03-15 11:00'), handled_at: t('03-15 15:00'),
      checked_at: t('03-15 16:00'), closed_at: t('03-15 16:30'), evaluated_at: t('03-16 10:00'), deadline_at: t('03-15 17:00'), satisfaction: 4 },
    acts: [
      { action: 'dispatch', at: t('03-15 10:00') },
      { action: 'start', at: t('03-15 11:00') },
      { action: 'handle', at: t('03-15 15:00') },
    ] },
  // 6: a duplicate merged into 5: in no indicator.
  { n: 6, grid: 'C', dept: null, worker: 2, stage: 'merged', cols: { reported_at: t('03-15 08:30') }, acts: [] },
  // 7: reported, only accepted: pending.
  { n: 7, grid: 'A', dept: null, worker: 2, stage: 'accepted', cols: { reported_at: t('03-28 09:00'), accepted_at: t('03-28 09:10') }, acts: [] },
  // 8: reported and registered before the period, dispatched 00:30 local on 1 March (still
  // 28 February in UTC) on time, handled after its handling deadline, waiting for the check.
  { n: 8, grid: 'A', dept: 2, worker: 1, stage: 'handled',
    cols: { reported_at: t('02-28 22:00'), verified_at: t('02-28 22:30'), registered_at: t('02-28 23:00'), dispatched_at: t('03-01 00:30'), in_progress_at: t('03-01 09:00'),
      handled_at: t('03-01 18:00'), deadline_at: t('03-01 17:00') },
    acts: [
      { action: 'register', at: t('02-28 23:00'), from: 'verified', to: 'registered', due: t('03-01 01:00') },
      { action: 'dispatch', at: t('03-01 00:30'), from: 'registered', to: 'dispatched', due: t('03-01 17:00') },
      { action: 'start', at: t('03-01 09:00'), from: 'dispatched', to: 'in_progress', due: t('03-01 17:00') },
      { action: 'handle', at: t('03-01 18:00'), from: 'in_progress', to: 'handled', due: t('03-02 17:00') },
    ] },
  // 9: reported at 00:00 local on 1 April (still 31 March in UTC): outside the period.
  { n: 9, grid: 'B', dept: null, worker: 1, stage: 'reported', cols: { reported_at: t('04-01 00:00') }, acts: [] },
  // 10: everything in February except the evaluation (1 March, satisfaction 3).
  { n: 10, grid: 'B', dept: 2, worker: 2, stage: 'evaluated',
    cols: { reported_at: t('02-20 09:00'), verified_at: t('02-20 09:30'), registered_at: t('02-20 10:00'), dispatched_at: t('02-20 11:00'), in_progress_at: t('02-20 12:00'),
      handled_at: t('02-21 10:00'), checked_at: t('02-21 12:00'), closed_at: t('02-25 10:00'), evaluated_at: t('03-01 10:00'), deadline_at: t('02-22 10:00'), satisfaction: 3 },
    acts: [] },
  // 11: dispatched exactly at its deadline (on time), handled on time thanks to an extension (deadline_at
  // moved to 03-21 12:00), but checked after the check stage's deadline: not closed on time.
  { n: 11, grid: 'C', dept: 1, worker: 2, stage: 'closed',
    cols: { reported_at: t('03-20 08:00'), verified_at: t('03-20 08:30'), registered_at: t('03-20 09:00'), dispatched_at: t('03-20 10:00'), in_progress_at: t('03-20 10:30'),
      handled_at: t('03-21 10:00'), checked_at: t('03-21 11:00'), closed_at: t('03-21 12:00'), deadline_at: t('03-21 12:00') },
    acts: [
      { action: 'register', at: t('03-20 09:00'), from: 'verified', to: 'registered', due: t('03-20 10:00') },
      { action: 'dispatch', at: t('03-20 10:00'), from: 'registered', to: 'dispatched', due: t('03-20 14:00') },
      { action: 'start', at: t('03-20 10:30'), from: 'dispatched', to: 'in_progress', due: t('03-20 14:30') },
      { action: 'approve_extension', at: t('03-20 13:00'), due: t('03-21 12:00') },
      { action: 'handle', at: t('03-21 10:00'), from: 'in_progress', to: 'handled', due: t('03-21 10:30') },
      { action: 'check_pass', at: t('03-21 11:00'), from: 'handled', to: 'checked', due: null },
    ] },
]

/** Hand-computed from the table above (docs/indicators.md). */
interface Expect {
  reported: number
  pending: number
  merged: number
  registration: [number, number]
  onTimeDispatch: [number, number, number]
  disposal: [number, number]
  onTimeDisposal: [number, number]
  closure: [number, number]
  onTimeClosure: [number, number]
  rework: [number, number, number]
  overdue: [number, number]
  handlingTime: [number, number]
  satisfaction: [number, number, number]
}
const EXPECTED: Record<string, Expect> = {
  // cases 1, 2, 3, 4, 7, 8 (9 and 10 only where their dates fall)
  S1: { reported: 5, pending: 1, merged: 0, registration: [3, 4], onTimeDispatch: [3, 4, 0], disposal: [3, 4], onTimeDisposal: [1, 4], closure: [2, 3], onTimeClosure: [1, 3],
    rework: [1, 3, 1], overdue: [3, 4], handlingTime: [2 + 26 + 17.5, 3], satisfaction: [1, 3, 10 / 3] },
  // cases 5, 6, 11
  S2: { reported: 2, pending: 0, merged: 1, registration: [2, 2], onTimeDispatch: [1, 1, 1], disposal: [2, 2], onTimeDisposal: [2, 2], closure: [2, 2], onTimeClosure: [1, 2],
    rework: [0, 2, 0], overdue: [0, 2], handlingTime: [5 + 24, 2], satisfaction: [1, 1, 4] },
  // grid A: cases 1, 2, 7, 8
  A: { reported: 3, pending: 1, merged: 0, registration: [2, 2], onTimeDispatch: [2, 3, 0], disposal: [3, 3], onTimeDisposal: [1, 3], closure: [2, 2], onTimeClosure: [1, 2],
    rework: [1, 3, 1], overdue: [2, 3], handlingTime: [2 + 26 + 17.5, 3], satisfaction: [1, 2, 3.5] },
  // grid B: cases 3, 4, (9), 10
  B: { reported: 2, pending: 0, merged: 0, registration: [1, 2], onTimeDispatch: [1, 1, 0], disposal: [0, 1], onTimeDisposal: [0, 1], closure: [0, 1], onTimeClosure: [0, 1],
    rework: [0, 0, 0], overdue: [1, 1], handlingTime: [0, 0], satisfaction: [0, 1, 3] },
  // department 1: cases 1, 2, 5, 11
  D1: { reported: 4, pending: 0, merged: 0, registration: [4, 4], onTimeDispatch: [2, 3, 1], disposal: [4, 4], onTimeDisposal: [3, 4], closure: [4, 4], onTimeClosure: [2, 4],
    rework: [1, 4, 1], overdue: [1, 4], handlingTime: [2 + 26 + 5 + 24, 4], satisfaction: [2, 3, 11 / 3] },
}
EXPECTED.C = EXPECTED.S2
// All of them: S1 + S2.
EXPECTED.ALL = { reported: 7, pending: 1, merged: 1, registration: [5, 6], onTimeDispatch: [4, 5, 1], disposal: [5, 6], onTimeDisposal: [3, 6], closure: [4, 5], onTimeClosure: [2, 5],
  rework: [1, 5, 1], overdue: [3, 6], handlingTime: [74.5, 5], satisfaction: [2, 4, 3.5] }

const rate = (n: number, d: number) => (d ? n / d : null)

function check(row: IndicatorRow | undefined, e: Expect, label: string) {
  expect(row, label).toBeDefined()
  const r = row!
  const ratio = (got: { numerator: number; denominator: number; rate: number | null }, [n, d]: [number, number], what: string) => {
    expect({ n: got.numerator, d: got.denominator }, `${label} ${what}`).toEqual({ n, d })
    if (d === 0) expect(got.rate, `${label} ${what} rate`).toBeNull()
    else expect(got.rate, `${label} ${what} rate`).toBeCloseTo(rate(n, d)!, 3)
  }
  expect({ reported: r.reported, pending: r.pending, merged: r.merged }, label).toEqual({ reported: e.reported, pending: e.pending, merged: e.merged })
  ratio(r.registration, e.registration, 'registration')
  ratio(r.onTimeDispatch, [e.onTimeDispatch[0], e.onTimeDispatch[1]], 'onTimeDispatch')
  expect(r.onTimeDispatch.undetermined, `${label} onTimeDispatch undetermined`).toBe(e.onTimeDispatch[2])
  ratio(r.disposal, e.disposal, 'disposal')
  ratio(r.onTimeDisposal, e.onTimeDisposal, 'onTimeDisposal')
  ratio(r.closure, e.closure, 'closure')
  ratio(r.onTimeClosure, e.onTimeClosure, 'onTimeClosure')
  ratio(r.rework, [e.rework[0], e.rework[1]], 'rework')
  expect(r.rework.reworks, `${label} reworks`).toBe(e.rework[2])
  ratio(r.overdue, e.overdue, 'overdue')
  expect(r.handlingTime.numerator, `${label} handling hours`).toBeCloseTo(e.handlingTime[0], 3)
  expect(r.handlingTime.denominator, `${label} handled cases`).toBe(e.handlingTime[1])
  if (e.handlingTime[1]) expect(r.handlingTime.average, `${label} average handling`).toBeCloseTo(e.handlingTime[0] / e.handlingTime[1], 3)
  else expect(r.handlingTime.average).toBeNull()
  ratio(r.satisfaction, [e.satisfaction[0], e.satisfaction[1]], 'satisfaction')
  expect(r.satisfaction.average, `${label} satisfaction average`).toBeCloseTo(e.satisfaction[2], 3)
}

describe.each(backends())('indicators on $name', ({ databaseUrl }) => {
  let s: TestServer
  /** The city-wide dispatcher (the system admin reads no indicators). */
  let dispatcher: string
  let supervisor: string
  const grid: Record<'A' | 'B' | 'C', string> = { A: '', B: '', C: '' }
  const dept: Record<1 | 2, number> = { 1: 0, 2: 0 }
  let otherStreet = ''

  const remove = () => s.server.db.query(`DELETE FROM cases WHERE code LIKE $1 || '%'`, [MARK])

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl, env: { ONEGRID_TZ: 'Asia/Shanghai' } })
    dispatcher = await login(s.url, 'dispatcher')
    supervisor = await login(s.url, 'supervisor')
    const db = s.server.db
    await remove()
    // Two grids of the supervisor's street in two communities, one grid of another street of the district.
    const g = await db.query<{ code: string }>(
      `SELECT DISTINCT ON (left(code, 12)) code FROM grids WHERE code LIKE $1 || '%' ORDER BY left(code, 12), code LIMIT 2`, [STREET])
    grid.A = g.rows[0].code
    grid.B = g.rows[1].code
    const c = await db.query<{ code: string }>(`SELECT code FROM grids WHERE code LIKE $1 || '%' AND code NOT LIKE $2 || '%' ORDER BY code LIMIT 1`, [DISTRICT, STREET])
    grid.C = c.rows[0].code
    otherStreet = grid.C.slice(0, 9)
    const d = await db.query<{ id: number }>('SELECT id FROM departments ORDER BY id LIMIT 2')
    dept[1] = d.rows[0].id
    dept[2] = d.rows[1].id
    const w = await db.query<{ id: number }>('SELECT id FROM workers ORDER BY id LIMIT 2')
    const worker = { 1: w.rows[0].id, 2: w.rows[1].id }
    const cat = (await db.query<{ code: string }>('SELECT code FROM case_categories ORDER BY code LIMIT 1')).rows[0].code

    const ids = new Map<number, number>()
    for (const k of CASES) {
      const cols = Object.keys(k.cols)
      const { rows } = await db.query<{ id: number }>(
        `INSERT INTO cases (code, category_code, source, stage, description, grid_code, department_id, worker_id, geom, ${cols.join(', ')})
         SELECT $1, $2, 'patrol', $3, 'indicator test case', $4, $5, $6, ST_PointOnSurface(g.geom), ${cols.map((_, i) => `$${i + 7}`).join(', ')}
           FROM grids g WHERE g.code = $4
         RETURNING id`,
        [`${MARK}${k.n}`, cat, k.stage, grid[k.grid], k.dept === null ? null : dept[k.dept], worker[k.worker], ...cols.map((x) => k.cols[x])],
      )
      ids.set(k.n, rows[0].id)
      for (const a of k.acts) {
        await db.query(
          `INSERT INTO case_actions (case_id, action, actor, at, from_stage, to_stage, payload) VALUES ($1, $2, 'indicator test', $3, $4, $5, $6::jsonb)`,
          [rows[0].id, a.action, a.at, a.from ?? null, a.to ?? null, JSON.stringify(a.due === undefined ? {} : { stageDeadlineAt: a.due })],
        )
      }
    }
    await db.query('UPDATE cases SET merged_into = $1 WHERE id = $2', [ids.get(5), ids.get(6)])
  }, 120_000)

  afterAll(async () => {
    if (s) await remove()
    await s?.close()
  })

  const get = async (cookie: string, params: Record<string, string>) => {
    const res = await fetch(`${s.url}/api/stats/indicators?${new URLSearchParams(params)}`, { headers: { cookie } })
    return { status: res.status, body: (await res.json()) as Indicators & { error?: { message: string } } }
  }
  const PERIOD = { from: '2011-03-01', to: '2011-03-31' }

  it('per street: each street and the district total equal the hand-computed values', async () => {
    const { status, body } = await get(dispatcher, { ...PERIOD, code: DISTRICT, groupBy: 'street' })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.from).toBe('2011-03-01T00:00:00+08:00')
    expect(body.to).toBe('2011-04-01T00:00:00+08:00')
    check(body.rows.find((r) => r.code === STREET), EXPECTED.S1, 'street S1')
    check(body.rows.find((r) => r.code === otherStreet), EXPECTED.S2, 'street S2')
    check(body.total, EXPECTED.ALL, 'district total')
    // Every street of the district is listed, the others with nothing.
    const others = body.rows.filter((r) => r.code !== STREET && r.code !== otherStreet)
    expect(others.every((r) => r.reported === 0 && r.disposal.denominator === 0 && r.disposal.rate === null)).toBe(true)
  })

  it('per grid: each grid equals the hand-computed values', async () => {
    const { status, body } = await get(dispatcher, { ...PERIOD, code: DISTRICT, groupBy: 'grid' })
    expect(status, JSON.stringify(body)).toBe(200)
    for (const k of ['A', 'B', 'C'] as const) check(body.rows.find((r) => r.code === grid[k]), EXPECTED[k], `grid ${k}`)
    check(body.total, EXPECTED.ALL, 'district total')
  })

  it('per department: the department equals the hand-computed values', async () => {
    const { status, body } = await get(dispatcher, { ...PERIOD, code: DISTRICT, groupBy: 'department' })
    expect(status, JSON.stringify(body)).toBe(200)
    check(body.rows.find((r) => r.code === String(dept[1])), EXPECTED.D1, 'department 1')
    expect(body.rows.find((r) => r.code === String(dept[1]))?.name).toBeTruthy()
  })

  it('a period given as date-times with offsets is the same period', async () => {
    const { status, body } = await get(dispatcher, { from: '2011-02-28T16:00:00Z', to: '2011-04-01T00:00:00+08:00', code: DISTRICT })
    expect(status, JSON.stringify(body)).toBe(200)
    check(body.total, EXPECTED.ALL, 'district total')
  })

  it('the street supervisor sees only their street', async () => {
    const { status, body } = await get(supervisor, { ...PERIOD, groupBy: 'grid' })
    expect(status, JSON.stringify(body)).toBe(200)
    check(body.total, EXPECTED.S1, 'supervisor total')
    expect(body.rows.length).toBeGreaterThan(0)
    expect(body.rows.every((r) => r.code?.startsWith(STREET))).toBe(true)
    check(body.rows.find((r) => r.code === grid.A), EXPECTED.A, 'supervisor grid A')
    const street = await get(supervisor, { ...PERIOD, groupBy: 'street' })
    expect(street.body.rows.map((r) => r.code)).toEqual([STREET])
    // Another street, or the district, is outside the supervisor's scope.
    expect((await get(supervisor, { ...PERIOD, code: otherStreet })).status).toBe(403)
    expect((await get(supervisor, { ...PERIOD, code: DISTRICT })).status).toBe(403)
    // Departments and workers: only the cases of the street.
    const depts = await get(supervisor, { ...PERIOD, groupBy: 'department' })
    expect(depts.body.rows.reduce((n, r) => n + r.reported, 0)).toBe(EXPECTED.S1.reported)
  })

  it('bad input: 4xx naming the problem', async () => {
    const bad = async (params: Record<string, string>, status: number, text: RegExp) => {
      const r = await get(dispatcher, params)
      expect(r.status, JSON.stringify(params)).toBe(status)
      expect(r.body.error?.message).toMatch(text)
    }
    await bad({ groupBy: 'planet' }, 400, /groupBy/)
    await bad({ from: '2011-13-01' }, 400, /from/)
    await bad({ from: '2011-03-31', to: '2011-03-01' }, 400, /before/)
    await bad({ code: '12' }, 400, /code/)
    await bad({ code: '999999' }, 404, /999999/)
    await bad({ code: STREET, groupBy: 'district' }, 400, /groupBy/)
    // The system admin reads no indicators.
    const admin = await get(await login(s.url, 'admin'), PERIOD)
    expect(admin.status).toBe(403)
    expect(admin.body.error?.message).toBe('this needs the permission stats.read, which the admin role does not hold')
  })
})
