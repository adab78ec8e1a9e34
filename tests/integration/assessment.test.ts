/**
 * Assessment (issue 9, acceptance 2–4): a constructed set of cases gives the scores and grades
 * computed by hand from the configured rule (docs/assessment.md), per street, district, community,
 * department and worker; a weight and the bands changed through PUT /api/admin/assessment-rules
 * change them as computed by hand; the components add up to the score; a breakdown names the
 * cases behind the lost points; the CSV and XLSX exports parse and equal the JSON table.
 * The cases (codes TASM-…) lie in May 2010, far from the seeded city's 90 days, so nothing else
 * counts; they are removed before and after. The rules are set to the defaults before and put
 * back as they were after (the PostGIS database outlives the run).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'csv-parse/sync'
import ExcelJS from 'exceljs'
import { backends, login, startTestServer, type TestServer } from '../helpers/server.ts'
import type { Assessment, Breakdown } from '../../server/assessment/service.ts'
import type { Rule } from '../../server/assessment/score.ts'
import type { Indicators } from '../../server/stats/indicators.ts'

const STREET = '310101013' // 外滩街道, the supervisor's scope
const DISTRICT = '310101'
const MARK = 'TASM-'
const PERIOD = { from: '2010-05-01', to: '2010-05-31' }
/** A local time in May 2010, Asia/Shanghai (+08:00). */
const t = (s: string) => `2010-${s.replace(' ', 'T')}:00+08:00`

interface Act {
  action: string
  at: string
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

// Grids A and B: two communities of the street S1 (STREET); grid C: another street S2 of the district.
const CASES: CaseSpec[] = [
  // 1: everything on time; satisfaction 5.
  { n: 1, grid: 'A', dept: 1, worker: 1, stage: 'evaluated',
    cols: { reported_at: t('05-03 09:00'), registered_at: t('05-03 09:40'), dispatched_at: t('05-03 10:00'), handled_at: t('05-03 12:00'), checked_at: t('05-03 13:00'),
      closed_at: t('05-03 13:30'), evaluated_at: t('05-04 10:00'), deadline_at: t('05-03 18:00'), satisfaction: 5 },
    acts: [
      { action: 'register', at: t('05-03 09:40'), due: t('05-03 10:40') },
      { action: 'dispatch', at: t('05-03 10:00'), due: t('05-03 14:00') },
      { action: 'handle', at: t('05-03 12:00'), due: t('05-03 16:00') },
      { action: 'check_pass', at: t('05-03 13:00'), due: null },
    ] },
  // 2: dispatched late, reworked once, handled after its deadline (overdue, not closed on time); satisfaction 2.
  { n: 2, grid: 'A', dept: 1, worker: 1, stage: 'evaluated',
    cols: { reported_at: t('05-05 09:00'), registered_at: t('05-05 10:00'), dispatched_at: t('05-05 12:00'), handled_at: t('05-06 14:00'), checked_at: t('05-06 15:00'),
      closed_at: t('05-06 16:00'), evaluated_at: t('05-07 09:00'), deadline_at: t('05-06 12:00'), satisfaction: 2, rework_count: 1 },
    acts: [
      { action: 'register', at: t('05-05 10:00'), due: t('05-05 11:00') },
      { action: 'dispatch', at: t('05-05 12:00'), due: t('05-05 16:00') },
      { action: 'handle', at: t('05-06 14:00'), due: t('05-06 18:00') },
      { action: 'check_pass', at: t('05-06 15:00'), due: null },
    ] },
  // 3: dispatched on time, still in progress long past its deadline: overdue now, not closed.
  { n: 3, grid: 'B', dept: 2, worker: 2, stage: 'in_progress',
    cols: { reported_at: t('05-10 09:00'), registered_at: t('05-10 09:30'), dispatched_at: t('05-10 10:00'), in_progress_at: t('05-10 11:00'), deadline_at: t('05-12 12:00') },
    acts: [
      { action: 'register', at: t('05-10 09:30'), due: t('05-10 10:30') },
      { action: 'dispatch', at: t('05-10 10:00'), due: t('05-10 18:00') },
    ] },
  // 4: cancelled (注销): reported, not registered; no department.
  { n: 4, grid: 'B', dept: null, worker: 2, stage: 'cancelled',
    cols: { reported_at: t('05-12 09:00'), verified_at: t('05-12 09:40'), closed_at: t('05-12 10:00') },
    acts: [{ action: 'cancel', at: t('05-12 10:00'), due: null }] },
  // 5: closed, handled on time; no stage deadlines recorded (dispatch undetermined); not evaluated.
  { n: 5, grid: 'A', dept: 2, worker: 1, stage: 'closed',
    cols: { reported_at: t('05-15 08:00'), registered_at: t('05-15 09:00'), dispatched_at: t('05-15 10:00'), handled_at: t('05-15 15:00'), closed_at: t('05-15 16:30'), deadline_at: t('05-15 17:00') },
    acts: [] },
  // 6: everything on time; satisfaction 4.
  { n: 6, grid: 'C', dept: 1, worker: 2, stage: 'evaluated',
    cols: { reported_at: t('05-20 08:00'), registered_at: t('05-20 08:30'), dispatched_at: t('05-20 09:00'), handled_at: t('05-20 12:00'), checked_at: t('05-20 13:00'),
      closed_at: t('05-20 13:30'), evaluated_at: t('05-21 09:00'), deadline_at: t('05-20 18:00'), satisfaction: 4 },
    acts: [
      { action: 'register', at: t('05-20 08:30'), due: t('05-20 09:30') },
      { action: 'dispatch', at: t('05-20 09:00'), due: t('05-20 13:00') },
      { action: 'handle', at: t('05-20 12:00'), due: t('05-20 16:00') },
      { action: 'check_pass', at: t('05-20 13:00'), due: null },
    ] },
  // 7: handled after its deadline (overdue), waiting for the check; nothing recorded.
  { n: 7, grid: 'C', dept: 1, worker: 2, stage: 'handled',
    cols: { reported_at: t('05-22 08:00'), registered_at: t('05-22 08:30'), dispatched_at: t('05-22 09:00'), handled_at: t('05-23 10:00'), deadline_at: t('05-22 18:00') },
    acts: [] },
]

type Kind = 'district' | 'street' | 'community' | 'department' | 'worker'
type RuleBody = { indicators: { indicator: string; weight: number }[]; bands: Record<'A' | 'B' | 'C' | 'D' | 'E', number> }
const BANDS = { A: 90, B: 80, C: 70, D: 60, E: 0 }
const AREA_WEIGHTS = { registration: 10, onTimeDispatch: 10, closure: 15, onTimeClosure: 20, overdue: 15, rework: 10, satisfaction: 20 }
const rule = (w: Record<string, number>, bands = BANDS): RuleBody => ({ indicators: Object.entries(w).map(([indicator, weight]) => ({ indicator, weight })), bands })
/** The defaults of migration 017 (docs/assessment.md). */
const DEFAULTS: Record<Kind, RuleBody> = {
  district: rule(AREA_WEIGHTS),
  street: rule(AREA_WEIGHTS),
  community: rule(AREA_WEIGHTS),
  department: rule({ disposal: 20, onTimeDisposal: 30, overdue: 20, rework: 15, satisfaction: 15 }),
  worker: rule({ disposal: 20, onTimeDisposal: 25, overdue: 20, rework: 20, satisfaction: 15 }),
}

/** Per indicator: [numerator, denominator, points earned]; by hand from the cases above. */
type Hand = { score: number; grade: string; parts: Record<string, [number, number, number]> }
const HAND: Record<string, Hand> = {
  // Street S1: cases 1–5. 8 + 6.7 + 11.3 (11.25 rounds up) + 10 + 7.5 + 6.7 + 10.
  S1: { score: 60.2, grade: 'D', parts: { registration: [4, 5, 8], onTimeDispatch: [2, 3, 6.7], closure: [3, 4, 11.3], onTimeClosure: [2, 4, 10], overdue: [2, 4, 7.5], rework: [1, 3, 6.7], satisfaction: [1, 2, 10] } },
  // Street S2: cases 6, 7.
  S2: { score: 75, grade: 'C', parts: { registration: [2, 2, 10], onTimeDispatch: [1, 1, 10], closure: [1, 2, 7.5], onTimeClosure: [1, 2, 10], overdue: [1, 2, 7.5], rework: [0, 2, 10], satisfaction: [1, 1, 20] } },
  // The district: all seven.
  D: { score: 64.9, grade: 'D', parts: { registration: [6, 7, 8.6], onTimeDispatch: [3, 4, 7.5], closure: [4, 6, 10], onTimeClosure: [3, 6, 10], overdue: [3, 6, 7.5], rework: [1, 5, 8], satisfaction: [2, 3, 13.3] } },
  // Community of grid A: cases 1, 2, 5; of grid B: 3, 4 (no denominator for rework and satisfaction: full weight).
  CA: { score: 70, grade: 'C', parts: { registration: [3, 3, 10], onTimeDispatch: [1, 2, 5], closure: [3, 3, 15], onTimeClosure: [2, 3, 13.3], overdue: [1, 3, 10], rework: [1, 3, 6.7], satisfaction: [1, 2, 10] } },
  CB: { score: 45, grade: 'E', parts: { registration: [1, 2, 5], onTimeDispatch: [1, 1, 10], closure: [0, 1, 0], onTimeClosure: [0, 1, 0], overdue: [1, 1, 0], rework: [0, 0, 10], satisfaction: [0, 0, 20] } },
  // Departments: 1 has cases 1, 2, 6, 7; 2 has 3, 5 (case 4 has none and is in no department's row).
  P1: { score: 66.3, grade: 'D', parts: { disposal: [4, 4, 20], onTimeDisposal: [2, 4, 15], overdue: [2, 4, 10], rework: [1, 4, 11.3], satisfaction: [2, 3, 10] } },
  P2: { score: 65, grade: 'D', parts: { disposal: [1, 2, 10], onTimeDisposal: [1, 2, 15], overdue: [1, 2, 10], rework: [0, 1, 15], satisfaction: [0, 0, 15] } },
  // Workers: 1 has cases 1, 2, 5; 2 has 3, 4, 6, 7.
  W1: { score: 70.8, grade: 'C', parts: { disposal: [3, 3, 20], onTimeDisposal: [2, 3, 16.7], overdue: [1, 3, 13.3], rework: [1, 3, 13.3], satisfaction: [1, 2, 7.5] } },
  W2: { score: 63.3, grade: 'D', parts: { disposal: [2, 3, 13.3], onTimeDisposal: [1, 3, 8.3], overdue: [2, 3, 6.7], rework: [0, 2, 20], satisfaction: [1, 1, 15] } },
}
/** The cases (by number) behind each component's lost points in street S1. */
const S1_LOST: Record<string, number[]> = { registration: [4], onTimeDispatch: [2], closure: [3], onTimeClosure: [2, 3], overdue: [2, 3], rework: [2], satisfaction: [2] }

/** The street rule changed by an admin: registration 10 → 30, on-time dispatch 10 → 0, satisfaction 20 → 10; bands raised by 5. */
const CHANGED = rule({ registration: 30, onTimeDispatch: 0, closure: 15, onTimeClosure: 20, overdue: 15, rework: 10, satisfaction: 10 }, { A: 95, B: 85, C: 75, D: 65, E: 0 })
const HAND_CHANGED: Record<string, { score: number; grade: string }> = {
  S1: { score: 64.5, grade: 'E' }, // 24 + 0 + 11.3 + 10 + 7.5 + 6.7 + 5
  S2: { score: 75, grade: 'C' }, // 30 + 0 + 7.5 + 10 + 7.5 + 10 + 10
}

const round1 = (x: number) => Math.round(x * 10 + 1e-9) / 10

type Row = Assessment['rows'][number]
function check(row: Row | Breakdown | undefined, hand: Hand, label: string) {
  expect(row, label).toBeDefined()
  const r = row!
  const got = Object.fromEntries(r.components.map((c) => [c.indicator, [c.numerator, c.denominator, c.earned]]))
  expect(got, `${label} components`).toEqual(hand.parts)
  expect({ score: r.score, grade: r.grade }, label).toEqual({ score: hand.score, grade: hand.grade })
  for (const c of r.components) {
    expect(c.rate, `${label} ${c.indicator} rate`).toBe(c.denominator ? Math.round((c.numerator / c.denominator) * 1e4) / 1e4 : null)
    expect(round1(c.earned + c.lost), `${label} ${c.indicator}: earned + lost = weight`).toBe(c.weight)
  }
  // The parts add up to the score.
  expect(round1(r.components.reduce((s, c) => s + c.earned, 0)), `${label} sum of earned`).toBe(r.score)
  expect(round1(r.components.reduce((s, c) => s + c.weight, 0)), `${label} sum of weights`).toBe(100)
}

describe.each(backends())('assessment on $name', ({ databaseUrl }) => {
  let s: TestServer
  /** The system admin edits the rules (config.manage); the dispatcher reads the scores (stats.read). */
  let admin: string
  let dispatcher: string
  let leader: string
  let supervisor: string
  const grid: Record<'A' | 'B' | 'C', string> = { A: '', B: '', C: '' }
  const dept: Record<1 | 2, number> = { 1: 0, 2: 0 }
  const worker: Record<1 | 2, number> = { 1: 0, 2: 0 }
  const caseIds = new Map<number, number>()
  let S2 = ''
  let original: Rule[] = []

  const remove = () => s.server.db.query(`DELETE FROM cases WHERE code LIKE $1 || '%'`, [MARK])
  const get = async <T = Assessment>(cookie: string, path: string, params: Record<string, string> = {}) => {
    const res = await fetch(`${s.url}${path}?${new URLSearchParams(params)}`, { headers: { cookie } })
    const body = res.headers.get('content-type')?.includes('json') ? await res.json() : null
    return { status: res.status, body: body as T & { error?: { message: string } } }
  }
  const rules = async () => (await get<{ rules: Rule[] }>(admin, '/api/admin/assessment-rules')).body.rules
  const put = async (cookie: string, kind: string, body: unknown) => {
    const res = await fetch(`${s.url}/api/admin/assessment-rules/${kind}`, { method: 'PUT', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    return { status: res.status, body: (await res.json()) as Rule & { error?: { message: string; code: string } } }
  }
  const setRule = async (kind: Kind, r: RuleBody) => {
    const version = (await rules()).find((x) => x.kind === kind)!.version
    const res = await put(admin, kind, { version, ...r })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    return res.body
  }

  beforeAll(async () => {
    s = await startTestServer({ databaseUrl, env: { ONEGRID_TZ: 'Asia/Shanghai' } })
    admin = await login(s.url, 'admin')
    dispatcher = await login(s.url, 'dispatcher')
    leader = await login(s.url, 'leader')
    supervisor = await login(s.url, 'supervisor')
    const db = s.server.db
    await remove()
    const g = await db.query<{ code: string }>(`SELECT DISTINCT ON (left(code, 12)) code FROM grids WHERE code LIKE $1 || '%' ORDER BY left(code, 12), code LIMIT 2`, [STREET])
    grid.A = g.rows[0].code
    grid.B = g.rows[1].code
    grid.C = (await db.query<{ code: string }>(`SELECT code FROM grids WHERE code LIKE $1 || '%' AND code NOT LIKE $2 || '%' ORDER BY code LIMIT 1`, [DISTRICT, STREET])).rows[0].code
    S2 = grid.C.slice(0, 9)
    const d = await db.query<{ id: number }>('SELECT id FROM departments ORDER BY id LIMIT 2')
    dept[1] = d.rows[0].id
    dept[2] = d.rows[1].id
    const w = await db.query<{ id: number }>('SELECT id FROM workers ORDER BY id LIMIT 2')
    worker[1] = w.rows[0].id
    worker[2] = w.rows[1].id
    const cat = (await db.query<{ code: string }>('SELECT code FROM case_categories ORDER BY code LIMIT 1')).rows[0].code
    for (const k of CASES) {
      const cols = Object.keys(k.cols)
      const { rows } = await db.query<{ id: number }>(
        `INSERT INTO cases (code, category_code, source, stage, description, grid_code, department_id, worker_id, geom, ${cols.join(', ')})
         SELECT $1, $2, 'patrol', $3, 'assessment test case', $4, $5, $6, ST_PointOnSurface(g.geom), ${cols.map((_, i) => `$${i + 7}`).join(', ')}
           FROM grids g WHERE g.code = $4
         RETURNING id`,
        [`${MARK}${k.n}`, cat, k.stage, grid[k.grid], k.dept === null ? null : dept[k.dept], worker[k.worker], ...cols.map((x) => k.cols[x])],
      )
      caseIds.set(k.n, rows[0].id)
      for (const a of k.acts) {
        await db.query(`INSERT INTO case_actions (case_id, action, actor, at, payload) VALUES ($1, $2, 'assessment test', $3, $4::jsonb)`, [
          rows[0].id,
          a.action,
          a.at,
          JSON.stringify(a.due === undefined ? {} : { stageDeadlineAt: a.due }),
        ])
      }
    }
    original = await rules()
    for (const kind of Object.keys(DEFAULTS) as Kind[]) await setRule(kind, DEFAULTS[kind])
  }, 180_000)

  afterAll(async () => {
    if (s) {
      await remove()
      // The rules as they were found.
      for (const r of original) {
        await setRule(r.kind, { indicators: r.indicators.map((i) => ({ indicator: i.indicator, weight: i.weight })), bands: r.bands }).catch(() => {})
      }
    }
    await s?.close()
  })

  it('GET /api/admin/assessment-rules lists a rule per kind and the scorable indicators', async () => {
    const { status, body } = await get<{ indicators: { indicator: string; better: string }[]; rules: Rule[] }>(admin, '/api/admin/assessment-rules')
    expect(status).toBe(200)
    expect(body.rules.map((r) => r.kind).sort()).toEqual(['community', 'department', 'district', 'street', 'worker'])
    expect(body.indicators.find((i) => i.indicator === 'overdue')?.better).toBe('lower')
    expect(body.indicators.find((i) => i.indicator === 'onTimeClosure')?.better).toBe('higher')
    expect(body.indicators.some((i) => i.indicator === 'handlingTime')).toBe(false)
    const street = body.rules.find((r) => r.kind === 'street')!
    expect(street.updatedBy).toBe('admin')
    expect(Object.fromEntries(street.indicators.map((i) => [i.indicator, i.weight]))).toEqual(AREA_WEIGHTS)
    expect(street.bands).toEqual(BANDS)
  })

  it('per street: scores and grades equal the hand-computed ones, ranked', async () => {
    const { status, body } = await get(dispatcher, '/api/stats/assessment', { kind: 'street', code: DISTRICT, ...PERIOD })
    expect(status, JSON.stringify(body)).toBe(200)
    expect(body.kind).toBe('street')
    expect(body.from).toBe('2010-05-01T00:00:00+08:00')
    expect(body.to).toBe('2010-06-01T00:00:00+08:00')
    expect(body.rule.kind).toBe('street')
    check(body.rows.find((r) => r.code === STREET), HAND.S1, 'S1')
    check(body.rows.find((r) => r.code === S2), HAND.S2, 'S2')
    // Every other street of the district has no cases: every weight earned in full, grade A, tied first.
    const others = body.rows.filter((r) => r.code !== STREET && r.code !== S2)
    expect(others.length).toBeGreaterThan(0)
    for (const r of others) expect({ score: r.score, grade: r.grade, rank: r.rank }).toEqual({ score: 100, grade: 'A', rank: 1 })
    expect(body.rows.map((r) => r.code)).toEqual([...others.map((r) => r.code), S2, STREET])
    expect(body.rows.find((r) => r.code === S2)!.rank).toBe(others.length + 1)
    expect(body.rows.find((r) => r.code === STREET)!.rank).toBe(others.length + 2)
  })

  it('per district, community, department and worker: equal the hand-computed ones', async () => {
    const district = await get(dispatcher, '/api/stats/assessment', { kind: 'district', ...PERIOD })
    expect(district.status, JSON.stringify(district.body)).toBe(200)
    check(district.body.rows.find((r) => r.code === DISTRICT), HAND.D, 'district')

    const community = await get(dispatcher, '/api/stats/assessment', { kind: 'community', code: STREET, ...PERIOD })
    expect(community.status, JSON.stringify(community.body)).toBe(200)
    check(community.body.rows.find((r) => r.code === grid.A.slice(0, 12)), HAND.CA, 'community of grid A')
    check(community.body.rows.find((r) => r.code === grid.B.slice(0, 12)), HAND.CB, 'community of grid B')
    expect(community.body.rows.every((r) => r.code.startsWith(STREET))).toBe(true)
    expect(community.body.rows.at(-1)!.code).toBe(grid.B.slice(0, 12))

    const depts = await get(dispatcher, '/api/stats/assessment', { kind: 'department', ...PERIOD })
    expect(depts.status, JSON.stringify(depts.body)).toBe(200)
    expect(depts.body.rows.map((r) => [r.code, r.rank])).toEqual([[String(dept[1]), 1], [String(dept[2]), 2]])
    check(depts.body.rows[0], HAND.P1, 'department 1')
    check(depts.body.rows[1], HAND.P2, 'department 2')
    expect(depts.body.rows[0].name).toBeTruthy()

    const workers = await get(dispatcher, '/api/stats/assessment', { kind: 'worker', ...PERIOD })
    expect(workers.status, JSON.stringify(workers.body)).toBe(200)
    expect(workers.body.rows.map((r) => r.code)).toEqual([String(worker[1]), String(worker[2])])
    check(workers.body.rows[0], HAND.W1, 'worker 1')
    check(workers.body.rows[1], HAND.W2, 'worker 2')
  })

  it('a breakdown: the same components, adding up to the score, with the cases behind the lost points', async () => {
    const table = await get(dispatcher, '/api/stats/assessment', { kind: 'street', code: DISTRICT, ...PERIOD })
    const { status, body } = await get<Breakdown>(dispatcher, `/api/stats/assessment/street/${STREET}`, PERIOD)
    expect(status, JSON.stringify(body)).toBe(200)
    check(body, HAND.S1, 'S1 breakdown')
    expect(body.name).toBe('外滩街道')
    const row = table.body.rows.find((r) => r.code === STREET)!
    expect(body.components.map(({ indicator, weight, numerator, denominator, rate, earned, lost }) => ({ indicator, weight, numerator, denominator, rate, earned, lost }))).toEqual(row.components)
    for (const c of body.components) {
      const want = S1_LOST[c.indicator].map((n) => ({ id: caseIds.get(n), code: `${MARK}${n}` }))
      expect(c.lostCases.map((x) => ({ id: x.id, code: x.code })), c.indicator).toEqual(want)
      expect(c.lostCaseCount, c.indicator).toBe(c.better === 'higher' ? c.denominator - c.numerator : c.numerator)
      expect(c.lostCases.every((x) => x.gridCode?.startsWith(STREET) && x.stage)).toBe(true)
    }
    expect(body.components.find((c) => c.indicator === 'overdue')?.label).toBe('超期率')

    // A worker's breakdown, the list limited to one case and the count still whole.
    const w = await get<Breakdown>(dispatcher, `/api/stats/assessment/worker/${worker[2]}`, { ...PERIOD, limit: '1' })
    expect(w.status, JSON.stringify(w.body)).toBe(200)
    check(w.body, HAND.W2, 'worker 2 breakdown')
    const overdue = w.body.components.find((c) => c.indicator === 'overdue')!
    expect(overdue.lostCaseCount).toBe(2)
    expect(overdue.lostCases.map((x) => x.code)).toEqual([`${MARK}3`])
    for (const c of w.body.components) expect(c.lostCaseCount, c.indicator).toBe(c.better === 'higher' ? c.denominator - c.numerator : c.numerator)

    // A department's, counted inside the street only: cases 1 and 2 of department 1.
    const p = await get<Breakdown>(dispatcher, `/api/stats/assessment/department/${dept[1]}`, { ...PERIOD, area: STREET })
    expect(p.status, JSON.stringify(p.body)).toBe(200)
    expect(p.body.area).toBe(STREET)
    expect(p.body.components.find((c) => c.indicator === 'disposal')).toMatchObject({ numerator: 2, denominator: 2 })
    expect(p.body.components.find((c) => c.indicator === 'rework')!.lostCases.map((x) => x.code)).toEqual([`${MARK}2`])
  })

  it('changing a weight and the bands in the rule changes the scores as computed by hand; a stale version is a 409', async () => {
    const before = (await rules()).find((r) => r.kind === 'street')!
    const saved = await put(admin, 'street', { version: before.version, ...CHANGED })
    expect(saved.status, JSON.stringify(saved.body)).toBe(200)
    expect(saved.body.version).toBe(before.version + 1)
    expect(saved.body.updatedBy).toBe('admin')
    expect(saved.body.bands).toEqual(CHANGED.bands)
    // Someone still editing the old version is refused, naming the version now in force.
    const stale = await put(admin, 'street', { version: before.version, ...DEFAULTS.street })
    expect(stale.status).toBe(409)
    expect(stale.body.error?.message).toMatch(new RegExp(`version ${before.version + 1}`))

    const { body } = await get(dispatcher, '/api/stats/assessment', { kind: 'street', code: DISTRICT, ...PERIOD })
    expect(body.rule.version).toBe(before.version + 1)
    for (const [code, hand] of [[STREET, HAND_CHANGED.S1], [S2, HAND_CHANGED.S2]] as const) {
      const r = body.rows.find((x) => x.code === code)!
      expect({ score: r.score, grade: r.grade }, code).toEqual(hand)
      expect(round1(r.components.reduce((n, c) => n + c.earned, 0))).toBe(r.score)
      expect(r.components.find((c) => c.indicator === 'onTimeDispatch')).toMatchObject({ weight: 0, earned: 0, lost: 0 })
    }
    // Other kinds keep their rule.
    const depts = await get(dispatcher, '/api/stats/assessment', { kind: 'department', ...PERIOD })
    check(depts.body.rows[0], HAND.P1, 'department 1 after the street change')
    // And back.
    await setRule('street', DEFAULTS.street)
    const back = await get(dispatcher, '/api/stats/assessment', { kind: 'street', code: DISTRICT, ...PERIOD })
    check(back.body.rows.find((r) => r.code === STREET), HAND.S1, 'S1 with the defaults again')
  })

  it('scope: the street supervisor sees only their street; reads need stats.read, the rules config.manage (the system admin)', async () => {
    const own = await get(supervisor, '/api/stats/assessment', { kind: 'street', ...PERIOD })
    expect(own.status, JSON.stringify(own.body)).toBe(200)
    expect(own.body.rows.map((r) => r.code)).toEqual([STREET])
    check(own.body.rows[0], HAND.S1, 'S1 for the supervisor')
    expect((await get(supervisor, `/api/stats/assessment/street/${S2}`, PERIOD)).status).toBe(403)
    expect((await get(supervisor, '/api/stats/assessment', { kind: 'street', code: DISTRICT, ...PERIOD })).status).toBe(403)
    // A district is above the supervisor's street.
    const above = await get(supervisor, '/api/stats/assessment', { kind: 'district', ...PERIOD })
    expect(above.status).toBe(400)
    expect(above.body.error?.message).toMatch(/^kind: district is above/)
    // Workers counted on the street's cases only: worker 2 has cases 3 and 4 there.
    const workers = await get(supervisor, '/api/stats/assessment', { kind: 'worker', ...PERIOD })
    expect(workers.body.rows.find((r) => r.code === String(worker[2]))!.components.find((c) => c.indicator === 'disposal')).toMatchObject({ numerator: 0, denominator: 1 })

    const lead = await get(leader, '/api/stats/assessment', { kind: 'street', code: DISTRICT, ...PERIOD })
    expect(lead.status).toBe(200)
    expect((await get(leader, '/api/admin/assessment-rules')).status).toBe(403)
    const version = (await rules()).find((r) => r.kind === 'street')!.version
    const denied = await put(leader, 'street', { version, ...DEFAULTS.street })
    expect(denied.status).toBe(403)
    expect(denied.body.error?.message).toBe('this needs the permission config.manage, which the leader role does not hold')
    // The dispatcher reads the scores but not the rules; the system admin the rules but not the scores.
    expect((await get(dispatcher, '/api/admin/assessment-rules')).status).toBe(403)
    const adminRead = await get(admin, '/api/stats/assessment', { kind: 'street', code: DISTRICT, ...PERIOD })
    expect(adminRead.status).toBe(403)
    expect(adminRead.body.error?.message).toBe('this needs the permission stats.read, which the admin role does not hold')
    expect((await fetch(`${s.url}/api/stats/assessment?kind=street`)).status).toBe(401)
  })

  it('bad input: 400 naming the problem, 404 for no such unit', async () => {
    const bad = async (path: string, params: Record<string, string>, status: number, text: RegExp) => {
      const r = await get(dispatcher, path, params)
      expect(r.status, `${path} ${JSON.stringify(params)}`).toBe(status)
      expect(r.body.error?.message).toMatch(text)
    }
    await bad('/api/stats/assessment', { kind: 'planet' }, 400, /kind/)
    await bad('/api/stats/assessment', {}, 400, /kind/)
    await bad('/api/stats/assessment', { kind: 'street', from: '2010-13-01' }, 400, /from/)
    await bad('/api/stats/assessment', { kind: 'street', code: '12' }, 400, /code/)
    await bad('/api/stats/assessment', { kind: 'street', code: '999999' }, 404, /999999/)
    await bad('/api/stats/assessment.csv', { kind: 'planet' }, 400, /kind/)
    await bad(`/api/stats/assessment/street/${DISTRICT}`, PERIOD, 400, /9 digits/)
    await bad('/api/stats/assessment/worker/abc', PERIOD, 400, /id/)
    await bad('/api/stats/assessment/worker/999999', PERIOD, 404, /999999/)
    await bad(`/api/stats/assessment/planet/${STREET}`, PERIOD, 400, /kind/)
    await bad(`/api/stats/assessment/worker/${worker[1]}`, { ...PERIOD, limit: '9999' }, 400, /limit/)
    await bad(`/api/stats/assessment/street/${STREET}`, { ...PERIOD, area: DISTRICT }, 400, /area/)

    const version = (await rules()).find((r) => r.kind === 'worker')!.version
    const badPut = async (kind: string, body: unknown, text: RegExp) => {
      const r = await put(admin, kind, body)
      expect(r.status, JSON.stringify(body)).toBe(400)
      expect(r.body.error?.message).toMatch(text)
    }
    const w = DEFAULTS.worker
    await badPut('worker', { version, bands: w.bands, indicators: [...w.indicators.slice(1), { indicator: 'disposal', weight: 10 }] }, /add up to 90, not 100/)
    await badPut('worker', { version, bands: w.bands, indicators: [...w.indicators.slice(1), { indicator: 'happiness', weight: 20 }] }, /happiness/)
    await badPut('worker', { version, bands: w.bands, indicators: [...w.indicators.slice(1), { indicator: 'handlingTime', weight: 20 }] }, /handlingTime/)
    await badPut('worker', { version, bands: w.bands, indicators: [...w.indicators, { indicator: 'disposal', weight: 0 }] }, /twice/)
    await badPut('worker', { version, bands: w.bands, indicators: [{ indicator: 'disposal', weight: 120 }, { indicator: 'overdue', weight: -20 }] }, /weight/)
    await badPut('worker', { version, bands: { A: 90, B: 95, C: 70, D: 60, E: 0 }, indicators: w.indicators }, /bands\.A.*descend/)
    await badPut('worker', { version, bands: { A: 90, B: 80, C: 70, D: 60, E: 10 }, indicators: w.indicators }, /E/)
    await badPut('worker', { version, bands: { A: 190, B: 80, C: 70, D: 60, E: 0 }, indicators: w.indicators }, /bands\.A/)
    await badPut('worker', { version, bands: { A: 90, B: 80, C: 70, D: 60 }, indicators: w.indicators }, /bands\.E/)
    await badPut('worker', { bands: w.bands, indicators: w.indicators }, /version/)
    await badPut('worker', [1, 2], /JSON object/)
    await badPut('planet', { version, ...w }, /kind/)
    // Nothing was saved.
    expect((await rules()).find((r) => r.kind === 'worker')!.version).toBe(version)
  })

  /** CSV header "按期结案率 onTimeClosure.rate" → "onTimeClosure.rate". */
  const keyOf = (header: string) => header.split(' ').at(-1)!
  const asCell = (v: unknown) => (v === null || v === undefined ? '' : String(v))

  it('CSV and XLSX exports of the assessment table parse and equal the JSON table', async () => {
    const params = new URLSearchParams({ kind: 'street', code: DISTRICT, ...PERIOD })
    const json = (await get(dispatcher, '/api/stats/assessment', Object.fromEntries(params))).body
    const expected = json.rows.map((r) => ({
      rank: r.rank, code: r.code, name: r.name, score: r.score, grade: r.grade,
      ...Object.fromEntries(r.components.flatMap((c) => [[`${c.indicator}.rate`, c.rate], [`${c.indicator}.earned`, c.earned], [`${c.indicator}.lost`, c.lost]])),
    }))

    const csvRes = await fetch(`${s.url}/api/stats/assessment.csv?${params}`, { headers: { cookie: dispatcher } })
    expect(csvRes.status).toBe(200)
    expect(csvRes.headers.get('content-type')).toMatch(/^text\/csv/)
    expect(csvRes.headers.get('content-disposition')).toBe(`attachment; filename="assessment-street-${DISTRICT}-20100501-20100531.csv"`)
    const bytes = new Uint8Array(await csvRes.arrayBuffer())
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const records = parse(Buffer.from(bytes), { bom: true, columns: (h: string[]) => h.map(keyOf) }) as Record<string, string>[]
    expect(records.map((r) => Object.keys(r))[0]).toEqual(Object.keys(expected[0]))
    expect(records).toEqual(expected.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, asCell(v)]))))
    expect(records.find((r) => r.code === STREET)?.name).toBe('外滩街道')

    const xlsxRes = await fetch(`${s.url}/api/stats/assessment.xlsx?${params}`, { headers: { cookie: dispatcher } })
    expect(xlsxRes.status).toBe(200)
    expect(xlsxRes.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
    expect(xlsxRes.headers.get('content-disposition')).toMatch(/^attachment; filename="assessment-street-.*\.xlsx"$/)
    const wb = new ExcelJS.Workbook()
    await wb.xlsx.load(await xlsxRes.arrayBuffer())
    const ws = wb.worksheets[0]
    const header = (ws.getRow(1).values as unknown[]).slice(1).map((h) => keyOf(String(h)))
    expect(header).toEqual(Object.keys(expected[0]))
    const rows: Record<string, unknown>[] = []
    ws.eachRow((row, n) => {
      if (n === 1) return
      const values = (row.values as unknown[]).slice(1)
      rows.push(Object.fromEntries(header.map((k, i) => [k, values[i] ?? null])))
    })
    expect(rows).toEqual(expected)
    // The second sheet says which rule and period.
    const about = wb.worksheets[1]
    const facts = new Map<string, unknown>()
    about.eachRow((row) => facts.set(String(row.getCell(1).value), row.getCell(2).value))
    expect(facts.get('规则版本 rule version')).toBe(json.rule.version)
    expect(facts.get('起 from')).toBe(json.from)
  })

  it('CSV and XLSX exports of the indicators table parse and equal GET /api/stats/indicators', async () => {
    type Json = Indicators & { previous?: { total: Record<string, unknown> } }
    const leaves = (o: Record<string, unknown>, prefix = ''): [string, unknown][] =>
      Object.entries(o).flatMap(([k, v]) =>
        v !== null && typeof v === 'object' && !Array.isArray(v) ? leaves(v as Record<string, unknown>, `${prefix}${k}.`) : [[`${prefix}${k}`, Array.isArray(v) ? JSON.stringify(v) : v]],
      )
    const table = (json: Json) => [
      ...json.rows.map((r) => ({ row: 'unit', ...Object.fromEntries(leaves(r as unknown as Record<string, unknown>)) })),
      { row: 'total', ...Object.fromEntries(leaves(json.total as unknown as Record<string, unknown>)) },
      ...(json.previous ? [{ row: 'previous', ...Object.fromEntries(leaves(json.previous.total)) }] : []),
    ] as Record<string, unknown>[]
    /** The expected rows on the file's columns; and every figure the JSON has (not null) is a column. */
    const project = (expected: Record<string, unknown>[], columns: string[], cell: (v: unknown) => unknown) => {
      for (const r of expected) for (const [k, v] of Object.entries(r)) if (v !== null) expect(columns, k).toContain(k)
      return expected.map((r) => Object.fromEntries(columns.map((k) => [k, cell(r[k])])))
    }

    // CSV, with the previous period's total.
    const csvParams = new URLSearchParams({ groupBy: 'street', code: DISTRICT, compare: 'previous', ...PERIOD })
    const csvJson = (await get<Json>(dispatcher, '/api/stats/indicators', Object.fromEntries(csvParams))).body
    expect(csvJson.previous).toBeDefined()
    const csvRes = await fetch(`${s.url}/api/stats/indicators.csv?${csvParams}`, { headers: { cookie: dispatcher } })
    expect(csvRes.status).toBe(200)
    expect(csvRes.headers.get('content-disposition')).toMatch(/^attachment; filename="indicators-street-310101-20100501-20100531\.csv"$/)
    const text = await csvRes.text()
    let columns: string[] = []
    const records = parse(text, { bom: true, columns: (h: string[]) => (columns = h.map(keyOf)) }) as Record<string, string>[]
    expect(records).toEqual(project(table(csvJson), columns, asCell))
    expect(records.map((r) => r.row)).toEqual([...csvJson.rows.map(() => 'unit'), 'total', 'previous'])
    expect(records.find((r) => r.code === STREET)?.['overdue.numerator']).toBe('2')

    // XLSX, grouped by department (figures that do not apply to departments are null).
    const params = new URLSearchParams({ groupBy: 'department', ...PERIOD })
    const json = (await get<Json>(dispatcher, '/api/stats/indicators', Object.fromEntries(params))).body
    const xlsxRes = await fetch(`${s.url}/api/stats/indicators.xlsx?${params}`, { headers: { cookie: dispatcher } })
    expect(xlsxRes.status).toBe(200)
    const wb = new ExcelJS.Workbook()
    await wb.xlsx.load(await xlsxRes.arrayBuffer())
    const ws = wb.worksheets[0]
    const header = (ws.getRow(1).values as unknown[]).slice(1).map((h) => keyOf(String(h)))
    const rows: Record<string, unknown>[] = []
    ws.eachRow((row, n) => {
      if (n === 1) return
      const values = (row.values as unknown[]).slice(1)
      rows.push(Object.fromEntries(header.map((k, i) => [k, values[i] ?? null])))
    })
    expect(rows).toEqual(project(table(json), header, (v) => v ?? null))
    expect(rows.find((r) => r.code === String(dept[1]))?.['disposal.numerator']).toBe(4)

    const badRes = await fetch(`${s.url}/api/stats/indicators.xlsx?groupBy=planet`, { headers: { cookie: dispatcher } })
    expect(badRes.status).toBe(400)
    expect(((await badRes.json()) as { error: { message: string } }).error.message).toMatch(/groupBy/)
  })
})
